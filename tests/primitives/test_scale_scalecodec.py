"""Differential tests of the SCALE codec against ``scalecodec`` 1.2.12 (an independent oracle).

Spec: Polkadot specification, appendix "SCALE Codec". For each type scalecodec supports, random
values must encode to the same bytes in both libraries, and each must decode the other's output
to the same value. scalecodec is lenient (it accepts over-long compacts such as ``cd00`` → 51 and
ignores some range limits), so only canonical inputs are compared, plus one direction on
arbitrary bytes: whatever pychain accepts, scalecodec decodes to the same value.

Known scalecodec deviation, not compared: its legacy ``Option<bool>`` encodes ``Some(false)`` as
two bytes ``0100`` where parity-scale-codec uses the single byte ``02`` (checked against the
parity vector in ``test_scale.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalecodec.base import RuntimeConfiguration, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

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
    Bytes,
    Codec,
    Compact,
    CompactOf,
    FixedBytes,
    Option,
    ScaleDecodeError,
    Str,
    Tuple,
    Vec,
)

SETTINGS = settings(max_examples=120, deadline=None)


@pytest.fixture(scope="module")
def runtime() -> RuntimeConfiguration:
    config = RuntimeConfiguration()
    config.update_type_registry(load_type_registry_preset("legacy"))
    return config


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes_as_scalecodec(data: bytes) -> str:
    """scalecodec shows a byte vector as text when it is valid UTF-8, else as 0x-hex."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _hex(data)


def _same(value: Any) -> Any:
    return value


# name in scalecodec, pychain codec, value strategy, value → scalecodec input, value → its output
Case = tuple[str, Codec[Any], st.SearchStrategy[Any], Callable[[Any], Any], Callable[[Any], Any]]


def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([lo, hi, (lo + hi) // 2]), st.integers(lo, hi))


CASES: list[Case] = [
    ("u8", U8, _ints(0, 0xFF), _same, _same),
    ("u16", U16, _ints(0, 0xFFFF), _same, _same),
    ("u32", U32, _ints(0, 0xFFFF_FFFF), _same, _same),
    ("u64", U64, _ints(0, (1 << 64) - 1), _same, _same),
    ("u128", U128, _ints(0, (1 << 128) - 1), _same, _same),
    ("u256", U256, _ints(0, (1 << 256) - 1), _same, _same),
    ("i8", I8, _ints(-128, 127), _same, _same),
    ("i16", I16, _ints(-(1 << 15), (1 << 15) - 1), _same, _same),
    ("i32", I32, _ints(-(1 << 31), (1 << 31) - 1), _same, _same),
    ("i64", I64, _ints(-(1 << 63), (1 << 63) - 1), _same, _same),
    ("i128", I128, _ints(-(1 << 127), (1 << 127) - 1), _same, _same),
    ("bool", Bool, st.booleans(), _same, _same),
    ("Compact<u8>", CompactOf(8), _ints(0, 0xFF), _same, _same),
    ("Compact<u16>", CompactOf(16), _ints(0, 0xFFFF), _same, _same),
    ("Compact<u32>", CompactOf(32), _ints(0, 0xFFFF_FFFF), _same, _same),
    ("Compact<u64>", CompactOf(64), _ints(0, (1 << 64) - 1), _same, _same),
    ("Compact<u128>", Compact, _ints(0, (1 << 128) - 1), _same, _same),
    ("Bytes", Bytes, st.binary(max_size=300), _hex, _bytes_as_scalecodec),
    ("Vec<u8>", Bytes, st.binary(max_size=100), _hex, _bytes_as_scalecodec),
    ("Str", Str, st.text(max_size=80), _same, _same),
    ("[u8; 4]", FixedBytes(4), st.binary(min_size=4, max_size=4), _hex, _hex),
    ("[u8; 32]", FixedBytes(32), st.binary(min_size=32, max_size=32), _hex, _hex),
    ("Option<u32>", Option(U32), st.one_of(st.none(), _ints(0, 0xFFFF_FFFF)), _same, _same),
    (
        "Option<Compact<u64>>",
        Option(CompactOf(64)),
        st.one_of(st.none(), _ints(0, (1 << 64) - 1)),
        _same,
        _same,
    ),
    ("(u8, u16)", Tuple(U8, U16), st.tuples(_ints(0, 0xFF), _ints(0, 0xFFFF)), _same, _same),
    (
        "(u32, bool, i16)",
        Tuple(U32, Bool, I16),
        st.tuples(_ints(0, 0xFFFF_FFFF), st.booleans(), _ints(-(1 << 15), (1 << 15) - 1)),
        _same,
        _same,
    ),
    ("[u16; 3]", Array(U16, 3), st.lists(_ints(0, 0xFFFF), min_size=3, max_size=3), _same, _same),
    ("Vec<u16>", Vec(U16), st.lists(_ints(0, 0xFFFF), max_size=70), _same, _same),
    ("Vec<i64>", Vec(I64), st.lists(_ints(-(1 << 63), (1 << 63) - 1), max_size=10), _same, _same),
    (
        "Vec<Compact<u128>>",
        Vec(Compact),
        st.lists(_ints(0, (1 << 128) - 1), max_size=10),
        _same,
        _same,
    ),
    ("Vec<Str>", Vec(Str), st.lists(st.text(max_size=10), max_size=5), _same, _same),
    ("Vec<bool>", Vec(Bool), st.lists(st.booleans(), max_size=10), _same, _same),
]

IDS = [case[0] for case in CASES]


def _scalecodec_encode(runtime: RuntimeConfiguration, type_name: str, value: Any) -> bytes:
    return bytes(runtime.create_scale_object(type_name).encode(value).data)


def _scalecodec_decode(runtime: RuntimeConfiguration, type_name: str, data: bytes) -> Any:
    return runtime.create_scale_object(type_name, ScaleBytes(data)).decode()


def _as_tuple(value: Any) -> Any:
    # scalecodec returns tuples for tuple types and lists for arrays; compare as tuples.
    return tuple(value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_encoding_matches_scalecodec(runtime: RuntimeConfiguration, case: Case) -> None:
    type_name, codec, values, to_input, to_output = case

    @SETTINGS
    @given(value=values)
    def check(value: Any) -> None:
        ours = codec.encode(value)
        assert ours == _scalecodec_encode(runtime, type_name, to_input(value)), type_name
        theirs = _scalecodec_decode(runtime, type_name, ours)
        assert _as_tuple(theirs) == _as_tuple(to_output(value)), type_name

    check()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bytes_pychain_accepts_decode_equally_in_scalecodec(
    runtime: RuntimeConfiguration, case: Case
) -> None:
    type_name, codec, _, _, to_output = case

    @SETTINGS
    @given(raw=st.binary(max_size=40))
    def check(raw: bytes) -> None:
        try:
            value, end = codec.decode_at(raw, 0)
        except ScaleDecodeError:
            return
        theirs = _scalecodec_decode(runtime, type_name, raw[:end])
        assert _as_tuple(theirs) == _as_tuple(to_output(value)), (type_name, raw.hex())

    check()


def test_scalecodec_leniency_is_not_shared() -> None:
    # scalecodec decodes these; parity-scale-codec and pychain refuse them.
    config = RuntimeConfiguration()
    config.update_type_registry(load_type_registry_preset("legacy"))
    assert _scalecodec_decode(config, "Compact<u32>", bytes.fromhex("cd00")) == 51
    with pytest.raises(ScaleDecodeError):
        CompactOf(32).decode(bytes.fromhex("cd00"))
    assert _scalecodec_decode(config, "Compact<u8>", bytes.fromhex("0104")) == 256
    with pytest.raises(ScaleDecodeError):
        CompactOf(8).decode(bytes.fromhex("0104"))
