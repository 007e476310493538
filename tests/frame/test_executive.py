"""Executive: signed extrinsics through validation, application and block execution."""

from __future__ import annotations

import pytest

from pychain.frame.dispatch import (
    DispatchError,
    InvalidTransaction,
    ModuleError,
    TransactionValidityError,
)
from pychain.frame.executive import BlockExecutionError
from pychain.frame.externalities import using
from pychain.frame.runtime import ApplyExtrinsic, RuntimeEvent
from pychain.pallets.system import ExtrinsicFailed, ExtrinsicSuccess
from pychain.primitives.block import Block
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import sign_extrinsic
from pychain.primitives.header import Header
from pychain.primitives.keys import Keypair
from tests.frame.runtime_mock import VERSION, Stored, build, genesis_ext

ALICE = Keypair.from_uri("//Alice", scheme="sr25519")
BOB_ED = Keypair.from_uri("//Bob", scheme="ed25519")
GENESIS = b"\x11" * 32


def signed(runtime, keypair, value, nonce, era=None, birth=None, genesis=GENESIS, spec=None):
    call = runtime.encode_call(runtime.make_call("Demo", "store", value=value))
    return sign_extrinsic(
        keypair,
        call,
        nonce,
        era or Era(),
        0,
        genesis,
        spec or VERSION.spec_version,
        VERSION.transaction_version,
        birth_hash=birth,
    )


@pytest.fixture
def env():
    runtime, executive, system = build()
    ext = genesis_ext(system, [ALICE.account_id, BOB_ED.account_id])
    with using(ext):
        yield runtime, executive, system, ext


def test_module_error_encodes_as_substrate() -> None:
    # DispatchError::Module(ModuleError { index: 4, error: [2, 0, 0, 0] }) = 03 04 02000000
    assert DispatchError.module(4, 2).encode() == bytes.fromhex("030402000000")
    assert DispatchError.bad_origin().encode() == b"\x02"


def test_failed_dispatch_rolls_back_call_but_keeps_nonce(env) -> None:
    runtime, executive, system, _ = env
    executive.initialize_block(GENESIS, 1)
    outcome = executive.apply_extrinsic(signed(runtime, ALICE, 500, 0))
    demo = runtime.pallet("Demo")
    assert outcome.error == DispatchError.module(9, 0)
    assert demo.Value.get() == 0  # the write was rolled back
    assert system.account_nonce(ALICE.account_id) == 1  # the nonce stuck (outside the layer)
    events = [r.event for r in system.events()]
    assert events == [
        RuntimeEvent("System", ExtrinsicFailed(ModuleError(9, b"\x00\x00\x00\x00"), outcome.info))
    ]


def test_successful_dispatch_records_events_with_phase(env) -> None:
    runtime, executive, system, _ = env
    executive.initialize_block(GENESIS, 1)
    executive.apply_extrinsic(signed(runtime, ALICE, 5, 0))
    executive.apply_extrinsic(signed(runtime, BOB_ED, 6, 0))
    records = system.events()
    assert [r.phase for r in records] == [ApplyExtrinsic(0)] * 2 + [ApplyExtrinsic(1)] * 2
    assert records[0].event == RuntimeEvent("Demo", Stored(5))
    assert isinstance(records[1].event.event, ExtrinsicSuccess)
    assert runtime.pallet("Demo").Value.get() == 6


def test_replay_and_future_nonce_are_typed_errors_and_change_nothing(env) -> None:
    runtime, executive, system, ext = env
    executive.initialize_block(GENESIS, 1)
    xt = signed(runtime, ALICE, 5, 0)
    executive.apply_extrinsic(xt)
    root = ext.storage_root(1)
    with pytest.raises(TransactionValidityError) as stale:
        executive.apply_extrinsic(xt)
    assert stale.value.invalid == InvalidTransaction.Stale
    with pytest.raises(TransactionValidityError) as future:
        executive.apply_extrinsic(signed(runtime, ALICE, 5, 3))
    assert future.value.invalid == InvalidTransaction.Future
    assert ext.storage_root(1) == root
    assert len(executive.applied_extrinsics) == 1


def test_bad_signature_is_bad_proof(env) -> None:
    runtime, executive, _, ext = env
    executive.initialize_block(GENESIS, 1)
    xt = bytearray(signed(runtime, BOB_ED, 5, 0))
    xt[40] ^= 0x01  # inside the ed25519 signature
    root = ext.storage_root(1)
    with pytest.raises(TransactionValidityError) as err:
        executive.apply_extrinsic(bytes(xt))
    assert err.value.invalid == InvalidTransaction.BadProof
    assert ext.storage_root(1) == root


def test_wrong_genesis_or_spec_version_fails_signature(env) -> None:
    runtime, executive, _, _ = env
    executive.initialize_block(GENESIS, 1)
    for xt in (
        signed(runtime, ALICE, 1, 0, genesis=b"\x22" * 32),
        signed(runtime, ALICE, 1, 0, spec=VERSION.spec_version + 1),
    ):
        with pytest.raises(TransactionValidityError) as err:
            executive.apply_extrinsic(xt)
        assert err.value.invalid == InvalidTransaction.BadProof


def test_undecodable_extrinsic_is_invalid_call(env) -> None:
    _, executive, _, _ = env
    executive.initialize_block(GENESIS, 1)
    for junk in (b"", b"\x08\x84\x00", b"\x0c\x04\x63\x00"):
        with pytest.raises(TransactionValidityError) as err:
            executive.apply_extrinsic(junk)
        assert err.value.invalid == InvalidTransaction.Call


def test_validate_transaction_tags_and_no_side_effects(env) -> None:
    runtime, executive, system, ext = env
    root = ext.storage_root(1)
    now = executive.validate_transaction(signed(runtime, ALICE, 1, 0), GENESIS)
    later = executive.validate_transaction(signed(runtime, ALICE, 1, 2), GENESIS)
    assert now.requires == [] and len(now.provides) == 1
    assert later.requires and later.requires[0][:32] == ALICE.account_id
    assert ext.storage_root(1) == root
    assert system.Number.get() == 0


def test_mortal_era_needs_known_birth_block(env) -> None:
    runtime, executive, system, _ = env
    executive.initialize_block(GENESIS, 1)
    h1 = executive.finalize_block()
    executive.initialize_block(h1.hash(), 2)
    era = Era.mortal(64, 1)
    ok = signed(runtime, ALICE, 1, 0, era=era, birth=h1.hash())
    assert executive.apply_extrinsic(ok).error is None
    unknown_birth = signed(runtime, ALICE, 1, 1, era=Era.mortal(64, 5), birth=b"\x33" * 32)
    with pytest.raises(TransactionValidityError) as err:
        executive.apply_extrinsic(unknown_birth)
    assert err.value.invalid == InvalidTransaction.AncientBirthBlock


def test_execute_block_reproduces_and_rejects_tampered_header() -> None:
    runtime, executive, system = build()
    author_ext = genesis_ext(system, [ALICE.account_id])
    with using(author_ext):
        executive.initialize_block(GENESIS, 1)
        xts = [signed(runtime, ALICE, 7, 0), signed(runtime, ALICE, 8, 1)]
        for xt in xts:
            executive.apply_extrinsic(xt)
        header = executive.finalize_block()
    block = Block(header, tuple(xts))

    runtime2, executive2, system2 = build()
    importer_ext = genesis_ext(system2, [ALICE.account_id])
    with using(importer_ext):
        assert executive2.execute_block(block).state_root == header.state_root

    bad = Header(header.parent_hash, 1, b"\x00" * 32, header.extrinsics_root, header.digest)
    runtime3, executive3, system3 = build()
    with using(genesis_ext(system3, [ALICE.account_id])), pytest.raises(BlockExecutionError):
        executive3.execute_block(Block(bad, tuple(xts)))
    bad_body = Block(header, (xts[0],))
    runtime4, executive4, system4 = build()
    with using(genesis_ext(system4, [ALICE.account_id])), pytest.raises(BlockExecutionError):
        executive4.execute_block(bad_body)
