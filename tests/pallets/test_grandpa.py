"""Tests of the Grandpa pallet (``pallet_grandpa``) inside the pychain runtime."""

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
from pychain.frame.ext import TestExternalities
from pychain.frame.externalities import current
from pychain.frame.testing import TestChain, assert_noop, assert_ok
from pychain.pallets.grandpa import (
    GRANDPA_AUTHORITIES_KEY,
    GrandpaConfigError,
    GrandpaError,
    GrandpaGenesisConfig,
    Live,
    MembershipProof,
    NewAuthorities,
    Paused,
    PausedEvent,
    ResumedEvent,
    StoredPendingChange,
    encode_versioned_authority_list,
)
from pychain.primitives.consensus_logs import (
    GRANDPA_ENGINE_ID,
    ForcedChange,
    GrandpaLog,
    Pause,
    Resume,
    ScheduledChange,
    decode_grandpa_log,
)
from pychain.primitives.extrinsic import UncheckedExtrinsic
from pychain.primitives.grandpa import (
    EquivocationProof,
    Precommit,
    PrecommitEquivocation,
    Prevote,
    PrevoteEquivocation,
    localized_payload,
)
from pychain.primitives.header import Header
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.keys import Keypair
from pychain.runtime import PychainRuntime, RuntimeConfig

ALICE_ED = dev_keypair("Alice", "ed25519")
BOB_ED = dev_keypair("Bob", "ed25519")
CHARLIE_ED = dev_keypair("Charlie", "ed25519")
GRANDPA = 3  # pallet index


@pytest.fixture
def rt() -> PychainRuntime:
    return PychainRuntime(RuntimeConfig())


@pytest.fixture
def chain(rt: PychainRuntime) -> Iterator[TestChain]:
    ext = TestExternalities(rt.build_genesis_storage(get_preset("local").genesis))
    test_chain = TestChain(rt.runtime, rt.executive, ext)
    with test_chain:
        yield test_chain
        test_chain.check_try_state()


def next_block(chain: TestChain, rt: PychainRuntime) -> None:
    """Finish the open block (if any) and open the next one with its slot and timestamp."""
    if rt.system.ExecutionPhase.get() is not None:  # a block is open
        chain.finish_block()
    slot = chain.block_number() + 1
    chain.start_block(digest=rt.pre_digest(slot))
    chain.call(Origin.none(), "Timestamp", "set", now=rt.slot_timestamp(slot))


def grandpa_logs(header: Header) -> list[GrandpaLog]:
    return [decode_grandpa_log(data) for data in header.consensus_logs(GRANDPA_ENGINE_ID)]


def err(error: GrandpaError) -> DispatchError:
    return DispatchError.module(GRANDPA, error)


def test_genesis_writes_authorities_and_well_known_key(
    chain: TestChain, rt: PychainRuntime
) -> None:
    expected = [(ALICE_ED.public_key, 1), (BOB_ED.public_key, 1)]
    assert rt.grandpa.grandpa_authorities() == expected
    raw = current().storage_get(GRANDPA_AUTHORITIES_KEY)
    assert raw == b"\x01\x08" + ALICE_ED.public_key + (1).to_bytes(8, "little") + (
        BOB_ED.public_key + (1).to_bytes(8, "little")
    )
    assert rt.grandpa.current_set_id() == 0
    assert rt.grandpa.SetIdSession.get(0) == 0
    assert rt.grandpa.State.get() == Live()


def test_second_genesis_build_fails(chain: TestChain, rt: PychainRuntime) -> None:
    with pytest.raises(GrandpaConfigError, match="already initialized"):
        rt.grandpa.genesis_build(GrandpaGenesisConfig([(CHARLIE_ED.public_key, 1)]))


def test_sudo_schedule_change_rotates_the_set(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    inner = rt.runtime.make_call(
        "Grandpa",
        "schedule_change",
        next_authorities=[(CHARLIE_ED.public_key, 1)],
        delay=0,
        forced=None,
    )
    alice = dev_keypair("Alice").account_id
    assert_ok(lambda: chain.call(Origin.signed(alice), "Sudo", "sudo", call=inner))
    chain.finish_block()
    assert rt.grandpa.grandpa_authorities() == [(CHARLIE_ED.public_key, 1)]
    assert rt.grandpa.current_set_id() == 1


def test_schedule_change_signals_then_enacts(chain: TestChain, rt: PychainRuntime) -> None:
    next_authorities = [(CHARLIE_ED.public_key, 2)]
    next_block(chain, rt)
    assert_ok(
        lambda: chain.call(
            Origin.root(),
            "Grandpa",
            "schedule_change",
            next_authorities=next_authorities,
            delay=2,
            forced=None,
        )
    )
    assert rt.grandpa.PendingChange.get() == StoredPendingChange(1, 2, next_authorities, None)
    header = chain.finish_block()
    assert grandpa_logs(header) == [ScheduledChange(next_authorities, 2)]
    next_block(chain, rt)
    assert grandpa_logs(chain.finish_block()) == []
    assert rt.grandpa.current_set_id() == 0
    next_block(chain, rt)  # block 3 = scheduled_at 1 + delay 2
    chain.finish_block()
    assert rt.grandpa.grandpa_authorities() == next_authorities
    assert rt.grandpa.current_set_id() == 1
    assert rt.grandpa.SetIdSession.get(1) == 1
    assert rt.grandpa.PendingChange.get() is None
    assert current().storage_get(GRANDPA_AUTHORITIES_KEY) == encode_versioned_authority_list(
        next_authorities
    )
    chain.assert_has_event("Grandpa", NewAuthorities(next_authorities))


def test_schedule_change_with_zero_delay_enacts_in_same_block(
    chain: TestChain, rt: PychainRuntime
) -> None:
    next_block(chain, rt)
    chain.call(
        Origin.root(),
        "Grandpa",
        "schedule_change",
        next_authorities=[(CHARLIE_ED.public_key, 1)],
        delay=0,
        forced=None,
    )
    header = chain.finish_block()
    assert grandpa_logs(header) == [ScheduledChange([(CHARLIE_ED.public_key, 1)], 0)]
    assert rt.grandpa.current_set_id() == 1


def test_schedule_change_needs_root(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    call = rt.runtime.make_call(
        "Grandpa", "schedule_change", next_authorities=[], delay=0, forced=None
    )
    assert_noop(
        lambda: chain.dispatch(call, Origin.signed(ALICE_ED.public_key)), DispatchError.bad_origin()
    )


def test_second_change_while_pending_fails(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    chain.call(
        Origin.root(),
        "Grandpa",
        "schedule_change",
        next_authorities=[(CHARLIE_ED.public_key, 1)],
        delay=5,
        forced=None,
    )
    assert_noop(
        lambda: chain.call(
            Origin.root(),
            "Grandpa",
            "schedule_change",
            next_authorities=[(BOB_ED.public_key, 1)],
            delay=1,
            forced=None,
        ),
        err(GrandpaError.ChangePending),
    )


def test_forced_change_logs_and_limits_next_forced(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    chain.call(
        Origin.root(),
        "Grandpa",
        "schedule_change",
        next_authorities=[(CHARLIE_ED.public_key, 1)],
        delay=2,
        forced=0,
    )
    # The next forced change may come twice the delay after this one.
    assert rt.grandpa.NextForced.get() == 5
    header = chain.finish_block()
    assert grandpa_logs(header) == [
        ForcedChange(0, ScheduledChange([(CHARLIE_ED.public_key, 1)], 2))
    ]
    next_block(chain, rt)
    next_block(chain, rt)  # block 3 = 1 + 2: enacted
    chain.finish_block()
    assert rt.grandpa.current_set_id() == 1
    next_block(chain, rt)  # block 4 < NextForced 5
    assert_noop(
        lambda: chain.call(
            Origin.root(),
            "Grandpa",
            "schedule_change",
            next_authorities=[(BOB_ED.public_key, 1)],
            delay=0,
            forced=3,
        ),
        err(GrandpaError.TooSoon),
    )


def test_forced_change_too_soon_fails(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    chain.call(
        Origin.root(),
        "Grandpa",
        "schedule_change",
        next_authorities=[(CHARLIE_ED.public_key, 1)],
        delay=0,
        forced=0,
    )
    chain.finish_block()
    next_block(chain, rt)  # block 2, NextForced = 1 + 0 = 1: allowed again
    chain.call(
        Origin.root(),
        "Grandpa",
        "schedule_change",
        next_authorities=[(BOB_ED.public_key, 1)],
        delay=3,
        forced=1,
    )
    chain.finish_block()
    next_block(chain, rt)  # block 3 < NextForced 2 + 6 = 8
    next_block(chain, rt)
    next_block(chain, rt)  # block 5: the change of block 2 is enacted at its end
    chain.finish_block()
    next_block(chain, rt)  # block 6
    assert_noop(
        lambda: chain.call(
            Origin.root(),
            "Grandpa",
            "schedule_change",
            next_authorities=[(ALICE_ED.public_key, 1)],
            delay=0,
            forced=5,
        ),
        err(GrandpaError.TooSoon),
    )


def test_note_stalled_records_wait_and_median(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    chain.call(Origin.root(), "Grandpa", "note_stalled", delay=10, best_finalized_block_number=4)
    assert rt.grandpa.Stalled.get() == (10, 4)
    call = rt.runtime.make_call("Grandpa", "note_stalled", delay=1, best_finalized_block_number=1)
    assert_noop(lambda: chain.dispatch(call, Origin.none()), DispatchError.bad_origin())


def test_pause_and_resume_log_and_emit(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    rt.grandpa.schedule_pause(1)
    assert grandpa_logs(chain.finish_block()) == [Pause(1)]
    next_block(chain, rt)
    chain.finish_block()
    assert rt.grandpa.State.get() == Paused()
    chain.assert_has_event("Grandpa", PausedEvent())
    next_block(chain, rt)
    with pytest.raises(DispatchError) as info:
        rt.grandpa.schedule_pause(1)
    assert info.value == err(GrandpaError.PauseFailed)
    rt.grandpa.schedule_resume(0)
    assert grandpa_logs(chain.finish_block()) == [Resume(0)]
    assert rt.grandpa.State.get() == Live()
    chain.assert_has_event("Grandpa", ResumedEvent())


def test_resume_when_live_fails(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    with pytest.raises(DispatchError) as info:
        rt.grandpa.schedule_resume(1)
    assert info.value == err(GrandpaError.ResumeFailed)


# ----------------------------------------------------------------------------- equivocations


def prevote_equivocation(
    signer: Keypair = ALICE_ED,
    set_id: int = 0,
    round_number: int = 3,
    same_votes: bool = False,
    bad_signature: bool = False,
) -> EquivocationProof:
    first = Prevote(b"\x01" * 32, 10)
    second = first if same_votes else Prevote(b"\x02" * 32, 10)
    sig1 = signer.sign(localized_payload(round_number, set_id, first))
    sig2 = signer.sign(localized_payload(round_number, set_id, second))
    if bad_signature:
        sig2 = bytes(64)
    identity = signer.public_key
    return EquivocationProof(
        set_id, PrevoteEquivocation(round_number, identity, (first, sig1), (second, sig2))
    )


def report(chain: TestChain, proof: EquivocationProof, proof_of_key: MembershipProof) -> None:
    chain.call(
        Origin.signed(BOB_ED.public_key),
        "Grandpa",
        "report_equivocation",
        equivocation_proof=proof,
        key_owner_proof=proof_of_key,
    )


OWNER = MembershipProof(session=0, trie_nodes=[], validator_count=2)


def test_report_equivocation_records_offence(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    proof = prevote_equivocation()
    assert_ok(lambda: report(chain, proof, OWNER))
    key = (0, 3, ALICE_ED.public_key)
    assert rt.grandpa.EquivocationReports.get(key) == [BOB_ED.public_key]


def test_report_precommit_equivocation_is_accepted(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    first, second = Precommit(b"\x01" * 32, 1), Precommit(b"\x03" * 32, 2)
    proof = EquivocationProof(
        0,
        PrecommitEquivocation(
            9,
            BOB_ED.public_key,
            (first, BOB_ED.sign(localized_payload(9, 0, first))),
            (second, BOB_ED.sign(localized_payload(9, 0, second))),
        ),
    )
    assert_ok(lambda: report(chain, proof, OWNER))


def test_duplicate_report_fails(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    report(chain, prevote_equivocation(), OWNER)
    assert_noop(
        lambda: report(chain, prevote_equivocation(), OWNER),
        err(GrandpaError.DuplicateOffenceReport),
    )


@pytest.mark.parametrize(
    ("proof_kwargs", "owner", "error"),
    [
        ({"same_votes": True}, OWNER, GrandpaError.InvalidEquivocationProof),
        ({"bad_signature": True}, OWNER, GrandpaError.InvalidEquivocationProof),
        ({"set_id": 7}, OWNER, GrandpaError.InvalidEquivocationProof),
        ({}, MembershipProof(1, [], 2), GrandpaError.InvalidEquivocationProof),
        ({}, MembershipProof(0, [], 3), GrandpaError.InvalidKeyOwnershipProof),
        ({}, MembershipProof(0, [b"node"], 2), GrandpaError.InvalidKeyOwnershipProof),
        ({"signer": CHARLIE_ED}, OWNER, GrandpaError.InvalidKeyOwnershipProof),
    ],
)
def test_bad_report_fails_with_pallet_error(
    chain: TestChain,
    rt: PychainRuntime,
    proof_kwargs: dict[str, object],
    owner: MembershipProof,
    error: GrandpaError,
) -> None:
    next_block(chain, rt)
    proof = prevote_equivocation(**proof_kwargs)  # type: ignore[arg-type]
    assert_noop(lambda: report(chain, proof, owner), err(error))


def test_unsigned_report_validates_as_local_priority_tx(
    chain: TestChain, rt: PychainRuntime
) -> None:
    next_block(chain, rt)
    chain.finish_block()
    call = rt.runtime.make_call(
        "Grandpa",
        "report_equivocation_unsigned",
        equivocation_proof=prevote_equivocation(),
        key_owner_proof=OWNER,
    )
    xt = UncheckedExtrinsic(rt.runtime.encode_call(call)).encode()
    valid = rt.executive.validate_transaction(xt, chain.headers[-1].hash())
    assert valid.propagate is False
    assert valid.priority == (1 << 64) - 1
    assert len(valid.provides) == 1
    # Included in a block it records the offence; a second one is stale.
    next_block(chain, rt)
    assert rt.executive.apply_extrinsic(xt).error is None
    chain.finish_block()
    chain.ext.commit_all()  # block import commits the block (and its appended events)
    with pytest.raises(TransactionValidityError) as info:
        rt.executive.validate_transaction(xt, chain.headers[-1].hash())
    assert info.value.invalid == InvalidTransaction.Stale


def test_unsigned_report_with_bad_proof_is_invalid(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    chain.finish_block()
    call = rt.runtime.make_call(
        "Grandpa",
        "report_equivocation_unsigned",
        equivocation_proof=prevote_equivocation(bad_signature=True),
        key_owner_proof=OWNER,
    )
    xt = UncheckedExtrinsic(rt.runtime.encode_call(call)).encode()
    with pytest.raises(TransactionValidityError) as info:
        rt.executive.validate_transaction(xt, chain.headers[-1].hash())
    assert info.value.invalid == InvalidTransaction.BadProof


def test_unsigned_schedule_change_has_no_validator(chain: TestChain, rt: PychainRuntime) -> None:
    next_block(chain, rt)
    chain.finish_block()
    call = rt.runtime.make_call("Grandpa", "note_stalled", delay=1, best_finalized_block_number=1)
    xt = UncheckedExtrinsic(rt.runtime.encode_call(call)).encode()
    with pytest.raises(TransactionValidityError) as info:
        rt.executive.validate_transaction(xt, chain.headers[-1].hash())
    assert info.value.invalid == InvalidTransaction.Call


def test_report_call_encoding_matches_proof_bytes(rt: PychainRuntime) -> None:
    proof = prevote_equivocation()
    call = rt.runtime.make_call(
        "Grandpa", "report_equivocation", equivocation_proof=proof, key_owner_proof=OWNER
    )
    encoded = rt.runtime.encode_call(call)
    assert encoded[:2] == bytes([GRANDPA, 0])
    assert encoded[2:] == proof.encode() + OWNER.encode()
    assert rt.runtime.decode_call(encoded) == call


def test_consensus_reexports_the_same_proof_type() -> None:
    from consensus.grandpa import messages

    assert messages.EquivocationProof is EquivocationProof
    assert messages.localized_payload is localized_payload
