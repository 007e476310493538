"""SCALE codec: Substrate's Simple Concatenated Aggregate Little-Endian encoding.

Mirrors ``parity-scale-codec`` (spec: Polkadot specification, appendix "SCALE Codec"). Types are
described by *codec objects* built from a small set of constructors::

    U8 U16 U32 U64 U128 U256 I8 … I128   fixed-width little-endian integers
    Bool                                  0x00 / 0x01
    Compact, CompactOf(bits)              the four compact modes (single, two, four byte, big-int)
    Bytes, Str                            Vec<u8> and UTF-8 strings (compact length prefix)
    FixedBytes(n), H256                   [u8; n]
    Vec(T), Array(T, n), Tuple(T, …)      sequences
    Option(T), Result(T, E)               Option<bool> is the one-byte form
    BTreeMap(K, V)                        sorted keys, no duplicates
    Enum(name, {index: Variant, …})       explicit variant indices
    Struct                                dataclass base: fields declared ``Annotated[T, codec]``

Every codec has ``encode(value) -> bytes`` and ``decode(data) -> value``; the latter is strict:
over-long (non-canonical) compacts, out-of-range values, invalid enum indices, invalid UTF-8,
truncated input and trailing bytes all raise :class:`ScaleDecodeError` carrying the byte offset.
Building blocks: ``encode_into(value, out: bytearray)``, ``decode_at(data, pos) -> (value, end)``.

A declared length is checked against the remaining input before anything is allocated.

Differences from parity-scale-codec: values are plain Python objects (``int``, ``bytes``, ``list``,
``tuple``, ``dict``, ``None``, dataclasses); ``Option<Option<T>>`` is refused (``None`` would be
ambiguous); decoding a ``BTreeMap`` rejects unsorted or duplicate keys, so that every accepted
input re-encodes to the same bytes. Keys are ordered as Rust's derived ``Ord`` orders them (each
codec's ``sort_key``; enum variants by index), and key types that decode to lists or dicts
(``Vec``, arrays, maps) are refused as unhashable. A sequence of zero-sized items (``Vec<()>``) is
capped at :data:`MAX_ZERO_SIZED_ITEMS` items, since no input length bounds it.

Speed: a struct's encoder and decoder are generated Python functions (see "generated struct
codecs"); the plain methods of :class:`StructCodec` remain the reference semantics.
"""

from __future__ import annotations

import dataclasses
import struct
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from pychain.errors import PychainError

T = TypeVar("T")
S = TypeVar("S", bound="Struct")

__all__ = [
    "ScaleError",
    "ScaleDecodeError",
    "ScaleEncodeError",
    "Codec",
    "U8",
    "U16",
    "U32",
    "U64",
    "U128",
    "U256",
    "I8",
    "I16",
    "I32",
    "I64",
    "I128",
    "Bool",
    "Compact",
    "CompactOf",
    "CompactU32",
    "Bytes",
    "Str",
    "FixedBytes",
    "H256",
    "H512",
    "Unit",
    "Vec",
    "Array",
    "Tuple",
    "Option",
    "Result",
    "Ok",
    "Err",
    "BTreeMap",
    "Enum",
    "CEnum",
    "Struct",
    "encode_compact",
    "decode_compact",
    "MAX_ZERO_SIZED_ITEMS",
]


# --------------------------------------------------------------------------------------- errors


class ScaleError(PychainError):
    """Root of SCALE codec errors."""


class ScaleDecodeError(ScaleError):
    """Input bytes are not a valid encoding of the expected type; ``offset`` is where it failed."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte offset {offset})")
        self.reason = message
        self.offset = offset


class ScaleEncodeError(ScaleError):
    """A value cannot be encoded as the requested type (wrong type or out of range)."""


# ----------------------------------------------------------------------------------------- base


class Codec(ABC, Generic[T]):
    """A SCALE type. Subclasses implement ``encode_into`` and ``decode_at``."""

    #: Human-readable type name, used in error messages and metadata (e.g. ``"u32"``).
    name: str = "?"
    #: Smallest possible encoded size in bytes; bounds a declared sequence length before allocating.
    min_size: int = 0

    @abstractmethod
    def encode_into(self, value: T, out: bytearray) -> None:
        """Append the encoding of ``value`` to ``out``; :class:`ScaleEncodeError` if invalid."""

    @abstractmethod
    def decode_at(self, data: bytes, pos: int) -> tuple[T, int]:
        """Decode one value starting at ``data[pos]``; returns it and the offset after it."""

    def sort_key(self, value: T) -> Any:
        """A Python value ordering like Rust's derived ``Ord`` does; used to sort ``BTreeMap`` keys.

        The default (the value itself) serves integers, bools, ``bytes`` and ``str`` (UTF-8 byte
        order equals code point order); composite codecs override it.
        """
        return value

    def encode(self, value: T) -> bytes:
        out = bytearray()
        self.encode_into(value, out)
        return bytes(out)

    def decode(self, data: bytes | bytearray | memoryview) -> T:
        """Decode exactly one value from the whole of ``data`` (trailing bytes are an error)."""
        if not isinstance(data, bytes):
            data = bytes(data)
        value, end = self.decode_at(data, 0)
        if end != len(data):
            raise ScaleDecodeError(f"{len(data) - end} trailing byte(s) after {self.name}", end)
        return value

    def __repr__(self) -> str:
        return f"<codec {self.name}>"


def _truncated(name: str, pos: int) -> ScaleDecodeError:
    return ScaleDecodeError(f"input too short for {name}", pos)


# ------------------------------------------------------------------------------------- integers


class _FixedInt(Codec[int]):
    """Fixed-width little-endian integer, encoded with a precompiled ``struct`` format."""

    def __init__(self, name: str, fmt: str, lo: int, hi: int) -> None:
        self.name = name
        self._struct = struct.Struct(fmt)
        self.min_size = self._struct.size
        self.lo = lo
        self.hi = hi

    def encode_into(self, value: int, out: bytearray) -> None:
        if type(value) is not int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ScaleEncodeError(f"{self.name} expects an int, got {type(value).__name__}")
        if not self.lo <= value <= self.hi:
            raise ScaleEncodeError(f"{value} is out of range for {self.name}")
        out += self._struct.pack(value)

    def decode_at(self, data: bytes, pos: int) -> tuple[int, int]:
        try:
            (value,) = self._struct.unpack_from(data, pos)
        except struct.error:
            raise _truncated(self.name, pos) from None
        return value, pos + self.min_size


class _BigInt(Codec[int]):
    """Little-endian integer wider than 64 bits (u128, i128, u256)."""

    def __init__(self, name: str, size: int, signed: bool) -> None:
        self.name = name
        self.min_size = size
        self.signed = signed
        bits = size * 8
        self.lo = -(1 << (bits - 1)) if signed else 0
        self.hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def encode_into(self, value: int, out: bytearray) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScaleEncodeError(f"{self.name} expects an int, got {type(value).__name__}")
        if not self.lo <= value <= self.hi:
            raise ScaleEncodeError(f"{value} is out of range for {self.name}")
        out += value.to_bytes(self.min_size, "little", signed=self.signed)

    def decode_at(self, data: bytes, pos: int) -> tuple[int, int]:
        end = pos + self.min_size
        if end > len(data):
            raise _truncated(self.name, pos)
        return int.from_bytes(data[pos:end], "little", signed=self.signed), end


U8: Codec[int] = _FixedInt("u8", "<B", 0, 0xFF)
U16: Codec[int] = _FixedInt("u16", "<H", 0, 0xFFFF)
U32: Codec[int] = _FixedInt("u32", "<I", 0, 0xFFFF_FFFF)
U64: Codec[int] = _FixedInt("u64", "<Q", 0, 0xFFFF_FFFF_FFFF_FFFF)
U128: Codec[int] = _BigInt("u128", 16, signed=False)
U256: Codec[int] = _BigInt("u256", 32, signed=False)
I8: Codec[int] = _FixedInt("i8", "<b", -0x80, 0x7F)
I16: Codec[int] = _FixedInt("i16", "<h", -0x8000, 0x7FFF)
I32: Codec[int] = _FixedInt("i32", "<i", -0x8000_0000, 0x7FFF_FFFF)
I64: Codec[int] = _FixedInt("i64", "<q", -(1 << 63), (1 << 63) - 1)
I128: Codec[int] = _BigInt("i128", 16, signed=True)


class _Bool(Codec[bool]):
    name = "bool"
    min_size = 1

    def encode_into(self, value: bool, out: bytearray) -> None:
        if not isinstance(value, bool):
            raise ScaleEncodeError(f"bool expects a bool, got {type(value).__name__}")
        out.append(1 if value else 0)

    def decode_at(self, data: bytes, pos: int) -> tuple[bool, int]:
        if pos >= len(data):
            raise _truncated("bool", pos)
        byte = data[pos]
        if byte > 1:
            raise ScaleDecodeError(f"invalid bool byte 0x{byte:02x}", pos)
        return byte == 1, pos + 1


Bool: Codec[bool] = _Bool()


# -------------------------------------------------------------------------------------- compact

_PACK_U16 = struct.Struct("<H").pack
_PACK_U32 = struct.Struct("<I").pack
_UNPACK_U16 = struct.Struct("<H").unpack_from
_UNPACK_U32 = struct.Struct("<I").unpack_from


def encode_compact(value: int) -> bytes:
    """SCALE compact encoding of a non-negative integer below 2^536 (all four modes)."""
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScaleEncodeError(f"compact expects an int, got {type(value).__name__}")
    if value < 0x40:
        if value < 0:
            raise ScaleEncodeError(f"compact expects a non-negative int, got {value}")
        return bytes((value << 2,))
    if value < 0x4000:
        return _PACK_U16((value << 2) | 0b01)
    if value < 0x4000_0000:
        return _PACK_U32((value << 2) | 0b10)
    size = (value.bit_length() + 7) // 8
    if size > 67:
        raise ScaleEncodeError(f"{value} is too large for a compact encoding")
    return bytes((((size - 4) << 2) | 0b11,)) + value.to_bytes(size, "little")


def decode_compact(data: bytes, pos: int = 0, max_bits: int = 128) -> tuple[int, int]:
    """Decode a canonical compact integer at ``pos``; returns ``(value, end)``.

    Rejects over-long encodings (a value that fits a shorter mode) and values of more than
    ``max_bits`` bits, as parity-scale-codec does for ``Compact<uN>``.
    """
    try:
        first = data[pos]
    except IndexError:
        raise _truncated("compact", pos) from None
    mode = first & 0b11
    if mode == 0:
        value = first >> 2
        end = pos + 1
    elif mode == 1:
        end = pos + 2
        if end > len(data):
            raise _truncated("compact", pos)
        value = _UNPACK_U16(data, pos)[0] >> 2
        if value < 0x40:
            raise ScaleDecodeError("non-canonical compact encoding (two-byte mode)", pos)
    elif mode == 2:
        end = pos + 4
        if end > len(data):
            raise _truncated("compact", pos)
        value = _UNPACK_U32(data, pos)[0] >> 2
        if value < 0x4000:
            raise ScaleDecodeError("non-canonical compact encoding (four-byte mode)", pos)
    else:
        size = (first >> 2) + 4
        end = pos + 1 + size
        if end > len(data):
            raise _truncated("compact", pos)
        if data[end - 1] == 0:
            raise ScaleDecodeError("non-canonical compact encoding (big-integer mode)", pos)
        value = int.from_bytes(data[pos + 1 : end], "little")
        if value < 0x4000_0000:
            raise ScaleDecodeError("non-canonical compact encoding (big-integer mode)", pos)
    if value >> max_bits:
        raise ScaleDecodeError(f"compact value out of range for u{max_bits}", pos)
    return value, end


class CompactOf(Codec[int]):
    """``Compact<uN>``: compact encoding with an upper bound of ``bits`` bits."""

    min_size = 1

    def __init__(self, bits: int = 128) -> None:
        self.bits = bits
        self.name = f"Compact<u{bits}>"
        self._limit = 1 << bits

    def encode_into(self, value: int, out: bytearray) -> None:
        if type(value) is not int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ScaleEncodeError(f"{self.name} expects an int, got {type(value).__name__}")
        if not 0 <= value < self._limit:
            raise ScaleEncodeError(f"{value} is out of range for {self.name}")
        if value < 0x40:
            out.append(value << 2)  # single-byte mode, inlined: the most frequent case
        else:
            out += encode_compact(value)

    def decode_at(self, data: bytes, pos: int) -> tuple[int, int]:
        if pos < len(data):
            first = data[pos]
            if not first & 0b11:
                return first >> 2, pos + 1  # single-byte mode, inlined
        return decode_compact(data, pos, self.bits)


Compact: Codec[int] = CompactOf(128)
CompactU32: Codec[int] = CompactOf(32)


#: Longest sequence of zero-sized items (``Vec<()>``) pychain decodes. Such items take no input
#: bytes, so the remaining input cannot bound their count; without a cap five bytes could demand a
#: list of 2^32 elements. pychain's own bound: parity-scale-codec has none (Rust's zero-sized
#: vectors allocate nothing).
MAX_ZERO_SIZED_ITEMS = 1024


def _decode_length(data: bytes, pos: int, item_min_size: int, what: str) -> tuple[int, int]:
    """Decode a ``Compact<u32>`` length and refuse it if the remaining input cannot hold it.

    The check happens before anything is allocated: each item takes at least ``item_min_size``
    bytes. Zero-sized items are capped at :data:`MAX_ZERO_SIZED_ITEMS` instead.
    """
    length, pos2 = decode_compact(data, pos, 32)
    if item_min_size:
        if length * item_min_size > len(data) - pos2:
            raise ScaleDecodeError(
                f"declared {what} length {length} exceeds the remaining {len(data) - pos2} byte(s)",
                pos,
            )
    elif length > MAX_ZERO_SIZED_ITEMS:
        raise ScaleDecodeError(
            f"declared {what} length {length} of zero-sized items exceeds the limit "
            f"{MAX_ZERO_SIZED_ITEMS}",
            pos,
        )
    return length, pos2


# ------------------------------------------------------------------------------ bytes and text


def _as_bytes(value: Any, name: str) -> bytes:
    """``value`` as ``bytes`` if it is bytes-like (``bytearray``, ``memoryview``), else an error.

    A ``memoryview`` is converted rather than used directly: its ``len`` counts items, not bytes.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ScaleEncodeError(f"{name} expects bytes, got {type(value).__name__}")


class _Bytes(Codec[bytes]):
    name = "Vec<u8>"
    min_size = 1

    def encode_into(self, value: bytes, out: bytearray) -> None:
        if type(value) is not bytes:
            value = _as_bytes(value, self.name)
        size = len(value)
        if size < 0x40:
            out.append(size << 2)
        else:
            out += encode_compact(size)
        out += value

    def decode_at(self, data: bytes, pos: int) -> tuple[bytes, int]:
        if pos < len(data) and not data[pos] & 0b11:
            pos2 = pos + 1  # single-byte length, inlined
            end = pos2 + (data[pos] >> 2)
            if end > len(data):
                raise ScaleDecodeError(
                    f"declared byte length {end - pos2} exceeds the remaining "
                    f"{len(data) - pos2} byte(s)",
                    pos,
                )
        else:
            length, pos2 = _decode_length(data, pos, 1, "byte")
            end = pos2 + length
        return data[pos2:end], end


Bytes: Codec[bytes] = _Bytes()


class _Str(Codec[str]):
    name = "str"
    min_size = 1

    def encode_into(self, value: str, out: bytearray) -> None:
        if not isinstance(value, str):
            raise ScaleEncodeError(f"str expects a str, got {type(value).__name__}")
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-8 form
            raise ScaleEncodeError(f"str is not encodable as UTF-8: {exc.reason}") from None
        out += encode_compact(len(raw))
        out += raw

    def decode_at(self, data: bytes, pos: int) -> tuple[str, int]:
        length, pos2 = _decode_length(data, pos, 1, "string")
        end = pos2 + length
        try:
            return data[pos2:end].decode("utf-8"), end
        except UnicodeDecodeError as exc:
            raise ScaleDecodeError(
                f"invalid UTF-8 in string: {exc.reason}", pos2 + exc.start
            ) from None


Str: Codec[str] = _Str()


class FixedBytes(Codec[bytes]):
    """``[u8; n]``: exactly ``n`` raw bytes, no length prefix."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.min_size = size
        self.name = f"[u8; {size}]"

    def encode_into(self, value: bytes, out: bytearray) -> None:
        if type(value) is not bytes:
            value = _as_bytes(value, self.name)
        if len(value) != self.size:
            raise ScaleEncodeError(f"{self.name} expects {self.size} bytes, got {len(value)}")
        out += value

    def decode_at(self, data: bytes, pos: int) -> tuple[bytes, int]:
        end = pos + self.size
        if end > len(data):
            raise _truncated(self.name, pos)
        return data[pos:end], end


H256 = FixedBytes(32)
H512 = FixedBytes(64)


# ------------------------------------------------------------------------------------ sequences


class Tuple(Codec[tuple[Any, ...]]):
    """A tuple ``(A, B, …)``: the concatenation of its elements. ``Tuple()`` is the unit ``()``."""

    def __init__(self, *items: Codec[Any]) -> None:
        self.items = items
        self.name = "(" + ", ".join(c.name for c in items) + ")"
        self.min_size = sum(c.min_size for c in items)

    def encode_into(self, value: tuple[Any, ...], out: bytearray) -> None:
        if not isinstance(value, (tuple, list)) or len(value) != len(self.items):
            raise ScaleEncodeError(
                f"{self.name} expects a {len(self.items)}-tuple, got {value!r:.60}"
            )
        for codec, item in zip(self.items, value, strict=True):
            codec.encode_into(item, out)

    def sort_key(self, value: tuple[Any, ...]) -> Any:
        return tuple(codec.sort_key(item) for codec, item in zip(self.items, value, strict=True))

    def decode_at(self, data: bytes, pos: int) -> tuple[tuple[Any, ...], int]:
        values = []
        for codec in self.items:
            value, pos = codec.decode_at(data, pos)
            values.append(value)
        return tuple(values), pos


Unit = Tuple()


class Vec(Codec[list[T]]):
    """``Vec<T>``: compact length then the items. (Use :data:`Bytes` for ``Vec<u8>``.)"""

    min_size = 1

    def __init__(self, item: Codec[T]) -> None:
        self.item = item
        self.name = f"Vec<{item.name}>"

    def encode_into(self, value: Sequence[T], out: bytearray) -> None:
        if type(value) is not list and type(value) is not tuple:
            if isinstance(value, (str, bytes, dict)) or not isinstance(value, Sequence):
                raise ScaleEncodeError(
                    f"{self.name} expects a sequence, got {type(value).__name__}"
                )
        size = len(value)
        if size < 0x40:
            out.append(size << 2)
        else:
            out += encode_compact(size)
        encode_item = self.item.encode_into
        for item in value:
            encode_item(item, out)

    def sort_key(self, value: Sequence[T]) -> Any:
        return tuple(self.item.sort_key(item) for item in value)

    def decode_at(self, data: bytes, pos: int) -> tuple[list[T], int]:
        min_size = self.item.min_size
        if pos < len(data) and not data[pos] & 0b11 and min_size:
            length = data[pos] >> 2  # single-byte length (< 64), inlined
            if length * min_size > len(data) - pos - 1:
                raise ScaleDecodeError(
                    f"declared sequence length {length} exceeds the remaining "
                    f"{len(data) - pos - 1} byte(s)",
                    pos,
                )
            pos += 1
        else:
            length, pos = _decode_length(data, pos, self.item.min_size, "sequence")
        decode_item = self.item.decode_at
        values = []
        for _ in range(length):
            value, pos = decode_item(data, pos)
            values.append(value)
        return values, pos


class Array(Codec[list[T]]):
    """``[T; n]``: exactly ``n`` items, no length prefix (:class:`FixedBytes` for ``[u8; n]``)."""

    def __init__(self, item: Codec[T], length: int) -> None:
        self.item = item
        self.length = length
        self.name = f"[{item.name}; {length}]"
        self.min_size = item.min_size * length

    def encode_into(self, value: Sequence[T], out: bytearray) -> None:
        if not isinstance(value, Sequence) or len(value) != self.length:
            raise ScaleEncodeError(f"{self.name} expects {self.length} items")
        for item in value:
            self.item.encode_into(item, out)

    def sort_key(self, value: Sequence[T]) -> Any:
        return tuple(self.item.sort_key(item) for item in value)

    def decode_at(self, data: bytes, pos: int) -> tuple[list[T], int]:
        values = []
        for _ in range(self.length):
            value, pos = self.item.decode_at(data, pos)
            values.append(value)
        return values, pos


class BTreeMap(Codec[dict[Any, Any]]):
    """``BTreeMap<K, V>``: compact length then ``(key, value)`` pairs in ascending key order."""

    min_size = 1

    def __init__(self, key: Codec[Any], value: Codec[Any]) -> None:
        if isinstance(key, (Vec, Array, BTreeMap)):
            raise ScaleError(f"BTreeMap key {key.name} decodes to a list or dict: not hashable")
        self.key = key
        self.value = value
        self.name = f"BTreeMap<{key.name}, {value.name}>"
        self._pair_min = key.min_size + value.min_size

    def encode_into(self, value: Mapping[Any, Any], out: bytearray) -> None:
        if not isinstance(value, Mapping):
            raise ScaleEncodeError(f"{self.name} expects a mapping, got {type(value).__name__}")
        # Encode every key first: that validates its type, so that sort_key can rely on it.
        entries = []
        for k, v in value.items():
            key_bytes = self.key.encode(k)
            entries.append((self.key.sort_key(k), key_bytes, v))
        out += encode_compact(len(value))
        for _, key_bytes, v in sorted(entries, key=lambda entry: entry[0]):
            out += key_bytes
            self.value.encode_into(v, out)

    def sort_key(self, value: Mapping[Any, Any]) -> Any:
        key_order = self.key.sort_key
        return tuple(sorted(((key_order(k), self.value.sort_key(v)) for k, v in value.items())))

    def decode_at(self, data: bytes, pos: int) -> tuple[dict[Any, Any], int]:
        length, pos = _decode_length(data, pos, self._pair_min, "map")
        key_order = self.key.sort_key
        result: dict[Any, Any] = {}
        previous: Any = None
        for i in range(length):
            key_pos = pos
            k, pos = self.key.decode_at(data, pos)
            order = key_order(k)
            if i and not previous < order:
                raise ScaleDecodeError("map keys are not in strictly ascending order", key_pos)
            v, pos = self.value.decode_at(data, pos)
            result[k] = v
            previous = order
        return result, pos


# ----------------------------------------------------------------------------- option / result


class Option(Codec[Any]):
    """``Option<T>``: ``0x00`` = ``None``, ``0x01 ++ T`` = value. ``Option<bool>`` is one byte."""

    min_size = 1

    def __init__(self, item: Codec[Any]) -> None:
        if isinstance(item, Option):
            raise ScaleError("Option<Option<T>> is not supported: None would be ambiguous")
        self.item = item
        self.name = f"Option<{item.name}>"
        self._is_bool = item is Bool

    def encode_into(self, value: Any, out: bytearray) -> None:
        if value is None:
            out.append(0)
        elif self._is_bool:
            if not isinstance(value, bool):
                raise ScaleEncodeError(f"Option<bool> expects a bool or None, got {value!r:.40}")
            out.append(1 if value else 2)
        else:
            out.append(1)
            self.item.encode_into(value, out)

    def sort_key(self, value: Any) -> Any:
        # Rust: None < Some(_), and Some values compare by their contents.
        return (0,) if value is None else (1, self.item.sort_key(value))

    def decode_at(self, data: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(data):
            raise _truncated(self.name, pos)
        tag = data[pos]
        if self._is_bool:
            if tag > 2:
                raise ScaleDecodeError(f"invalid Option<bool> byte 0x{tag:02x}", pos)
            return (None, True, False)[tag], pos + 1
        if tag == 0:
            return None, pos + 1
        if tag == 1:
            return self.item.decode_at(data, pos + 1)
        raise ScaleDecodeError(f"invalid Option tag 0x{tag:02x}", pos)


@dataclasses.dataclass(frozen=True)
class Ok(Generic[T]):
    """The ``Ok`` side of a decoded ``Result``."""

    value: T


@dataclasses.dataclass(frozen=True)
class Err(Generic[T]):
    """The ``Err`` side of a decoded ``Result``."""

    value: T


class Result(Codec[Any]):
    """``Result<T, E>``: ``0x00 ++ T`` for :class:`Ok`, ``0x01 ++ E`` for :class:`Err`."""

    min_size = 1

    def __init__(self, ok: Codec[Any], err: Codec[Any]) -> None:
        self.ok = ok
        self.err = err
        self.name = f"Result<{ok.name}, {err.name}>"

    def encode_into(self, value: Any, out: bytearray) -> None:
        if isinstance(value, Ok):
            out.append(0)
            self.ok.encode_into(value.value, out)
        elif isinstance(value, Err):
            out.append(1)
            self.err.encode_into(value.value, out)
        else:
            raise ScaleEncodeError(f"{self.name} expects Ok(...) or Err(...), got {value!r:.40}")

    def sort_key(self, value: Any) -> Any:
        # Rust's Result declares Ok before Err, so every Ok sorts first.
        if isinstance(value, Ok):
            return (0, self.ok.sort_key(value.value))
        return (1, self.err.sort_key(value.value))

    def decode_at(self, data: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(data):
            raise _truncated(self.name, pos)
        tag = data[pos]
        if tag == 0:
            value, end = self.ok.decode_at(data, pos + 1)
            return Ok(value), end
        if tag == 1:
            value, end = self.err.decode_at(data, pos + 1)
            return Err(value), end
        raise ScaleDecodeError(f"invalid Result tag 0x{tag:02x}", pos)


# -------------------------------------------------------------------------------------- structs


def _codec_for_hint(hint: Any, where: str) -> Codec[Any]:
    """The codec of a dataclass field: ``Annotated[T, codec]`` or a :class:`Struct` subclass."""
    if typing.get_origin(hint) is typing.Annotated:
        for meta in hint.__metadata__:
            if isinstance(meta, Codec):
                return meta
            if isinstance(meta, type) and issubclass(meta, Struct):
                return meta.codec()
        raise ScaleError(f"{where}: Annotated field has no codec in its metadata")
    if isinstance(hint, type) and issubclass(hint, Struct):
        return hint.codec()
    raise ScaleError(f"{where}: field type {hint!r} needs Annotated[T, codec]")


_new_object = object.__new__


def _is_plain_dataclass(cls: type) -> bool:
    """Whether ``cls(*field_values)`` does nothing but store the values in the instance dict.

    True for an ordinary ``@dataclass`` (frozen or not) whose fields are all ``init`` fields, that
    has no ``__post_init__``, keeps the ``__init__`` the decorator generated and has a ``__dict__``.
    Struct decoding then fills the instance dict directly, which is several times faster.
    """
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return False
    if any(not f.init for f in dataclasses.fields(cls)):
        return False
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    # dataclasses builds __init__ with exec(); a hand-written one has a real file name.
    if code is None or code.co_filename != "<string>":
        return False
    try:
        probe = _new_object(cls)
    except TypeError:
        return False
    return isinstance(getattr(probe, "__dict__", None), dict)


# ------------------------------------------------------------------------ generated struct codecs
#
# A struct's encoder and decoder are straight-line Python functions generated from its field list
# (the technique of dataclasses' own __init__), about twice as fast as looping over the fields.
# Fixed-width integers, byte arrays and single-byte compacts are inlined with exactly the checks of
# their codecs' methods; any value the inline form does not handle (a wrong type, an out-of-range
# or multi-byte value) is passed to the field codec's own method, which encodes it or raises. All
# other fields call their codec's method. ``codec._encoder_source`` / ``_decoder_source`` hold the
# generated text. Field names are Python identifiers (dataclasses guarantee it); no other text is
# interpolated: codecs and names are passed in the function's namespace.


def _compile(source: str, namespace: dict[str, Any], name: str) -> Callable[..., Any]:
    exec(compile(source, f"<scale codec {name}>", "exec"), namespace)
    function: Callable[..., Any] = namespace["_generated"]
    return function


def _compile_struct_decoder(codec: StructCodec[Any]) -> Callable[[bytes, int], tuple[Any, int]]:
    """Generate ``decode_at(data, pos)`` for ``codec``: equivalent to StructCodec.decode_at."""
    namespace: dict[str, Any] = {
        "cls": codec.cls,
        "new": _new_object,
        "struct_error": struct.error,
        "truncated": _truncated,
        "decode_compact": decode_compact,
    }
    lines = ["def _generated(data, pos):"]
    if codec._fast_init:
        lines += ["    obj = new(cls)", "    fields = obj.__dict__"]
    for i, (field_name, field_codec) in enumerate(codec._pairs):
        target = f"fields[{field_name!r}]" if codec._fast_init else f"v{i}"
        namespace[f"name{i}"] = field_codec.name
        if isinstance(field_codec, FixedBytes):
            lines += [
                f"    end = pos + {field_codec.size}",
                "    if end > len(data):",
                f"        raise truncated(name{i}, pos)",
                f"    {target} = data[pos:end]",
                "    pos = end",
            ]
        elif isinstance(field_codec, _FixedInt):
            namespace[f"unpack{i}"] = field_codec._struct.unpack_from
            lines += [
                "    try:",
                f"        ({target},) = unpack{i}(data, pos)",
                "    except struct_error:",
                f"        raise truncated(name{i}, pos) from None",
                f"    pos += {field_codec.min_size}",
            ]
        elif isinstance(field_codec, CompactOf) and field_codec.bits >= 6:
            lines += [
                "    if pos < len(data) and not data[pos] & 3:",
                f"        {target} = data[pos] >> 2",
                "        pos += 1",
                "    else:",
                f"        {target}, pos = decode_compact(data, pos, {field_codec.bits})",
            ]
        else:
            namespace[f"decode{i}"] = field_codec.decode_at
            lines.append(f"    {target}, pos = decode{i}(data, pos)")
    if codec._fast_init:
        lines.append("    return obj, pos")
    else:
        arguments = ", ".join(f"{n}=v{i}" for i, n in enumerate(codec.field_names))
        lines.append(f"    return cls({arguments}), pos")
    source = "\n".join(lines) + "\n"
    codec._decoder_source = source
    return _compile(source, namespace, codec.name)


def _compile_struct_encoder(
    codec: StructCodec[Any], check_type: bool
) -> Callable[[Any, bytearray], None]:
    """Generate ``encode_into`` (``check_type``) or ``encode_fields`` for ``codec``."""
    namespace: dict[str, Any] = {"cls": codec.cls, "encode_error": ScaleEncodeError}
    lines = ["def _generated(value, out):"]
    if check_type:
        namespace["message"] = f"{codec.name} expects a {codec.name}, got "
        lines += [
            "    if not isinstance(value, cls):",
            "        raise encode_error(message + type(value).__name__)",
        ]
    for i, (field_name, field_codec) in enumerate(codec._pairs):
        namespace[f"encode{i}"] = field_codec.encode_into
        lines.append(f"    v = value.{field_name}")
        if isinstance(field_codec, FixedBytes):
            lines += [
                f"    if type(v) is bytes and len(v) == {field_codec.size}:",
                "        out += v",
                "    else:",
                f"        encode{i}(v, out)",
            ]
        elif isinstance(field_codec, _FixedInt):
            namespace[f"pack{i}"] = field_codec._struct.pack
            lines += [
                f"    if type(v) is int and {field_codec.lo} <= v <= {field_codec.hi}:",
                f"        out += pack{i}(v)",
                "    else:",
                f"        encode{i}(v, out)",
            ]
        elif isinstance(field_codec, CompactOf) and field_codec.bits >= 6:
            lines += [
                "    if type(v) is int and 0 <= v < 64:",
                "        out.append(v << 2)",
                "    else:",
                f"        encode{i}(v, out)",
            ]
        else:
            lines.append(f"    encode{i}(v, out)")
    if not codec._pairs:
        lines.append("    return None")
    source = "\n".join(lines) + "\n"
    if check_type:
        codec._encoder_source = source
    return _compile(source, namespace, codec.name)


class StructCodec(Codec[S]):
    """Codec of a :class:`Struct` dataclass: its fields' encodings in declaration order."""

    _encoder_source = ""
    _decoder_source = ""

    def __init__(self, cls: type[S]) -> None:
        self.cls = cls
        self.name = cls.__name__
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
        self.field_names = tuple(f.name for f in fields)
        # Dataclasses ensure it, and the generated code relies on it.
        for field_name in self.field_names:
            if not field_name.isidentifier():
                raise ScaleError(f"{cls.__name__}: field name {field_name!r} is not an identifier")
        self.field_codecs = tuple(
            _codec_for_hint(hints[f.name], f"{cls.__name__}.{f.name}") for f in fields
        )
        self.min_size = sum(c.min_size for c in self.field_codecs)
        self._pairs = tuple(zip(self.field_names, self.field_codecs, strict=True))
        self._decoders = tuple((n, c.decode_at) for n, c in self._pairs)
        self._encoders = tuple((n, c.encode_into) for n, c in self._pairs)
        self._fast_init = _is_plain_dataclass(cls)
        # The methods below are the reference semantics. Each instance replaces them with
        # functions generated for its fields (same behaviour, no per-field loop and the common
        # leaf types inlined); see "generated struct codecs" below.
        generated_encode_into = _compile_struct_encoder(self, check_type=True)
        generated_encode_fields = _compile_struct_encoder(self, check_type=False)
        generated_decode_at = _compile_struct_decoder(self)
        self.encode_into = generated_encode_into  # type: ignore[method-assign,assignment]
        self.encode_fields = generated_encode_fields  # type: ignore[method-assign,assignment]
        self.decode_at = generated_decode_at  # type: ignore[method-assign,assignment]

    def encode_into(self, value: S, out: bytearray) -> None:
        if not isinstance(value, self.cls):
            raise ScaleEncodeError(f"{self.name} expects a {self.name}, got {type(value).__name__}")
        self.encode_fields(value, out)

    def encode_fields(self, value: S, out: bytearray) -> None:
        """Append the fields of ``value``, already known to be a ``cls`` instance."""
        for field_name, encode in self._encoders:
            encode(getattr(value, field_name), out)

    def decode_at(self, data: bytes, pos: int) -> tuple[S, int]:
        """Decode the fields in order and build the instance (see :func:`_is_plain_dataclass`)."""
        if self._fast_init:
            # Equivalent to ``cls(*values)`` for a plain dataclass, without the cost of the
            # generated ``__init__``, which sets frozen fields one ``object.__setattr__`` at a time.
            obj = _new_object(self.cls)
            fields = obj.__dict__
            for field_name, decode in self._decoders:
                fields[field_name], pos = decode(data, pos)
            return obj, pos
        values = {}
        for field_name, decode in self._decoders:
            values[field_name], pos = decode(data, pos)
        return self.cls(**values), pos

    def sort_key(self, value: S) -> Any:
        return tuple(codec.sort_key(getattr(value, n)) for n, codec in self._pairs)


class Struct:
    """Base of SCALE structs: a dataclass whose fields say their codec with ``Annotated``.

    Example::

        @dataclass(frozen=True)
        class Transfer(Struct):
            dest: Annotated[bytes, H256]
            value: Annotated[int, Compact]

        Transfer(b"\\x01" * 32, 5).encode()  →  32 bytes ++ 0x14

    A field whose type is itself a ``Struct`` subclass needs no annotation. The codec is built on
    first use (so forward references resolve) and cached on the class.
    """

    __scale_codec__: ClassVar[StructCodec[Any] | None] = None

    @classmethod
    def codec(cls: type[S]) -> StructCodec[S]:
        codec = cls.__dict__.get("__scale_codec__")
        if codec is None:
            codec = StructCodec(cls)
            cls.__scale_codec__ = codec
        return codec

    def encode(self) -> bytes:
        return type(self).codec().encode(self)

    def encode_into(self, out: bytearray) -> None:
        type(self).codec().encode_into(self, out)

    @classmethod
    def decode(cls: type[S], data: bytes | bytearray | memoryview) -> S:
        return cls.codec().decode(data)


# ---------------------------------------------------------------------------------------- enums


class Enum(Codec[Any]):
    """A Rust enum with explicit variant indices (``#[codec(index = N)]``).

    Each variant is a :class:`Struct` subclass (its fields are the variant's fields; a struct with
    no fields is a unit variant) and a value is an instance of one of them::

        DigestItem = Enum("DigestItem", {6: PreRuntime, 4: Consensus, 5: Seal, 0: Other})

    Variant names (for metadata and JSON) are the class names unless given in ``names``.
    """

    min_size = 1

    def __init__(
        self,
        name: str,
        variants: Mapping[int, type[Struct]],
        names: Mapping[int, str] | None = None,
    ) -> None:
        self.name = name
        for index in variants:
            if not 0 <= index <= 255:
                raise ScaleError(f"{name}: variant index {index} is not a u8")
        self.variants: dict[int, type[Struct]] = dict(sorted(variants.items()))
        self.variant_names = {
            index: (names or {}).get(index, cls.__name__) for index, cls in self.variants.items()
        }
        self._index_of = {cls: index for index, cls in self.variants.items()}
        if len(self._index_of) != len(self.variants):
            raise ScaleError(f"{name}: a class is used for two variants")
        self._table: list[Callable[[bytes, int], tuple[Any, int]] | None] = [None] * 256
        self._encoders: dict[type, tuple[int, Callable[[Any, bytearray], None]]] = {}
        self._built = False

    def _build(self) -> None:
        # Built on first use, not in __init__, so that variant structs may refer to types that
        # are defined after the enum.
        for index, cls in self.variants.items():
            codec = cls.codec()
            self._table[index] = codec.decode_at
            self._encoders[cls] = (index, codec.encode_fields)
        self._built = True

    def index_of(self, value: Any) -> int:
        try:
            return self._index_of[type(value)]
        except KeyError:
            raise ScaleEncodeError(
                f"{self.name} has no variant of type {type(value).__name__}"
            ) from None

    def encode_into(self, value: Any, out: bytearray) -> None:
        if not self._built:
            self._build()
        try:
            index, encode_fields = self._encoders[type(value)]
        except KeyError:
            raise ScaleEncodeError(
                f"{self.name} has no variant of type {type(value).__name__}"
            ) from None
        out.append(index)
        encode_fields(value, out)

    def sort_key(self, value: Any) -> Any:
        # Rust's derived Ord compares the variant first (declaration order, which pychain takes
        # to be index order), then the variant's fields.
        index = self.index_of(value)
        return (index, type(value).codec().sort_key(value))

    def decode_at(self, data: bytes, pos: int) -> tuple[Any, int]:
        if not self._built:
            self._build()
        if pos >= len(data):
            raise _truncated(self.name, pos)
        decode = self._table[data[pos]]
        if decode is None:
            raise ScaleDecodeError(f"invalid {self.name} variant index {data[pos]}", pos)
        return decode(data, pos + 1)


E = TypeVar("E", bound="typing.SupportsInt")


class CEnum(Codec[Any]):
    """A field-less (C-like) enum encoded as one byte: wraps a Python ``enum.IntEnum``."""

    min_size = 1

    def __init__(self, enum_cls: Any) -> None:
        self.enum_cls = enum_cls
        self.name = enum_cls.__name__
        self._by_value = {int(m): m for m in enum_cls}
        if any(not 0 <= v <= 255 for v in self._by_value):
            raise ScaleError(f"{self.name}: values must be u8")

    def encode_into(self, value: Any, out: bytearray) -> None:
        if not isinstance(value, self.enum_cls):
            raise ScaleEncodeError(f"{self.name} expects a {self.name}, got {value!r:.40}")
        out.append(int(value))

    def sort_key(self, value: Any) -> Any:
        return int(value)

    def decode_at(self, data: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(data):
            raise _truncated(self.name, pos)
        try:
            return self._by_value[data[pos]], pos + 1
        except KeyError:
            raise ScaleDecodeError(f"invalid {self.name} variant index {data[pos]}", pos) from None
