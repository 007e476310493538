"""Tests of the Timestamp pallet (``pallet_timestamp``) inside the pychain runtime."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from genesis.presets import get_preset
from pychain.frame.dispatch import (
    DispatchError,
    InvalidTransaction,
    Origin,
    TransactionValidityError,
)
from pychain.frame.executive import BlockExecutionError
from pychain.frame.ext import TestExternalities
from pychain.frame.runtime import Runtime
from pychain.frame.testing import TestChain, assert_noop, assert_ok
from pychain.frame.weights import DispatchClass, Pays
from pychain.pallets.aura import AuraError
from pychain.pallets.system import System, SystemConfig
from pychain.pallets.timestamp import (
    Timestamp,
    TimestampConfig,
    TimestampConfigError,
    TimestampError,
    TimestampNotSetError,
)
from pychain.primitives.extrinsic import UncheckedExtrinsic
from pychain.runtime import VERSION, PychainRuntime, RuntimeConfig


@pytest.fixture
def rt() -> PychainRuntime:
    return PychainRuntime(RuntimeConfig(slot_duration=1000))


@pytest.fixture
def chain(rt: PychainRuntime) -> Iterator[TestChain]:
    ext = TestExternalities(rt.build_genesis_storage(get_preset("dev").genesis))
    test_chain = TestChain(rt.runtime, rt.executive, ext)
    with test_chain:
        yield test_chain
        test_chain.check_try_state()


def open_block(chain: TestChain, rt: PychainRuntime, slot: int) -> None:
    chain.start_block(digest=rt.pre_digest(slot))


def set_now(chain: TestChain, now: int) -> None:
    chain.call(Origin.none(), "Timestamp", "set", now=now)


def test_set_stores_now_and_marks_update(chain: TestChain, rt: PychainRuntime) -> None:
    open_block(chain, rt, 7)
    assert_ok(lambda: set_now(chain, 7_000))
    assert rt.timestamp.Now.get() == 7_000
    assert rt.timestamp.DidUpdate.get() is True
    assert rt.timestamp.now() == 7_000


def test_finalize_clears_did_update(chain: TestChain, rt: PychainRuntime) -> None:
    open_block(chain, rt, 1)
    set_now(chain, 1_000)
    chain.finish_block()
    assert rt.timestamp.DidUpdate.get() is False
    assert rt.timestamp.Now.get() == 1_000


def test_set_twice_in_a_block_fails_already_updated(chain: TestChain, rt: PychainRuntime) -> None:
    open_block(chain, rt, 1)
    set_now(chain, 1_000)
    expected = DispatchError.module(1, TimestampError.AlreadyUpdated)
    assert_noop(lambda: set_now(chain, 1_500), expected)


def test_set_with_signed_origin_is_bad_origin(chain: TestChain, rt: PychainRuntime) -> None:
    open_block(chain, rt, 1)
    alice = get_preset("dev").genesis.sudo.key
    assert alice is not None
    call = rt.runtime.make_call("Timestamp", "set", now=1_000)
    assert_noop(lambda: chain.dispatch(call, Origin.signed(alice)), DispatchError.bad_origin())


def test_set_before_minimum_period_fails_too_early(chain: TestChain, rt: PychainRuntime) -> None:
    open_block(chain, rt, 1)
    set_now(chain, 1_000)
    chain.finish_block()
    open_block(chain, rt, 2)
    # MinimumPeriod is 500 ms: 1_499 is one millisecond too early.
    expected = DispatchError.module(1, TimestampError.TooEarly)
    assert_noop(lambda: set_now(chain, 1_499), expected)


def test_set_outside_the_block_slot_fails_slot_mismatch(
    chain: TestChain, rt: PychainRuntime
) -> None:
    open_block(chain, rt, 3)
    expected = DispatchError.module(2, AuraError.SlotMismatch)
    assert_noop(lambda: set_now(chain, 4_000), expected)


def test_block_without_timestamp_fails_at_finalize(chain: TestChain, rt: PychainRuntime) -> None:
    open_block(chain, rt, 1)
    with pytest.raises(TimestampNotSetError) as info:
        chain.finish_block()
    assert isinstance(info.value, BlockExecutionError)


def test_minimum_period_constant_is_half_the_slot(rt: PychainRuntime) -> None:
    constants = {c.name: c for c in rt.timestamp.constants()}
    assert constants["MinimumPeriod"].value == 500
    assert constants["MinimumPeriod"].codec.encode(500) == (500).to_bytes(8, "little")


def test_set_is_a_mandatory_free_inherent(rt: PychainRuntime) -> None:
    call = rt.runtime.make_call("Timestamp", "set", now=1)
    info = rt.runtime.dispatch_info(call)
    assert info.dispatch_class == DispatchClass.Mandatory
    assert info.pays_fee == Pays.No
    assert rt.timestamp.is_inherent(call)
    remark = rt.runtime.make_call("System", "remark", remark=b"x")
    assert not rt.timestamp.is_inherent(remark)


def test_set_call_encoding_is_compact_u64(rt: PychainRuntime) -> None:
    call = rt.runtime.make_call("Timestamp", "set", now=1_000)
    # pallet 1, call 0, Compact<u64>(1000) = 0xa10f
    assert rt.runtime.encode_call(call) == bytes([1, 0, 0xA1, 0x0F])
    assert rt.runtime.decode_call(bytes([1, 0, 0xA1, 0x0F])) == call


def test_inherent_with_wrong_slot_is_refused_by_executive(
    chain: TestChain, rt: PychainRuntime
) -> None:
    open_block(chain, rt, 2)
    xt = UncheckedExtrinsic(
        rt.runtime.encode_call(rt.runtime.make_call("Timestamp", "set", now=9_000))
    )
    root_before = chain.storage_root()
    with pytest.raises(TransactionValidityError) as info:
        rt.executive.apply_extrinsic(xt.encode())
    assert info.value.invalid == InvalidTransaction.BadMandatory
    assert chain.storage_root() == root_before


def test_timestamp_set_through_executive_drives_block(chain: TestChain, rt: PychainRuntime) -> None:
    open_block(chain, rt, 4)
    for xt in rt.inherent_extrinsics(rt.slot_timestamp(4)):
        outcome = rt.executive.apply_extrinsic(xt)
        assert outcome.error is None
    header = chain.finish_block()
    assert header.number == 1
    assert rt.timestamp.Now.get() == 4_000


def test_zero_minimum_period_fails_integrity_test() -> None:
    system = System(SystemConfig(version=VERSION))
    with pytest.raises(TimestampConfigError, match="MinimumPeriod"):
        Runtime([(0, system), (1, Timestamp(TimestampConfig(minimum_period=0)))])
