"""Tests of pychain.primitives.era against sp_runtime::generic::Era and the shared era vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.errors import PychainError
from pychain.primitives.era import (
    ERA,
    IMMORTAL_DEATH,
    MAX_PERIOD,
    MIN_PERIOD,
    Era,
    EraError,
    InvalidEra,
    InvalidEraEncoding,
)
from pychain.primitives.scale import ScaleDecodeError


def _era_vectors(vectors: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors / "extrinsics" / "era_vectors.json").read_text())
    return data


def test_era_vectors_mortal_encoding_matches(vectors: Path) -> None:
    data = _era_vectors(vectors)
    assert len(data["vectors"]) >= 7
    for v in data["vectors"]:
        era = Era.mortal(v["period_requested"], v["current"])
        assert era.encode().hex() == v["encoded"][2:], v
        assert era.period == v["period"], v
        # The recorded phase is the unquantized one; the quantized phase is what is encoded.
        factor = max(v["period"] >> 12, 1)
        assert era.phase == v["phase"] // factor * factor, v


def test_era_vectors_decode_birth_and_death_match(vectors: Path) -> None:
    for v in _era_vectors(vectors)["vectors"]:
        era = Era.decode(bytes.fromhex(v["encoded"][2:]))
        assert era.period == v["period"]
        assert era.birth(v["current"]) == v["birth"], v
        assert era.death(v["current"]) == v["death"], v
        assert ERA.encode(era).hex() == v["encoded"][2:]


def test_era_vectors_immortal_is_single_zero_byte(vectors: Path) -> None:
    immortal = bytes.fromhex(_era_vectors(vectors)["immortal"][2:])
    assert Era.immortal().encode() == immortal == b"\x00"
    era = Era.decode(immortal)
    assert era.is_immortal
    assert era.birth(12345) == 0
    assert era.death(12345) == IMMORTAL_DEATH
    assert era.to_json() == "immortal"


def test_era_mortal_rounds_period_up_and_clamps() -> None:
    assert Era.mortal(0, 10).period == MIN_PERIOD
    assert Era.mortal(3, 10).period == 4
    assert Era.mortal(5, 10).period == 8
    assert Era.mortal(100, 5) == Era(128, 5)
    assert Era.mortal(1 << 20, 7).period == MAX_PERIOD
    # Long periods quantize the phase (factor period >> 12 = 16 for 65536).
    assert Era.mortal(MAX_PERIOD, 100) == Era(MAX_PERIOD, 96)


def test_era_decode_period_below_four_fails() -> None:
    # Low nibble 0 means period 2 << 0 = 2.
    with pytest.raises(InvalidEraEncoding, match="period 2"):
        Era.decode(b"\x10\x00")


def test_era_decode_phase_not_below_period_fails() -> None:
    # Period 4 (low nibble 1) with phase 4.
    with pytest.raises(InvalidEraEncoding, match="phase 4"):
        Era.decode(b"\x41\x00")


def test_era_decode_truncated_and_trailing_fail() -> None:
    with pytest.raises(InvalidEraEncoding):
        Era.decode(b"")
    with pytest.raises(InvalidEraEncoding):
        Era.decode(b"\x45")
    with pytest.raises(ScaleDecodeError, match="trailing"):
        Era.decode(b"\x00\x00")


def test_era_decode_errors_are_typed() -> None:
    with pytest.raises(ScaleDecodeError) as info:
        Era.decode(b"\x10\x00")
    assert isinstance(info.value, EraError)
    assert isinstance(info.value, PychainError)
    assert info.value.offset == 0


def test_era_every_two_byte_encoding_decodes_canonically_or_fails() -> None:
    accepted = 0
    for value in range(1, 1 << 16):
        raw = value.to_bytes(2, "little")
        if raw[0] == 0:
            continue  # a leading 0x00 is the one-byte immortal era
        try:
            era = Era.decode(raw)
        except InvalidEraEncoding:
            continue
        accepted += 1
        assert era.encode() == raw
        assert 0 <= era.phase < era.period
    # 15 valid periods; each accepts min(period, 4096) phase values.
    assert accepted == sum(min(2 << low, 4096) for low in range(1, 16))


def test_era_constructor_invalid_values_fail() -> None:
    for period, phase in [(3, 0), (6, 0), (8, 8), (MAX_PERIOD * 2, 0), (MAX_PERIOD, 1), (0, 1)]:
        with pytest.raises(InvalidEra):
            Era(period, phase)
    with pytest.raises(InvalidEra):
        Era.mortal(-1, 0)
    with pytest.raises(InvalidEra):
        Era.mortal(64, -5)


@settings(max_examples=200, deadline=None)
@given(period=st.integers(0, 1 << 20), current=st.integers(0, (1 << 40)))
def test_era_mortal_round_trip_and_window_hold(period: int, current: int) -> None:
    era = Era.mortal(period, current)
    assert Era.decode(era.encode()) == era
    assert MIN_PERIOD <= era.period <= MAX_PERIOD
    assert era.period & (era.period - 1) == 0
    birth = era.birth(current)
    assert birth <= current < era.death(current)
    assert birth % era.period == era.phase
    assert era.death(current) - birth == era.period
