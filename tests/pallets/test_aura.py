"""Tests of the Aura pallet (``pallet_aura``) inside the pychain runtime."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from genesis.presets import get_preset
from pychain.frame.dispatch import Origin
from pychain.frame.ext import TestExternalities
from pychain.frame.pallet import TryStateError
from pychain.frame.runtime import Runtime
from pychain.frame.testing import TestChain
from pychain.pallets.aura import (
    Aura,
    AuraConfig,
    AuraConfigError,
    AuraConsensusLog,
    AuraGenesisConfig,
    AuraSlotError,
    AuthoritiesChange,
    find_pre_digest_slot,
)
from pychain.pallets.system import System, SystemConfig
from pychain.primitives.consensus_logs import AURA_ENGINE_ID
from pychain.primitives.header import Consensus, PreRuntime
from pychain.primitives.keyring import dev_keypair
from pychain.runtime import VERSION, PychainRuntime, RuntimeConfig, RuntimeGenesisConfig

ALICE = dev_keypair("Alice", "sr25519").public_key
BOB = dev_keypair("Bob", "sr25519").public_key
CHARLIE = dev_keypair("Charlie", "sr25519").public_key


@pytest.fixture
def rt() -> PychainRuntime:
    return PychainRuntime(RuntimeConfig(slot_duration=2000))


def _chain(rt: PychainRuntime, genesis: RuntimeGenesisConfig) -> TestChain:
    return TestChain(rt.runtime, rt.executive, TestExternalities(rt.build_genesis_storage(genesis)))


@pytest.fixture
def chain(rt: PychainRuntime) -> Iterator[TestChain]:
    test_chain = _chain(rt, get_preset("local").genesis)
    with test_chain:
        yield test_chain
        test_chain.check_try_state()


def test_genesis_sets_sr25519_authorities(chain: TestChain, rt: PychainRuntime) -> None:
    assert rt.aura.authorities() == [ALICE, BOB]
    assert rt.aura.CurrentSlot.get() == 0


def test_slot_author_rotates_round_robin(chain: TestChain, rt: PychainRuntime) -> None:
    assert [rt.aura.slot_author(slot) for slot in (10, 11, 12)] == [ALICE, BOB, ALICE]


def test_on_initialize_takes_slot_from_digest(chain: TestChain, rt: PychainRuntime) -> None:
    chain.start_block(digest=rt.pre_digest(42))
    assert rt.aura.CurrentSlot.get() == 42


def test_block_without_digest_keeps_slot(chain: TestChain, rt: PychainRuntime) -> None:
    chain.start_block(digest=rt.pre_digest(5))
    chain.call(Origin.none(), "Timestamp", "set", now=10_000)
    chain.finish_block()
    chain.start_block()
    assert rt.aura.CurrentSlot.get() == 5


def test_repeated_slot_fails_slot_must_increase(chain: TestChain, rt: PychainRuntime) -> None:
    chain.start_block(digest=rt.pre_digest(5))
    chain.call(Origin.none(), "Timestamp", "set", now=10_000)
    chain.finish_block()
    with pytest.raises(AuraSlotError, match="must be >"):
        chain.start_block(digest=rt.pre_digest(5))


def test_multiple_blocks_per_slot_allows_equal_not_lower_slot(rt: PychainRuntime) -> None:
    rt.aura.config = AuraConfig(2000, allow_multiple_blocks_per_slot=True)
    chain = _chain(rt, get_preset("local").genesis)
    with chain:
        chain.start_block(digest=rt.pre_digest(5))
        chain.call(Origin.none(), "Timestamp", "set", now=10_000)
        chain.finish_block()
        chain.start_block(digest=rt.pre_digest(5))
        assert rt.aura.CurrentSlot.get() == 5
        with pytest.raises(AuraSlotError, match="< current slot"):
            chain.start_block(digest=rt.pre_digest(4))


def test_malformed_slot_digest_fails(rt: PychainRuntime) -> None:
    chain = _chain(rt, get_preset("local").genesis)
    with chain, pytest.raises(AuraSlotError, match="malformed"):
        chain.start_block(digest=[PreRuntime(AURA_ENGINE_ID, b"\x01\x02")])


def test_find_pre_digest_slot_ignores_other_engines() -> None:
    digest = [
        PreRuntime(b"BABE", b"\x00" * 8),
        PreRuntime(AURA_ENGINE_ID, (9).to_bytes(8, "little")),
    ]
    assert find_pre_digest_slot(digest) == 9
    assert find_pre_digest_slot([]) is None


def test_find_author_indexes_the_slot(chain: TestChain, rt: PychainRuntime) -> None:
    assert rt.aura.find_author(rt.pre_digest(7)) == 1
    assert rt.aura.find_author([]) is None


def test_timestamp_in_slot_passes_the_check(chain: TestChain, rt: PychainRuntime) -> None:
    chain.start_block(digest=rt.pre_digest(3))
    # Any moment inside slot 3 ([6000, 8000) ms) is accepted.
    rt.aura.on_timestamp_set(7_999)
    chain.call(
        __import__("pychain.frame.dispatch", fromlist=["Origin"]).Origin.none(),
        "Timestamp",
        "set",
        now=6_000,
    )
    assert rt.timestamp.Now.get() == 6_000


def test_change_authorities_deposits_consensus_log(chain: TestChain, rt: PychainRuntime) -> None:
    chain.start_block(digest=rt.pre_digest(1))
    rt.aura.change_authorities([CHARLIE])
    assert rt.aura.authorities() == [CHARLIE]
    expected = Consensus(AURA_ENGINE_ID, AuraConsensusLog.encode(AuthoritiesChange([CHARLIE])))
    assert rt.system.Digest.get()[-1] == expected
    # The log is ``0x01 ++ Vec<[u8; 32]>``.
    assert expected.data == b"\x01\x04" + CHARLIE


def test_change_authorities_refuses_duplicates(chain: TestChain, rt: PychainRuntime) -> None:
    with pytest.raises(AuraConfigError, match="duplicate"):
        rt.aura.change_authorities([ALICE, ALICE])
    assert rt.aura.authorities() == [ALICE, BOB]


def test_try_state_fails_without_authorities(rt: PychainRuntime) -> None:
    chain = _chain(rt, RuntimeGenesisConfig(aura=AuraGenesisConfig([])))
    with chain, pytest.raises(TryStateError, match="non-empty"):
        chain.check_try_state()


def test_genesis_over_max_authorities_fails() -> None:
    rt = PychainRuntime(RuntimeConfig(max_authorities=1))
    with pytest.raises(AuraConfigError, match="MaxAuthorities"):
        rt.build_genesis_storage(get_preset("local").genesis)


def test_slot_duration_constant(rt: PychainRuntime) -> None:
    (constant,) = rt.aura.constants()
    assert (constant.name, constant.value) == ("SlotDuration", 2000)
    assert rt.aura.slot_duration() == 2000


def test_zero_slot_duration_fails_integrity_test() -> None:
    system = System(SystemConfig(version=VERSION))
    with pytest.raises(AuraConfigError, match="SlotDuration"):
        Runtime([(0, system), (2, Aura(AuraConfig(slot_duration=0)))])
