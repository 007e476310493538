"""Fixed-point encoding of model updates and models: the bridge from float training to the chain.

DESIGN.md §2: updates enter the chain as fixed-point integers — the clipped float delta scaled by
2^s and rounded, s chosen per task — so that every validator aggregates them with exact integer
arithmetic. The pipeline of :func:`encode_update`, per task parameters :class:`FixedPoint`
``(scale_bits = s, bound = B, clip_norm = C)``:

1. ``delta = local − global`` (computed in float64);
2. **L2 clip**: if ``‖delta‖₂ > C`` multiply by ``C / ‖delta‖₂`` (the clipping of DP-FedAvg, McMahan
   et al. 2018, Algorithm 1); skipped when C is None;
3. **scale** by ``2^s`` (exact in float64: a power of two);
4. **round half to even** (``numpy.rint``, IEEE 754 roundTiesToEven): unbiased on ties, and the
   same rule as the float → int conversions of most hardware;
5. **clamp** each coordinate to ``[−B, B]`` (the task's per-coordinate bound, which the runtime
   relies on for its overflow proofs, FEDERATED.md "Rules");
6. store as ``int32`` (B ≤ 2^31 − 1).

Decoding divides by 2^s. Without clipping or clamping, ``|decode(encode(x)) − x| ≤ 2^−s / 2`` per
coordinate; the float32 result is exact as long as ``|q| ≤ 2^24`` (larger integers may lose their
lowest bits in float32). After step 4 the integer vector's norm may exceed ``C · 2^s`` by at most
``√d / 2`` (rounding); the chain re-checks bounds on the integers anyway.

Models use the same scale: :func:`encode_model` is steps 3–6 on the parameters themselves (the global
model stored on chain as fixed-point integers), :func:`decode_model` the inverse.
Secure aggregation (Bonawitz et al. 2017) uses the same clip-then-quantise step with ~22-bit values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ml_engine.errors import EncodingError

MAX_SCALE_BITS = 30
"""Largest accepted s; 2^30 keeps a unit-sized coordinate within int32."""

INT32_MAX = 2**31 - 1
FLOAT32_EXACT_INT = 2**24
"""Integers up to this magnitude convert to float32 exactly."""


@dataclass(frozen=True)
class FixedPoint:
    """A task's fixed-point parameters: scale 2^``scale_bits``, bound ``bound``, L2 clip ``clip_norm``."""

    scale_bits: int
    bound: int
    clip_norm: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.scale_bits <= MAX_SCALE_BITS:
            raise EncodingError(
                f"scale bits must be in [0, {MAX_SCALE_BITS}], got {self.scale_bits}"
            )
        if not 1 <= self.bound <= INT32_MAX:
            raise EncodingError(f"bound must be in [1, 2^31 − 1], got {self.bound}")
        if self.clip_norm is not None and not (
            math.isfinite(self.clip_norm) and self.clip_norm > 0
        ):
            raise EncodingError(f"clip norm must be positive and finite, got {self.clip_norm}")

    @property
    def scale(self) -> float:
        """2^s as a float."""
        return float(2**self.scale_bits)

    @property
    def resolution(self) -> float:
        """The value of one integer step, 2^−s."""
        return 1.0 / self.scale


def _finite_vector(x: NDArray[np.floating], what: str) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise EncodingError(f"{what} must be a flat vector, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise EncodingError(f"{what} contains NaN or infinity")
    return arr


def clip_l2(vector: NDArray[np.floating], clip_norm: float) -> NDArray[np.float64]:
    """``vector`` scaled down to L2 norm ``clip_norm`` if it is longer; otherwise unchanged."""
    if not (math.isfinite(clip_norm) and clip_norm > 0):
        raise EncodingError(f"clip norm must be positive and finite, got {clip_norm}")
    v = _finite_vector(vector, "vector")
    norm = float(np.linalg.norm(v))
    return v * (clip_norm / norm) if norm > clip_norm else v.copy()


def quantize(values: NDArray[np.floating], scale_bits: int, bound: int) -> NDArray[np.int32]:
    """Steps 3–6: ``clamp(rint(values · 2^s), −B, B)`` as int32."""
    fp = FixedPoint(scale_bits, bound)
    v = _finite_vector(values, "values")
    q = np.rint(v * fp.scale)
    return np.clip(q, -fp.bound, fp.bound).astype(np.int32)


def dequantize(q: NDArray[np.integer], scale_bits: int) -> NDArray[np.float32]:
    """``q / 2^s`` as float32 (exact while ``|q| ≤ 2^24``)."""
    if not 0 <= scale_bits <= MAX_SCALE_BITS:
        raise EncodingError(f"scale bits must be in [0, {MAX_SCALE_BITS}], got {scale_bits}")
    arr = np.asarray(q)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise EncodingError(f"fixed-point values must be a flat integer vector, got {arr.dtype}")
    return (arr.astype(np.float64) / float(2**scale_bits)).astype(np.float32)


def encode_delta(delta: NDArray[np.floating], fp: FixedPoint) -> NDArray[np.int32]:
    """Steps 2–6 on a delta already computed."""
    d = _finite_vector(delta, "delta")
    if fp.clip_norm is not None:
        d = clip_l2(d, fp.clip_norm)
    return quantize(d, fp.scale_bits, fp.bound)


def encode_update(
    local: NDArray[np.floating], global_params: NDArray[np.floating], fp: FixedPoint
) -> NDArray[np.int32]:
    """The full pipeline: ``local − global`` → clip → scale → round half-even → clamp → int32."""
    lo = _finite_vector(local, "local model")
    gl = _finite_vector(global_params, "global model")
    if lo.shape != gl.shape:
        raise EncodingError(f"local model has {lo.shape[0]} parameters, global {gl.shape[0]}")
    return encode_delta(lo - gl, fp)


def decode_update(q: NDArray[np.integer], fp: FixedPoint) -> NDArray[np.float32]:
    """The float delta an integer update stands for."""
    return dequantize(q, fp.scale_bits)


def encode_model(params: NDArray[np.floating], fp: FixedPoint) -> NDArray[np.int32]:
    """A model's parameters as fixed-point integers (no L2 clip; clamped to ±B)."""
    return quantize(params, fp.scale_bits, fp.bound)


def decode_model(q: NDArray[np.integer], fp: FixedPoint) -> NDArray[np.float32]:
    """The float32 parameters a fixed-point model stands for."""
    return dequantize(q, fp.scale_bits)


def saturated_count(q: NDArray[np.integer], fp: FixedPoint) -> int:
    """How many coordinates sit at ±B (possibly clamped): a hint that s or B is too tight."""
    return int(np.count_nonzero(np.abs(np.asarray(q, dtype=np.int64)) >= fp.bound))
