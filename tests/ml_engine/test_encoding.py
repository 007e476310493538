"""Tests of ml_engine.encoding: clip → scale → round half-even → clamp → int32, and decoding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ml_engine.encoding import (
    FixedPoint,
    clip_l2,
    decode_model,
    decode_update,
    dequantize,
    encode_delta,
    encode_model,
    encode_update,
    quantize,
    saturated_count,
)
from ml_engine.errors import EncodingError

FLOATS = st.floats(min_value=-4.0, max_value=4.0, width=32, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(x=arrays(np.float32, st.integers(1, 64), elements=FLOATS), s=st.integers(0, 20))
def test_round_trip_error_at_most_half_a_step_without_clipping(x: np.ndarray, s: int) -> None:
    fp = FixedPoint(scale_bits=s, bound=2**31 - 1)
    q = encode_delta(x, fp)
    assert q.dtype == np.int32
    back = decode_update(q, fp)
    assert back.dtype == np.float32
    err = np.abs(back.astype(np.float64) - x.astype(np.float64))
    assert np.all(err <= 2.0 ** (-s) / 2)


@settings(max_examples=100, deadline=None)
@given(
    q=arrays(np.int32, st.integers(1, 32), elements=st.integers(-(2**24), 2**24)),
    s=st.integers(0, 30),
)
def test_decode_then_encode_gives_back_the_integers(q: np.ndarray, s: int) -> None:
    fp = FixedPoint(scale_bits=s, bound=2**24)
    assert np.array_equal(encode_model(decode_model(q, fp), fp), q)


@settings(max_examples=150, deadline=None)
@given(
    delta=arrays(np.float64, st.integers(1, 50), elements=st.floats(-100, 100)),
    clip=st.floats(min_value=1e-3, max_value=50.0),
)
def test_clip_l2_bounds_the_norm_and_keeps_the_direction(delta: np.ndarray, clip: float) -> None:
    clipped = clip_l2(delta, clip)
    norm = float(np.linalg.norm(delta))
    assert float(np.linalg.norm(clipped)) <= clip * (1 + 1e-12)
    if norm <= clip:
        assert np.array_equal(clipped, delta)
    else:
        assert np.allclose(clipped * (norm / clip), delta, rtol=1e-12, atol=1e-12)


def test_encode_update_clips_scales_and_rounds() -> None:
    fp = FixedPoint(scale_bits=4, bound=1000, clip_norm=1.0)
    global_params = np.array([1.0, 1.0, 1.0], dtype=np.float32)
    local = np.array([4.0, 5.0, 1.0], dtype=np.float32)  # delta (3, 4, 0), norm 5 → (0.6, 0.8, 0)
    q = encode_update(local, global_params, fp)
    assert q.tolist() == [10, 13, 0]  # 9.6 → 10, 12.8 → 13
    assert np.allclose(decode_update(q, fp), [0.625, 0.8125, 0.0])


def test_integer_norm_after_rounding_within_documented_slack() -> None:
    rng = np.random.default_rng(0)
    fp = FixedPoint(scale_bits=10, bound=2**20, clip_norm=0.5)
    for _ in range(20):
        delta = rng.normal(size=1000)
        q = encode_delta(delta, fp)
        assert float(np.linalg.norm(q.astype(np.float64))) <= 0.5 * 2**10 + np.sqrt(1000) / 2


def test_rounding_is_half_to_even() -> None:
    q = quantize(np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, 0.51]), scale_bits=0, bound=100)
    assert q.tolist() == [0, 2, 2, 0, -2, -2, 0, 1]


def test_coordinates_clamped_to_bound() -> None:
    fp = FixedPoint(scale_bits=8, bound=300)
    q = encode_delta(np.array([10.0, -10.0, 1.0, -1.171875]), fp)
    assert q.tolist() == [300, -300, 256, -300]
    assert saturated_count(q, fp) == 3


def test_model_encoding_uses_the_same_scale_and_bound() -> None:
    fp = FixedPoint(scale_bits=16, bound=2**20, clip_norm=0.001)
    params = np.array([0.25, -3.0, 100.0], dtype=np.float32)
    q = encode_model(params, fp)  # no L2 clip for a model; 100·2^16 saturates at 2^20
    assert q.tolist() == [16384, -196608, 2**20]
    assert decode_model(q, fp).tolist() == [0.25, -3.0, 16.0]


def test_encode_update_equals_encode_of_delta() -> None:
    rng = np.random.default_rng(1)
    fp = FixedPoint(scale_bits=12, bound=2**15, clip_norm=2.0)
    g = rng.normal(size=100).astype(np.float32)
    local = (g + rng.normal(scale=0.1, size=100)).astype(np.float32)
    expected = encode_delta(local.astype(np.float64) - g.astype(np.float64), fp)
    assert np.array_equal(encode_update(local, g, fp), expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale_bits": -1, "bound": 10},
        {"scale_bits": 31, "bound": 10},
        {"scale_bits": 8, "bound": 0},
        {"scale_bits": 8, "bound": 2**31},
        {"scale_bits": 8, "bound": 10, "clip_norm": 0.0},
        {"scale_bits": 8, "bound": 10, "clip_norm": float("inf")},
        {"scale_bits": 8, "bound": 10, "clip_norm": float("nan")},
    ],
)
def test_bad_fixed_point_parameters_raise_encoding_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(EncodingError):
        FixedPoint(**kwargs)  # type: ignore[arg-type]


def test_bad_inputs_raise_encoding_error() -> None:
    fp = FixedPoint(scale_bits=8, bound=1000, clip_norm=1.0)
    with pytest.raises(EncodingError, match="NaN"):
        encode_delta(np.array([0.0, np.nan]), fp)
    with pytest.raises(EncodingError, match="NaN"):
        encode_model(np.array([np.inf]), fp)
    with pytest.raises(EncodingError, match="flat"):
        encode_delta(np.zeros((2, 2)), fp)
    with pytest.raises(EncodingError, match="parameters"):
        encode_update(np.zeros(3), np.zeros(4), fp)
    with pytest.raises(EncodingError, match="integer"):
        dequantize(np.array([0.5]), 8)
    with pytest.raises(EncodingError):
        dequantize(np.array([1], dtype=np.int32), 40)
