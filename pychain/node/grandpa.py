"""GRANDPA in the node: the voter of :mod:`consensus.grandpa.voter` over the real chain and network.

Counterparts: ``sc_consensus_grandpa``'s ``Environment`` implementation (``environment.rs``:
``best_chain_containing`` with the authority-set limit, ``finalize_block`` writing a
``GrandpaJustification``), its persisted voter state (``aux_schema``), the voter task
(``run_grandpa_voter``), the observer of non-validators (``run_grandpa_observer``) and the
authority-set changes of ``authorities.rs`` (Polkadot spec, "Finality": "Voting Process in Round r",
"Authority Set Changes", "Justification"; paper arXiv:2007.01560).

Pieces:

* :class:`ChainEnvironment` — the ``Environment`` Protocol over :class:`pychain.chain.Chain`:
  ancestry from stored headers, ``best_chain_containing`` (the best block descending from the base,
  capped at the first block that enacts an authority-set change), the last finalized block, round
  timers of ``2T``/``4T`` (``T`` = :func:`gossip_duration_ms`), the voter state persisted in the
  LMDB ``meta`` column under :data:`VOTER_STATE_KEY` *before* each vote is sent (a restarted voter
  re-sends its votes, never signs different ones), ``finalize_block`` → :meth:`Chain.finalize`
  with a ``(b"FRNK", GrandpaJustification)`` made of the commit and the ``votes_ancestries``
  headers, and equivocation reports submitted as bare ``Grandpa.report_equivocation_unsigned``
  extrinsics to the node's pool.
* :class:`NodeGrandpa` — drives a :class:`~consensus.grandpa.voter.Voter` in trio: incoming
  gossip, block imports and the voter's own deadlines wake it; outgoing messages go through a
  callback (the node's network). A node without a GRANDPA key of the set runs the same voter as an
  observer: it follows commits (and catch-ups) and finalizes what they prove.
* Authority-set changes. The Grandpa pallet enacts a change in ``on_finalize`` of block
  ``E = scheduled_at + delay``: the state of ``E`` already names the new set. So the set that
  justifies block ``B`` is the one in the state of ``B``'s *parent* (:func:`set_at`); votes never
  go beyond ``E`` (the old set finalizes ``E`` itself) and once ``E`` is final the voter is rebuilt
  for ``set_id + 1`` with the new authorities. Every set the node has seen is recorded as
  ``(set_id, authorities, first block)`` (:attr:`NodeGrandpa.set_history`, persisted under
  :data:`SET_HISTORY_KEY`).

* Forced changes (``authorities.rs``'s ``apply_forced_changes``; Polkadot spec, "Authority Set
  Changes": a forced change applies on its fork ``delay`` blocks after the block that logged it,
  without waiting for finality). The block ``E = b + delay`` enacting a ``ForcedChange{median,
  change}`` logged in block ``b`` (:func:`enacted_forced_change`, read from the digests) switches
  the voter to ``set_id + 1`` as soon as ``E`` is *imported* on the best chain: the new voter's base
  is the block numbered ``median`` on ``E``'s fork (or the node's finalized block when that is
  higher), which is treated as finalized for the set switch only: the chain's finalized block is
  not rewritten; it moves when the new set finalizes a descendant. ``E`` may be justified by either
  set (the old one, if it recovered first, or the new one); later blocks by the new set.

Differences from Substrate: a forced change is applied when its enactment block is on the node's
*best* chain (Substrate applies the first one imported on any fork and prunes the others); the set
of each block is read from that fork's state, so forks with different changes keep their own sets,
but the voter only ever moves to a higher set id (never back, which could make it sign twice in a
round); messages are broadcast (GossipSub topic), so catch-up
requests and answers reach every peer instead of one; the equivocation test hook
(``--equivocate``) signs a second vote for the target's parent in every round.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import trio

from consensus.grandpa.environment import (
    CatchUpMessage,
    CatchUpRequest,
    CompletedRound,
    HasVoted,
    RoundData,
    SignedPrevote,
    VoteMessage,
    VoterSetState,
)
from consensus.grandpa.errors import GrandpaError, JustificationError
from consensus.grandpa.justification import GRANDPA_ENGINE_ID, GrandpaJustification
from consensus.grandpa.messages import (
    Commit,
    EquivocationProof,
    FullCommitMessage,
    Precommit,
    Prevote,
    PrimaryPropose,
    SignedMessage,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.verify import VerificationResult, verify_justification
from consensus.grandpa.vote_graph import BlockNotDescendant
from consensus.grandpa.voter import Voter
from consensus.grandpa.voter_set import VoterSet
from pychain.chain import Chain, Justification
from pychain.errors import PychainError
from pychain.network import messages as net
from pychain.node.authoring import short_hash
from pychain.node.errors import NodeError
from pychain.pallets.grandpa.types import MembershipProof
from pychain.primitives.consensus_logs import (
    ForcedChange,
    ScheduledChange,
    decode_grandpa_log,
)
from pychain.primitives.extrinsic import UncheckedExtrinsic
from pychain.primitives.header import Header
from pychain.primitives.keys import Keypair
from pychain.primitives.scale import (
    H256,
    U32,
    U64,
    Option,
    ScaleDecodeError,
    Struct,
    Tuple,
    Vec,
)
from pychain.runtime import PychainRuntime
from pychain.storage.kv import COL_META

if TYPE_CHECKING:
    from pychain.chain.pool import TransactionPool
    from pychain.storage import KeyValueStore

__all__ = [
    "AuthoritySetRecord",
    "ChainEnvironment",
    "GossipSender",
    "NodeGrandpa",
    "SET_HISTORY_KEY",
    "VOTER_STATE_KEY",
    "enacted_forced_change",
    "from_network",
    "gossip_duration_ms",
    "set_at",
    "to_network",
    "verify_block_justification",
]

log = logging.getLogger("pychain.grandpa")

#: ``meta`` column key of the persisted :class:`VoterSetState` (``aux_schema``'s
#: ``grandpa_voters`` / ``set_state`` keys, in one value).
VOTER_STATE_KEY = b"grandpa:voter_state"
#: ``meta`` column key of the authority-set history ``[(set_id, authorities, first block)]``.
SET_HISTORY_KEY = b"grandpa:authority_sets"
#: Bounds of ``T``, the gossip duration of the round timers (ms).
MIN_GOSSIP_MS = 20
MAX_GOSSIP_MS = 333

GossipSender = Callable[[Any], None]


def gossip_duration_ms(slot_duration_ms: int) -> int:
    """``T`` of the round timers: a quarter slot, within ``[20, 333]`` ms (Substrate: 333 ms for
    6 s slots)."""
    return max(MIN_GOSSIP_MS, min(MAX_GOSSIP_MS, slot_duration_ms // 4))


# ------------------------------------------------------------------------- authority sets


def set_at(chain: Chain, runtime: PychainRuntime, block_hash: bytes) -> tuple[int, VoterSet]:
    """``(set_id, voters)`` in the state of ``block_hash`` (``GrandpaApi`` at that block)."""
    grandpa = runtime.grandpa

    def read() -> tuple[int, list[tuple[bytes, int]]]:
        return grandpa.current_set_id(), grandpa.grandpa_authorities()

    set_id, authorities = chain.call_at(block_hash, read)
    return set_id, VoterSet(authorities)


def enacted_forced_change(chain: Chain, header: Header) -> tuple[int, ForcedChange] | None:
    """``(b, log)`` when ``header`` (number ``E``) enacts the ``ForcedChange`` logged in its ancestor
    ``b`` with ``b + delay == E``, else ``None`` (``authorities.rs``: the forced change's effective
    number). Only one change is pending at a time, so the most recent ``ScheduledChange`` or
    ``ForcedChange`` log at or below ``header`` is the one ``E`` can enact."""
    current: Header | None = header
    while current is not None:
        for data in current.consensus_logs(GRANDPA_ENGINE_ID):
            try:
                entry = decode_grandpa_log(data)
            except ScaleDecodeError:
                continue
            if isinstance(entry, ScheduledChange):
                return None
            if isinstance(entry, ForcedChange):
                if current.number + entry.change.delay == header.number:
                    return current.number, entry
                return None
        if current.number == 0:
            return None
        current = chain.header(current.parent_hash)
    return None


def verify_block_justification(
    chain: Chain, runtime: PychainRuntime, header: Header, justification: Justification
) -> VerificationResult:
    """Verify a ``(b"FRNK", bytes)`` justification of ``header`` against the set that justifies it:
    the set in the state of its parent (the block enacting a change is still justified by the old
    set), or, for a block enacting a forced change, the new set too (its voter starts below that
    block). Raises a ``JustificationError``, or :class:`NodeError` (other engine, unknown
    parent)."""
    engine, encoded = justification
    if engine != GRANDPA_ENGINE_ID:
        raise NodeError(f"unsupported justification engine {engine!r}")
    if header.number == 0:
        raise NodeError("genesis needs no justification")
    if chain.header(header.parent_hash) is None:
        raise NodeError(f"parent of #{header.number} is unknown: cannot pick its voter set")
    decoded = GrandpaJustification.from_bytes(encoded)
    expected = (header.hash(), header.number)
    set_id, voters = set_at(chain, runtime, header.parent_hash)
    try:
        return verify_justification(decoded, set_id, voters, expected_target=expected)
    except JustificationError:
        # Verify against the forced set when this (stored) block enacts one.
        if chain.header(expected[0]) is None:
            raise
        new_id, new_voters = set_at(chain, runtime, expected[0])
        if new_id == set_id or enacted_forced_change(chain, header) is None:
            raise
        return verify_justification(decoded, new_id, new_voters, expected_target=expected)


@dataclass(frozen=True)
class AuthoritySetRecord(Struct):
    """One GRANDPA authority set: its id, voters and the first block it justifies."""

    set_id: Annotated[int, U64]
    authorities: Annotated[list[tuple[bytes, int]], Vec(Tuple(H256, U64))]
    first_block: Annotated[int, U32]


_SET_HISTORY = Vec(AuthoritySetRecord.codec())


@dataclass(frozen=True)
class _ForcedSet:
    """A set enacted by a forced change: its id, voters, the voter's base and block ``E``."""

    set_id: int
    voters: VoterSet
    base: tuple[bytes, int]
    enacted_at: int


# ---------------------------------------------------------------------- persisted voter state


@dataclass(frozen=True)
class _StoredVotes(Struct):
    round: Annotated[int, U64]
    propose: Annotated[PrimaryPropose | None, Option(PrimaryPropose.codec())]
    prevote: Annotated[SignedPrevote | None, Option(SignedPrevote.codec())]
    precommit: Annotated[SignedPrecommit | None, Option(SignedPrecommit.codec())]


@dataclass(frozen=True)
class _StoredCompleted(Struct):
    number: Annotated[int, U64]
    base_hash: Annotated[bytes, H256]
    base_number: Annotated[int, U32]
    prevotes: Annotated[list[SignedPrevote], Vec(SignedPrevote.codec())]
    precommits: Annotated[list[SignedPrecommit], Vec(SignedPrecommit.codec())]


@dataclass(frozen=True)
class _StoredVoterState(Struct):
    set_id: Annotated[int, U64]
    best_round: Annotated[int, U64]
    completed: Annotated[_StoredCompleted | None, Option(_StoredCompleted.codec())]
    votes: Annotated[list[_StoredVotes], Vec(_StoredVotes.codec())]


def encode_voter_state(state: VoterSetState) -> bytes:
    """SCALE encoding of a :class:`VoterSetState` (what goes into LMDB)."""
    completed = None
    if state.completed is not None:
        c = state.completed
        completed = _StoredCompleted(
            c.number, c.base[0], c.base[1], list(c.prevotes), list(c.precommits)
        )
    votes = [
        _StoredVotes(number, v.propose, v.prevote, v.precommit)
        for number, v in sorted(state.votes.items())
    ]
    return _StoredVoterState(state.set_id, state.best_round, completed, votes).encode()


def decode_voter_state(data: bytes) -> VoterSetState:
    """Inverse of :func:`encode_voter_state`; a corrupt value raises :class:`NodeError`."""
    try:
        stored = _StoredVoterState.decode(data)
    except ScaleDecodeError as exc:
        raise NodeError(f"the persisted GRANDPA voter state is corrupt: {exc}") from None
    completed = None
    if stored.completed is not None:
        c = stored.completed
        completed = CompletedRound(
            c.number, (c.base_hash, c.base_number), tuple(c.prevotes), tuple(c.precommits)
        )
    votes = {v.round: HasVoted(v.propose, v.prevote, v.precommit) for v in stored.votes}
    return VoterSetState(stored.set_id, stored.best_round, completed, votes)


# ------------------------------------------------------------------------- network mapping


def to_network(message: Any) -> net.GrandpaMessageValue:
    """A voter gossip message as the network's ``GrandpaMessage`` (variant + encoded body)."""
    if isinstance(message, VoteMessage):
        return net.Vote(message.encode())
    if isinstance(message, FullCommitMessage):
        return net.Commit(message.encode())
    if isinstance(message, CatchUpRequest):
        return net.CatchUpRequest(message.encode())
    if isinstance(message, CatchUpMessage):
        return net.CatchUp(message.encode())
    raise NodeError(f"not a GRANDPA gossip message: {type(message).__name__}")


def from_network(value: net.GrandpaMessageValue) -> Any | None:
    """The voter message inside a network ``GrandpaMessage``; ``None`` for neighbor packets
    (not used). Malformed bodies raise :class:`GrandpaError`."""
    decoders: dict[type, Callable[[bytes], Any]] = {
        net.Vote: VoteMessage.decode,
        net.Commit: FullCommitMessage.decode,
        net.CatchUpRequest: CatchUpRequest.decode,
        net.CatchUp: CatchUpMessage.decode,
    }
    decode = decoders.get(type(value))
    if decode is None:
        return None
    try:
        return decode(value.data)
    except ScaleDecodeError as exc:
        raise GrandpaError(f"malformed GRANDPA {type(value).__name__}: {exc}") from None


# ---------------------------------------------------------------------------- environment


class ChainEnvironment:
    """The voter's :class:`~consensus.grandpa.environment.Environment` over the node's chain."""

    def __init__(
        self,
        chain: Chain,
        runtime: PychainRuntime,
        kv: KeyValueStore,
        pool: TransactionPool | None,
        gossip_ms: int,
        send: GossipSender,
        request_block: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.chain = chain
        self.runtime = runtime
        self.kv = kv
        self.pool = pool
        self.gossip_ms = gossip_ms
        self.send = send
        self._request_block = request_block
        #: The set id the voter votes in (votes are capped at the first block leaving it).
        self.set_id = 0
        self._set_ids: dict[bytes, int] = {}
        raw = kv.get(COL_META, VOTER_STATE_KEY)
        self.state: VoterSetState | None = decode_voter_state(raw) if raw is not None else None
        self.finalized_count = 0
        self.reports: list[bytes] = []
        #: Equivocation hook: called with every vote message we broadcast.
        self.on_own_vote: Callable[[VoteMessage], None] | None = None

    # -- chain

    def has_block(self, block: bytes) -> bool:
        return self.chain.header(block) is not None

    def ancestry(self, base: bytes, block: bytes) -> list[bytes]:
        base_header = self.chain.header(base)
        header = self.chain.header(block)
        # Verify both blocks are known here.
        if base_header is None or header is None:
            raise BlockNotDescendant("unknown block")
        ancestry: list[bytes] = []
        current = header.parent_hash
        number = header.number - 1
        while number > base_header.number:
            ancestry.append(current)
            parent = self.chain.header(current)
            if parent is None:
                raise BlockNotDescendant("broken ancestry")
            current, number = parent.parent_hash, number - 1
        # Verify the walk met the base.
        if number != base_header.number or current != base:
            raise BlockNotDescendant(f"0x{block.hex()} does not descend from 0x{base.hex()}")
        return ancestry

    def set_id_at(self, block_hash: bytes) -> int:
        """The GRANDPA set id in the state of ``block_hash`` (cached: states never change)."""
        cached = self._set_ids.get(block_hash)
        if cached is None:
            grandpa = self.runtime.grandpa
            cached = int(self.chain.call_at(block_hash, grandpa.current_set_id))
            if len(self._set_ids) > 65_536:
                self._set_ids.clear()
            self._set_ids[block_hash] = cached
        return cached

    def _best_descendant(self, base: bytes, base_number: int) -> tuple[bytes, int]:
        store = self.chain.store
        best_hash, best_number = self.chain.best()
        if store.is_descendant(base, best_hash):
            return best_hash, best_number
        head, head_number = base, base_number
        for leaf in store.leaves():
            number = store.number(leaf)
            if number is not None and number > head_number and store.is_descendant(base, leaf):
                head, head_number = leaf, number
        return head, head_number

    def best_chain_containing(self, base: bytes) -> tuple[bytes, int] | None:
        base_header = self.chain.header(base)
        if base_header is None:
            return None
        head, head_number = self._best_descendant(base, base_header.number)
        # Verify the vote does not go past a block that enacts the next authority set.
        if head_number > base_header.number and self.set_id_at(head) != self.set_id:
            current = self.chain.store.expect_header(head)
            while current.number > base_header.number + 1:
                if self.set_id_at(current.parent_hash) == self.set_id:
                    break
                current = self.chain.store.expect_header(current.parent_hash)
            return current.hash(), current.number
        return head, head_number

    def last_finalized(self) -> tuple[bytes, int]:
        return self.chain.finalized()

    def round_data(self, round_number: int, start: int) -> RoundData:
        return RoundData(start + 2 * self.gossip_ms, start + 4 * self.gossip_ms)

    # -- persisted state (written before the vote leaves the node)

    def load_voter_state(self) -> VoterSetState | None:
        return self.state

    def _write_state(self) -> None:
        assert self.state is not None
        with self.kv.batch() as batch:
            batch.put(COL_META, VOTER_STATE_KEY, encode_voter_state(self.state))

    def _votes(self, set_id: int, round_number: int) -> HasVoted:
        if self.state is None or self.state.set_id != set_id:
            self.state = VoterSetState(set_id, round_number)
        return self.state.votes.setdefault(round_number, HasVoted())

    def proposed(self, set_id: int, round_number: int, propose: PrimaryPropose) -> None:
        self._votes(set_id, round_number).propose = propose
        self._write_state()

    def prevoted(self, set_id: int, round_number: int, prevote: SignedPrevote) -> None:
        self._votes(set_id, round_number).prevote = prevote
        self._write_state()

    def precommitted(self, set_id: int, round_number: int, precommit: SignedPrecommit) -> None:
        self._votes(set_id, round_number).precommit = precommit
        self._write_state()

    def completed(self, set_id: int, completed: CompletedRound, next_round: int) -> None:
        if self.state is None or self.state.set_id != set_id:
            self.state = VoterSetState(set_id, next_round)
        self.state.best_round = next_round
        self.state.completed = completed
        # Keep the votes a restart may still re-send (the last two rounds and the next).
        for old in [r for r in self.state.votes if r < completed.number - 1]:
            del self.state.votes[old]
        self._write_state()

    # -- finality

    def justification_of(self, round_number: int, commit: Commit) -> GrandpaJustification:
        """The justification of ``commit``: its precommits for the target or a descendant, plus the
        headers linking each of those down to (not including) the target."""
        target = commit.target_hash
        seen: dict[bytes, Header] = {}
        kept: list[SignedPrecommit] = []
        for signed in commit.precommits:
            route: list[Header] = []
            current = signed.precommit.target_hash
            while current != target:
                header = self.chain.header(current)
                if header is None or header.number <= commit.target_number:
                    break
                route.append(header)
                current = header.parent_hash
            # Verify the precommit is for the target or one of its descendants.
            if current != target:
                continue
            kept.append(signed)
            for header in route:
                seen.setdefault(header.hash(), header)
        ancestries = sorted(seen.values(), key=lambda h: (h.number, h.hash()))
        kept_commit = Commit(commit.target_hash, commit.target_number, kept)
        return GrandpaJustification(round_number, kept_commit, ancestries)

    def finalize_block(
        self, block_hash: bytes, block_number: int, round_number: int, commit: Commit
    ) -> None:
        _, finalized_number = self.chain.finalized()
        if block_number <= finalized_number:
            return
        justification = self.justification_of(round_number, commit)
        encoded: Justification = (GRANDPA_ENGINE_ID, justification.encode())
        stored: Justification | None = encoded
        header = self.chain.header(block_hash)
        try:
            # Verify the justification as any importer of it will, before storing it.
            if header is None:
                raise NodeError(f"block #{block_number} is unknown")
            verify_block_justification(self.chain, self.runtime, header, encoded)
        except PychainError as exc:
            log.warning("Finalizing #%d without a justification: %s", block_number, exc)
            stored = None
        try:
            self.chain.finalize(block_hash, stored)
        except PychainError as exc:
            log.warning("Cannot finalize #%d: %s: %s", block_number, type(exc).__name__, exc)
            return
        self.finalized_count += 1
        log.debug(
            "Finalized #%d (%s) in round %d", block_number, short_hash(block_hash), round_number
        )

    def report_equivocation(self, proof: EquivocationProof) -> None:
        """Submit ``Grandpa.report_equivocation_unsigned(proof, ownership)`` to the pool."""
        log.warning(
            "GRANDPA equivocation by 0x%s in round %d of set %d",
            proof.offender.hex(),
            proof.round,
            proof.set_id,
        )
        if self.pool is None:
            return
        best = self.chain.best_hash()
        _, voters = set_at(self.chain, self.runtime, best)
        ownership = MembershipProof(proof.set_id, [], len(voters))
        call = self.runtime.runtime.make_call(
            "Grandpa",
            "report_equivocation_unsigned",
            equivocation_proof=proof,
            key_owner_proof=ownership,
        )
        xt = UncheckedExtrinsic(self.runtime.runtime.encode_call(call)).encode()
        try:
            self.pool.submit(xt, source="Local")
        except PychainError as exc:
            log.info("Equivocation report not pooled: %s: %s", type(exc).__name__, exc)
            return
        self.reports.append(xt)

    def request_block(self, peer: str, block: bytes) -> None:
        if self._request_block is not None:
            self._request_block(peer, block)

    # -- network

    def broadcast(self, message: Any) -> None:
        self.send(message)
        if self.on_own_vote is not None and isinstance(message, VoteMessage):
            self.on_own_vote(message)

    def send_to(self, peer: str, message: Any) -> None:
        # Gossip has no unicast: catch-up requests and answers are broadcast.
        self.send(message)


# ------------------------------------------------------------------------------ the service


class NodeGrandpa:
    """The node's GRANDPA voter (or observer) task over :class:`ChainEnvironment`."""

    def __init__(
        self,
        chain: Chain,
        runtime: PychainRuntime,
        kv: KeyValueStore,
        pool: TransactionPool | None,
        key: Keypair | None,
        slot_duration_ms: int,
        send: GossipSender,
        request_block: Callable[[str, bytes], None] | None = None,
        *,
        equivocate: bool = False,
        other_keys: tuple[Keypair, ...] = (),
    ) -> None:
        for candidate in (key, *other_keys):
            if candidate is not None and candidate.scheme != "ed25519":
                raise NodeError(f"a GRANDPA key is ed25519, not {candidate.scheme}")
        #: The keys to vote with, the first one in the current set being used.
        self.keys: tuple[Keypair, ...] = tuple(
            dict.fromkeys(k for k in (key, *other_keys) if k is not None)
        )
        self.chain = chain
        self.runtime = runtime
        self.kv = kv
        self.key = key
        self.equivocate = equivocate
        self.env = ChainEnvironment(
            chain, runtime, kv, pool, gossip_duration_ms(slot_duration_ms), send, request_block
        )
        if equivocate and self.keys:
            self.env.on_own_vote = self._equivocate
        self.voter: Voter | None = None
        self._checked: tuple[bytes, int] | None = None
        self._best_checked: bytes | None = None
        self._forced_cache: tuple[bytes, int, _ForcedSet | None] | None = None
        self.equivocations_sent = 0
        raw = kv.get(COL_META, SET_HISTORY_KEY)
        self.set_history: list[AuthoritySetRecord] = (
            list(_SET_HISTORY.decode(raw)) if raw is not None else []
        )
        send_inbox, self._inbox = trio.open_memory_channel[tuple[str, Any]](math.inf)
        self._inbox_send = send_inbox
        chain.subscribe_imports(lambda _result: self._notify(("block", None)))

    # -- inputs (synchronous; safe to call from any task)

    def _notify(self, item: tuple[str, Any]) -> None:
        try:
            self._inbox_send.send_nowait(item)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    def on_gossip(self, peer: str, message: Any) -> None:
        """A decoded voter message from ``peer`` (see :func:`from_network`)."""
        self._notify(("message", (peer, message)))

    @property
    def set_id(self) -> int:
        return self.voter.set_id if self.voter is not None else self.env.set_id

    def round_state(self) -> dict[str, Any] | None:
        """``grandpa_roundState``-like report, or ``None`` before the voter starts."""
        return self.voter.round_state() if self.voter is not None else None

    # -- voter lifecycle

    @staticmethod
    def now_ms() -> int:
        """trio's clock in whole ms, rounded (so a wake-up at a deadline never reads as 1 ms
        before it, which would spin the loop)."""
        return math.floor(trio.current_time() * 1000 + 0.5)

    def _new_voter(self, forced: _ForcedSet | None = None) -> Voter:
        """A started voter of the set of the finalized block, or of ``forced`` (a forced change
        enacted above it on the best chain, whose voter starts from the forced base)."""
        finalized_hash, finalized_number = self.chain.finalized()
        set_id, voters = set_at(self.chain, self.runtime, finalized_hash)
        if forced is None:
            forced = self._forced_target(set_id)
        base = (finalized_hash, finalized_number)
        if forced is not None:
            set_id, voters, base = forced.set_id, forced.voters, forced.base
            if not any(record.set_id == set_id for record in self.set_history):
                self._record_set(set_id, voters, forced.enacted_at + 1)
        elif not any(record.set_id == set_id for record in self.set_history):
            self._record_set(set_id, voters, self._first_block_of(finalized_hash, set_id))
        self.env.set_id = set_id
        in_set = [k for k in self.keys if k.public_key in voters]
        self.key = in_set[0] if in_set else (self.keys[0] if self.keys else None)
        voter = Voter(self.env, voters, set_id, self.key)
        voter.finalized = base
        role = "voter" if voter.local_id is not None else "observer"
        log.info(
            "GRANDPA %s of set %d (%d authorities), from %s #%d",
            role,
            set_id,
            len(voters),
            "forced base" if forced is not None else "finalized",
            base[1],
        )
        voter.start(self.now_ms())
        return voter

    def _forced_target(self, above: int) -> _ForcedSet | None:
        """The newest forced change enacted on the best chain whose set id exceeds ``above``
        (``authorities.rs``'s ``apply_forced_changes`` on import), with its voter's base."""
        best_hash, _ = self.chain.best()
        if self.env.set_id_at(best_hash) <= above:
            return None
        cached = self._forced_cache
        if cached is not None and cached[0] == best_hash and cached[1] == above:
            return cached[2]
        found: _ForcedSet | None = None
        finalized_hash, finalized_number = self.chain.finalized()
        header = self.chain.store.expect_header(best_hash)
        while header.number > finalized_number:
            set_id = self.env.set_id_at(header.hash())
            if set_id <= above:
                break
            if self.env.set_id_at(header.parent_hash) < set_id:
                forced = enacted_forced_change(self.chain, header)
                if forced is not None:
                    found = self._forced_set(header, set_id, forced[1], finalized_hash)
                    if found is not None:
                        break
            header = self.chain.store.expect_header(header.parent_hash)
        self._forced_cache = (best_hash, above, found)
        return found

    def _forced_set(
        self, enacting: Header, set_id: int, change: ForcedChange, finalized_hash: bytes
    ) -> _ForcedSet | None:
        """The set enacted by ``enacting`` and its base: the block numbered
        ``median_last_finalized`` on its fork, or the finalized block when that is higher."""
        store = self.chain.store
        finalized_number = store.expect_header(finalized_hash).number
        median = min(change.median_last_finalized, enacting.number)
        if median <= finalized_number:
            # Verify the enacting block extends our finalized chain.
            if not store.is_descendant(finalized_hash, enacting.hash()):
                return None
            base = (finalized_hash, finalized_number)
        else:
            header = enacting
            while header.number > median:
                header = store.expect_header(header.parent_hash)
            base = (header.hash(), header.number)
            if not store.is_descendant(finalized_hash, base[0]):
                return None
        _, voters = set_at(self.chain, self.runtime, enacting.hash())
        return _ForcedSet(set_id, voters, base, enacting.number)

    def _first_block_of(self, finalized_hash: bytes, set_id: int) -> int:
        """The first block justified by set ``set_id``: the child of the block that enacted it
        (1 for the genesis set)."""
        header = self.chain.store.expect_header(finalized_hash)
        while header.number > 0 and self.env.set_id_at(header.parent_hash) == set_id:
            header = self.chain.store.expect_header(header.parent_hash)
        return header.number + 1

    def _record_set(self, set_id: int, voters: VoterSet, first_block: int) -> None:
        self.set_history.append(AuthoritySetRecord(set_id, list(voters), first_block))
        with self.kv.batch() as batch:
            batch.put(COL_META, SET_HISTORY_KEY, _SET_HISTORY.encode(self.set_history))

    def _sync_with_chain(self) -> None:
        """Follow finality that came from elsewhere (sync justifications), standard set changes
        (once their enactment block is final) and forced ones (once imported on the best chain).
        The voter only moves to higher set ids."""
        assert self.voter is not None
        finalized = self.chain.finalized()
        if finalized != self._checked:
            self._checked = finalized
            if finalized[1] > self.voter.finalized[1]:
                self.voter.finalized = finalized
            set_id = self.env.set_id_at(finalized[0])
            if set_id > self.voter.set_id:
                log.info(
                    "Applying authority set change enacted at #%d: set %d -> %d",
                    finalized[1],
                    self.voter.set_id,
                    set_id,
                )
                self.voter = self._new_voter()
                return
        best_hash, _ = self.chain.best()
        if best_hash == self._best_checked:
            return
        self._best_checked = best_hash
        forced = self._forced_target(self.voter.set_id)
        if forced is not None:
            log.info(
                "Applying forced authority set change enacted at #%d: set %d -> %d, base #%d",
                forced.enacted_at,
                self.voter.set_id,
                forced.set_id,
                forced.base[1],
            )
            self.voter = self._new_voter(forced)

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the voter until cancelled."""
        self.voter = self._new_voter()
        task_status.started()
        inbox = self._inbox
        while True:
            voter = self.voter
            deadline = voter.next_deadline()
            when = math.inf if deadline is None else deadline / 1000
            items: list[tuple[str, Any]] = []
            with trio.move_on_at(when):
                items.append(await inbox.receive())
                while True:
                    try:
                        items.append(inbox.receive_nowait())
                    except trio.WouldBlock:
                        break
            now = self.now_ms()
            blocks = False
            for kind, payload in items:
                if kind == "block":
                    blocks = True
                    continue
                peer, message = payload
                try:
                    self.voter.handle(peer, message, now)
                except PychainError as exc:
                    log.debug("GRANDPA message from %s refused: %s", peer, exc)
                self._sync_with_chain()
            try:
                if blocks:
                    self._sync_with_chain()
                    self.voter.on_block_imported(now)
                self.voter.tick(now)
                self._sync_with_chain()
            except PychainError as exc:
                log.warning("GRANDPA voter step failed: %s: %s", type(exc).__name__, exc)
            await trio.sleep(0)

    # -- the Byzantine test hook

    def _equivocate(self, message: VoteMessage) -> None:
        """``--equivocate``: for each own prevote/precommit, sign and send a second vote of the
        same round for the target's parent (never persisted: this is the misbehaviour)."""
        signed = message.message
        vote = signed.message
        if self.key is None or signed.id != self.key.public_key:
            return
        if not isinstance(vote, Prevote | Precommit):
            return
        if vote.target_number <= self.chain.finalized()[1]:
            return
        header = self.chain.header(vote.target_hash)
        if header is None:
            return
        other = type(vote)(header.parent_hash, header.number - 1)
        payload = localized_payload(message.round, message.set_id, other)
        twin = SignedMessage(other, self.key.sign(payload), signed.id)
        self.equivocations_sent += 1
        self.env.send(VoteMessage(message.round, message.set_id, twin))
