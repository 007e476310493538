"""The GRANDPA voter: a state machine over rounds, driven by messages, blocks and the clock.

Counterpart: ``finality_grandpa::voter::{Voter, VotingRound}`` (paper arXiv:2007.01560, section 3.3
"Protocol", procedure *Play-GRANDPA-round(r)*; Polkadot spec "Finality", "Voting Process in
Round r"), with the catch-up protocol of ``sc_consensus_grandpa``. Per round ``r``:

1. **Start** at time ``t_r``; the base of the round's vote graph is the last finalized block.
   The round's *primary* (voter ``r mod n`` in voter-set order) broadcasts a ``PrimaryPropose``
   for the previous round's estimate ``E_{r−1}`` if that estimate is above the previous round's
   finalized block.
2. **Prevote** at ``t_r + 2T`` or as soon as the round is completable: for the head of the best
   chain containing ``E_{r−1}`` — or containing the primary's block ``B`` when
   ``g(V_{r−1}) ≥ B > E_{r−1}``.
3. **Precommit** once ``g(V_r) ≥ E_{r−1}`` and (``t_r + 4T`` passed or the round is completable):
   for ``g(V_r)``.
4. **Next round** when round ``r`` is completable, this voter precommitted in it (or is not a
   voter) and ``E_{r−1}`` is finalized (by round ``r−1`` or ``r``); round ``r`` keeps running
   in the background, importing late votes.

Whenever a round (current or background) finalizes a block above the last finalized one, the
voter finalizes it (``Environment.finalize_block``) and gossips a commit. Valid commits from
peers finalize too. A voter that sees messages ``CATCH_UP_THRESHOLD`` or more rounds ahead of its
own asks the sender for a catch-up (its last completed round with all prevotes and precommits),
checks it (signatures, supermajorities, completability) and jumps to the next round.

Every vote is persisted through ``proposed`` / ``prevoted`` / ``precommitted`` *before* it is
sent, and a round started after a restart re-sends the persisted vote instead of signing a new
one: a voter never signs two different votes for one (set id, round, stage).

Differences from finality-grandpa: commits are gossiped at once (no commit timer); instead of
Substrate's neighbor packets and gossip re-propagation, every ``rebroadcast_ms`` the voter
re-sends its own votes of the current and previous round and the last commit it knows, which is
what lets rounds resume after a partition heals. Everything is synchronous: the caller passes
the current time (ms) to :meth:`Voter.handle`, :meth:`Voter.tick` and
:meth:`Voter.on_block_imported` and asks :meth:`Voter.next_deadline` when to call again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from consensus.grandpa.environment import (
    CatchUpMessage,
    CatchUpRequest,
    CompletedRound,
    Environment,
    GossipDecodeError,
    HasVoted,
    PeerId,
    RoundData,
    SignedPrevote,
    VoteMessage,
    decode_gossip,
)
from consensus.grandpa.errors import GrandpaError
from consensus.grandpa.messages import (
    EquivocationProof,
    FullCommitMessage,
    Precommit,
    PrecommitEquivocation,
    Prevote,
    PrevoteEquivocation,
    PrimaryPropose,
    SignedMessage,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.round import PRECOMMIT, PREVOTE, Block, Round, RoundState, validate_commit
from consensus.grandpa.vote_graph import BlockNotDescendant
from consensus.grandpa.voter_set import VoterSet
from pychain.primitives.keys import Keypair, verify_signature

__all__ = [
    "CATCH_UP_THRESHOLD",
    "REBROADCAST_MS",
    "Phase",
    "VotingRound",
    "Voter",
]

#: Ask for a catch-up when a peer is this many rounds ahead (``sc_consensus_grandpa``'s
#: ``CATCH_UP_THRESHOLD``).
CATCH_UP_THRESHOLD = 2
#: Default period of the rebroadcast of our own recent votes and the last commit.
REBROADCAST_MS = 1000
#: How long to wait for an answer before asking for a catch-up again.
CATCH_UP_TIMEOUT_MS = 1000
#: Completed rounds kept running in the background (importing late votes).
PAST_ROUNDS_KEPT = 2
#: Bounds of the buffers of messages for the next round and of messages on unknown blocks.
MAX_FUTURE_MESSAGES = 512
MAX_WAITING_MESSAGES = 512
#: GRANDPA authorities sign with ed25519.
_SCHEME = "ed25519"


class Phase(IntEnum):
    """``finality_grandpa::voter::voting_round::State``: how far our voting got in a round."""

    START = 0
    PROPOSED = 1
    PREVOTED = 2
    PRECOMMITTED = 3


@dataclass
class VotingRound:
    """Our participation in one round: its votes, timers and phase."""

    round: Round
    start: int
    timers: RoundData
    phase: Phase = Phase.START
    primary_block: Block | None = None
    proposal_considered: bool = False


class Voter:
    """A GRANDPA voter of authority set ``set_id`` (an observer when ``keypair`` is ``None``)."""

    def __init__(
        self,
        env: Environment,
        voters: VoterSet,
        set_id: int,
        keypair: Keypair | None,
        *,
        rebroadcast_ms: int = REBROADCAST_MS,
    ) -> None:
        self.env = env
        self.voters = voters
        self.set_id = set_id
        self.keypair = keypair
        in_set = keypair is not None and keypair.public_key in voters
        self.local_id: bytes | None = keypair.public_key if in_set and keypair else None
        self.rebroadcast_ms = rebroadcast_ms
        self.finalized: Block = env.last_finalized()
        self.past: dict[int, Round] = {}
        self.equivocations: list[EquivocationProof] = []
        #: Messages refused as invalid (bad signature, unknown voter, bad commit, ...).
        self.rejected = 0
        self.catch_ups_applied = 0
        self._best: VotingRound | None = None
        self._future: list[tuple[PeerId, VoteMessage]] = []
        self._waiting: list[tuple[PeerId, Any]] = []
        self._seen: dict[int, set[bytes]] = {}
        self._reported: set[tuple[int, int, bytes]] = set()
        self._last_commit: FullCommitMessage | None = None
        self._catch_up_until = -1
        self._next_rebroadcast = 0
        self._now = 0

    # ------------------------------------------------------------------------------ public

    @property
    def best(self) -> VotingRound:
        if self._best is None:
            raise GrandpaError("the voter has not been started")
        return self._best

    @property
    def round_number(self) -> int:
        return self.best.round.number

    def start(self, now: int) -> None:
        """Start (or restart from the persisted state) at time ``now``."""
        self._now = now
        state = self.env.load_voter_state()
        round_number = 1
        if state is not None and state.set_id == self.set_id:
            round_number = max(1, state.best_round)
            if state.completed is not None:
                self.past[state.completed.number] = self._rebuild(state.completed)
        self._next_rebroadcast = now + self.rebroadcast_ms
        self._start_round(round_number, now)
        self._drive(now)

    def handle(self, peer: PeerId, message: Any, now: int) -> None:
        """Process one gossip message (a decoded value or its bytes) received from ``peer``.

        Undecodable bytes raise :class:`GossipDecodeError`; invalid but well-formed messages are
        counted in ``rejected`` and otherwise ignored.
        """
        self._now = max(self._now, now)
        if isinstance(message, (bytes, bytearray)):
            message = decode_gossip(bytes(message))
        self._dispatch(peer, message, now)
        self._drive(now)

    def on_block_imported(self, now: int) -> None:
        """New blocks were imported: retry the messages that waited for them."""
        self._now = max(self._now, now)
        waiting, self._waiting = self._waiting, []
        for peer, message in waiting:
            self._dispatch(peer, message, now)
        self._drive(now)

    def tick(self, now: int) -> None:
        """The clock reached ``now``: fire due timers (votes, rebroadcast)."""
        self._now = max(self._now, now)
        if now >= self._next_rebroadcast:
            self._rebroadcast()
            self._next_rebroadcast = now + self.rebroadcast_ms
        self._drive(now)

    def next_deadline(self) -> int | None:
        """The next time at which :meth:`tick` has something to do."""
        deadlines = [self._next_rebroadcast]
        best = self.best
        if best.phase < Phase.PREVOTED:
            deadlines.append(best.timers.prevote_deadline)
        elif best.phase == Phase.PREVOTED:
            deadlines.append(best.timers.precommit_deadline)
        future = [d for d in deadlines if d > self._now]
        return min(future) if future else None

    def round_state(self) -> dict[str, Any]:
        """A ``grandpa_roundState``-like report of the current and background rounds."""
        return {
            "setId": self.set_id,
            "best": self.best.round.report().to_json(),
            "background": [self.past[n].report().to_json() for n in sorted(self.past)],
        }

    # ------------------------------------------------------------------------------ rounds

    def _rebuild(self, completed: CompletedRound) -> Round:
        """A completed round rebuilt from its persisted votes (already checked once)."""
        round_ = Round(completed.number, self.voters, completed.base)
        for prevote in completed.prevotes:
            self._import_quietly(round_, PREVOTE, prevote.prevote, prevote.id, prevote.signature)
        for precommit in completed.precommits:
            self._import_quietly(
                round_, PRECOMMIT, precommit.precommit, precommit.id, precommit.signature
            )
        return round_

    def _import_quietly(
        self, round_: Round, kind: int, vote: Any, signer: bytes, signature: bytes
    ) -> None:
        try:
            if kind == PREVOTE:
                round_.import_prevote(self.env, vote, signer, signature)
            else:
                round_.import_precommit(self.env, vote, signer, signature)
        except BlockNotDescendant:
            pass

    def _persisted(self, round_number: int) -> HasVoted | None:
        state = self.env.load_voter_state()
        if state is None or state.set_id != self.set_id:
            return None
        return state.votes.get(round_number)

    def _start_round(self, number: int, now: int) -> None:
        round_ = Round(number, self.voters, self.finalized)
        voting = VotingRound(round_, now, self.env.round_data(number, now))
        self._best = voting
        # Restore what we already did in this round before a restart, and re-send it.
        record = self._persisted(number)
        if record is not None and self.local_id is not None:
            if record.propose is not None:
                voting.phase = Phase.PROPOSED
                voting.proposal_considered = True
            if record.prevote is not None:
                self._resend(voting, record.prevote.prevote, record.prevote.signature)
                voting.phase = Phase.PREVOTED
                voting.proposal_considered = True
            if record.precommit is not None:
                signed = record.precommit
                self._resend(voting, signed.precommit, signed.signature)
                voting.phase = Phase.PRECOMMITTED
        # Replay the messages buffered for this round.
        future, self._future = self._future, []
        for peer, message in future:
            if message.round >= number:
                self._dispatch(peer, message, now)

    def _last_round_state(self) -> RoundState:
        previous = self.past.get(self.best.round.number - 1)
        if previous is None:
            return RoundState.genesis(self.best.round.base)
        return previous.state()

    def _drive(self, now: int) -> None:
        """Take every step the current state and time allow, until none applies."""
        progress = True
        while progress:
            progress = False
            voting = self.best
            last = self._last_round_state()
            if not voting.proposal_considered:
                voting.proposal_considered = True
                self._primary_propose(voting, last)
            if voting.phase < Phase.PREVOTED and (
                now >= voting.timers.prevote_deadline or voting.round.completable
            ):
                self._prevote(voting, last)
                voting.phase = Phase.PREVOTED
                progress = True
            if (
                voting.phase == Phase.PREVOTED
                and self._ghost_reaches(voting.round.prevote_ghost, last.estimate)
                and (now >= voting.timers.precommit_deadline or voting.round.completable)
            ):
                ghost = voting.round.prevote_ghost
                if ghost is not None:
                    self._cast(voting, Precommit(*ghost))
                voting.phase = Phase.PRECOMMITTED
                progress = True
            self._check_finality()
            if self._may_complete(voting, last):
                self._complete_round(now)
                progress = True

    def _is_primary(self, round_number: int) -> bool:
        ids = self.voters.ids
        return self.local_id is not None and ids[round_number % len(ids)] == self.local_id

    def _primary_propose(self, voting: VotingRound, last: RoundState) -> None:
        number = voting.round.number
        estimate = last.estimate
        # Verify we are the primary and the last estimate is not yet finalized.
        if not self._is_primary(number) or estimate is None:
            return
        if last.finalized is not None and last.finalized[1] >= estimate[1]:
            return
        propose = PrimaryPropose(*estimate)
        record = self._persisted(number)
        if record is None or record.propose is None:
            self.env.proposed(self.set_id, number, propose)
        elif record.propose != propose:
            return
        voting.phase = Phase.PROPOSED
        self._broadcast_vote(number, propose)

    def _prevote(self, voting: VotingRound, last: RoundState) -> None:
        estimate = last.estimate
        if estimate is None:
            return
        base = estimate
        primary = voting.primary_block
        ghost = last.prevote_ghost
        # Use the primary's block if E_{r-1} < B <= g(V_{r-1}).
        if (
            primary is not None
            and ghost is not None
            and primary[1] > estimate[1]
            and self._is_equal_or_descendant(primary, ghost)
            and self._is_equal_or_descendant(estimate, primary)
        ):
            base = primary
        best = self.env.best_chain_containing(base[0])
        if best is not None:
            self._cast(voting, Prevote(*best))

    def _ghost_reaches(self, ghost: Block | None, estimate: Block | None) -> bool:
        """``g(V_r) ≥ E_{r−1}``: the prevote GHOST is the last estimate or a descendant."""
        if ghost is None or estimate is None:
            return False
        return self._is_equal_or_descendant(estimate, ghost)

    def _is_equal_or_descendant(self, ancestor: Block, block: Block) -> bool:
        if ancestor == block:
            return True
        if block[1] <= ancestor[1]:
            return False
        try:
            self.env.ancestry(ancestor[0], block[0])
        except BlockNotDescendant:
            return False
        return True

    def _may_complete(self, voting: VotingRound, last: RoundState) -> bool:
        # Verify the round is completable and we precommitted (unless we only observe).
        if not voting.round.completable:
            return False
        if self.local_id is not None and voting.phase < Phase.PRECOMMITTED:
            return False
        # Verify the previous round's estimate is finalized, by that round or this one.
        estimate = last.estimate
        if estimate is None:
            return True
        finalized = [f[1] for f in (last.finalized, voting.round.finalized) if f is not None]
        return any(number >= estimate[1] for number in finalized)

    def _completed_record(self, round_: Round) -> CompletedRound:
        return CompletedRound(
            round_.number,
            round_.base,
            tuple(SignedPrevote(v, s, i) for v, s, i in round_.prevotes()),
            tuple(round_.precommits()),
        )

    def _complete_round(self, now: int) -> None:
        round_ = self.best.round
        self.env.completed(self.set_id, self._completed_record(round_), round_.number + 1)
        self.past[round_.number] = round_
        self._prune(round_.number)
        self._start_round(round_.number + 1, now)

    def _prune(self, newest_past: int) -> None:
        for number in [n for n in self.past if n <= newest_past - PAST_ROUNDS_KEPT]:
            del self.past[number]
        for number in [n for n in self._seen if n <= newest_past - PAST_ROUNDS_KEPT]:
            del self._seen[number]

    # ------------------------------------------------------------------------------ votes

    def _cast(self, voting: VotingRound, vote: Prevote | Precommit) -> None:
        """Sign, persist, count and broadcast our vote — or re-send the one persisted before."""
        if self.local_id is None or self.keypair is None:
            return
        number = voting.round.number
        record = self._persisted(number)
        if isinstance(vote, Prevote):
            if record is not None and record.prevote is not None:
                self._resend(voting, record.prevote.prevote, record.prevote.signature)
                return
            signature = self._sign(number, vote)
            self.env.prevoted(self.set_id, number, SignedPrevote(vote, signature, self.local_id))
        else:
            if record is not None and record.precommit is not None:
                signed = record.precommit
                self._resend(voting, signed.precommit, signed.signature)
                return
            signature = self._sign(number, vote)
            self.env.precommitted(
                self.set_id, number, SignedPrecommit(vote, signature, self.local_id)
            )
        self._resend(voting, vote, signature)

    def _sign(self, round_number: int, vote: Prevote | Precommit | PrimaryPropose) -> bytes:
        if self.keypair is None:
            raise GrandpaError("an observer does not sign")
        return self.keypair.sign(localized_payload(round_number, self.set_id, vote))

    def _resend(self, voting: VotingRound, vote: Prevote | Precommit, signature: bytes) -> None:
        """Count our own (already persisted) vote and broadcast it."""
        if self.local_id is None:
            return
        kind = PREVOTE if isinstance(vote, Prevote) else PRECOMMIT
        self._import_quietly(voting.round, kind, vote, self.local_id, signature)
        message = SignedMessage(vote, signature, self.local_id)
        self.env.broadcast(VoteMessage(voting.round.number, self.set_id, message))

    def _broadcast_vote(
        self, round_number: int, vote: Prevote | Precommit | PrimaryPropose
    ) -> None:
        if self.local_id is None:
            return
        message = SignedMessage(vote, self._sign(round_number, vote), self.local_id)
        self.env.broadcast(VoteMessage(round_number, self.set_id, message))

    def _rebroadcast(self) -> None:
        if self._best is None:
            return
        if self.local_id is not None:
            best = self.best.round.number
            for number in (best - 1, best):
                round_ = self.best.round if number == best else self.past.get(number)
                if round_ is None:
                    continue
                for kind in (PREVOTE, PRECOMMIT):
                    for vote, signature in round_.votes_of(self.local_id, kind):
                        message = SignedMessage(vote, signature, self.local_id)
                        self.env.broadcast(VoteMessage(number, self.set_id, message))
        if self._last_commit is not None:
            self.env.broadcast(self._last_commit)

    # ------------------------------------------------------------------------------ incoming

    def _dispatch(self, peer: PeerId, message: Any, now: int) -> None:
        if isinstance(message, VoteMessage):
            self._on_vote(peer, message, now)
        elif isinstance(message, FullCommitMessage):
            self._on_commit(peer, message, now)
        elif isinstance(message, CatchUpRequest):
            self._on_catch_up_request(peer, message)
        elif isinstance(message, CatchUpMessage):
            self._on_catch_up(peer, message, now)
        else:
            raise GossipDecodeError(f"not a GRANDPA gossip message: {type(message).__name__}")

    def _wait_for_blocks(self, peer: PeerId, message: Any, blocks: list[bytes]) -> None:
        """Keep ``message`` until ``blocks`` are imported, and ask ``peer`` for them."""
        self._waiting.append((peer, message))
        if len(self._waiting) > MAX_WAITING_MESSAGES:
            del self._waiting[0]
        for block in dict.fromkeys(blocks):
            if not self.env.has_block(block):
                self.env.request_block(peer, block)

    def _on_vote(self, peer: PeerId, message: VoteMessage, now: int) -> None:
        signed = message.message
        number = message.round
        # Verify the vote is for our set and by one of its voters.
        if message.set_id != self.set_id:
            return
        if signed.id not in self.voters:
            self.rejected += 1
            return
        best = self.best.round.number
        if number > best:
            if number >= best + CATCH_UP_THRESHOLD:
                self._request_catch_up(peer, now)
            elif len(self._future) < MAX_FUTURE_MESSAGES:
                self._future.append((peer, message))
            return
        round_ = self.best.round if number == best else self.past.get(number)
        if round_ is None:
            return
        encoded = message.encode()
        seen = self._seen.setdefault(number, set())
        if encoded in seen:
            return
        # Verify the signature over (vote, round, set_id).
        payload = localized_payload(number, self.set_id, signed.message)
        if not verify_signature(_SCHEME, signed.id, payload, signed.signature):
            self.rejected += 1
            return
        vote = signed.message
        if isinstance(vote, PrimaryPropose):
            seen.add(encoded)
            voting = self.best
            ids = self.voters.ids
            if number == best and signed.id == ids[number % len(ids)]:
                if voting.primary_block is None:
                    voting.primary_block = (vote.target_hash, vote.target_number)
            return
        # Verify the block is known here; otherwise wait until it is imported.
        if not self.env.has_block(vote.target_hash):
            self._wait_for_blocks(peer, message, [vote.target_hash])
            return
        seen.add(encoded)
        kind = PREVOTE if isinstance(vote, Prevote) else PRECOMMIT
        try:
            if kind == PREVOTE:
                result = round_.import_prevote(self.env, vote, signed.id, signed.signature)
            else:
                result = round_.import_precommit(self.env, vote, signed.id, signed.signature)
        except BlockNotDescendant:
            return
        if result.equivocation is not None:
            self._report(result.equivocation)

    def _report(self, equivocation: PrevoteEquivocation | PrecommitEquivocation) -> None:
        kind = PREVOTE if isinstance(equivocation, PrevoteEquivocation) else PRECOMMIT
        key = (equivocation.round_number, kind, equivocation.identity)
        if key in self._reported:
            return
        self._reported.add(key)
        proof = EquivocationProof(self.set_id, equivocation)
        self.equivocations.append(proof)
        self.env.report_equivocation(proof)

    def _on_commit(self, peer: PeerId, message: FullCommitMessage, now: int) -> None:
        # Verify the commit is for our set.
        if message.set_id != self.set_id:
            return
        if message.round >= self.best.round.number + CATCH_UP_THRESHOLD:
            self._request_catch_up(peer, now)
        try:
            commit = message.message.to_commit()
        except GrandpaError:
            self.rejected += 1
            return
        if commit.target_number <= self.finalized[1]:
            return
        blocks = [commit.target_hash] + [s.precommit.target_hash for s in commit.precommits]
        if not all(self.env.has_block(block) for block in blocks):
            self._wait_for_blocks(peer, message, blocks)
            return
        try:
            validate_commit(message.round, self.set_id, commit, self.voters, self.env)
        except GrandpaError:
            self.rejected += 1
            return
        if self._finalize((commit.target_hash, commit.target_number), message.round, commit):
            self._last_commit = message

    def _request_catch_up(self, peer: PeerId, now: int) -> None:
        if now < self._catch_up_until:
            return
        self._catch_up_until = now + CATCH_UP_TIMEOUT_MS
        self.env.send_to(peer, CatchUpRequest(self.best.round.number, self.set_id))

    def _on_catch_up_request(self, peer: PeerId, request: CatchUpRequest) -> None:
        # Verify the request is for our set and we completed a later round.
        if request.set_id != self.set_id or not self.past:
            return
        number = max(self.past)
        if number <= request.round:
            return
        round_ = self.past[number]
        self.env.send_to(
            peer,
            CatchUpMessage(
                self.set_id,
                number,
                [SignedPrevote(v, s, i) for v, s, i in round_.prevotes()],
                round_.precommits(),
                round_.base[0],
                round_.base[1],
            ),
        )

    def _on_catch_up(self, peer: PeerId, message: CatchUpMessage, now: int) -> None:
        # Verify the catch-up is for our set and ahead of us.
        if message.set_id != self.set_id or message.round_number <= self.best.round.number:
            return
        blocks = [message.base_hash]
        blocks += [v.prevote.target_hash for v in message.prevotes]
        blocks += [v.precommit.target_hash for v in message.precommits]
        if not all(self.env.has_block(block) for block in blocks):
            self._wait_for_blocks(peer, message, blocks)
            return
        round_ = Round(message.round_number, self.voters, (message.base_hash, message.base_number))
        votes: list[tuple[int, Any, bytes, bytes]] = [
            (PREVOTE, v.prevote, v.signature, v.id) for v in message.prevotes
        ] + [(PRECOMMIT, v.precommit, v.signature, v.id) for v in message.precommits]
        equivocations = []
        for kind, vote, signature, signer in votes:
            # Verify each vote is by a voter and correctly signed.
            payload = localized_payload(message.round_number, self.set_id, vote)
            if signer not in self.voters or not verify_signature(
                _SCHEME, signer, payload, signature
            ):
                self.rejected += 1
                return
            try:
                if kind == PREVOTE:
                    result = round_.import_prevote(self.env, vote, signer, signature)
                else:
                    result = round_.import_precommit(self.env, vote, signer, signature)
            except BlockNotDescendant:
                self.rejected += 1
                return
            if result.equivocation is not None:
                equivocations.append(result.equivocation)
        # Verify supermajorities of prevotes and precommits, and that the round is completable.
        threshold = self.voters.threshold
        if (
            round_.current_weight(PREVOTE) < threshold
            or round_.current_weight(PRECOMMIT) < threshold
            or not round_.completable
        ):
            self.rejected += 1
            return
        for equivocation in equivocations:
            self._report(equivocation)
        self.catch_ups_applied += 1
        self._catch_up_until = -1
        self.past = {round_.number: round_}
        self._seen = {}
        self.env.completed(self.set_id, self._completed_record(round_), round_.number + 1)
        self._check_finality()
        self._start_round(round_.number + 1, now)

    # ------------------------------------------------------------------------------ finality

    def _check_finality(self) -> None:
        rounds = [self.past[n] for n in sorted(self.past)] + [self.best.round]
        for round_ in rounds:
            finalized = round_.finalized
            if finalized is None or finalized[1] <= self.finalized[1]:
                continue
            commit = round_.commit()
            if commit is None or not self._finalize(finalized, round_.number, commit):
                continue
            message = FullCommitMessage(round_.number, self.set_id, commit.to_compact())
            self._last_commit = message
            self.env.broadcast(message)

    def _finalize(self, block: Block, round_number: int, commit: Any) -> bool:
        """Finalize ``block`` if it extends our finalized chain; returns whether it did."""
        if block[1] <= self.finalized[1]:
            return False
        # Verify the block descends from the last finalized block (safety).
        if not self._is_equal_or_descendant(self.finalized, block):
            return False
        self.finalized = block
        self.env.finalize_block(block[0], block[1], round_number, commit)
        return True
