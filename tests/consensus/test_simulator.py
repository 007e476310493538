"""Simulated networks of voters: liveness under faults, and safety in every run."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from consensus.grandpa.messages import PrecommitEquivocation, PrevoteEquivocation
from consensus.grandpa.simulator import (
    Behaviour,
    Crash,
    Faults,
    Partition,
    SimulationConfigError,
    SimulationResult,
    Simulator,
)
from consensus.grandpa.verify import check_equivocation_proof
from pychain.primitives.grandpa import check_equivocation_proof as runtime_check

# A round takes ~4 gossip durations (400 ms); a block comes every 250 ms.
RUN_MS = 12_000


def run(
    n: int = 4, seed: int = 1, faults: Faults | None = None, until: int = RUN_MS
) -> SimulationResult:
    """Run a simulation and check the safety invariant, as every simulation here must."""
    result = Simulator(n, seed, faults).run(until)
    assert result.safety_violations() == []
    honest = {i for i in range(n)} - {i for i, _ in (faults or Faults()).byzantine}
    for i in honest:
        # A voter never signs two different votes for one (set id, round, stage).
        stages = result.nodes[i].votes_cast
        assert len(stages) == len(set(stages)), f"node {i} signed twice in one stage"
    return result


def test_four_honest_voters_finalize_continuously() -> None:
    result = run()
    heights = [result.min_finalized(at) for at in range(2_000, RUN_MS + 1, 2_000)]
    assert heights[0] > 0
    assert all(a < b for a, b in zip(heights, heights[1:], strict=False))
    # Finality trails the 48 authored blocks by a few blocks at most.
    assert result.min_finalized() >= RUN_MS // 250 - 6
    assert all(node.round > 20 for node in result.nodes)


def test_simulation_is_deterministic_for_a_seed() -> None:
    faults = Faults(jitter_ms=60, drop_per_million=100_000, fork_per_million=200_000)
    first = run(seed=11, faults=faults, until=6_000)
    second = run(seed=11, faults=faults, until=6_000)
    assert [n.finalized for n in first.nodes] == [n.finalized for n in second.nodes]
    assert first.messages_dropped == second.messages_dropped > 0


def test_finality_continues_with_one_of_four_crashed() -> None:
    result = run(faults=Faults(crashes=(Crash(3, at_ms=2_000),)))
    crashed_at = result.nodes[3].finalized_number(2_000)
    assert result.nodes[3].finalized_number() == crashed_at
    assert result.min_finalized(nodes=[0, 1, 2]) >= crashed_at + 30


def test_crashed_voter_restarts_catches_up_and_votes_again() -> None:
    result = run(faults=Faults(crashes=(Crash(3, at_ms=2_000, restart_ms=7_000),)))
    node = result.nodes[3]
    others_round_at_restart = result.nodes[0].round_at(7_000)
    assert others_round_at_restart >= node.round_at(6_999) + 2
    assert node.catch_ups >= 1
    assert node.round >= result.nodes[0].round - 1
    # It votes again in rounds it never reached before the crash.
    assert [r for _, r, stage in node.votes_cast if r > others_round_at_restart]
    assert node.finalized_number() >= result.min_finalized(nodes=[0, 1, 2]) - 2


def test_two_two_partition_stalls_then_resumes_within_three_rounds() -> None:
    start, heal = 3_000, 8_000
    halves = (frozenset({0, 1}), frozenset({2, 3}))
    result = run(faults=Faults(partitions=(Partition(halves, start, heal),)))
    # Nothing new is finalized on either side once in-flight messages are gone.
    settled = start + 1_000
    for node in result.nodes:
        assert node.finalized_number(heal - 1) == node.finalized_number(settled)
    assert result.min_finalized(heal - 1) < heal // 250 - 10
    round_at_heal = max(node.round_at(heal) for node in result.nodes)
    stalled = max(node.finalized_number(heal) for node in result.nodes)
    resumed = min(t for node in result.nodes for t, n, _ in node.finalized if n > stalled)
    assert max(node.round_at(resumed) for node in result.nodes) <= round_at_heal + 3
    # Each half authored its own fork; finality catches up with the longest chain.
    highest = max(number for number, _ in result.chain.blocks.values())
    assert result.min_finalized() >= highest - 6


def test_equivocating_voter_is_detected_and_finality_continues() -> None:
    result = run(faults=Faults(byzantine=((2, Behaviour.EQUIVOCATE),)))
    assert result.min_finalized() >= RUN_MS // 250 - 6
    assert result.equivocations
    offender = Simulator(4, 1).voter_set.ids[2]
    kinds = set()
    for proof in result.equivocations:
        assert proof.offender == offender
        check_equivocation_proof(proof)  # raises if the proof does not prove anything
        assert runtime_check(proof)
        kinds.add(type(proof.equivocation))
    assert kinds == {PrevoteEquivocation, PrecommitEquivocation}


def test_withholding_voter_does_not_stop_finality() -> None:
    result = run(faults=Faults(byzantine=((1, Behaviour.WITHHOLD),)))
    assert result.min_finalized() >= RUN_MS // 250 - 6
    assert result.nodes[1].votes_cast == []


def test_seven_voters_with_two_equivocators_and_forks_stay_safe_and_live() -> None:
    faults = Faults(
        jitter_ms=40,
        fork_per_million=300_000,
        byzantine=((0, Behaviour.EQUIVOCATE), (4, Behaviour.EQUIVOCATE)),
    )
    result = run(n=7, seed=3, faults=faults, until=8_000)
    assert result.min_finalized() >= 8_000 // 250 - 8


@st.composite
def fault_schedules(draw: st.DrawFn, max_drop: int = 400_000) -> Faults:
    partitions: tuple[Partition, ...] = ()
    if draw(st.booleans()):
        side = frozenset(draw(st.sets(st.integers(0, 3), min_size=1, max_size=3)))
        start = draw(st.integers(0, 4_000))
        partitions = (
            Partition(
                (side, frozenset(range(4)) - side), start, start + draw(st.integers(1, 3_000))
            ),
        )
    crashes: tuple[Crash, ...] = ()
    if draw(st.booleans()):
        at = draw(st.integers(0, 4_000))
        restart = draw(st.one_of(st.none(), st.integers(at + 1, at + 3_000)))
        crashes = (Crash(draw(st.integers(0, 3)), at, restart),)
    byzantine: tuple[tuple[int, Behaviour], ...] = ()
    if draw(st.booleans()):
        byzantine = ((draw(st.integers(0, 3)), draw(st.sampled_from(list(Behaviour)))),)
    return Faults(
        delay_ms=draw(st.integers(1, 150)),
        jitter_ms=draw(st.integers(0, 200)),
        drop_per_million=draw(st.integers(0, max_drop)),
        fork_per_million=draw(st.integers(0, 500_000)),
        partitions=partitions,
        crashes=crashes,
        byzantine=byzantine,
    )


@settings(max_examples=100, deadline=None)
@given(fault_schedules(), st.integers(0, 2**32))
def test_random_fault_schedules_never_violate_safety(faults: Faults, seed: int) -> None:
    result = run(seed=seed, faults=faults, until=6_000)
    for node in result.nodes:
        numbers = [n for _, n, _ in node.finalized]
        assert numbers == sorted(numbers)


@settings(max_examples=30, deadline=None)
@given(fault_schedules(max_drop=100_000), st.integers(0, 2**32))
def test_finality_catches_up_after_faults_end(faults: Faults, seed: int) -> None:
    # Every fault above is over by 7 s; by 16 s the running honest nodes finalize near the head.
    byzantine = {i for i, _ in faults.byzantine}
    down = {crash.node for crash in faults.crashes if crash.restart_ms is None}
    # Liveness needs at most f = 1 faulty voter once the faults are over.
    assume(len(byzantine | down) <= 1)
    honest = [i for i in range(4) if i not in byzantine | down]
    result = run(seed=seed, faults=faults, until=16_000)
    highest = max(number for number, _ in result.chain.blocks.values())
    assert result.min_finalized(nodes=honest) >= highest - 12


@pytest.mark.parametrize(
    "faults",
    [
        Faults(crashes=(Crash(4, 100),)),
        Faults(partitions=(Partition((frozenset({0}), frozenset({9})), 0, 10),)),
        Faults(drop_per_million=2_000_000),
        Faults(delay_ms=-1),
        Faults(crashes=(Crash(1, 500, restart_ms=100),)),
        Faults(byzantine=((7, Behaviour.WITHHOLD),)),
    ],
)
def test_impossible_fault_schedules_raise_typed_error(faults: Faults) -> None:
    with pytest.raises(SimulationConfigError):
        Simulator(4, 0, faults)
