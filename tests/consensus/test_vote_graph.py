"""Vote graph: cumulative weights, GHOST, ancestors, equivocators, on toy chains with str hashes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.grandpa.vote_graph import BlockNotDescendant, InvalidVoteIndex, VoteGraph


class ToyChain:
    """A block tree with string hashes: ``add("B", "A")`` makes B a child of A."""

    def __init__(self, genesis: str = "G") -> None:
        self.parent: dict[str, str | None] = {genesis: None}
        self.number: dict[str, int] = {genesis: 0}

    def add(self, block: str, parent: str) -> ToyChain:
        self.parent[block] = parent
        self.number[block] = self.number[parent] + 1
        return self

    def line(self, parent: str, *blocks: str) -> ToyChain:
        for block in blocks:
            self.add(block, parent)
            parent = block
        return self

    def ancestry(self, base: str, block: str) -> list[str]:
        if block not in self.parent or base not in self.parent:
            raise BlockNotDescendant(f"unknown block {block!r}")
        route: list[str] = []
        current = self.parent[block]
        while current is not None and current != base:
            route.append(current)
            current = self.parent[current]
        if current != base:
            raise BlockNotDescendant(f"{block!r} does not descend from {base!r}")
        return route

    def is_equal_or_descendant(self, ancestor: str, block: str) -> bool:
        current: str | None = block
        while current is not None:
            if current == ancestor:
                return True
            current = self.parent[current]
        return False


def toy_tree() -> ToyChain:
    """G - A - B - C - D - E, with forks C - F - G1 and B - H."""
    chain = ToyChain().line("G", "A", "B", "C", "D", "E")
    return chain.line("C", "F", "G1").line("B", "H")


def vote(graph: VoteGraph[str], chain: ToyChain, block: str, voter: int, kind: int = 0) -> None:
    graph.insert(block, chain.number[block], voter, chain, kind)


def test_cumulative_weight_counts_votes_for_descendants() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("A", 1, [1, 2, 3, 4])
    vote(graph, chain, "E", 0)
    vote(graph, chain, "G1", 1)
    vote(graph, chain, "H", 2)
    assert graph.cumulative_weight("E") == 1
    assert graph.cumulative_weight("C") == 1 + 2
    assert graph.cumulative_weight("B") == 1 + 2 + 3
    assert graph.cumulative_weight("A") == 6
    assert graph.cumulative_weight("F") == 2
    assert graph.children_of("C") == ("D", "F")


def test_same_voter_twice_on_one_branch_counts_once() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("G", 0, [5, 1])
    vote(graph, chain, "C", 0)
    vote(graph, chain, "E", 0)
    vote(graph, chain, "E", 0)
    assert graph.cumulative_weight("B") == 5
    assert graph.cumulative_weight("E") == 5
    assert graph.voters_of("A") == frozenset({0})


def test_equivocator_counted_once_per_branch_and_once_below_fork() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("G", 0, [1, 1, 1, 1])
    vote(graph, chain, "E", 0)
    vote(graph, chain, "G1", 0)  # voter 0 equivocates across the C fork
    vote(graph, chain, "E", 1)
    assert graph.cumulative_weight("E") == 2
    assert graph.cumulative_weight("G1") == 1
    assert graph.cumulative_weight("C") == 2  # voter 0 once, voter 1 once
    assert graph.cumulative_weight("A") == 2


def test_ghost_is_highest_block_meeting_threshold() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("G", 0, [1, 1, 1, 1])
    for voter, block in enumerate(["E", "D", "G1", "H"]):
        vote(graph, chain, block, voter)
    # C has E, D, G1 (3); D has 2: with threshold 3 the GHOST is C.
    assert graph.find_ghost(None, lambda w: w[0] >= 3) == ("C", 3)
    assert graph.find_ghost(None, lambda w: w[0] >= 2) == ("D", 4)
    assert graph.find_ghost(None, lambda w: w[0] >= 5) is None


def test_ghost_from_current_best_only_moves_forward() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("G", 0, [1, 1, 1])
    vote(graph, chain, "C", 0)
    vote(graph, chain, "C", 1)
    ghost = graph.find_ghost(None, lambda w: w[0] >= 2)
    assert ghost == ("C", 3)
    vote(graph, chain, "E", 0)  # a later vote of the same voter adds nothing below E
    vote(graph, chain, "E", 2)
    assert graph.find_ghost(ghost, lambda w: w[0] >= 2) == ("E", 5)


def test_ghost_tie_between_equivocated_branches_is_deterministic() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("G", 0, [1, 1])
    for voter in (0, 1):
        vote(graph, chain, "E", voter)
        vote(graph, chain, "G1", voter)
    # Both D and F have weight 2: the smaller hash wins whatever the insertion order.
    assert graph.find_ghost(None, lambda w: w[0] >= 2) == ("E", 5)


def test_find_ancestor_walks_back_to_first_passing_block() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("G", 0, [1, 1, 1, 1], kinds=2)
    for voter in range(4):
        vote(graph, chain, "E", voter, kind=0)
    vote(graph, chain, "E", 0, kind=1)
    vote(graph, chain, "C", 1, kind=1)
    vote(graph, chain, "B", 2, kind=1)
    assert graph.find_ancestor("E", 5, lambda w: w[1] >= 2) == ("C", 3)
    assert graph.find_ancestor("E", 5, lambda w: w[1] >= 3) == ("B", 2)
    assert graph.find_ancestor("E", 5, lambda w: w[1] >= 4) is None
    assert graph.find_ancestor("nope", 9, lambda w: True) is None
    assert graph.weights("D") == (4, 1)


def test_insert_non_descendant_raises_and_leaves_graph_unchanged() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("C", 3, [1, 1])
    with pytest.raises(BlockNotDescendant):
        vote(graph, chain, "H", 0)  # H forks below C
    with pytest.raises(BlockNotDescendant):
        vote(graph, chain, "A", 0)  # below the base
    with pytest.raises(BlockNotDescendant):
        graph.insert("E", 9, 0, chain)  # wrong number for the ancestry
    assert len(graph) == 1
    assert graph.cumulative_weight("C") == 0


def test_insert_bad_voter_or_kind_raises() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("G", 0, [1])
    with pytest.raises(InvalidVoteIndex):
        vote(graph, chain, "A", 1)
    with pytest.raises(InvalidVoteIndex):
        vote(graph, chain, "A", 0, kind=1)


def test_is_equal_or_descendant_follows_parent_links() -> None:
    chain = toy_tree()
    graph: VoteGraph[str] = VoteGraph("G", 0, [1])
    vote(graph, chain, "E", 0)
    vote(graph, chain, "G1", 0)
    assert graph.is_equal_or_descendant("C", "E")
    assert graph.is_equal_or_descendant("E", "E")
    assert not graph.is_equal_or_descendant("D", "G1")
    assert not graph.is_equal_or_descendant("E", "C")


# ------------------------------------------------------------------------------ properties


def at_least(limit: int) -> Callable[[tuple[int, ...]], bool]:
    return lambda weights: weights[0] >= limit


@st.composite
def trees_and_votes(draw: st.DrawFn) -> tuple[ToyChain, list[str], list[tuple[str, int]]]:
    chain = ToyChain()
    blocks = ["G"]
    for i in range(draw(st.integers(1, 25))):
        parent = draw(st.sampled_from(blocks))
        chain.add(f"b{i}", parent)
        blocks.append(f"b{i}")
    votes = draw(st.lists(st.tuples(st.sampled_from(blocks[1:]), st.integers(0, 6)), max_size=30))
    return chain, blocks, votes


@settings(max_examples=150, deadline=None)
@given(trees_and_votes(), st.lists(st.integers(1, 5), min_size=7, max_size=7))
def test_weights_match_definition_and_ghost_only_moves_forward(
    case: tuple[ToyChain, list[str], list[tuple[str, int]]], weights: list[int]
) -> None:
    chain, blocks, votes = case
    graph: VoteGraph[str] = VoteGraph("G", 0, weights)
    threshold = sum(weights) - (sum(weights) - 1) // 3
    half = sum(weights) // 2 + 1
    ghosts: dict[int, tuple[str, int] | None] = {threshold: None, half: None}
    seen: list[tuple[str, int]] = []
    for block, voter in votes:
        vote(graph, chain, block, voter)
        seen.append((block, voter))
        for limit, previous in list(ghosts.items()):
            ghost = graph.find_ghost(previous, at_least(limit))
            if previous is not None:
                # The Substrate fuzzer property: adding votes never moves the GHOST back.
                assert ghost is not None
                assert chain.is_equal_or_descendant(previous[0], ghost[0])
            ghosts[limit] = ghost
    for block in blocks:
        if block not in graph:
            continue
        voters = {v for b, v in seen if chain.is_equal_or_descendant(block, b)}
        assert graph.cumulative_weight(block) == sum(weights[v] for v in voters)
