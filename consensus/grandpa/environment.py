"""What a GRANDPA voter needs from the outside world, its wire messages, and in-memory twins.

Counterparts:

* :class:`Environment` is ``finality_grandpa::voter::Environment`` (+ ``Chain``): the best chain
  containing a block, ancestry, round timers, the ``proposed`` / ``prevoted`` / ``precommitted``
  callbacks through which a vote is persisted *before* it is sent, ``completed``,
  ``finalize_block`` and equivocation reports, plus sending messages and asking the sync layer
  for blocks that votes refer to (``sc_consensus_grandpa``'s ``set_sync_fork_request``). Timers are abstract
  deadlines (integer milliseconds): the voter is told the time and asked for its next deadline.
* :class:`VoteMessage`, :class:`CatchUpRequest`, :class:`CatchUpMessage`, :class:`SignedPrevote`
  and :data:`GossipMessage` follow ``sc_consensus_grandpa::communication::gossip`` (``GossipMessage``
  variants 0 Vote, 1 Commit (``FullCommitMessage``), 3 CatchUpRequest, 4 CatchUp) and
  ``finality_grandpa::CatchUp``. Difference: variant 2 (Neighbor packets) is not implemented;
  the voter instead rebroadcasts its own recent votes periodically (see :mod:`~.voter`).
* :class:`VoterSetState` / :class:`HasVoted` / :class:`CompletedRound` are
  ``sc_consensus_grandpa::aux_schema``'s persisted voter state: the current round, the votes
  already cast in it (a restarted voter re-sends those instead of signing new ones) and the
  last completed round.
* :class:`InMemoryChain` (a block tree with a per-node view) and :class:`InMemoryEnvironment`
  are the in-memory twins used by tests and by :mod:`~.simulator`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from consensus.grandpa.errors import GrandpaError
from consensus.grandpa.messages import (
    Commit,
    EquivocationProof,
    FullCommitMessage,
    Prevote,
    PrimaryPropose,
    SignedMessage,
    SignedPrecommit,
)
from consensus.grandpa.vote_graph import BlockNotDescendant
from pychain.primitives.scale import (
    H256,
    H512,
    U32,
    U64,
    Enum,
    ScaleDecodeError,
    Struct,
    Vec,
)

__all__ = [
    "Block",
    "PeerId",
    "RoundData",
    "SignedPrevote",
    "VoteMessage",
    "CatchUpRequest",
    "CatchUpMessage",
    "GossipMessage",
    "decode_gossip",
    "GossipDecodeError",
    "UnknownBlock",
    "HasVoted",
    "CompletedRound",
    "VoterSetState",
    "Environment",
    "InMemoryChain",
    "InMemoryEnvironment",
]

Block = tuple[bytes, int]
#: A network peer; the simulator names them ``"v0"``, ``"v1"``, ...
PeerId = str


class GossipDecodeError(GrandpaError):
    """Bytes received from the network are not a GRANDPA gossip message."""


class UnknownBlock(GrandpaError):
    """A block the local chain does not know."""


# ---------------------------------------------------------------------------- wire messages


@dataclass(frozen=True)
class SignedPrevote(Struct):
    """``finality_grandpa::SignedPrevote``: a prevote, its signature and its signer."""

    prevote: Prevote
    signature: Annotated[bytes, H512]
    id: Annotated[bytes, H256]


@dataclass(frozen=True)
class VoteMessage(Struct):
    """``gossip::VoteMessage``: a signed vote of round ``round`` in set ``set_id``."""

    round: Annotated[int, U64]
    set_id: Annotated[int, U64]
    message: SignedMessage


@dataclass(frozen=True)
class CatchUpRequest(Struct):
    """``gossip::CatchUpRequestMessage``: "I am at round ``round``; send me your last round"."""

    round: Annotated[int, U64]
    set_id: Annotated[int, U64]


@dataclass(frozen=True)
class CatchUpMessage(Struct):
    """``gossip::FullCatchUpMessage`` with ``finality_grandpa::CatchUp`` flattened into it."""

    set_id: Annotated[int, U64]
    round_number: Annotated[int, U64]
    prevotes: Annotated[list[SignedPrevote], Vec(SignedPrevote.codec())]
    precommits: Annotated[list[SignedPrecommit], Vec(SignedPrecommit.codec())]
    base_hash: Annotated[bytes, H256]
    base_number: Annotated[int, U32]


#: ``sc_consensus_grandpa::communication::gossip::GossipMessage`` without Neighbor (2).
GossipMessage = Enum(
    "GossipMessage",
    {0: VoteMessage, 1: FullCommitMessage, 3: CatchUpRequest, 4: CatchUpMessage},
    names={0: "Vote", 1: "Commit", 3: "CatchUpRequest", 4: "CatchUp"},
)


def decode_gossip(data: bytes) -> Any:
    """Decode a gossip message strictly; any SCALE error becomes :class:`GossipDecodeError`."""
    try:
        return GossipMessage.decode(data)
    except ScaleDecodeError as exc:
        raise GossipDecodeError(f"not a GRANDPA gossip message: {exc}") from None


# ---------------------------------------------------------------------------- persisted state


@dataclass(frozen=True)
class RoundData:
    """Deadlines of a round (``finality_grandpa::voter::RoundData``'s two timers)."""

    prevote_deadline: int
    precommit_deadline: int


@dataclass
class HasVoted:
    """The votes this voter cast in one round, persisted before they were sent."""

    propose: PrimaryPropose | None = None
    prevote: SignedPrevote | None = None
    precommit: SignedPrecommit | None = None


@dataclass(frozen=True)
class CompletedRound:
    """A completed round: enough to rebuild its state (its base and every counted vote)."""

    number: int
    base: Block
    prevotes: tuple[SignedPrevote, ...]
    precommits: tuple[SignedPrecommit, ...]


@dataclass
class VoterSetState:
    """``aux_schema::VoterSetState::Live``: what survives a restart of the voter."""

    set_id: int
    best_round: int
    completed: CompletedRound | None = None
    votes: dict[int, HasVoted] = field(default_factory=dict)


# ---------------------------------------------------------------------------- the interface


class Environment(Protocol):
    """The voter's view of chain, clock, storage and network (all synchronous calls)."""

    def ancestry(self, base: bytes, block: bytes) -> list[bytes]:
        """``block``'s ancestors down to, excluding, ``base``, newest first (see ``Chain``)."""
        ...

    def has_block(self, block: bytes) -> bool:
        """Whether the block is imported locally (votes on unknown blocks wait for it)."""
        ...

    def best_chain_containing(self, base: bytes) -> Block | None:
        """The head of the best chain containing ``base``, or ``None`` if ``base`` is unknown."""
        ...

    def last_finalized(self) -> Block:
        """The last finalized block (at start-up: the base of the first round)."""
        ...

    def round_data(self, round_number: int, start: int) -> RoundData:
        """Deadlines for a round started at ``start`` (ms): prevote at 2T, precommit at 4T."""
        ...

    def load_voter_state(self) -> VoterSetState | None:
        """The persisted voter state, or ``None`` on the first start."""
        ...

    def proposed(self, set_id: int, round_number: int, propose: PrimaryPropose) -> None:
        """Persist our primary proposal; called before it is sent."""
        ...

    def prevoted(self, set_id: int, round_number: int, prevote: SignedPrevote) -> None:
        """Persist our prevote; called before it is sent."""
        ...

    def precommitted(self, set_id: int, round_number: int, precommit: SignedPrecommit) -> None:
        """Persist our precommit; called before it is sent."""
        ...

    def completed(self, set_id: int, completed: CompletedRound, next_round: int) -> None:
        """Persist that round ``completed.number`` completed and ``next_round`` begins."""
        ...

    def finalize_block(
        self, block_hash: bytes, block_number: int, round_number: int, commit: Commit
    ) -> None:
        """Finalize the block, justified by ``commit`` of round ``round_number``."""
        ...

    def report_equivocation(self, proof: EquivocationProof) -> None:
        """An equivocation was seen (the node submits ``report_equivocation`` on chain)."""
        ...

    def request_block(self, peer: PeerId, block: bytes) -> None:
        """Fetch an unknown block that ``peer`` voted on (Substrate's sync fork request)."""
        ...

    def broadcast(self, message: Any) -> None:
        """Gossip a :data:`GossipMessage` value to every peer."""
        ...

    def send_to(self, peer: PeerId, message: Any) -> None:
        """Send a :data:`GossipMessage` value to one peer (catch-up requests and answers)."""
        ...


# ---------------------------------------------------------------------------- in-memory twins


class InMemoryChain:
    """A block tree (hash → (number, parent)) shared by every node of a test or simulation.

    Each node sees it through an :class:`InMemoryEnvironment` that only knows the blocks it has
    imported. Hashes are 32-byte values chosen by the caller.
    """

    def __init__(self, genesis: bytes) -> None:
        self.genesis = genesis
        self.blocks: dict[bytes, tuple[int, bytes | None]] = {genesis: (0, None)}

    def add(self, block: bytes, parent: bytes) -> int:
        """Add ``block`` as a child of ``parent``; returns its number."""
        if parent not in self.blocks:
            raise UnknownBlock(f"parent 0x{parent.hex()} is not in the tree")
        if block in self.blocks:
            raise GrandpaError(f"block 0x{block.hex()} is already in the tree")
        number = self.blocks[parent][0] + 1
        self.blocks[block] = (number, parent)
        return number

    def number(self, block: bytes) -> int:
        entry = self.blocks.get(block)
        if entry is None:
            raise UnknownBlock(f"block 0x{block.hex()} is not in the tree")
        return entry[0]

    def parent(self, block: bytes) -> bytes | None:
        entry = self.blocks.get(block)
        if entry is None:
            raise UnknownBlock(f"block 0x{block.hex()} is not in the tree")
        return entry[1]

    def route(self, block: bytes) -> list[bytes]:
        """``block`` and all its ancestors, newest first, down to genesis."""
        route = []
        current: bytes | None = block
        while current is not None:
            route.append(current)
            current = self.parent(current)
        return route

    def is_equal_or_descendant(self, ancestor: bytes, block: bytes) -> bool:
        if ancestor not in self.blocks or block not in self.blocks:
            return False
        target = self.blocks[ancestor][0]
        current: bytes | None = block
        while current is not None and self.blocks[current][0] > target:
            current = self.blocks[current][1]
        return current == ancestor


class InMemoryEnvironment:
    """An :class:`Environment` over an :class:`InMemoryChain`, with an outbox and a store.

    ``known`` is the set of blocks this node has imported (closed under ancestry);
    ``store`` holds the persisted :class:`VoterSetState` and survives a "crash" when the
    simulator builds a new voter over the same environment. Outgoing messages are appended to
    ``outbox`` as ``(peer or None for broadcast, message)`` for the network to take.
    """

    def __init__(
        self,
        chain: InMemoryChain,
        gossip_duration_ms: int = 100,
        finalized: Block | None = None,
    ) -> None:
        self.chain = chain
        self.gossip_duration_ms = gossip_duration_ms
        self.known: set[bytes] = {chain.genesis}
        self.leaves: set[bytes] = {chain.genesis}
        self.finalized: Block = finalized or (chain.genesis, 0)
        #: Every finalization: (round, block).
        self.finalized_log: list[tuple[int, Block]] = []
        #: Finalizations refused because they do not descend from the last finalized block.
        self.conflicts: list[tuple[Block, Block]] = []
        self.commits: list[tuple[int, Commit]] = []
        self.equivocations: list[EquivocationProof] = []
        self.store: VoterSetState | None = None
        self.outbox: deque[tuple[PeerId | None, Any]] = deque()
        #: Blocks the voter asked for, as (peer, hash), for the network to fetch.
        self.block_requests: deque[tuple[PeerId, bytes]] = deque()
        #: Every vote persisted, as (set_id, round, stage, vote) — what a restart must respect.
        self.vote_log: list[tuple[int, int, str, Any]] = []

    # -- chain

    def import_block(self, block: bytes) -> bool:
        """Import ``block`` and any missing ancestors; returns whether anything was new."""
        new = [b for b in self.chain.route(block) if b not in self.known]
        for b in reversed(new):
            self.known.add(b)
            parent = self.chain.parent(b)
            self.leaves.discard(parent)  # type: ignore[arg-type]
            self.leaves.add(b)
        return bool(new)

    def has_block(self, block: bytes) -> bool:
        return block in self.known

    def ancestry(self, base: bytes, block: bytes) -> list[bytes]:
        # Verify both blocks are imported here.
        if base not in self.known or block not in self.known:
            raise BlockNotDescendant("unknown block")
        base_number = self.chain.number(base)
        ancestry: list[bytes] = []
        current = self.chain.parent(block)
        while current is not None and self.chain.number(current) > base_number:
            ancestry.append(current)
            current = self.chain.parent(current)
        # Verify the walk met the base.
        if current != base:
            raise BlockNotDescendant(f"0x{block.hex()} does not descend from 0x{base.hex()}")
        return ancestry

    def best_chain_containing(self, base: bytes) -> Block | None:
        if base not in self.known:
            return None
        heads = sorted(self.leaves, key=lambda b: (-self.chain.number(b), b))
        for head in heads:
            if self.chain.is_equal_or_descendant(base, head):
                return head, self.chain.number(head)
        return None

    def best_block(self) -> Block:
        """The best block of this node: the longest chain containing the last finalized."""
        best = self.best_chain_containing(self.finalized[0])
        return best if best is not None else self.finalized

    def last_finalized(self) -> Block:
        return self.finalized

    def round_data(self, round_number: int, start: int) -> RoundData:
        return RoundData(start + 2 * self.gossip_duration_ms, start + 4 * self.gossip_duration_ms)

    # -- storage

    def load_voter_state(self) -> VoterSetState | None:
        return self.store

    def _votes(self, set_id: int, round_number: int) -> HasVoted:
        if self.store is None or self.store.set_id != set_id:
            self.store = VoterSetState(set_id, round_number)
        return self.store.votes.setdefault(round_number, HasVoted())

    def proposed(self, set_id: int, round_number: int, propose: PrimaryPropose) -> None:
        self._votes(set_id, round_number).propose = propose
        self.vote_log.append((set_id, round_number, "propose", propose))

    def prevoted(self, set_id: int, round_number: int, prevote: SignedPrevote) -> None:
        self._votes(set_id, round_number).prevote = prevote
        self.vote_log.append((set_id, round_number, "prevote", prevote.prevote))

    def precommitted(self, set_id: int, round_number: int, precommit: SignedPrecommit) -> None:
        self._votes(set_id, round_number).precommit = precommit
        self.vote_log.append((set_id, round_number, "precommit", precommit.precommit))

    def completed(self, set_id: int, completed: CompletedRound, next_round: int) -> None:
        if self.store is None or self.store.set_id != set_id:
            self.store = VoterSetState(set_id, next_round)
        self.store.best_round = next_round
        self.store.completed = completed
        # Keep the votes of the rounds a restart may still need (the last two and the next).
        for old in [r for r in self.store.votes if r < completed.number - 1]:
            del self.store.votes[old]

    # -- finality and reports

    def finalize_block(
        self, block_hash: bytes, block_number: int, round_number: int, commit: Commit
    ) -> None:
        block = (block_hash, block_number)
        # Verify finality only moves forward along one chain.
        if block[1] <= self.finalized[1]:
            return
        if not self.chain.is_equal_or_descendant(self.finalized[0], block[0]):
            self.conflicts.append((self.finalized, block))
            return
        self.finalized = block
        self.finalized_log.append((round_number, block))
        self.commits.append((round_number, commit))

    def report_equivocation(self, proof: EquivocationProof) -> None:
        self.equivocations.append(proof)

    def request_block(self, peer: PeerId, block: bytes) -> None:
        self.block_requests.append((peer, block))

    # -- network

    def broadcast(self, message: Any) -> None:
        self.outbox.append((None, message))

    def send_to(self, peer: PeerId, message: Any) -> None:
        self.outbox.append((peer, message))
