"""Property tests of the SCALE codec over randomly built (nested) types.

Spec: Polkadot specification, appendix "SCALE Codec". For every type constructor, nested to a few
levels: encode→decode is the identity, and decoding arbitrary or mutated bytes either raises
:class:`ScaleDecodeError` or returns a value whose encoding is exactly the bytes consumed
(canonicality: one value, one encoding) — never any other exception.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections.abc import Callable
from typing import Annotated, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pychain.primitives.scale import (
    I8,
    I16,
    I32,
    I64,
    I128,
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
    Enum,
    Err,
    FixedBytes,
    Ok,
    Option,
    Result,
    ScaleDecodeError,
    ScaleEncodeError,
    Str,
    Struct,
    StructCodec,
    Tuple,
    Unit,
    Vec,
)

# A type under test: its codec and a strategy for its values.
Typed = tuple[Codec[Any], st.SearchStrategy[Any]]

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Colour(enum.IntEnum):
    RED = 0
    GREEN = 3
    BLUE = 250


def _int(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = st.sampled_from(sorted({lo, hi, 0 if lo <= 0 <= hi else lo, lo + 1, hi - 1}))
    return st.one_of(edges, st.integers(lo, hi))


def _compact(bits: int) -> st.SearchStrategy[int]:
    hi = (1 << bits) - 1
    boundaries = [b for b in (63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, hi) if b <= hi]
    return st.one_of(st.sampled_from(boundaries), st.integers(0, hi))


# Leaves whose values are hashable, so they can also be BTreeMap keys.
HASHABLE_LEAVES: list[Typed] = [
    (U8, _int(0, 0xFF)),
    (U16, _int(0, 0xFFFF)),
    (U32, _int(0, 0xFFFF_FFFF)),
    (U64, _int(0, (1 << 64) - 1)),
    (U128, _int(0, (1 << 128) - 1)),
    (U256, _int(0, (1 << 256) - 1)),
    (I8, _int(-128, 127)),
    (I16, _int(-(1 << 15), (1 << 15) - 1)),
    (I32, _int(-(1 << 31), (1 << 31) - 1)),
    (I64, _int(-(1 << 63), (1 << 63) - 1)),
    (I128, _int(-(1 << 127), (1 << 127) - 1)),
    (Bool, st.booleans()),
    (Compact, _compact(128)),
    (CompactOf(8), _compact(8)),
    (CompactOf(16), _compact(16)),
    (CompactOf(32), _compact(32)),
    (CompactOf(64), _compact(64)),
    (Bytes, st.binary(max_size=80)),
    (Str, st.text(max_size=20)),
    (FixedBytes(4), st.binary(min_size=4, max_size=4)),
    (FixedBytes(0), st.just(b"")),
    (Unit, st.just(())),
    (CEnum(Colour), st.sampled_from(list(Colour))),
]

_struct_names = itertools.count()


def _struct_class(fields: list[Typed]) -> tuple[type[Struct], st.SearchStrategy[Any]]:
    """A fresh frozen dataclass ``Struct`` with one field per given type."""
    cls: Any = dataclasses.make_dataclass(
        f"Generated{next(_struct_names)}",
        [(f"f{i}", Annotated[Any, codec]) for i, (codec, _) in enumerate(fields)],
        bases=(Struct,),
        frozen=True,
    )
    strategy = st.builds(cls, *(values for _, values in fields))
    return cls, strategy


def _struct_of(fields: list[Typed]) -> Typed:
    cls, strategy = _struct_class(fields)
    return cls.codec(), strategy


def _enum_of(variants: list[list[Typed]], indices: list[int]) -> Typed:
    structs = [_struct_class(fields) for fields in variants]
    classes = {index: cls for index, (cls, _) in zip(indices, structs, strict=False)}
    codec = Enum(f"GeneratedEnum{next(_struct_names)}", classes)
    return codec, st.one_of(*(values for _, values in structs[: len(classes)]))


def _option_of(item: Typed) -> Typed | None:
    codec, values = item
    if isinstance(codec, Option):
        return None
    return Option(codec), st.one_of(st.none(), values)


def _hashable_key() -> st.SearchStrategy[Typed]:
    leaf = st.sampled_from(HASHABLE_LEAVES)
    return st.one_of(
        leaf,
        leaf.map(lambda t: (Option(t[0]), st.one_of(st.none(), t[1]))),
        st.lists(leaf, min_size=1, max_size=3).map(
            lambda items: (Tuple(*(c for c, _ in items)), st.tuples(*(v for _, v in items)))
        ),
    )


def _extend(children: st.SearchStrategy[Typed]) -> st.SearchStrategy[Typed]:
    """One level of type constructors over ``children``."""
    vec = children.map(lambda t: (Vec(t[0]), st.lists(t[1], max_size=4)))
    array = st.tuples(children, st.integers(0, 3)).map(
        lambda a: (Array(a[0][0], a[1]), st.lists(a[0][1], min_size=a[1], max_size=a[1]))
    )
    tup = st.lists(children, max_size=3).map(
        lambda items: (Tuple(*(c for c, _ in items)), st.tuples(*(v for _, v in items)))
    )
    option = children.map(_option_of).filter(lambda t: t is not None)
    result = st.tuples(children, children).map(
        lambda p: (
            Result(p[0][0], p[1][0]),
            st.one_of(p[0][1].map(Ok), p[1][1].map(Err)),
        )
    )
    btree = st.tuples(_hashable_key(), children).map(
        lambda p: (BTreeMap(p[0][0], p[1][0]), st.dictionaries(p[0][1], p[1][1], max_size=4))
    )
    struct = st.lists(children, max_size=4).map(_struct_of)
    enum_ = st.tuples(
        st.lists(st.lists(children, max_size=2), min_size=1, max_size=3),
        st.lists(st.integers(0, 255), min_size=3, max_size=3, unique=True),
    ).map(lambda e: _enum_of(e[0], e[1]))
    return st.one_of(vec, array, tup, option, result, btree, struct, enum_)


TYPES: st.SearchStrategy[Typed] = st.recursive(
    st.sampled_from(HASHABLE_LEAVES), _extend, max_leaves=6
)


def _mutations(encoded: bytes) -> st.SearchStrategy[bytes]:
    """Bytes near a valid encoding: truncated, extended, or with one byte changed."""
    cut = st.integers(0, len(encoded)).map(lambda n: encoded[:n])
    extend = st.binary(min_size=1, max_size=4).map(lambda extra: encoded + extra)
    if not encoded:
        return st.one_of(st.just(encoded), extend)
    flip = st.tuples(st.integers(0, len(encoded) - 1), st.integers(0, 255)).map(
        lambda p: encoded[: p[0]] + bytes([p[1]]) + encoded[p[0] + 1 :]
    )
    return st.one_of(cut, extend, flip)


def _assert_canonical_or_error(codec: Codec[Any], data: bytes) -> None:
    """decode_at either fails with ScaleDecodeError or consumed bytes re-encode identically."""
    try:
        value, end = codec.decode_at(data, 0)
    except ScaleDecodeError as error:
        assert 0 <= error.offset <= len(data), error
        return
    assert 0 <= end <= len(data)
    assert codec.encode(value) == data[:end], (codec.name, data.hex())
    if end == len(data):
        assert codec.decode(data) == value
    else:
        try:
            codec.decode(data)
        except ScaleDecodeError as error:
            assert error.offset == end
        else:
            raise AssertionError(f"{codec.name}: trailing bytes accepted")


# ---------------------------------------------------------------------------------- properties


@SETTINGS
@given(typed=st.sampled_from(HASHABLE_LEAVES), data=st.data())
def test_leaf_types_round_trip(typed: Typed, data: st.DataObject) -> None:
    codec, values = typed
    value = data.draw(values)
    encoded = codec.encode(value)
    assert codec.decode(encoded) == value
    assert codec.decode_at(b"\xee" + encoded + b"\xff", 1) == (value, len(encoded) + 1)


@SETTINGS
@given(typed=TYPES, data=st.data())
def test_nested_types_round_trip(typed: Typed, data: st.DataObject) -> None:
    codec, values = typed
    value = data.draw(values)
    encoded = codec.encode(value)
    assert len(encoded) >= codec.min_size
    assert codec.decode(encoded) == value
    out = bytearray(b"prefix")
    codec.encode_into(value, out)
    assert bytes(out) == b"prefix" + encoded


@SETTINGS
@given(typed=TYPES, data=st.data())
def test_mutated_encodings_decode_canonically_or_fail(typed: Typed, data: st.DataObject) -> None:
    codec, values = typed
    encoded = codec.encode(data.draw(values))
    _assert_canonical_or_error(codec, data.draw(_mutations(encoded)))


@SETTINGS
@given(typed=TYPES, raw=st.binary(max_size=64))
def test_arbitrary_bytes_decode_canonically_or_fail(typed: Typed, raw: bytes) -> None:
    _assert_canonical_or_error(typed[0], raw)


def _compact_canonical_length(value: int) -> int:
    if value < 1 << 6:
        return 1
    if value < 1 << 14:
        return 2
    if value < 1 << 30:
        return 4
    return 1 + (value.bit_length() + 7) // 8


@SETTINGS
@given(raw=st.binary(min_size=1, max_size=20), bits=st.sampled_from([8, 16, 32, 64, 128]))
def test_compact_accepts_exactly_the_shortest_encoding(raw: bytes, bits: int) -> None:
    codec = CompactOf(bits)
    try:
        value, end = codec.decode_at(raw, 0)
    except ScaleDecodeError:
        return
    assert value < 1 << bits
    assert end == _compact_canonical_length(value)


# Encoders must turn every wrong value into ScaleEncodeError, never another exception.
WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(1 << 300), 1 << 300),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.lists(st.integers(-3, 300), max_size=3),
    st.tuples(st.integers(-3, 3)),
    st.dictionaries(st.integers(0, 3), st.integers(0, 3), max_size=2),
)


@SETTINGS
@given(typed=TYPES, value=WRONG_VALUES)
def test_encode_of_any_value_succeeds_or_raises_encode_error(typed: Typed, value: Any) -> None:
    codec = typed[0]
    try:
        encoded = codec.encode(value)
    except ScaleEncodeError:
        return
    decoded = codec.decode(encoded)
    assert codec.encode(decoded) == encoded


@dataclasses.dataclass(frozen=True)
class KeyA(Struct):
    x: Annotated[int, U8]
    y: Annotated[str, Str]


@dataclasses.dataclass(frozen=True)
class KeyB(Struct):
    pass


KEY_ENUM = Enum("KeyEnum", {9: KeyA, 2: KeyB})

COMPOSITE_KEYS: list[Typed] = [
    (Option(U16), st.one_of(st.none(), st.integers(0, 0xFFFF))),
    (Option(Bool), st.one_of(st.none(), st.booleans())),
    (Result(U8, Str), st.one_of(st.integers(0, 255).map(Ok), st.text(max_size=3).map(Err))),
    (Tuple(I8, Bytes), st.tuples(st.integers(-128, 127), st.binary(max_size=3))),
    (KeyA.codec(), st.builds(KeyA, st.integers(0, 255), st.text(max_size=3))),
    (KEY_ENUM, st.one_of(st.just(KeyB()), st.builds(KeyA, st.integers(0, 3), st.just("")))),
]


@SETTINGS
@given(key=st.sampled_from(COMPOSITE_KEYS), data=st.data())
def test_btreemap_with_composite_keys_round_trips_sorted(key: Typed, data: st.DataObject) -> None:
    codec = BTreeMap(key[0], U8)
    value = data.draw(st.dictionaries(key[1], st.integers(0, 255), max_size=6))
    encoded = codec.encode(value)
    assert codec.decode(encoded) == value
    keys = list(codec.decode(encoded))
    orders = [key[0].sort_key(k) for k in keys]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)


def _outcome(decode: Callable[[], tuple[Any, int]]) -> tuple[str, Any]:
    try:
        return "ok", decode()
    except ScaleDecodeError as error:
        return "error", (error.offset, error.reason)


@SETTINGS
@given(fields=st.lists(TYPES, max_size=5), data=st.data())
def test_generated_struct_codec_equals_reference_on_any_input(
    fields: list[Typed], data: st.DataObject
) -> None:
    codec, values = _struct_of(fields)
    assert isinstance(codec, StructCodec)
    value = data.draw(values)
    reference = bytearray()
    StructCodec.encode_into(codec, value, reference)
    assert codec.encode(value) == bytes(reference)
    raw = data.draw(_mutations(bytes(reference)))
    generated = _outcome(lambda: codec.decode_at(raw, 0))
    looped = _outcome(lambda: StructCodec.decode_at(codec, raw, 0))
    assert generated == looped
