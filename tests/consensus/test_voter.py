"""Voter state machine: timers, votes, persistence across restarts, primary, commits, catch-up."""

from __future__ import annotations

import pytest

from consensus.grandpa.environment import (
    CatchUpMessage,
    CatchUpRequest,
    GossipDecodeError,
    GossipMessage,
    InMemoryChain,
    InMemoryEnvironment,
    SignedPrevote,
    VoteMessage,
)
from consensus.grandpa.messages import (
    Commit,
    FullCommitMessage,
    Precommit,
    Prevote,
    PrimaryPropose,
    SignedMessage,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.round import PREVOTE
from consensus.grandpa.verify import verify_commit_message
from consensus.grandpa.voter import Phase, Voter
from tests.consensus.grandpa_builders import keypairs, voter_set

PAIRS = keypairs(4)
VOTERS = voter_set(PAIRS)
IDS = [pair.public_key for pair in PAIRS]
GOSSIP_MS = 100  # prevote at +200 ms, precommit at +400 ms


def h(name: str) -> bytes:
    return name.encode().ljust(32, b"\0")


def block(number: int) -> tuple[bytes, int]:
    return (h("G"), 0) if number == 0 else (h(str(number)), number)


def make_env(length: int = 3, imported: int | None = None) -> InMemoryEnvironment:
    """A chain G - 1 - ... - ``length``, imported up to ``imported`` (default: all)."""
    tree = InMemoryChain(h("G"))
    for number in range(1, length + 1):
        tree.add(block(number)[0], block(number - 1)[0])
    env = InMemoryEnvironment(tree, GOSSIP_MS)
    env.import_block(block(length if imported is None else imported)[0])
    return env


def vote_message(
    voter: int, round_number: int, vote: Prevote | Precommit | PrimaryPropose, set_id: int = 0
) -> VoteMessage:
    signature = PAIRS[voter].sign(localized_payload(round_number, set_id, vote))
    return VoteMessage(round_number, set_id, SignedMessage(vote, signature, IDS[voter]))


def sent_votes(env: InMemoryEnvironment) -> list[VoteMessage]:
    return [m for _, m in env.outbox if isinstance(m, VoteMessage)]


def test_voter_prevotes_best_chain_only_after_prevote_timer() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    voter.start(0)
    assert sent_votes(env) == []
    assert voter.next_deadline() == 2 * GOSSIP_MS
    voter.tick(2 * GOSSIP_MS - 1)
    assert sent_votes(env) == []
    voter.tick(2 * GOSSIP_MS)
    [message] = sent_votes(env)
    assert message.round == 1 and message.message.message == Prevote(*block(3))
    assert voter.best.phase == Phase.PREVOTED
    assert voter.next_deadline() == 4 * GOSSIP_MS


def run_round(voter: Voter, number: int = 1, start: int = 0) -> None:
    """Play round ``number`` from ``start`` with voters 1 and 2 voting for #3."""
    if number == 1:
        voter.start(start)
    voter.tick(start + 200)
    for peer in (1, 2):
        voter.handle(f"v{peer}", vote_message(peer, number, Prevote(*block(3))), start + 210)
    voter.tick(start + 400)
    for peer in (1, 2):
        voter.handle(f"v{peer}", vote_message(peer, number, Precommit(*block(3))), start + 410)


def test_voter_precommits_ghost_finalizes_and_gossips_verifiable_commit() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    run_round(voter)
    precommits = [m for m in sent_votes(env) if isinstance(m.message.message, Precommit)]
    assert [m.message.message for m in precommits] == [Precommit(*block(3))]
    assert env.finalized == block(3)
    assert voter.round_number == 2
    [commit] = [m for _, m in env.outbox if isinstance(m, FullCommitMessage)]
    result = verify_commit_message(commit, VOTERS, set_id=0, expected_target=block(3))
    assert result.signed_weight == 3
    assert env.store is not None and env.store.best_round == 2
    assert env.store.completed is not None and len(env.store.completed.precommits) == 3


def test_voter_does_not_precommit_before_timer_unless_completable() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    voter.start(0)
    voter.tick(200)
    for peer in (1, 2, 3):
        voter.handle(f"v{peer}", vote_message(peer, 1, Prevote(*block(3))), 210)
    assert voter.best.phase == Phase.PREVOTED
    # Three precommits from peers make the round completable: precommit at once.
    for peer in (1, 2, 3):
        voter.handle(f"v{peer}", vote_message(peer, 1, Precommit(*block(2))), 250)
    assert voter.round_number == 2
    assert env.finalized == block(2)


def test_restarted_voter_resends_persisted_prevote_instead_of_signing_anew() -> None:
    env = make_env(length=5, imported=3)
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    voter.start(0)
    voter.tick(200)
    assert env.store is not None and env.store.votes[1].prevote is not None
    first = env.store.votes[1].prevote
    # Crash, a longer chain arrives, restart in the same round.
    env.outbox.clear()
    env.import_block(block(5)[0])
    restarted = Voter(env, VOTERS, 0, PAIRS[0])
    restarted.start(300)
    restarted.tick(500)
    prevotes = [m for m in sent_votes(env) if isinstance(m.message.message, Prevote)]
    assert prevotes and all(m.message.message == Prevote(*block(3)) for m in prevotes)
    assert all(m.message.signature == first.signature for m in prevotes)
    logged = [entry for entry in env.vote_log if entry[2] == "prevote"]
    assert logged == [(0, 1, "prevote", Prevote(*block(3)))]
    assert restarted.best.round.has_voted(IDS[0], PREVOTE)


def test_primary_proposes_previous_estimate_when_not_finalized() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[2])  # voter 2 is the primary of round 2 (2 mod 4)
    voter.start(0)
    voter.tick(200)
    for peer in (0, 1, 3):
        voter.handle(f"v{peer}", vote_message(peer, 1, Prevote(*block(3))), 210)
    voter.handle("v0", vote_message(0, 1, Precommit(*block(3))), 220)
    voter.handle("v1", vote_message(1, 1, Precommit(*block(1))), 220)
    voter.handle("v3", vote_message(3, 1, Precommit(*block(1))), 220)
    # Round 1: finalized #1, estimate #3 (it could still get 2 + 1 equivocation precommits).
    assert env.finalized == block(1)
    assert voter.round_number == 2
    assert env.store is not None and env.store.votes[2].propose == PrimaryPropose(*block(3))
    proposals = [m for m in sent_votes(env) if isinstance(m.message.message, PrimaryPropose)]
    assert [(m.round, m.message.message) for m in proposals] == [(2, PrimaryPropose(*block(3)))]


def test_voter_uses_primary_block_between_estimate_and_last_ghost() -> None:
    env = make_env(length=4)
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    voter.start(0)
    voter.tick(200)
    for peer in (1, 2, 3):
        voter.handle(f"v{peer}", vote_message(peer, 1, Prevote(*block(4))), 210)
    for peer in (1, 2):
        voter.handle(f"v{peer}", vote_message(peer, 1, Precommit(*block(2))), 220)
    voter.tick(400)  # our precommit for #4 completes round 1 (estimate #4 for now)
    assert voter.round_number == 2
    # Voter 3's late precommit for #2 lowers round 1's estimate to #2.
    voter.handle("v3", vote_message(3, 1, Precommit(*block(2))), 410)
    # Voter 2 (primary of round 2) proposes #3; the prevote ghost of round 1 was #4.
    voter.handle("v2", vote_message(2, 2, PrimaryPropose(*block(3))), 420)
    assert voter.best.primary_block == block(3)
    assert voter._last_round_state().estimate == block(2)
    env.outbox.clear()
    voter.tick(voter.best.timers.prevote_deadline)
    [prevote] = [m for m in sent_votes(env) if m.round == 2]
    assert prevote.message.message == Prevote(*block(4))  # best chain containing #3


def test_voter_requests_catch_up_from_peer_two_rounds_ahead() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    voter.start(0)
    voter.handle("v1", vote_message(1, 2, Prevote(*block(3))), 10)
    assert not [m for peer, m in env.outbox if peer == "v1"]
    voter.handle("v1", vote_message(1, 3, Prevote(*block(3))), 20)
    assert [(peer, m) for peer, m in env.outbox if peer == "v1"] == [("v1", CatchUpRequest(1, 0))]


def catch_up(round_number: int, voters: list[int], target: int) -> CatchUpMessage:
    prevotes, precommits = [], []
    for voter in voters:
        prevote = vote_message(voter, round_number, Prevote(*block(target))).message
        precommit = vote_message(voter, round_number, Precommit(*block(target))).message
        prevotes.append(SignedPrevote(prevote.message, prevote.signature, prevote.id))
        precommits.append(SignedPrecommit(precommit.message, precommit.signature, precommit.id))
    return CatchUpMessage(0, round_number, prevotes, precommits, h("G"), 0)


def test_voter_applies_valid_catch_up_and_jumps_ahead() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[3])
    voter.start(0)
    voter.handle("v0", GossipMessage.encode(catch_up(7, [0, 1, 2], 2)), 50)
    assert voter.round_number == 8
    assert voter.catch_ups_applied == 1
    assert env.finalized == block(2)
    assert env.store is not None and env.store.completed is not None
    assert env.store.completed.number == 7


def test_voter_rejects_catch_up_without_supermajority() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[3])
    voter.start(0)
    voter.handle("v0", catch_up(7, [0, 1], 2), 50)
    assert voter.round_number == 1
    assert voter.rejected == 1
    assert env.finalized == block(0)


def test_voter_answers_catch_up_request_with_last_completed_round() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    run_round(voter, 1, 0)
    run_round(voter, 2, 410)
    assert voter.round_number == 3
    env.outbox.clear()
    voter.handle("v3", CatchUpRequest(1, 0), 900)
    [(peer, answer)] = list(env.outbox)
    assert peer == "v3" and isinstance(answer, CatchUpMessage)
    assert answer.round_number == 2 and len(answer.precommits) == 3
    # A fresh voter accepts that answer.
    other_env = make_env()
    other = Voter(other_env, VOTERS, 0, PAIRS[3])
    other.start(0)
    other.handle("v0", answer, 910)
    assert other.round_number == 3 and other_env.finalized == block(3)


def test_bad_messages_give_typed_error_or_are_rejected() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    voter.start(0)
    with pytest.raises(GossipDecodeError):
        voter.handle("v1", b"\x09garbage", 10)
    forged = vote_message(1, 1, Prevote(*block(3)))
    forged = VoteMessage(1, 0, SignedMessage(Prevote(*block(2)), forged.message.signature, IDS[1]))
    voter.handle("v1", forged, 10)
    stranger = VoteMessage(1, 0, SignedMessage(Prevote(*block(2)), bytes(64), b"\x05" * 32))
    voter.handle("v1", stranger, 10)
    assert voter.rejected == 2
    assert not voter.best.round.has_voted(IDS[1], PREVOTE)
    # A vote of another authority set is ignored, not counted.
    voter.handle("v1", vote_message(1, 1, Prevote(*block(2)), set_id=5), 10)
    assert not voter.best.round.has_voted(IDS[1], PREVOTE)


def test_vote_on_unknown_block_waits_until_block_is_imported() -> None:
    env = make_env(length=3, imported=2)
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    voter.start(0)
    voter.handle("v1", vote_message(1, 1, Prevote(*block(3))), 10)
    assert not voter.best.round.has_voted(IDS[1], PREVOTE)
    env.import_block(block(3)[0])
    voter.on_block_imported(20)
    assert voter.best.round.has_voted(IDS[1], PREVOTE)


def commit_message(signers: list[int], target: int, round_number: int = 4) -> FullCommitMessage:
    precommits = []
    for voter in signers:
        signed = vote_message(voter, round_number, Precommit(*block(target))).message
        precommits.append(SignedPrecommit(signed.message, signed.signature, signed.id))
    commit = Commit(*block(target), precommits)
    return FullCommitMessage(round_number, 0, commit.to_compact())


def test_observer_finalizes_from_valid_commit_and_rejects_short_one() -> None:
    env = make_env()
    observer = Voter(env, VOTERS, 0, None)
    observer.start(0)
    observer.handle("v1", commit_message([0, 1], 3), 10)
    assert env.finalized == block(0) and observer.rejected == 1
    observer.handle("v1", commit_message([0, 1, 2], 2), 20)
    assert env.finalized == block(2)
    assert env.finalized_log == [(4, block(2))]
    assert sent_votes(env) == []  # an observer never votes


def test_round_state_reports_best_and_background_rounds() -> None:
    env = make_env()
    voter = Voter(env, VOTERS, 0, PAIRS[0])
    run_round(voter)
    state = voter.round_state()
    assert state["setId"] == 0
    assert state["best"]["round"] == 2
    assert state["best"]["prevotes"]["currentWeight"] == 0
    [background] = state["background"]
    assert background["round"] == 1
    assert background["precommits"]["currentWeight"] == 3
    assert background["precommits"]["missing"] == ["0x" + IDS[3].hex()]
