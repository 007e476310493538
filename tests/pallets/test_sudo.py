"""Tests of the Sudo pallet (``pallet_sudo``) inside the pychain runtime."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from genesis.presets import get_preset
from pychain.frame.dispatch import DEBadOrigin, DECannotLookup, DispatchError, Origin
from pychain.frame.ext import TestExternalities
from pychain.frame.externalities import current
from pychain.frame.runtime import RuntimeCall
from pychain.frame.testing import TestChain, assert_noop, assert_ok
from pychain.frame.weights import Weight
from pychain.pallets.sudo import (
    BoxedCallCodec,
    KeyChanged,
    KeyRemoved,
    Sudid,
    SudoAsDone,
    SudoError,
)
from pychain.pallets.system import Remarked
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import sign_extrinsic
from pychain.primitives.hashing import blake2_256
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.multiaddress import AddressId, AddressIndex
from pychain.primitives.scale import Err, Ok, ScaleDecodeError
from pychain.runtime import PychainRuntime, RuntimeConfig

ALICE = dev_keypair("Alice").account_id
BOB = dev_keypair("Bob").account_id
SUDO = 6  # pallet index


@pytest.fixture
def rt() -> PychainRuntime:
    return PychainRuntime(RuntimeConfig())


@pytest.fixture
def chain(rt: PychainRuntime) -> Iterator[TestChain]:
    ext = TestExternalities(rt.build_genesis_storage(get_preset("dev").genesis))
    test_chain = TestChain(rt.runtime, rt.executive, ext)
    with test_chain:
        test_chain.start_block(digest=rt.pre_digest(1))
        yield test_chain
        test_chain.check_try_state()


def set_storage_call(rt: PychainRuntime, key: bytes, value: bytes) -> RuntimeCall:
    return rt.runtime.make_call("System", "set_storage", items=[(key, value)])


def test_genesis_key_is_alice(chain: TestChain, rt: PychainRuntime) -> None:
    assert rt.sudo.key() == ALICE


def test_sudo_dispatches_as_root(chain: TestChain, rt: PychainRuntime) -> None:
    inner = set_storage_call(rt, b"sudo-test", b"\x2a")
    assert_ok(lambda: chain.call(Origin.signed(ALICE), "Sudo", "sudo", call=inner))
    assert current().storage_get(b"sudo-test") == b"\x2a"
    chain.assert_last_event("Sudo", Sudid(Ok(())))


def test_sudo_by_other_account_fails_require_sudo(chain: TestChain, rt: PychainRuntime) -> None:
    inner = set_storage_call(rt, b"sudo-test", b"\x2a")
    expected = DispatchError.module(SUDO, SudoError.RequireSudo)
    assert_noop(lambda: chain.call(Origin.signed(BOB), "Sudo", "sudo", call=inner), expected)


def test_sudo_with_root_origin_is_bad_origin(chain: TestChain, rt: PychainRuntime) -> None:
    inner = set_storage_call(rt, b"k", b"v")
    assert_noop(
        lambda: chain.call(Origin.root(), "Sudo", "sudo", call=inner), DispatchError.bad_origin()
    )


def test_failing_inner_call_is_reported_and_rolled_back(
    chain: TestChain, rt: PychainRuntime
) -> None:
    # ``remark_with_event`` needs a signed origin: as Root it fails with BadOrigin.
    inner = rt.runtime.make_call("System", "remark_with_event", remark=b"hi")
    assert_ok(lambda: chain.call(Origin.signed(ALICE), "Sudo", "sudo", call=inner))
    chain.assert_last_event("Sudo", Sudid(Err(DEBadOrigin())))
    assert not any(e.pallet == "System" and isinstance(e.event, Remarked) for e in chain.events())


def test_sudo_weight_adds_the_inner_call_weight(rt: PychainRuntime) -> None:
    inner = set_storage_call(rt, b"k", b"v")
    outer = rt.runtime.make_call("Sudo", "sudo", call=inner)
    inner_weight = rt.runtime.dispatch_info(inner).weight
    assert rt.runtime.dispatch_info(outer).weight.ref_time > inner_weight.ref_time


def test_sudo_unchecked_weight_uses_given_weight(chain: TestChain, rt: PychainRuntime) -> None:
    inner = set_storage_call(rt, b"k", b"v")
    call = rt.runtime.make_call("Sudo", "sudo_unchecked_weight", call=inner, weight=Weight(123, 4))
    assert rt.runtime.dispatch_info(call).weight == Weight(123, 4)
    assert_ok(lambda: chain.dispatch(call, Origin.signed(ALICE)))
    chain.assert_last_event("Sudo", Sudid(Ok(())))


def test_set_key_by_key_emits_key_changed(chain: TestChain, rt: PychainRuntime) -> None:
    assert_ok(lambda: chain.call(Origin.signed(ALICE), "Sudo", "set_key", new=AddressId(BOB)))
    assert rt.sudo.key() == BOB
    chain.assert_last_event("Sudo", KeyChanged(ALICE, BOB))


def test_set_key_by_root_is_allowed(chain: TestChain, rt: PychainRuntime) -> None:
    assert_ok(lambda: chain.call(Origin.root(), "Sudo", "set_key", new=AddressId(BOB)))
    assert rt.sudo.key() == BOB


def test_set_key_by_other_fails_require_sudo(chain: TestChain, rt: PychainRuntime) -> None:
    expected = DispatchError.module(SUDO, SudoError.RequireSudo)
    assert_noop(
        lambda: chain.call(Origin.signed(BOB), "Sudo", "set_key", new=AddressId(BOB)), expected
    )


def test_set_key_to_index_address_cannot_look_up(chain: TestChain, rt: PychainRuntime) -> None:
    assert_noop(
        lambda: chain.call(Origin.signed(ALICE), "Sudo", "set_key", new=AddressIndex(3)),
        DispatchError(DECannotLookup()),
    )


def test_sudo_as_dispatches_as_signed_target(chain: TestChain, rt: PychainRuntime) -> None:
    inner = rt.runtime.make_call("System", "remark_with_event", remark=b"as bob")
    assert_ok(
        lambda: chain.call(Origin.signed(ALICE), "Sudo", "sudo_as", who=AddressId(BOB), call=inner)
    )
    chain.assert_has_event("System", Remarked(BOB, blake2_256(b"as bob")))
    chain.assert_last_event("Sudo", SudoAsDone(Ok(())))


def test_remove_key_then_sudo_fails(chain: TestChain, rt: PychainRuntime) -> None:
    assert_ok(lambda: chain.call(Origin.signed(ALICE), "Sudo", "remove_key"))
    assert rt.sudo.key() is None
    chain.assert_last_event("Sudo", KeyRemoved())
    inner = set_storage_call(rt, b"k", b"v")
    expected = DispatchError.module(SUDO, SudoError.RequireSudo)
    assert_noop(lambda: chain.call(Origin.signed(ALICE), "Sudo", "sudo", call=inner), expected)


def test_nested_call_encoding_round_trips(rt: PychainRuntime) -> None:
    inner = rt.runtime.make_call(
        "Balances", "transfer_keep_alive", dest=AddressId(BOB), value=10**12
    )
    outer = rt.runtime.make_call("Sudo", "sudo_as", who=AddressId(BOB), call=inner)
    encoded = rt.runtime.encode_call(outer)
    # Sudo (6) . sudo_as (3) ++ MultiAddress::Id(Bob) ++ Balances (4) . transfer_keep_alive (3)
    assert encoded[:3] == bytes([6, 3, 0])
    assert encoded[3:35] == BOB
    assert encoded[35:37] == bytes([4, 3])
    assert encoded[37:] == rt.runtime.encode_call(inner)[2:]
    assert rt.runtime.decode_call(encoded) == outer


def test_unbound_call_codec_refuses_to_decode() -> None:
    with pytest.raises(ScaleDecodeError, match="no runtime is bound"):
        BoxedCallCodec().decode(bytes([0, 0]))


def test_sudo_in_a_signed_extrinsic(chain: TestChain, rt: PychainRuntime) -> None:
    chain.call(Origin.none(), "Timestamp", "set", now=rt.slot_timestamp(1))
    chain.finish_block()
    chain.ext.commit_all()
    genesis_hash = rt.system.BlockHash.get(0)
    chain.start_block(digest=rt.pre_digest(2))
    inner = set_storage_call(rt, b"via-xt", b"\x01")
    call = rt.runtime.encode_call(rt.runtime.make_call("Sudo", "sudo", call=inner))
    xt = sign_extrinsic(dev_keypair("Alice"), call, 0, Era(), 0, genesis_hash, 100, 1)
    outcome = rt.executive.apply_extrinsic(xt)
    assert outcome.error is None
    assert current().storage_get(b"via-xt") == b"\x01"
