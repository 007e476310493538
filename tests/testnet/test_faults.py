"""Process-level fault tests of a real multi-validator testnet (``cli.py node`` processes on
127.0.0.1, Aura + GRANDPA): steady-state finality lag, a crashed and restarted validator, a 2/2
partition (nftables) and its healing, an equivocating validator, a late node syncing from genesis
and an authority-set change 4 → 5 through ``sudo(Grandpa.schedule_change)`` over RPC.

Acceptance follows RELIABILITY.md: no two nodes ever hold conflicting finalized blocks (hashes
compared at every common finalized height), finalized heights never go backwards.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pychain.primitives.hashing import storage_prefix
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.keys import Keypair
from pychain.rpc.client import PychainClient
from pychain.testnet.config import TestnetConfig, ValidatorConfig, default_config
from pychain.testnet.finality import check_finalized_agreement, sample_finality_lag
from pychain.testnet.network import Testnet
from tests.testnet.conftest import free_port_bases

pytestmark = pytest.mark.slow

#: Slot duration of the fault tests (ms). The lag test also runs at Substrate's 1000 ms.
SLOT_MS = 500
START_TIMEOUT = 90.0


def _config(validators: int = 4, slot_ms: int = SLOT_MS, **changes: object) -> TestnetConfig:
    config = default_config(validators, slot_duration=slot_ms, **free_port_bases(validators + 4))
    return dataclasses.replace(config, **changes) if changes else config


@pytest.fixture
def testnet_factory(tmp_path: Path) -> Iterator[list[Testnet]]:
    """Testnets made by a test; every one is stopped (and its nft table removed) at the end."""
    made: list[Testnet] = []
    yield made
    for testnet in made:
        testnet.stop()


def _start(made: list[Testnet], config: TestnetConfig, base: Path, **kwargs: object) -> Testnet:
    testnet = Testnet(config, base, stop_timeout=10, **kwargs)  # type: ignore[arg-type]
    made.append(testnet)
    testnet.start(timeout=START_TIMEOUT)
    return testnet


def _finalized(testnet: Testnet, indices: list[int]) -> list[int]:
    return [testnet.finalized_number(i) for i in indices]


def _wait_finalized_at_least(
    testnet: Testnet, indices: list[int], height: int, timeout: float
) -> list[int]:
    return testnet.wait_for(
        lambda: (values := _finalized(testnet, indices)) and min(values) >= height and values,
        timeout,
        what=f"nodes {indices} finalized >= #{height}",
    )


@pytest.mark.parametrize("slot_ms", [500, 1000])
def test_steady_state_finality_lag_is_at_most_two_blocks(
    testnet_factory: list[Testnet], tmp_path: Path, slot_ms: int
) -> None:
    testnet = _start(testnet_factory, _config(slot_ms=slot_ms), tmp_path)
    _wait_finalized_at_least(testnet, [0, 1, 2, 3], 3, 60)
    lag = sample_finality_lag(testnet, duration=20.0, interval=0.25)
    print(f"\nfinality lag, 4 validators, {slot_ms} ms slots: {lag.describe()}")
    assert lag.samples >= 200
    assert lag.percentile(95) <= 2
    assert lag.max <= 3
    assert check_finalized_agreement(testnet) >= 10


def test_killed_validator_does_not_stop_finality_and_catches_up_after_restart(
    testnet_factory: list[Testnet], tmp_path: Path
) -> None:
    testnet = _start(testnet_factory, _config(), tmp_path)
    _wait_finalized_at_least(testnet, [0, 1, 2, 3], 3, 60)
    testnet.kill(3)
    before = max(_finalized(testnet, [0, 1, 2]))
    # Verify finality continues with 3 of 4 voters (threshold 3).
    _wait_finalized_at_least(testnet, [0, 1, 2], before + 5, 30)
    testnet.restart(3, timeout=START_TIMEOUT)
    target = max(_finalized(testnet, [0, 1, 2]))
    # Verify the restarted node catches up: its finalized height reaches the others'.
    _wait_finalized_at_least(testnet, [3], target + 2, 60)
    # Verify it votes again: kill another validator; finality now needs the restarted one.
    testnet.kill(0)
    resumed = max(_finalized(testnet, [1, 2, 3]))
    _wait_finalized_at_least(testnet, [1, 2, 3], resumed + 3, 40)
    assert check_finalized_agreement(testnet, [1, 2, 3]) > target


def test_two_two_partition_stops_finality_and_heals_within_three_rounds(
    testnet_factory: list[Testnet], tmp_path: Path
) -> None:
    testnet = _start(testnet_factory, _config(), tmp_path, partitionable=True)
    everyone = [0, 1, 2, 3]
    _wait_finalized_at_least(testnet, everyone, 3, 60)
    testnet.partition([0, 1], [2, 3])
    # Connections are cut silently (packets dropped, as on a real network), so peers stay
    # "connected" for a while; let an in-flight round complete before freezing the heights.
    time.sleep(2.0)
    frozen = _finalized(testnet, everyone)
    best_at_cut = [testnet.best_number(i) for i in everyone]
    lag = sample_finality_lag(testnet, duration=8.0, interval=0.5)
    # Verify neither side finalized anything new (each side has 2 of 4 votes; threshold 3),
    # while both sides kept authoring.
    assert _finalized(testnet, everyone) == frozen
    assert all(testnet.best_number(i) > best_at_cut[i] for i in everyone)
    assert lag.max >= 3
    rounds_at_heal = max(s.round or 0 for s in testnet.statuses())
    testnet.heal()
    _wait_finalized_at_least(testnet, everyone, max(frozen) + 1, 30)
    rounds_when_final = max(s.round or 0 for s in testnet.statuses())
    print(f"\npartition healed: rounds {rounds_at_heal} -> {rounds_when_final}")
    assert rounds_when_final - rounds_at_heal <= 3
    assert check_finalized_agreement(testnet) > max(frozen)


def test_equivocating_validator_is_reported_on_chain_and_finality_continues(
    testnet_factory: list[Testnet], tmp_path: Path
) -> None:
    base = _config()
    validators = list(base.validators)
    validators[3] = dataclasses.replace(validators[3], equivocate=True)
    testnet = _start(testnet_factory, dataclasses.replace(base, validators=tuple(validators)),
                     tmp_path)
    _wait_finalized_at_least(testnet, [0, 1, 2, 3], 8, 60)
    prefix = "0x" + storage_prefix("Grandpa", "EquivocationReports").hex()

    def reports() -> list[str]:
        head = testnet.rpc(0, "chain_getFinalizedHead")
        keys: list[str] = testnet.rpc(0, "state_getKeysPaged", [prefix, 100, None, head])
        return keys

    keys = testnet.wait_for(reports, 60, what="an equivocation report in finalized state")
    dave_gran = Keypair.from_uri("//Dave", "ed25519").public_key.hex()
    # The key ends with the offender (H256) of the OffenceKey (set id, round, offender).
    assert any(key.endswith(dave_gran) for key in keys)
    now = max(_finalized(testnet, [0, 1, 2]))
    _wait_finalized_at_least(testnet, [0, 1, 2], now + 3, 30)
    check_finalized_agreement(testnet)


def test_node_started_later_syncs_from_genesis(
    testnet_factory: list[Testnet], tmp_path: Path
) -> None:
    testnet = _start(testnet_factory, _config(), tmp_path)
    _wait_finalized_at_least(testnet, [0, 1, 2, 3], 10, 60)
    late = testnet.add_node("late", timeout=START_TIMEOUT)
    target = max(_finalized(testnet, [0, 1, 2, 3]))
    _wait_finalized_at_least(testnet, [late], target, 60)
    assert testnet.block_hash(late, 1) == testnet.block_hash(0, 1)
    assert check_finalized_agreement(testnet) >= target


def test_authority_set_change_four_to_five_finalizes_under_set_one(
    testnet_factory: list[Testnet], tmp_path: Path
) -> None:
    base = _config(5)
    validators = list(base.validators)
    validators[4] = dataclasses.replace(validators[4], authority=False)  # //Eve, not in genesis
    config = dataclasses.replace(base, validators=tuple(validators))
    assert isinstance(config.validators[4], ValidatorConfig)
    testnet = _start(testnet_factory, config, tmp_path)
    _wait_finalized_at_least(testnet, [0, 1, 2, 3], 3, 60)
    next_authorities = [
        (Keypair.from_uri(config.validator_suri(i), "ed25519").public_key, 1) for i in range(5)
    ]
    with PychainClient(testnet.url(0), timeout=60) as client:
        runtime = client.runtime.runtime
        inner = runtime.make_call(
            "Grandpa", "schedule_change", next_authorities=next_authorities, delay=0, forced=None
        )
        receipt = client.sign_and_submit(
            dev_keypair("Alice"), "Sudo", "sudo", {"call": inner}, wait="finalized"
        )
    assert receipt.success, receipt.error
    testnet.wait_for(
        lambda: all(s.set_id == 1 for s in testnet.statuses()), 60, what="set id 1 everywhere"
    )
    after = max(_finalized(testnet, [0, 1, 2, 3, 4]))
    _wait_finalized_at_least(testnet, [0, 1, 2, 3, 4], after + 3, 40)
    # The node picks its GRANDPA key among the authorities of the set current at its start, so
    # Eve's node (started under set 0) observes set 1 until it restarts; restart it.
    testnet.restart(4, timeout=START_TIMEOUT)
    _wait_finalized_at_least(testnet, [4], max(_finalized(testnet, [0, 1, 2, 3])), 40)
    # Verify Eve votes in set 1: without Alice, 4 of 5 voters remain and the threshold is
    # 5 - (5 - 1) // 3 = 4, so Bob, Charlie, Dave and Eve all have to vote.
    testnet.kill(0)
    resumed = max(_finalized(testnet, [1, 2, 3, 4]))
    _wait_finalized_at_least(testnet, [1, 2, 3, 4], resumed + 3, 40)
    assert check_finalized_agreement(testnet, [1, 2, 3, 4]) > resumed
