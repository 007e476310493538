"""A deterministic, single-process simulation of N GRANDPA voters over an in-memory network.

There is no Substrate counterpart as such; it plays the role of finality-grandpa's test network
(``testing::environment``) and of the paper's model (arXiv:2007.01560, section 2: partial
synchrony, up to ``f`` Byzantine voters). Time is a mock clock in integer milliseconds; events
sit in a heap ordered by ``(time, sequence)`` and every random choice comes from one
``random.Random(seed)``, so a run is a pure function of its parameters.

* **Blocks**: every ``block_ms`` the slot's author (validator ``slot mod n``, Aura-style) builds
  a block on its best chain and announces it; with ``Faults.fork_per_million`` a second
  validator builds a sibling in the same slot. A node that receives a block imports its missing
  ancestors with it, and a voter that sees a vote on an unknown block fetches it from the voting
  peer after a round trip (a stand-in for sync).
* **Network**: each gossip message is SCALE-encoded, delayed by ``delay_ms`` plus a seeded
  jitter, dropped with probability ``drop_per_million / 10^6``, and lost when sender and
  receiver are in different groups of an active :class:`Partition` or either is crashed.
  Blocks follow the same rules except random drops.
* **Faults**: :class:`Crash` stops a voter (its persisted state and imported blocks survive) and
  optionally restarts it, syncing blocks from live peers; ``Behaviour.EQUIVOCATE`` voters sign a
  second, different prevote and precommit in every round; ``Behaviour.WITHHOLD`` voters never
  send votes.

:meth:`Simulator.run` returns a :class:`SimulationResult`: every node's finalized blocks over
time, round numbers, votes cast, equivocation proofs reported and a safety check (no two
conflicting finalized blocks across nodes).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from consensus.grandpa.environment import (
    GossipDecodeError,
    GossipMessage,
    InMemoryChain,
    InMemoryEnvironment,
    VoteMessage,
)
from consensus.grandpa.errors import GrandpaError
from consensus.grandpa.messages import (
    EquivocationProof,
    Precommit,
    Prevote,
    SignedMessage,
)
from consensus.grandpa.round import Block
from consensus.grandpa.vote_graph import BlockNotDescendant
from consensus.grandpa.voter import REBROADCAST_MS, Voter, VotingRound
from consensus.grandpa.voter_set import VoterSet
from pychain.primitives.hashing import blake2_256
from pychain.primitives.keys import Keypair

__all__ = [
    "Behaviour",
    "Partition",
    "Crash",
    "Faults",
    "NodeResult",
    "SimulationResult",
    "Simulator",
    "SimulationConfigError",
    "EquivocatingVoter",
    "WithholdingVoter",
]

#: Genesis hash of the simulated chain.
GENESIS = blake2_256(b"grandpa simulator genesis")
_PPM = 1_000_000


class Behaviour(Enum):
    HONEST = "honest"
    EQUIVOCATE = "equivocate"
    WITHHOLD = "withhold"


@dataclass(frozen=True)
class Partition:
    """From ``start_ms`` until ``heal_ms`` only nodes of the same group can talk."""

    groups: tuple[frozenset[int], ...]
    start_ms: int
    heal_ms: int

    def separates(self, a: int, b: int, now: int) -> bool:
        if not self.start_ms <= now < self.heal_ms:
            return False
        return not any(a in group and b in group for group in self.groups)


@dataclass(frozen=True)
class Crash:
    """Node ``node`` stops at ``at_ms`` and, if ``restart_ms`` is set, restarts then."""

    node: int
    at_ms: int
    restart_ms: int | None = None


@dataclass(frozen=True)
class Faults:
    delay_ms: int = 20
    jitter_ms: int = 0
    drop_per_million: int = 0
    fork_per_million: int = 0
    partitions: tuple[Partition, ...] = ()
    crashes: tuple[Crash, ...] = ()
    byzantine: tuple[tuple[int, Behaviour], ...] = ()


class SimulationConfigError(GrandpaError):
    """Simulator parameters that describe no possible run (bad node index, negative time...)."""


def _check_parameters(
    n: int, faults: Faults, gossip_ms: int, block_ms: int, rebroadcast_ms: int
) -> None:
    def fail(message: str) -> SimulationConfigError:
        return SimulationConfigError(message)

    # Verify the network size and the periods.
    if n < 1:
        raise fail(f"a simulation needs at least one voter, not {n}")
    if gossip_ms < 1 or block_ms < 1 or rebroadcast_ms < 1:
        raise fail("gossip_ms, block_ms and rebroadcast_ms must be positive")
    # Verify delays and probabilities.
    if faults.delay_ms < 0 or faults.jitter_ms < 0:
        raise fail("delay_ms and jitter_ms may not be negative")
    for name in ("drop_per_million", "fork_per_million"):
        if not 0 <= getattr(faults, name) <= _PPM:
            raise fail(f"{name} must be in 0..{_PPM}")
    # Verify every fault names existing nodes.
    nodes = set(range(n))
    for partition in faults.partitions:
        if not all(group <= nodes for group in partition.groups):
            raise fail(f"partition groups {partition.groups} name nodes outside 0..{n - 1}")
        if partition.heal_ms < partition.start_ms:
            raise fail("a partition heals before it starts")
    for crash in faults.crashes:
        if crash.node not in nodes:
            raise fail(f"crash of node {crash.node}, outside 0..{n - 1}")
        if crash.restart_ms is not None and crash.restart_ms < crash.at_ms:
            raise fail("a node restarts before it crashes")
    for node, behaviour in faults.byzantine:
        if node not in nodes or not isinstance(behaviour, Behaviour):
            raise fail(f"bad Byzantine entry ({node}, {behaviour})")


class EquivocatingVoter(Voter):
    """A Byzantine voter: with each vote it also signs and sends a different one.

    The second vote is for the head of another fork above the round base when it knows one,
    else for the parent of the first vote's block.
    """

    def _cast(self, voting: VotingRound, vote: Prevote | Precommit) -> None:
        super()._cast(voting, vote)
        if self.local_id is None:
            return
        other = self._other_target(voting.round.base, (vote.target_hash, vote.target_number))
        if other is None:
            return
        second = type(vote)(*other)
        message = SignedMessage(second, self._sign(voting.round.number, second), self.local_id)
        self.env.broadcast(VoteMessage(voting.round.number, self.set_id, message))

    def _other_target(self, base: Block, target: Block) -> Block | None:
        env = self.env
        if isinstance(env, InMemoryEnvironment):
            chain = env.chain
            forks = sorted(
                leaf
                for leaf in env.leaves
                if chain.number(leaf) > base[1]
                and chain.is_equal_or_descendant(base[0], leaf)
                and not chain.is_equal_or_descendant(leaf, target[0])
                and not chain.is_equal_or_descendant(target[0], leaf)
            )
            if forks:
                return forks[0], chain.number(forks[0])
        if target[1] <= base[1]:
            return None
        try:
            ancestry = env.ancestry(base[0], target[0])
        except BlockNotDescendant:
            return None
        return (ancestry[0], target[1] - 1) if ancestry else base


class WithholdingVoter(Voter):
    """A Byzantine voter that follows the rounds but never sends a vote."""

    def _cast(self, voting: VotingRound, vote: Prevote | Precommit) -> None:
        return


@dataclass
class NodeResult:
    """What one node did: finalized blocks ``(time_ms, number, hash)``, rounds, votes cast."""

    finalized: list[tuple[int, int, bytes]]
    round: int
    rounds_over_time: list[tuple[int, int]]
    votes_cast: list[tuple[int, int, str]]
    conflicts: int
    catch_ups: int

    def finalized_number(self, at_ms: int | None = None) -> int:
        """The highest finalized number at ``at_ms`` (at the end when ``None``)."""
        numbers = [n for t, n, _ in self.finalized if at_ms is None or t <= at_ms]
        return max(numbers, default=0)

    def round_at(self, at_ms: int) -> int:
        rounds = [r for t, r in self.rounds_over_time if t <= at_ms]
        return max(rounds, default=0)


@dataclass
class SimulationResult:
    nodes: list[NodeResult]
    equivocations: list[EquivocationProof]
    chain: InMemoryChain
    messages_sent: int
    messages_dropped: int
    bad_messages: int
    until_ms: int

    def safety_violations(self) -> list[str]:
        """Pairs of finalized blocks (any nodes) that are not on one chain; empty if safe."""
        blocks = sorted({(n, h) for node in self.nodes for _, n, h in node.finalized})
        problems = [
            f"#{a[0]} 0x{a[1].hex()[:12]} and #{b[0]} 0x{b[1].hex()[:12]} conflict"
            for a, b in zip(blocks, blocks[1:], strict=False)
            if not self.chain.is_equal_or_descendant(a[1], b[1])
        ]
        problems += [
            f"node {i} refused a conflicting finalization"
            for i, node in enumerate(self.nodes)
            if node.conflicts
        ]
        return problems

    def min_finalized(self, at_ms: int | None = None, nodes: list[int] | None = None) -> int:
        chosen = range(len(self.nodes)) if nodes is None else nodes
        return min(self.nodes[i].finalized_number(at_ms) for i in chosen)


@dataclass
class _Node:
    index: int
    keypair: Keypair
    env: InMemoryEnvironment
    behaviour: Behaviour
    voter: Voter | None = None
    epoch: int = 0
    scheduled: set[int] = field(default_factory=set)
    finalized: list[tuple[int, int, bytes]] = field(default_factory=list)
    rounds: list[tuple[int, int]] = field(default_factory=list)
    catch_ups: int = 0

    @property
    def peer_id(self) -> str:
        return f"v{self.index}"


class Simulator:
    """``n`` voters (equal weights) with ``faults``; :meth:`run` plays the schedule."""

    def __init__(
        self,
        n: int,
        seed: int,
        faults: Faults | None = None,
        *,
        gossip_ms: int = 100,
        block_ms: int = 250,
        rebroadcast_ms: int = REBROADCAST_MS,
    ) -> None:
        self.n = n
        self.faults = faults or Faults()
        _check_parameters(n, self.faults, gossip_ms, block_ms, rebroadcast_ms)
        self.gossip_ms = gossip_ms
        self.block_ms = block_ms
        self.rebroadcast_ms = rebroadcast_ms
        self.rng = random.Random(seed)
        self.chain = InMemoryChain(GENESIS)
        keypairs = [
            Keypair.from_seed(blake2_256(b"simulated voter" + i.to_bytes(4, "little")), "ed25519")
            for i in range(n)
        ]
        self.voter_set = VoterSet([(pair.public_key, 1) for pair in keypairs])
        behaviours = dict(self.faults.byzantine)
        self.nodes = [
            _Node(
                i,
                keypairs[i],
                InMemoryEnvironment(self.chain, gossip_ms),
                behaviours.get(i, Behaviour.HONEST),
            )
            for i in range(n)
        ]
        self._queue: list[tuple[int, int, str, Any]] = []
        self._seq = 0
        self.messages_sent = 0
        self.messages_dropped = 0
        self.bad_messages = 0

    # ------------------------------------------------------------------------------ events

    def _push(self, time: int, kind: str, payload: Any) -> None:
        heapq.heappush(self._queue, (time, self._seq, kind, payload))
        self._seq += 1

    def run(self, until_ms: int) -> SimulationResult:
        for node in self.nodes:
            self._start(node, 0)
        for crash in self.faults.crashes:
            self._push(crash.at_ms, "crash", crash.node)
            if crash.restart_ms is not None:
                self._push(crash.restart_ms, "restart", crash.node)
        self._push(self.block_ms, "slot", 1)
        while self._queue and self._queue[0][0] <= until_ms:
            time, _, kind, payload = heapq.heappop(self._queue)
            getattr(self, f"_on_{kind}")(time, payload)
        return SimulationResult(
            [
                NodeResult(
                    node.finalized,
                    node.voter.round_number
                    if node.voter
                    else max((r for _, r in node.rounds), default=0),
                    node.rounds,
                    [(s, r, stage) for s, r, stage, _ in node.env.vote_log],
                    len(node.env.conflicts),
                    node.catch_ups,
                )
                for node in self.nodes
            ],
            [proof for node in self.nodes for proof in node.env.equivocations],
            self.chain,
            self.messages_sent,
            self.messages_dropped,
            self.bad_messages,
            until_ms,
        )

    def _make_voter(self, node: _Node) -> Voter:
        cls: type[Voter] = {
            Behaviour.HONEST: Voter,
            Behaviour.EQUIVOCATE: EquivocatingVoter,
            Behaviour.WITHHOLD: WithholdingVoter,
        }[node.behaviour]
        return cls(node.env, self.voter_set, 0, node.keypair, rebroadcast_ms=self.rebroadcast_ms)

    def _start(self, node: _Node, now: int) -> None:
        node.voter = self._make_voter(node)
        node.epoch += 1
        node.scheduled = set()
        node.voter.start(now)
        self._after(node, now)

    def _after(self, node: _Node, now: int) -> None:
        """Record progress, send what the voter queued and schedule its next timer."""
        voter = node.voter
        if voter is None:
            return
        finalized = node.env.finalized
        if not node.finalized or node.finalized[-1][2] != finalized[0]:
            if finalized[1] > 0:
                node.finalized.append((now, finalized[1], finalized[0]))
        if not node.rounds or node.rounds[-1][1] != voter.round_number:
            node.rounds.append((now, voter.round_number))
        node.catch_ups = max(node.catch_ups, voter.catch_ups_applied)
        while node.env.outbox:
            peer, message = node.env.outbox.popleft()
            data = GossipMessage.encode(message)
            targets = (
                [other for other in self.nodes if other is not node]
                if peer is None
                else [other for other in self.nodes if other.peer_id == peer]
            )
            for target in targets:
                self._send(node, target, data, now)
        while node.env.block_requests:
            peer, block = node.env.block_requests.popleft()
            for other in self.nodes:
                if other.peer_id == peer and block in other.env.known:
                    if self._can_talk(node, other, now):
                        self._push(now + 2 * self._delay(), "block", (node.index, block))
        deadline = voter.next_deadline()
        if deadline is not None and deadline not in node.scheduled:
            node.scheduled.add(deadline)
            self._push(deadline, "tick", (node.index, node.epoch, deadline))

    def _can_talk(self, a: _Node, b: _Node, now: int) -> bool:
        if a.voter is None or b.voter is None:
            return False
        return not any(p.separates(a.index, b.index, now) for p in self.faults.partitions)

    def _delay(self) -> int:
        jitter = self.rng.randint(0, self.faults.jitter_ms) if self.faults.jitter_ms else 0
        return self.faults.delay_ms + jitter

    def _send(self, source: _Node, target: _Node, data: bytes, now: int) -> None:
        self.messages_sent += 1
        drop = (
            self.faults.drop_per_million and self.rng.randrange(_PPM) < self.faults.drop_per_million
        )
        if drop or not self._can_talk(source, target, now):
            self.messages_dropped += 1
            return
        self._push(now + self._delay(), "deliver", (target.index, source.peer_id, data))

    # ------------------------------------------------------------------------------ handlers

    def _on_deliver(self, now: int, payload: tuple[int, str, bytes]) -> None:
        index, peer, data = payload
        node = self.nodes[index]
        if node.voter is None:
            return
        try:
            node.voter.handle(peer, data, now)
        except GossipDecodeError:
            self.bad_messages += 1
        self._after(node, now)

    def _on_tick(self, now: int, payload: tuple[int, int, int]) -> None:
        index, epoch, deadline = payload
        node = self.nodes[index]
        node.scheduled.discard(deadline)
        if node.voter is None or node.epoch != epoch:
            return
        node.voter.tick(now)
        self._after(node, now)

    def _on_slot(self, now: int, slot: int) -> None:
        self._push(now + self.block_ms, "slot", slot + 1)
        authors = [self.nodes[slot % self.n]]
        fork = self.faults.fork_per_million
        if self.n > 1 and fork and self.rng.randrange(_PPM) < fork:
            authors.append(self.nodes[(slot + 1) % self.n])
        parent = None
        for author in authors:
            if author.voter is None:
                continue
            parent = parent or author.env.best_block()[0]
            block = blake2_256(
                b"block" + parent + slot.to_bytes(8, "little") + bytes([author.index % 256])
            )
            self.chain.add(block, parent)
            self._import(author, block, now)
            for other in self.nodes:
                if other is not author and self._can_talk(author, other, now):
                    self._push(now + self._delay(), "block", (other.index, block))

    def _import(self, node: _Node, block: bytes, now: int) -> None:
        if node.env.import_block(block) and node.voter is not None:
            node.voter.on_block_imported(now)
            self._after(node, now)

    def _on_block(self, now: int, payload: tuple[int, bytes]) -> None:
        index, block = payload
        node = self.nodes[index]
        if node.voter is not None:
            self._import(node, block, now)

    def _on_crash(self, now: int, index: int) -> None:
        node = self.nodes[index]
        node.voter = None
        node.epoch += 1
        node.env.outbox.clear()

    def _on_restart(self, now: int, index: int) -> None:
        node = self.nodes[index]
        if node.voter is not None:
            return
        # Sync: import the best blocks of the live peers before the voter starts.
        for other in self.nodes:
            if other.voter is not None and not any(
                p.separates(index, other.index, now) for p in self.faults.partitions
            ):
                node.env.import_block(other.env.best_block()[0])
        self._start(node, now)
