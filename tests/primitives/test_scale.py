"""SCALE codec: parity-scale-codec's own vectors, real headers, and every strictness rule.

Spec: Polkadot specification, appendix "SCALE Codec"; vectors from paritytech/parity-scale-codec
(``vectors/scale_vectors.json``) and smoldot's raw Polkadot/Kusama headers (``vectors/headers``).
Property tests live in ``test_scale_properties.py``; the differential tests against scalecodec in
``test_scale_scalecodec.py``.
"""

from __future__ import annotations

import enum
import json
import re
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pytest

from pychain.errors import PychainError
from pychain.primitives.hashing import blake2_256
from pychain.primitives.scale import (
    H256,
    I8,
    I16,
    I32,
    I64,
    I128,
    MAX_ZERO_SIZED_ITEMS,
    U8,
    U16,
    U32,
    U64,
    U128,
    U256,
    Array,
    Bool,
    BTreeMap,
    Bytes,
    CEnum,
    Codec,
    Compact,
    CompactOf,
    CompactU32,
    Enum,
    Err,
    FixedBytes,
    Ok,
    Option,
    Result,
    ScaleDecodeError,
    ScaleEncodeError,
    ScaleError,
    Str,
    Struct,
    StructCodec,
    Tuple,
    Unit,
    Vec,
    decode_compact,
    encode_compact,
)

# ------------------------------------------------------------------------------------ helpers


def assert_decode_error(codec: Codec[Any], data: bytes, offset: int, reason: str = "") -> None:
    """Decoding ``data`` must fail with a ScaleDecodeError at ``offset`` mentioning ``reason``."""
    with pytest.raises(ScaleDecodeError) as info:
        codec.decode(data)
    assert info.value.offset == offset, str(info.value)
    assert reason in info.value.reason, info.value.reason


def parse_big(text: str | int) -> int:
    """``"2^56-1"``, ``"2^64"``, ``"u128::MAX"`` or an int, as in scale_vectors.json."""
    if isinstance(text, int):
        return text
    if text == "u128::MAX":
        return (1 << 128) - 1
    match = re.fullmatch(r"2\^(\d+)(-1)?", text)
    assert match, f"unexpected length key {text!r}"
    return (1 << int(match.group(1))) - (1 if match.group(2) else 0)


@pytest.fixture(scope="module")
def scale_vectors(vectors: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors / "scale_vectors.json").read_text())
    return data


# ---------------------------------------------------------------------- parity-scale-codec vectors


def test_compact_vectors_encode_and_decode_exactly(scale_vectors: dict[str, Any]) -> None:
    cases = scale_vectors["compact"]
    assert len(cases) >= 10
    for value, hex_bytes in cases:
        expected = bytes.fromhex(hex_bytes)
        assert encode_compact(value) == expected, value
        assert Compact.encode(value) == expected
        assert Compact.decode(expected) == value
        assert CompactOf(64).decode(expected) == value


def test_compact_lengths_match_parity_for_u128(scale_vectors: dict[str, Any]) -> None:
    for text, length in scale_vectors["compact_lengths_u128"]:
        value = parse_big(text)
        encoded = Compact.encode(value)
        assert len(encoded) == length, text
        assert Compact.decode(encoded) == value


def test_compact_decode_bounds_reject_256_for_u8_and_65536_for_u16(
    scale_vectors: dict[str, Any],
) -> None:
    assert "Compact<u8> rejects 256" in scale_vectors["compact_decode_bounds"]
    assert CompactOf(8).decode(Compact.encode(255)) == 255
    assert_decode_error(CompactOf(8), Compact.encode(256), 0, "out of range for u8")
    assert CompactOf(16).decode(Compact.encode(65535)) == 65535
    assert_decode_error(CompactOf(16), Compact.encode(65536), 0, "out of range for u16")
    assert_decode_error(CompactU32, Compact.encode(1 << 32), 0, "out of range for u32")
    assert_decode_error(Compact, encode_compact(1 << 128), 0, "out of range for u128")


def test_string_vector_round_trips(scale_vectors: dict[str, Any]) -> None:
    text, hex_bytes = scale_vectors["string_hello_world"]
    assert Str.encode(text) == bytes.fromhex(hex_bytes)
    assert Str.decode(bytes.fromhex(hex_bytes)) == text


@pytest.mark.parametrize(
    ("key", "codec"),
    [
        ("vec_u8", Vec(U8)),
        ("vec_i16", Vec(I16)),
        ("vec_option_i8", Vec(Option(I8))),
        ("vec_OptionBool", Vec(Option(Bool))),
        ("vec_string", Vec(Str)),
    ],
)
def test_sequence_vectors_round_trip(
    scale_vectors: dict[str, Any], key: str, codec: Codec[Any]
) -> None:
    value, hex_bytes = scale_vectors[key][:2]
    assert codec.encode(value) == bytes.fromhex(hex_bytes)
    assert codec.decode(bytes.fromhex(hex_bytes)) == value


def test_vec_u8_vector_matches_bytes_codec(scale_vectors: dict[str, Any]) -> None:
    value, hex_bytes = scale_vectors["vec_u8"]
    assert Bytes.encode(bytes(value)) == bytes.fromhex(hex_bytes)
    assert Bytes.decode(bytes.fromhex(hex_bytes)) == bytes(value)


def test_vec_of_unit_vector_is_only_a_length(scale_vectors: dict[str, Any]) -> None:
    count, hex_bytes = scale_vectors["vec_unit_5"]
    assert Vec(Unit).encode([()] * count) == bytes.fromhex(hex_bytes)
    assert Vec(Unit).decode(bytes.fromhex(hex_bytes)) == [()] * count


# ------------------------------------------------------------------ real headers (smoldot vectors)


@dataclass(frozen=True)
class Other(Struct):
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class Consensus(Struct):
    engine: Annotated[bytes, FixedBytes(4)]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class Seal(Struct):
    engine: Annotated[bytes, FixedBytes(4)]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class PreRuntime(Struct):
    engine: Annotated[bytes, FixedBytes(4)]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class RuntimeEnvironmentUpdated(Struct):
    pass


DigestItem = Enum(
    "DigestItem", {0: Other, 4: Consensus, 5: Seal, 6: PreRuntime, 8: RuntimeEnvironmentUpdated}
)


@dataclass(frozen=True)
class Header(Struct):
    parent_hash: Annotated[bytes, H256]
    number: Annotated[int, CompactU32]
    state_root: Annotated[bytes, H256]
    extrinsics_root: Annotated[bytes, H256]
    digest: Annotated[list[Any], Vec(DigestItem)]


def test_real_headers_decode_and_reencode_byte_identical(vectors: Path) -> None:
    meta = json.loads((vectors / "headers" / "headers_decoded.json").read_text())
    assert len(meta["headers"]) == 2
    for entry in meta["headers"]:
        raw = (vectors / "headers" / Path(entry["file"]).name).read_bytes()
        assert len(raw) == entry["len"]
        header = Header.decode(raw)
        assert header.number == entry["number"]
        assert "0x" + header.parent_hash.hex() == entry["parent"]
        assert "0x" + blake2_256(raw).hex() == entry["blake2_256"]
        assert isinstance(header.digest[0], PreRuntime) and header.digest[0].engine == b"BABE"
        assert isinstance(header.digest[-1], Seal) and len(header.digest[-1].data) == 64
        assert header.encode() == raw


def test_real_header_every_truncation_is_a_decode_error(vectors: Path) -> None:
    raw = (vectors / "headers" / "header-polkadot-512271.bin").read_bytes()
    for cut in (0, 1, 31, 32, 33, 35, 99, 100, 101, 500, len(raw) - 64, len(raw) - 1):
        with pytest.raises(ScaleDecodeError):
            Header.decode(raw[:cut])


# ------------------------------------------------------------------------- fixed-width integers

INTS: list[tuple[Codec[int], int, int, int]] = [
    (U8, 1, 0, 0xFF),
    (U16, 2, 0, 0xFFFF),
    (U32, 4, 0, 0xFFFF_FFFF),
    (U64, 8, 0, (1 << 64) - 1),
    (U128, 16, 0, (1 << 128) - 1),
    (U256, 32, 0, (1 << 256) - 1),
    (I8, 1, -128, 127),
    (I16, 2, -(1 << 15), (1 << 15) - 1),
    (I32, 4, -(1 << 31), (1 << 31) - 1),
    (I64, 8, -(1 << 63), (1 << 63) - 1),
    (I128, 16, -(1 << 127), (1 << 127) - 1),
]


@pytest.mark.parametrize(("codec", "size", "lo", "hi"), INTS, ids=[c.name for c, *_ in INTS])
def test_fixed_int_bounds_round_trip_little_endian(
    codec: Codec[int], size: int, lo: int, hi: int
) -> None:
    signed = lo < 0
    for value in (lo, hi, 0, 1, hi // 3):
        encoded = codec.encode(value)
        assert encoded == value.to_bytes(size, "little", signed=signed)
        assert codec.decode(encoded) == value
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ScaleEncodeError):
            codec.encode(bad)
    for wrong_type in (True, 1.0, "1", None):
        with pytest.raises(ScaleEncodeError):
            codec.encode(wrong_type)  # type: ignore[arg-type]
    assert_decode_error(codec, bytes(size - 1), 0, "too short")
    assert_decode_error(codec, bytes(size + 1), size, "trailing")


def test_u32_is_little_endian() -> None:
    assert U32.encode(0x01020304) == bytes([4, 3, 2, 1])
    assert I16.encode(-2) == b"\xfe\xff"


# ---------------------------------------------------------------------------------- bool, compact


def test_bool_encodes_one_byte_and_rejects_other_bytes() -> None:
    assert Bool.encode(True) == b"\x01" and Bool.encode(False) == b"\x00"
    assert Bool.decode(b"\x01") is True and Bool.decode(b"\x00") is False
    assert_decode_error(Bool, b"\x02", 0, "invalid bool")
    assert_decode_error(Vec(Bool), b"\x08\x01\xff", 2, "invalid bool")
    with pytest.raises(ScaleEncodeError):
        Bool.encode(1)  # type: ignore[arg-type]


def test_compact_mode_boundaries_use_the_shortest_mode() -> None:
    assert encode_compact(63) == b"\xfc"
    assert encode_compact(64) == b"\x01\x01"
    assert encode_compact((1 << 14) - 1) == b"\xfd\xff"
    assert encode_compact(1 << 14) == b"\x02\x00\x01\x00"
    assert encode_compact((1 << 30) - 1) == b"\xfe\xff\xff\xff"
    assert encode_compact(1 << 30) == b"\x03\x00\x00\x00\x40"
    largest = (1 << 536) - 1
    assert encode_compact(largest) == b"\xff" + b"\xff" * 67
    assert decode_compact(encode_compact(largest), 0, 536) == (largest, 68)


@pytest.mark.parametrize(
    ("data", "mode"),
    [
        (b"\x01\x00", "two-byte"),  # 0 in two-byte mode
        (b"\xfd\x00", "two-byte"),  # 63 in two-byte mode
        (b"\x02\x00\x00\x00", "four-byte"),  # 0 in four-byte mode
        (b"\xfe\xff\x00\x00", "four-byte"),  # 16383 in four-byte mode
        (b"\x03\xff\xff\xff\x3f", "big-integer"),  # 2^30 - 1 in big-integer mode
        (b"\x07\x00\x00\x00\x40\x00", "big-integer"),  # 2^30 with a zero top byte
        (b"\x03\x00\x00\x00\x00", "big-integer"),
    ],
)
def test_compact_overlong_encodings_are_rejected(data: bytes, mode: str) -> None:
    assert_decode_error(Compact, data, 0, f"non-canonical compact encoding ({mode} mode)")


def test_compact_encode_rejects_negative_bool_and_too_large() -> None:
    for bad in (-1, True, "5", 1 << 128):
        with pytest.raises(ScaleEncodeError):
            Compact.encode(bad)  # type: ignore[arg-type]
    with pytest.raises(ScaleEncodeError):
        CompactOf(8).encode(256)
    with pytest.raises(ScaleEncodeError):
        encode_compact(1 << 536)
    with pytest.raises(ScaleEncodeError):
        encode_compact(-5)


def test_compact_truncated_in_each_mode_reports_its_start() -> None:
    for data in (b"", b"\x01", b"\x02\x00\x01", b"\x07\x00\x00\x00\x00"):
        assert_decode_error(Compact, data, 0, "too short")
    assert_decode_error(Tuple(U8, Compact), b"\x00\x02\x00", 1, "too short")


# -------------------------------------------------------------------------------- bytes and text


def test_bytes_and_str_lengths_use_compact_prefix() -> None:
    assert Bytes.encode(b"") == b"\x00"
    payload = bytes(range(256)) * 2
    assert Bytes.encode(payload) == b"\x01\x08" + payload
    assert Bytes.decode(b"\x01\x08" + payload) == payload
    mutable: Any = bytearray(b"ab")
    assert Bytes.encode(mutable) == b"\x08ab"
    assert Str.encode("") == b"\x00"
    assert Str.encode("é") == b"\x08\xc3\xa9"


def test_bytes_encode_counts_bytes_of_a_wide_memoryview() -> None:
    words: Any = memoryview(bytearray(8)).cast("H")  # 4 items, 8 bytes
    assert Bytes.encode(words) == b"\x20" + bytes(8)
    with pytest.raises(ScaleEncodeError):
        FixedBytes(4).encode(words)
    assert FixedBytes(8).encode(words) == bytes(8)


def test_str_invalid_utf8_reports_the_bad_byte() -> None:
    assert_decode_error(Str, b"\x0cab\xffd", 3, "invalid UTF-8")
    assert_decode_error(Str, b"\x08\xc0\xaf", 1, "invalid UTF-8")  # over-long '/'
    assert_decode_error(Str, b"\x0c\xed\xa0\x80", 1, "invalid UTF-8")  # a surrogate


def test_str_encode_rejects_lone_surrogate_and_non_str() -> None:
    with pytest.raises(ScaleEncodeError, match="UTF-8"):
        Str.encode("a\ud800")
    with pytest.raises(ScaleEncodeError):
        Str.encode(b"abc")  # type: ignore[arg-type]


def test_bytes_rejects_str_and_fixed_bytes_rejects_wrong_length() -> None:
    with pytest.raises(ScaleEncodeError):
        Bytes.encode("abc")  # type: ignore[arg-type]
    with pytest.raises(ScaleEncodeError):
        H256.encode(bytes(31))
    assert_decode_error(H256, bytes(31), 0, "too short")
    assert FixedBytes(0).decode(b"") == b""


def test_declared_length_beyond_input_fails_before_allocating() -> None:
    claim = encode_compact(1 << 30)  # 5 bytes claiming 2^30 items, nothing after them
    assert len(claim) == 5
    for codec in (Bytes, Str, Vec(U32), Vec(U8), Vec(Vec(U8)), BTreeMap(U32, U32)):
        tracemalloc.start()
        try:
            with pytest.raises(ScaleDecodeError) as info:
                codec.decode(claim)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert info.value.offset == 0
        assert "exceeds the remaining 0 byte(s)" in info.value.reason
        assert peak < 1 << 20, f"{codec.name} allocated {peak} bytes before failing"


def test_short_declared_length_is_checked_against_the_input() -> None:
    assert_decode_error(Vec(U32), b"\x08\x01\x00\x00\x00", 0, "exceeds the remaining 4")
    assert_decode_error(Bytes, b"\x0cab", 0, "exceeds the remaining 2")


def test_zero_sized_items_are_capped() -> None:
    at_limit = encode_compact(MAX_ZERO_SIZED_ITEMS)
    assert Vec(Unit).decode(at_limit) == [()] * MAX_ZERO_SIZED_ITEMS
    assert_decode_error(Vec(Unit), encode_compact(1 << 30), 0, "zero-sized items")
    assert_decode_error(Vec(Tuple(Unit, FixedBytes(0))), encode_compact(1 << 29), 0, "limit")


def test_sequence_length_above_u32_is_rejected() -> None:
    assert_decode_error(Vec(U8), encode_compact(1 << 32) + bytes(8), 0, "out of range for u32")


# ---------------------------------------------------------------------- sequences and containers


def test_tuple_array_and_unit_concatenate_items() -> None:
    assert Tuple(U8, U16).encode((1, 2)) == b"\x01\x02\x00"
    assert Tuple(U8, U16).decode(b"\x01\x02\x00") == (1, 2)
    assert Array(U16, 3).encode([1, 2, 3]) == b"\x01\x00\x02\x00\x03\x00"
    assert Array(U16, 3).decode(b"\x01\x00\x02\x00\x03\x00") == [1, 2, 3]
    assert Unit.encode(()) == b"" and Unit.decode(b"") == ()
    with pytest.raises(ScaleEncodeError):
        Array(U16, 3).encode([1, 2])
    with pytest.raises(ScaleEncodeError):
        Tuple(U8, U16).encode((1,))
    with pytest.raises(ScaleEncodeError):
        Vec(U8).encode("abc")  # type: ignore[arg-type]


def test_option_tags_and_one_byte_option_bool() -> None:
    assert Option(U32).encode(None) == b"\x00"
    assert Option(U32).encode(7) == b"\x01\x07\x00\x00\x00"
    assert Option(Bool).encode(True) == b"\x01"
    assert Option(Bool).encode(False) == b"\x02"
    assert Option(Bool).decode(b"\x02") is False
    assert Option(Bool).decode(b"\x00") is None
    assert_decode_error(Option(Bool), b"\x03", 0, "invalid Option<bool>")
    assert_decode_error(Option(U32), b"\x02", 0, "invalid Option tag")
    assert_decode_error(Option(U32), b"\x01\x00", 1, "too short")
    with pytest.raises(ScaleEncodeError):
        Option(Bool).encode(1)
    with pytest.raises(ScaleError):
        Option(Option(U8))


def test_result_tags() -> None:
    codec = Result(U8, Str)
    assert codec.encode(Ok(5)) == b"\x00\x05"
    assert codec.encode(Err("no")) == b"\x01\x08no"
    assert codec.decode(b"\x01\x08no") == Err("no")
    assert codec.decode(b"\x00\x05") == Ok(5)
    assert_decode_error(codec, b"\x02\x05", 0, "invalid Result tag")
    with pytest.raises(ScaleEncodeError):
        codec.encode(5)


def test_btreemap_encodes_sorted_and_rejects_unsorted_or_duplicate_keys() -> None:
    codec = BTreeMap(U32, Bool)
    encoded = codec.encode({3: True, 1: False})
    assert encoded == b"\x08" + b"\x01\x00\x00\x00\x00" + b"\x03\x00\x00\x00\x01"
    assert codec.decode(encoded) == {1: False, 3: True}
    unsorted = b"\x08" + b"\x03\x00\x00\x00\x01" + b"\x01\x00\x00\x00\x00"
    assert_decode_error(codec, unsorted, 6, "ascending")
    duplicate = b"\x08" + b"\x01\x00\x00\x00\x01" + b"\x01\x00\x00\x00\x00"
    assert_decode_error(codec, duplicate, 6, "ascending")


def test_btreemap_orders_keys_as_rust_ord_does() -> None:
    # Rust: None < Some(_); Ok(_) < Err(_); tuples lexicographically; strings by UTF-8 bytes.
    options = BTreeMap(Option(U8), U8)
    encoded = options.encode({5: 1, None: 2, 0: 3})
    assert encoded == b"\x0c" + b"\x00\x02" + b"\x01\x00\x03" + b"\x01\x05\x01"
    assert options.decode(encoded) == {None: 2, 0: 3, 5: 1}
    results = BTreeMap(Result(U8, U8), Unit)
    assert results.encode({Err(0): (), Ok(9): ()}) == b"\x08\x00\x09\x01\x00"
    strings = BTreeMap(Str, Unit)
    assert strings.encode({"é": (), "z": ()}) == b"\x08\x04z\x08\xc3\xa9"


def test_btreemap_rejects_unhashable_key_types_and_wrong_key_values() -> None:
    with pytest.raises(ScaleError):
        BTreeMap(Vec(U8), U8)
    with pytest.raises(ScaleEncodeError):
        BTreeMap(U8, U8).encode({"a": 1})
    with pytest.raises(ScaleEncodeError):
        BTreeMap(U8, U8).encode([(1, 1)])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- structs and enums


@dataclass(frozen=True)
class Transfer(Struct):
    dest: Annotated[bytes, H256]
    value: Annotated[int, Compact]
    memo: Annotated[str | None, Option(Str)]


@dataclass(frozen=True)
class Nested(Struct):
    transfer: Transfer
    count: Annotated[int, U16]


def test_struct_fields_concatenate_in_declaration_order() -> None:
    transfer = Transfer(b"\x01" * 32, 5, None)
    assert transfer.encode() == b"\x01" * 32 + b"\x14" + b"\x00"
    nested = Nested(transfer, 258)
    assert nested.encode() == transfer.encode() + b"\x02\x01"
    assert Nested.decode(nested.encode()) == nested
    out = bytearray(b"\xaa")
    nested.encode_into(out)
    assert bytes(out) == b"\xaa" + nested.encode()


def test_struct_encode_rejects_other_types_and_bad_fields() -> None:
    with pytest.raises(ScaleEncodeError):
        Transfer.codec().encode(Nested(Transfer(bytes(32), 0, None), 0))  # type: ignore[arg-type]
    with pytest.raises(ScaleEncodeError):
        Transfer(bytes(31), 0, None).encode()
    with pytest.raises(ScaleEncodeError):
        Transfer(bytes(32), -1, None).encode()
    with pytest.raises(ScaleEncodeError):
        Nested(Transfer(bytes(32), 0, None), 1 << 16).encode()


def test_struct_truncation_reports_the_field_offset() -> None:
    encoded = Nested(Transfer(bytes(32), 1 << 20, "hi"), 7).encode()
    assert_decode_error(Nested.codec(), encoded[:20], 0, "too short for [u8; 32]")
    assert_decode_error(Nested.codec(), encoded[:33], 32, "too short for compact")
    assert_decode_error(Nested.codec(), encoded[:-1], len(encoded) - 2, "too short for u16")
    assert_decode_error(Nested.codec(), encoded + b"\x00", len(encoded), "1 trailing byte(s)")


@dataclass
class Validated(Struct):
    """A struct with a __post_init__: decoding must run it (no fast construction)."""

    amount: Annotated[int, U32]
    doubled: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.doubled = self.amount * 2


def test_struct_with_post_init_is_built_through_init() -> None:
    codec = Validated.codec()
    value = codec.decode(b"\x05\x00\x00\x00")
    assert value.amount == 5 and value.doubled == 10
    assert codec.encode(value) == b"\x05\x00\x00\x00"


def test_generated_struct_codec_matches_reference_methods() -> None:
    codec = Header.codec()
    header = Header(
        bytes(32), 1 << 20, b"\x01" * 32, b"\x02" * 32, [PreRuntime(b"BABE", b"x" * 70)]
    )
    reference = bytearray()
    StructCodec.encode_into(codec, header, reference)
    assert codec.encode(header) == bytes(reference)
    assert StructCodec.decode_at(codec, bytes(reference), 0) == codec.decode_at(bytes(reference), 0)
    assert "def _generated(data, pos)" in codec._decoder_source
    for cut in range(0, len(reference), 7):
        with pytest.raises(ScaleDecodeError) as generated:
            codec.decode(bytes(reference[:cut]))
        with pytest.raises(ScaleDecodeError) as looped:
            StructCodec.decode_at(codec, bytes(reference[:cut]), 0)
        assert generated.value.offset == looped.value.offset


@dataclass(frozen=True)
class Remark(Struct):
    text: Annotated[str, Str]


@dataclass(frozen=True)
class Halt(Struct):
    pass


Command = Enum("Command", {7: Remark, 200: Halt}, names={200: "halt"})


def test_enum_uses_explicit_indices_and_rejects_unknown_ones() -> None:
    assert Command.encode(Remark("a")) == b"\x07\x04a"
    assert Command.encode(Halt()) == b"\xc8"
    assert Command.decode(b"\xc8") == Halt()
    assert Command.variant_names == {7: "Remark", 200: "halt"}
    assert_decode_error(Command, b"\x00", 0, "invalid Command variant index 0")
    assert_decode_error(Vec(Command), b"\x08\xc8\x08", 2, "variant index 8")
    with pytest.raises(ScaleEncodeError):
        Command.encode(Transfer(bytes(32), 0, None))
    with pytest.raises(ScaleError):
        Enum("Bad", {256: Halt})


class Phase(enum.IntEnum):
    APPLY = 0
    FINALIZE = 1
    INIT = 5


def test_c_like_enum_is_one_byte() -> None:
    codec = CEnum(Phase)
    assert codec.encode(Phase.INIT) == b"\x05"
    assert codec.decode(b"\x01") is Phase.FINALIZE
    assert_decode_error(codec, b"\x02", 0, "invalid Phase variant index 2")
    with pytest.raises(ScaleEncodeError):
        codec.encode(5)


def test_errors_share_the_pychain_root() -> None:
    assert issubclass(ScaleDecodeError, ScaleError) and issubclass(ScaleError, PychainError)
    assert issubclass(ScaleEncodeError, ScaleError)
    error = ScaleDecodeError("broken", 12)
    assert error.offset == 12 and "offset 12" in str(error)


def test_decode_accepts_bytearray_and_memoryview() -> None:
    encoded = Transfer(b"\x03" * 32, 99, "m").encode()
    assert Transfer.decode(bytearray(encoded)) == Transfer.decode(memoryview(encoded))
    assert Transfer.decode(memoryview(encoded)).dest == b"\x03" * 32
