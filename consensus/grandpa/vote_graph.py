"""The GHOST vote graph of a GRANDPA round: votes on blocks, with cumulative weights.

Counterpart: ``finality_grandpa::vote_graph::VoteGraph`` (paper arXiv:2007.01560, section 3.1,
"Preliminaries": a vote for block B counts for B and every ancestor of B, and ``g(S)``, the GHOST
of a set of votes, is the highest block with a supermajority of them; Polkadot spec "Finality",
definitions "GRANDPA-GHOST" and "Round estimate").

A graph is rooted at a ``base`` block (the last finalized block when the round started). Each
vote for a block ``B`` is inserted with the ancestry of ``B`` back to the base, obtained from the
:class:`Chain` interface. Every node remembers, for each vote *kind* (prevote, precommit), the set
of voter indices whose votes count for it (their vote is for the node or a descendant); the
cumulative weight of a node is the weight of the *distinct* voters in that set. A voter who
equivocated (voted for two blocks on different branches) therefore counts once on each branch and
once on their common ancestors, exactly as finality-grandpa's ``VoteWeight`` bitfield does.

Differences from finality-grandpa: every block between the base and a vote is stored as its own
node (finality-grandpa compresses chains without branches into one entry with an ancestor list);
this is simpler to read and GRANDPA rounds span a handful of blocks. Where two children of a node
both satisfy a GHOST condition (possible only with equivocations), the heavier one is taken and
ties go to the smaller hash, so the result never depends on insertion order.

Pure and synchronous: no I/O; block hashes are ``bytes`` (32-byte hashes) or ``str`` (the toy
chains of the tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from consensus.grandpa.errors import GrandpaError

__all__ = [
    "Chain",
    "BlockNotDescendant",
    "InvalidVoteIndex",
    "VoteGraph",
    "Weights",
]

H = TypeVar("H", bytes, str)
H_contra = TypeVar("H_contra", bytes, str, contravariant=True)

#: The cumulative weight of a node, one entry per vote kind.
Weights = tuple[int, ...]


class BlockNotDescendant(GrandpaError):
    """A block is not known to descend from the base it was asked about."""


class InvalidVoteIndex(GrandpaError):
    """A voter index or vote kind outside the graph's voter set."""


class Chain(Protocol[H]):
    """What the vote graph needs from the chain (``finality_grandpa::Chain``)."""

    def ancestry(self, base: H, block: H) -> list[H]:
        """The ancestors of ``block`` back to, excluding, ``base``, newest first.

        The list starts with ``block``'s parent and excludes both ``block`` and ``base``; it is
        empty when ``base`` is the parent of ``block``. Raises :class:`BlockNotDescendant` when
        ``block`` is not a (known) descendant of ``base``.
        """
        ...


@dataclass
class _Node(Generic[H]):
    number: int
    parent: H | None
    voters: tuple[set[int], ...]
    weight: list[int]
    children: list[H] = field(default_factory=list)


class VoteGraph(Generic[H]):
    """Votes of one round on the tree of blocks above ``base``.

    ``voter_weights[i]`` is the weight of voter ``i``; ``kinds`` is the number of vote kinds
    tracked (1 for a plain graph, 2 for a round: prevotes and precommits).
    """

    def __init__(
        self, base: H, base_number: int, voter_weights: Sequence[int], kinds: int = 1
    ) -> None:
        if kinds < 1:
            raise InvalidVoteIndex(f"a vote graph tracks at least one kind of vote, not {kinds}")
        self.base: H = base
        self.base_number: int = base_number
        self.kinds = kinds
        self._weights = tuple(voter_weights)
        self._nodes: dict[H, _Node[H]] = {base: self._new_node(base_number, None)}

    def _new_node(self, number: int, parent: H | None) -> _Node[H]:
        return _Node(number, parent, tuple(set() for _ in range(self.kinds)), [0] * self.kinds)

    # ------------------------------------------------------------------------------ queries

    def __contains__(self, block: object) -> bool:
        return block in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def number_of(self, block: H) -> int | None:
        """The number of ``block`` if the graph holds it."""
        node = self._nodes.get(block)
        return None if node is None else node.number

    def cumulative_weight(self, block: H, kind: int = 0) -> int:
        """Weight of the distinct voters whose ``kind`` votes are for ``block`` or a descendant."""
        node = self._nodes.get(block)
        return 0 if node is None else node.weight[kind]

    def weights(self, block: H) -> Weights:
        """The cumulative weights of ``block`` for every kind (zeros if it is not in the graph)."""
        node = self._nodes.get(block)
        return (0,) * self.kinds if node is None else tuple(node.weight)

    def voters_of(self, block: H, kind: int = 0) -> frozenset[int]:
        """The voter indices counted for ``block`` (its votes and its descendants')."""
        node = self._nodes.get(block)
        return frozenset() if node is None else frozenset(node.voters[kind])

    def children_of(self, block: H) -> tuple[H, ...]:
        node = self._nodes.get(block)
        return () if node is None else tuple(sorted(node.children))

    def is_equal_or_descendant(self, ancestor: H, block: H) -> bool:
        """Whether ``block`` is ``ancestor`` or descends from it, both being in the graph."""
        target = self._nodes.get(ancestor)
        current: H | None = block
        if target is None or block not in self._nodes:
            return False
        while current is not None:
            node = self._nodes[current]
            if current == ancestor:
                return True
            if node.number <= target.number:
                return False
            current = node.parent
        return False

    # ------------------------------------------------------------------------------ insert

    def insert(self, block: H, number: int, voter: int, chain: Chain[H], kind: int = 0) -> None:
        """Count ``voter``'s ``kind`` vote for ``block`` (#``number``) and all its ancestors.

        Inserting the same voter again for the same block, or for an ancestor of a block it
        already voted for, changes nothing: a voter counts once per node. Raises
        :class:`BlockNotDescendant` (and leaves the graph unchanged) when ``block`` does not
        descend from the base according to ``chain``.
        """
        # Verify the vote's voter and kind exist.
        if not 0 <= kind < self.kinds:
            raise InvalidVoteIndex(f"vote kind {kind} is not in 0..{self.kinds - 1}")
        if not 0 <= voter < len(self._weights):
            raise InvalidVoteIndex(f"voter index {voter} is not in 0..{len(self._weights) - 1}")
        if block not in self._nodes:
            self._add_path(block, number, chain)
        elif self._nodes[block].number != number:
            raise BlockNotDescendant(
                f"block {block!r} is #{self._nodes[block].number}, not #{number}"
            )
        weight = self._weights[voter]
        current: H | None = block
        while current is not None:
            node = self._nodes[current]
            # A voter counted for a node is counted for all its ancestors already.
            if voter in node.voters[kind]:
                break
            node.voters[kind].add(voter)
            node.weight[kind] += weight
            current = node.parent

    def _add_path(self, block: H, number: int, chain: Chain[H]) -> None:
        # Verify the block is above the base and its ancestry reaches the base.
        if number <= self.base_number:
            raise BlockNotDescendant(
                f"block {block!r} #{number} is not above the base #{self.base_number}"
            )
        ancestry: list[H] = chain.ancestry(self.base, block)
        if len(ancestry) != number - self.base_number - 1:
            raise BlockNotDescendant(
                f"block {block!r} #{number}: ancestry of {len(ancestry)} blocks does not reach "
                f"the base #{self.base_number}"
            )
        path: list[H] = [block]  # newest first
        path.extend(ancestry)
        # Verify blocks already in the graph sit at the numbers the ancestry implies.
        for offset, hash_ in enumerate(path):
            known = self._nodes.get(hash_)
            if known is not None and known.number != number - offset:
                raise BlockNotDescendant(
                    f"block {hash_!r} is #{known.number} in the graph, not #{number - offset}"
                )
        parent: H = self.base
        for offset in range(len(path) - 1, -1, -1):
            step: H = path[offset]
            if step not in self._nodes:
                self._nodes[step] = self._new_node(number - offset, parent)
                self._nodes[parent].children.append(step)
            parent = step

    # ------------------------------------------------------------------------------ GHOST

    def find_ghost(
        self, current_best: tuple[H, int] | None, condition: Callable[[Weights], bool]
    ) -> tuple[H, int] | None:
        """The highest block whose cumulative weights satisfy ``condition``.

        Starts from ``current_best`` when it is in the graph and still satisfies ``condition``
        (so, as votes are only ever added, the GHOST only moves forward), else from the base;
        returns ``None`` when the starting block fails ``condition``. From there it descends to
        the child satisfying ``condition`` (the heaviest, then the smallest hash) while one does.
        ``condition`` must be monotone: a block's ancestors satisfy it whenever the block does.
        """
        start = self.base
        if current_best is not None:
            node = self._nodes.get(current_best[0])
            if node is not None and condition(tuple(node.weight)):
                start = current_best[0]
        if start == self.base and not condition(tuple(self._nodes[self.base].weight)):
            return None
        current = start
        while True:
            node = self._nodes[current]
            passing = [c for c in node.children if condition(tuple(self._nodes[c].weight))]
            if not passing:
                return current, node.number
            current = min(passing, key=lambda c: ([-w for w in self._nodes[c].weight], c))

    def find_ancestor(
        self, block: H, number: int, condition: Callable[[Weights], bool]
    ) -> tuple[H, int] | None:
        """The highest of ``block`` and its ancestors (down to the base) satisfying ``condition``.

        ``None`` when ``block`` is not in the graph or no block on its route to the base passes.
        """
        node = self._nodes.get(block)
        if node is None or node.number != number:
            return None
        current: H | None = block
        while current is not None:
            node = self._nodes[current]
            if condition(tuple(node.weight)):
                return current, node.number
            current = node.parent
        return None
