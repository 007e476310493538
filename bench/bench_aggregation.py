"""Federated-learning aggregation kernels against numpy float32 equivalents.

Measures each rule of ``pychain.pallets.federated_learning.aggregation`` on one round of
100 contributors x 1,000,000 parameters (quick: 20 x 100,000), int32 updates uniform in
``[-2^15, 2^15]`` and stake weights uniform in ``[1, 1000]``, against the float32 code one would
write without the determinism requirement, run in the same process on the same data:

=================  ===================================================  =========
rule               float32 baseline                                     goal
=================  ===================================================  =========
weighted mean      ``(w @ Q) / sum(w)`` (float32 BLAS gemv)              <= 3x
weighted median    ``np.median(Q, axis=0)`` (unweighted)                 <= 1.5x
trimmed mean 10%   ``np.sort(Q, axis=0)[k:n-k].mean(axis=0)``            <= 1.5x
Krum / multi-Krum  BLAS Gram ``Q @ Q.T`` -> distances -> scores -> pick   <= 2x
clipped mean       float32 row norms, scale, gemv                        (none)
=================  ===================================================  =========

Both sides start from a stacked ``(n, d)`` matrix (the baseline's in float32, ours an
:class:`UpdateBatch`); building and validating the batch is timed on its own line. The
coordinate-wise rules are also timed with equal weights (their ``np.partition`` / position-weight
fast paths). Peak memory is the tracemalloc peak of one extra, untimed call (numpy reports its
buffers to tracemalloc). BLAS is pinned to one thread (threadpoolctl; ``python -m bench`` also sets
``OPENBLAS_NUM_THREADS=1``). Times are the best of at least 5 runs (up to 30 for fast rules),
ours and the baseline's interleaved; figures are printed, never asserted.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import AbstractContextManager, nullcontext  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from pychain.pallets.federated_learning.aggregation import (  # noqa: E402
    UpdateBatch,
    agreement_scores,
    krum,
    multi_krum,
    norm_clipped_mean,
    weighted_mean,
    weighted_median,
    weighted_trimmed_mean,
)

BOUND = 2**15
BETA_PER_BILLION = 100_000_000  # trim 10 % of the weight from each end
SEED = 2026


def _one_blas_thread() -> AbstractContextManager[Any]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # env vars set above cover OpenBLAS when numpy was not yet imported
        return nullcontext()
    return threadpool_limits(limits=1)


def _best(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _peak_mib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / 2**20


# --- float32 baselines ----------------------------------------------------------------------------


def _f32_mean(q: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (w @ q) / w.sum()


def _f32_median(q: np.ndarray) -> np.ndarray:
    return np.median(q, axis=0)


def _f32_trimmed(q: np.ndarray, k: int) -> np.ndarray:
    return np.sort(q, axis=0)[k : q.shape[0] - k].mean(axis=0)


def _f32_multi_krum(q: np.ndarray, w: np.ndarray, f: int, m: int) -> np.ndarray:
    gram = q @ q.T
    sq = np.diag(gram)
    dist = sq[:, None] + sq[None, :] - 2 * gram
    np.fill_diagonal(dist, np.inf)
    scores = np.sort(dist, axis=1)[:, : q.shape[0] - f - 2].sum(axis=1)
    chosen = np.argsort(scores, kind="stable")[:m]
    return (w[chosen] @ q[chosen]) / w[chosen].sum()


def _f32_clipped(q: np.ndarray, w: np.ndarray, clip: float) -> np.ndarray:
    norms = np.linalg.norm(q, axis=1)
    scale = np.minimum(1.0, clip / np.maximum(norms, 1e-30)).astype(np.float32)
    return ((w * scale) @ q) / w.sum()


# --- driver -------------------------------------------------------------------------------------


def run(quick: bool) -> None:
    n, d = (20, 100_000) if quick else (100, 1_000_000)
    repeats = 5
    rng = np.random.default_rng(SEED)
    matrix = rng.integers(-BOUND, BOUND + 1, size=(n, d), dtype=np.int32)
    weights = [int(x) for x in rng.integers(1, 1001, size=n)]
    accounts = [rng.bytes(32) for _ in range(n)]
    q32 = matrix.astype(np.float32)
    w32 = np.asarray(weights, dtype=np.float32)
    clip = int(np.sqrt(d) * BOUND / 2)  # about 0.87 of a typical norm: most updates get clipped
    trim_k = n * BETA_PER_BILLION // 1_000_000_000
    krum_f = n // 10  # 10 of 100 Byzantine tolerated (2 of 20 in quick mode)
    m = n - krum_f

    with _one_blas_thread():
        print(f"round: {n} contributors x {d:,} parameters, |q| <= 2^15, weights 1..1000")
        build = _best(lambda: UpdateBatch.from_matrix(accounts, weights, matrix, BOUND), repeats)
        batch = UpdateBatch.from_matrix(accounts, weights, matrix, BOUND)
        equal = UpdateBatch.from_matrix(accounts, [1] * n, matrix, BOUND)
        print(f"UpdateBatch.from_matrix (validate, sort rows): {build * 1e3:8.1f} ms")

        cases: list[tuple[str, Callable[[], object], Callable[[], object], str]] = [
            ("weighted mean", lambda: weighted_mean(batch), lambda: _f32_mean(q32, w32), "3"),
            ("weighted median", lambda: weighted_median(batch), lambda: _f32_median(q32), "1.5"),
            (
                "median, equal w",
                lambda: weighted_median(equal),
                lambda: _f32_median(q32),
                "1.5",
            ),
            (
                "trimmed mean 10%",
                lambda: weighted_trimmed_mean(batch, BETA_PER_BILLION),
                lambda: _f32_trimmed(q32, trim_k),
                "1.5",
            ),
            (
                "trimmed, equal w",
                lambda: weighted_trimmed_mean(equal, BETA_PER_BILLION),
                lambda: _f32_trimmed(q32, trim_k),
                "1.5",
            ),
            (
                f"Krum f={krum_f}",
                lambda: krum(batch, krum_f),
                lambda: _f32_multi_krum(q32, w32, krum_f, 1),
                "2",
            ),
            (
                f"multi-Krum m={m} stake",
                lambda: multi_krum(batch, krum_f, m, weighted=True),
                lambda: _f32_multi_krum(q32, w32, krum_f, m),
                "2",
            ),
            (
                "norm-clipped mean",
                lambda: norm_clipped_mean(batch, clip),
                lambda: _f32_clipped(q32, w32, float(clip)),
                "-",
            ),
        ]
        print(f"{'rule':<24}{'exact ms':>10}{'f32 ms':>10}{'ratio':>8}{'goal':>7}{'peak MiB':>10}")
        for name, ours, base, goal in cases:
            t_base = t_ours = float("inf")
            spent, runs = 0.0, 0
            # Interleaved, so that load from elsewhere hits both; at least `repeats` runs each,
            # more (up to 30) for the fast rules, until about a second has been spent.
            while runs < repeats or (spent < 1.0 and runs < 30):
                one_base, one_ours = _best(base, 1), _best(ours, 1)
                t_base, t_ours = min(t_base, one_base), min(t_ours, one_ours)
                spent += one_base + one_ours
                runs += 1
            peak = _peak_mib(ours)
            print(
                f"{name:<24}{t_ours * 1e3:10.1f}{t_base * 1e3:10.1f}{t_ours / t_base:8.2f}"
                f"{goal:>7}{peak:10.1f}"
            )
        aggregate = weighted_mean(batch).update
        t_scores = _best(lambda: agreement_scores(batch, aggregate), repeats)
        print(f"agreement_scores (reward step, no baseline): {t_scores * 1e3:8.1f} ms")
        print(
            f"input size: int32 {matrix.nbytes / 2**20:.0f} MiB, float32 {q32.nbytes / 2**20:.0f} MiB"
        )
