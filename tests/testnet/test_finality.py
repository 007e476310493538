"""Pure helpers of :mod:`pychain.testnet.finality` (percentiles, the lag summary) and the safety
check against a fake-node testnet."""

from __future__ import annotations

from pathlib import Path

import pytest

from pychain.testnet.config import default_config
from pychain.testnet.finality import (
    LagSamples,
    SafetyViolation,
    check_finalized_agreement,
    histogram_percentile,
    sample_finality_lag,
)
from pychain.testnet.network import Testnet
from tests.testnet.conftest import FAKE_NODE


@pytest.mark.parametrize(
    ("per_cent", "expected"), [(1, 0), (10, 0), (11, 1), (50, 1), (95, 2), (100, 3)]
)
def test_histogram_percentile_is_nearest_rank(per_cent: int, expected: int) -> None:
    histogram = {0: 10, 1: 80, 2: 9, 3: 1}  # 100 samples
    assert histogram_percentile(histogram, per_cent) == expected


def test_empty_histogram_percentile_is_zero() -> None:
    assert histogram_percentile({}, 95) == 0
    assert LagSamples({}, 0, 0).describe() == "no samples"


def test_lag_description_lists_shares_and_percentiles() -> None:
    samples = LagSamples({1: 3, 2: 1}, 4, 0)
    assert samples.describe() == "lag 1: 75%, 2: 25% (n=4; p50=1 p95=2 max=2)"


def test_fake_nodes_agree_and_lag_is_sampled(tmp_path: Path, ports: dict[str, int]) -> None:
    with Testnet(default_config(2, **ports), tmp_path, node_command=FAKE_NODE) as testnet:
        testnet.start(timeout=30)
        lag = sample_finality_lag(testnet, duration=1.0, interval=0.1)
        assert lag.samples >= 10
        assert lag.max <= 2  # the fake node finalizes best - 1
        testnet.wait_for(lambda: min(testnet.finalized_number(i) for i in (0, 1)) >= 5, 10)
        assert check_finalized_agreement(testnet) >= 6


def test_conflicting_finalized_blocks_are_a_safety_violation(
    tmp_path: Path, ports: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NODE_FORK", "bob")
    with Testnet(default_config(2, **ports), tmp_path, node_command=FAKE_NODE) as testnet:
        testnet.start(timeout=30)
        testnet.wait_for(lambda: min(testnet.finalized_number(i) for i in (0, 1)) >= 5, 10)
        with pytest.raises(SafetyViolation, match="conflicting finalized blocks at #3"):
            check_finalized_agreement(testnet)
