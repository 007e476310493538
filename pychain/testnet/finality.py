"""Finality measurements and safety checks over RPC, for the fault tests, benchmarks and
experiments.

Counterparts: zombienet's assertions (``finalized height is at least X within Y seconds``,
``best − finalized``), and the CometBFT e2e / RELIABILITY.md acceptance checks: no two honest
nodes hold conflicting finalized blocks (same hash at every common finalized height) and a
node's finalized height never goes backwards. Everything here reads the nodes over HTTP JSON-RPC
(``chain_getHeader``, ``chain_getFinalizedHead``, ``chain_getBlockHash``); distributions are kept
as integer histograms (``{lag: count}``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pychain.testnet.errors import TestnetError, TestnetRpcError
from pychain.testnet.network import Testnet

__all__ = [
    "LagSamples",
    "SafetyViolation",
    "check_finalized_agreement",
    "histogram_percentile",
    "sample_finality_lag",
]


class SafetyViolation(TestnetError):
    """Two nodes finalized different blocks at the same height, or a finalized height went back."""


@dataclass(frozen=True)
class LagSamples:
    """best − finalized of each polled node, every ``interval`` seconds."""

    histogram: Mapping[int, int]
    samples: int
    failed_polls: int

    @property
    def max(self) -> int:
        return max(self.histogram) if self.histogram else 0

    def percentile(self, per_cent: int) -> int:
        return histogram_percentile(self.histogram, per_cent)

    def describe(self) -> str:
        """``lag 0: 40%, 1: 55%, 2: 5% (n=320; p50=1 p95=2 max=2)``."""
        if not self.samples:
            return "no samples"
        n = self.samples
        shares = ", ".join(
            f"{lag}: {(200 * count + n) // (2 * n)}%"
            for lag, count in sorted(self.histogram.items())
        )
        return (
            f"lag {shares} (n={self.samples}; p50={self.percentile(50)} "
            f"p95={self.percentile(95)} max={self.max})"
        )


def histogram_percentile(histogram: Mapping[int, int], per_cent: int) -> int:
    """The nearest-rank ``per_cent`` percentile of an integer histogram."""
    total = sum(histogram.values())
    if total == 0:
        return 0
    rank = max(1, -(-per_cent * total // 100))  # ceil(p * n / 100)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def sample_finality_lag(
    testnet: Testnet,
    duration: float,
    interval: float = 0.25,
    indices: Sequence[int] | None = None,
) -> LagSamples:
    """Poll best and finalized of each node every ``interval`` s for ``duration`` s; a node's
    finalized height going backwards is a :class:`SafetyViolation`."""
    nodes = list(range(len(testnet)) if indices is None else indices)
    histogram: Counter[int] = Counter()
    last_finalized: dict[int, int] = {}
    failed = 0
    end = time.monotonic() + duration
    while time.monotonic() < end:
        tick = time.monotonic()
        for index in nodes:
            try:
                best = testnet.best_number(index)
                finalized = testnet.finalized_number(index)
            except TestnetRpcError:
                failed += 1
                continue
            if finalized < last_finalized.get(index, 0):
                raise SafetyViolation(
                    f"node {testnet.nodes[index].name}: finalized went back from "
                    f"#{last_finalized[index]} to #{finalized}"
                )
            last_finalized[index] = finalized
            histogram[max(best - finalized, 0)] += 1
        time.sleep(max(0.0, interval - (time.monotonic() - tick)))
    return LagSamples(dict(histogram), sum(histogram.values()), failed)


def check_finalized_agreement(testnet: Testnet, indices: Sequence[int] | None = None) -> int:
    """Compare the block hash at every height up to the lowest finalized height of the given
    nodes; a difference is a :class:`SafetyViolation`. Returns the number of heights compared."""
    nodes = list(range(len(testnet)) if indices is None else indices)
    if not nodes:
        return 0
    common = min(testnet.finalized_number(index) for index in nodes)
    for height in range(common + 1):
        hashes = {index: testnet.block_hash(index, height) for index in nodes}
        if len(set(hashes.values())) != 1:
            detail = ", ".join(f"{testnet.nodes[i].name}={h}" for i, h in hashes.items())
            raise SafetyViolation(f"conflicting finalized blocks at #{height}: {detail}")
    return common + 1
