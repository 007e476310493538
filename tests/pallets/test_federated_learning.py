"""Tests of the FederatedLearning pallet: the task lifecycle under every rule, order independence
through the pallet, extreme values, rewards, strikes and slashing, commit-reveal, skipped rounds,
cancellation and leaving, weights, metadata and invariants.

Every test using ``env`` runs ``try_state`` of all pallets when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pychain.frame.dispatch import DispatchError
from pychain.frame.metadata import build_metadata, build_metadata_v14
from pychain.frame.pallet import TryStateError
from pychain.frame.testing import assert_ok
from pychain.pallets.federated_learning import (
    ClippedMean,
    ContributorRemoved,
    ContributorSlashed,
    ContributorStruck,
    Krum,
    Mean,
    Median,
    MultiKrum,
    ParticipantLeft,
    RewardPaid,
    RoundAggregated,
    RoundSkipped,
    SkipReason,
    TaskCancelled,
    TaskCompleted,
    TaskStatus,
    TrimmedMean,
    Weighting,
    apply_update,
    apportion,
    compute_commitment,
    compute_model_hash,
)
from pychain.pallets.federated_learning import weights as fl_weights
from pychain.pallets.federated_learning.aggregation import (
    Submission,
    agreement_scores,
    krum,
    multi_krum,
    norm_clipped_mean,
    weighted_mean,
    weighted_median,
    weighted_trimmed_mean,
)
from pychain.primitives.block import Block
from pychain.primitives.extrinsic import STANDARD_EXTENSIONS
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.metadata_v14 import TypeDefPrimitive, TypeDefSequence
from tests.frame.test_metadata_build import Client
from tests.pallets.fl_mock import (
    ENDOWMENT,
    OWNER,
    FLEnv,
    account,
    build_fl_env,
    descriptor,
    params,
    vec,
)

CONTRIBUTORS = [account(i) for i in range(1, 8)]
STAKES = {who: 1_000 * (i + 1) for i, who in enumerate(CONTRIBUTORS)}


@pytest.fixture
def env() -> Iterator[FLEnv]:
    env = build_fl_env([OWNER, *CONTRIBUTORS])
    with env.chain:
        env.chain.start_block()
        yield env
        env.chain.check_try_state()


def of_type(events: list[Any], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def honest_updates(round_: int, d: int, n: int, seed: int = 7) -> dict[bytes, list[int]]:
    """Close, bounded updates for ``n`` contributors (deterministic)."""
    rng = np.random.default_rng(seed + round_)
    base = rng.integers(-200, 200, size=d)
    return {
        CONTRIBUTORS[i]: [int(v) for v in base + rng.integers(-20, 21, size=d)] for i in range(n)
    }


def reference_aggregate(rule: Any, subs: list[Submission], bound: int) -> Any:
    """The kernels called directly (what the pallet must have computed)."""
    if isinstance(rule, Median):
        return weighted_median(subs, bound)
    if isinstance(rule, TrimmedMean):
        return weighted_trimmed_mean(subs, rule.beta_per_billion, bound)
    if isinstance(rule, Krum):
        return krum(subs, rule.f, weighted=True, bound=bound)
    if isinstance(rule, MultiKrum):
        return multi_krum(subs, rule.f, rule.m, weighted=True, bound=bound)
    if isinstance(rule, ClippedMean):
        return norm_clipped_mean(subs, rule.c, bound=bound)
    return weighted_mean(subs, bound)


RULES = [
    Mean(),
    Median(),
    TrimmedMean(200_000_000),
    Krum(1),
    MultiKrum(1, 3),
    ClippedMean(300),
]


# ------------------------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("rule", RULES, ids=lambda r: type(r).__name__)
def test_lifecycle_each_rule_matches_kernels_and_completes(env: FLEnv, rule: Any) -> None:
    d, n, rounds, pool = 6, 5, 3, 30_001
    task = env.create_task(
        d=d, pool=pool, rule=rule, rounds=rounds, min_participants=5, bound=1_000
    )
    for who in CONTRIBUTORS[:n]:
        env.join(task, who, STAKES[who])
    issuance = env.balances.total_issuance()
    model = env.fl.GlobalModel.get(task).copy()
    env.run_to(2)
    paid_total = 0
    for r in range(rounds):
        updates = honest_updates(r, d, n)
        for who, update in updates.items():
            env.submit(task, who, update, samples=10 + r)
        subs = [Submission(w, STAKES[w], vec(u)) for w, u in updates.items()]
        expected = reference_aggregate(rule, subs, 1_000)
        model = apply_update(model, expected.update)
        events = env.close_round(task)
        [agg] = of_type(events, RoundAggregated)
        assert (agg.round, agg.version) == (r, r + 1)
        assert agg.model_hash == compute_model_hash(model)
        assert np.array_equal(env.fl.GlobalModel.get(task), model)
        assert agg.included == [
            a for a, i in zip(expected.accounts, expected.included, strict=True) if i
        ]
        assert agg.excluded == list(expected.excluded)
        version = env.fl.ModelVersions.get(task, r + 1)
        assert (version.model_hash, version.round) == (agg.model_hash, r)
        paid_total += sum(e.amount for e in of_type(events, RewardPaid))
    assert of_type(events, TaskCompleted) == [TaskCompleted(task, rounds, pool - paid_total)]
    assert env.fl.Tasks.get(task).status == TaskStatus.Completed
    for who in CONTRIBUTORS[:n]:
        assert env.reserved(who) == 0
    assert env.reserved(OWNER) == 0
    assert env.free(OWNER) == ENDOWMENT - paid_total
    assert sum(env.free(w) for w in CONTRIBUTORS[:n]) == n * ENDOWMENT + paid_total
    assert env.balances.total_issuance() == issuance
    assert list(env.fl.Participants.iter_prefix(task)) == []


def test_mean_round_gives_hand_computed_model(env: FLEnv) -> None:
    # Stakes 1000, 2000, 3000 with updates 1, 2, -6: floor((1000 + 4000 - 18000) / 6000) = -3.
    task = env.create_task(d=2, initial=[10, -10], rounds=2)
    for who in CONTRIBUTORS[:3]:
        env.join(task, who, STAKES[who])
    env.run_to(2)
    for who, value in zip(CONTRIBUTORS[:3], (1, 2, -6), strict=True):
        env.submit(task, who, [value, 0])
    env.close_round(task)
    assert env.fl.GlobalModel.get(task).tolist() == [7, -10]


@pytest.mark.parametrize(
    "rule", [Mean(), Median(), MultiKrum(1, 3)], ids=lambda r: type(r).__name__
)
def test_submission_order_does_not_change_model_hash(rule: Any) -> None:
    d, n = 5, 6
    updates = honest_updates(0, d, n, seed=3)
    updates[CONTRIBUTORS[5]] = [900] * d  # an outlier, so that robust rules exclude someone
    results = set()
    orders = [list(range(n)), list(reversed(range(n))), [3, 0, 5, 1, 4, 2]]
    for order in orders:
        env = build_fl_env([OWNER, *CONTRIBUTORS])
        with env.chain:
            env.chain.start_block()
            task = env.create_task(d=d, rule=rule, min_participants=5, pool=6_000)
            for i in order:
                env.join(task, CONTRIBUTORS[i], STAKES[CONTRIBUTORS[i]])
            env.run_to(2)
            for i in order:
                env.submit(task, CONTRIBUTORS[i], updates[CONTRIBUTORS[i]])
            events = env.close_round(task)
            env.chain.check_try_state()
            [agg] = of_type(events, RoundAggregated)
            paid = tuple(sorted((e.who, e.amount) for e in of_type(events, RewardPaid)))
            results.add((agg.model_hash, tuple(agg.excluded), paid))
    assert len(results) == 1


# ------------------------------------------------------------------------------ extremes


def test_extreme_values_saturate_without_overflow(env: FLEnv) -> None:
    top = 2**31 - 1
    task = env.create_task(
        d=3,
        initial=[top, -(2**31), 0],
        bound=top,
        weighting=Weighting.StakeTimesSamples,
        min_participants=3,
        min_stake=10**11,
    )
    for who in CONTRIBUTORS[:3]:
        env.join(task, who, 10**11)
    env.run_to(2)
    for who in CONTRIBUTORS[:3]:
        env.call(
            who,
            "submit_update",
            task=task,
            round=0,
            update=vec([top, -top, top]),
            num_samples=2**64 - 1,
        )
    events = env.close_round(task)
    assert of_type(events, RoundAggregated)
    assert env.fl.GlobalModel.get(task).tolist() == [top, -(2**31), top]


def test_krum_at_its_largest_bound_is_exact(env: FLEnv) -> None:
    b = 2**15
    task = env.create_task(d=4, rule=Krum(1), bound=b, min_participants=5)
    for who in CONTRIBUTORS[:5]:
        env.join(task, who, STAKES[who])
    env.run_to(2)
    values = [[b, -b, b, -b], [b, -b, b, b], [b, -b, b, -b], [-b, b, -b, b], [b, b, b, -b]]
    for who, update in zip(CONTRIBUTORS[:5], values, strict=True):
        env.submit(task, who, update)
    events = env.close_round(task)
    [agg] = of_type(events, RoundAggregated)
    # Contributors 1 and 3 agree exactly; Krum keeps one of them (the smaller account id).
    assert agg.included == [CONTRIBUTORS[0]]
    assert env.fl.GlobalModel.get(task).tolist() == [b, -b, b, -b]


# ------------------------------------------------------------------------------- rewards


def test_rewards_sum_to_the_round_share_exactly(env: FLEnv) -> None:
    pool, rounds = 10_000, 3
    task = env.create_task(d=4, pool=pool, rounds=rounds, weighting=Weighting.StakeTimesSamples)
    for who in CONTRIBUTORS[:4]:
        env.join(task, who, STAKES[who])
    env.run_to(2)
    updates = honest_updates(0, 4, 4)
    for i, (who, update) in enumerate(updates.items()):
        env.submit(task, who, update, samples=3 + i)
    owner_reserved = env.reserved(OWNER)
    events = env.close_round(task)
    paid = of_type(events, RewardPaid)
    share = pool // rounds
    assert sum(e.amount for e in paid) == share
    assert env.reserved(OWNER) == owner_reserved - share
    assert env.fl.RewardPool.get(task) == pool - share
    weights = {w: STAKES[w] * (3 + i) for i, w in enumerate(updates)}
    subs = [Submission(w, weights[w], vec(u)) for w, u in updates.items()]
    agg = weighted_mean(subs, 1000)
    scores = agreement_scores(subs, agg.update, 1000)
    expected = apportion(
        share, [(a, weights[a] * s) for a, s in zip(agg.accounts, scores, strict=True)]
    )
    assert [(e.who, e.amount) for e in paid] == [(a, x) for a, x in expected if x]


def test_last_round_pays_the_remainder(env: FLEnv) -> None:
    pool, rounds = 1_001, 3
    task = env.create_task(d=2, pool=pool, rounds=rounds)
    for who in CONTRIBUTORS[:3]:
        env.join(task, who, STAKES[who])
    env.run_to(2)
    totals = []
    for _ in range(rounds):
        for who in CONTRIBUTORS[:3]:
            env.submit(task, who, [5, 5])
        totals.append(sum(e.amount for e in of_type(env.close_round(task), RewardPaid)))
    assert totals == [333, 334, 334]
    assert sum(totals) == pool


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(0, 10**20),
    shares=st.lists(st.integers(0, 10**12), min_size=1, max_size=12),
)
def test_apportion_pays_exactly_the_total(total: int, shares: list[int]) -> None:
    accounts = [bytes([i + 1]) * 32 for i in range(len(shares))]
    out = apportion(total, list(zip(reversed(accounts), reversed(shares), strict=True)))
    assert [a for a, _ in out] == accounts
    if sum(shares) == 0:
        assert all(x == 0 for _, x in out)
    else:
        assert sum(x for _, x in out) == total
        for (_, x), w in zip(out, shares, strict=True):
            assert total * w // sum(shares) <= x <= total * w // sum(shares) + 1


def test_apportion_breaks_remainder_ties_by_account_id() -> None:
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    assert apportion(2, [(c, 1), (a, 1), (b, 1)]) == [(a, 1), (b, 1), (c, 0)]


# ------------------------------------------------------------------ strikes and slashing


def test_outlier_is_struck_then_slashed_and_removed(env: FLEnv) -> None:
    stake = 2_000
    task = env.create_task(
        d=4,
        rule=Median(),
        rounds=3,
        outlier_threshold=500_000_000,
        max_strikes=2,
        slash_fraction=250_000_000,
        pool=9_000,
    )
    attacker = CONTRIBUTORS[3]
    for who in CONTRIBUTORS[:4]:
        env.join(task, who, stake)
    env.run_to(2)
    pools = []
    for r in range(2):
        for who in CONTRIBUTORS[:3]:
            env.submit(task, who, [100, 100, -100, 50])
        env.submit(task, attacker, [-900, -900, 900, -900])
        events = env.close_round(task)
        assert attacker not in [e.who for e in of_type(events, RewardPaid)]
        assert ContributorStruck(task, attacker, r + 1) in events
        pools.append(env.fl.RewardPool.get(task))
    slash = stake // 4
    assert ContributorSlashed(task, attacker, slash) in events
    assert ContributorRemoved(task, attacker) in events
    assert env.fl.Participants.get(task, attacker) is None
    assert env.reserved(attacker) == 0
    assert env.free(attacker) == ENDOWMENT - slash
    # The slash went into the pool, after the round's rewards.
    assert pools[1] == 9_000 - 3_000 - 3_000 + slash
    assert env.fl.Tasks.get(task).participant_count == 3


def test_krum_exclusion_counts_as_a_strike(env: FLEnv) -> None:
    task = env.create_task(d=3, rule=Krum(1), min_participants=5, max_strikes=5)
    for who in CONTRIBUTORS[:5]:
        env.join(task, who, STAKES[who])
    env.run_to(2)
    for who in CONTRIBUTORS[:5]:
        env.submit(task, who, [10, 10, 10])
    events = env.close_round(task)
    [agg] = of_type(events, RoundAggregated)
    assert len(agg.included) == 1
    struck = sorted(e.who for e in of_type(events, ContributorStruck))
    assert struck == sorted(agg.excluded)
    for who in agg.excluded:
        assert env.fl.Participants.get(task, who).strikes == 1


# -------------------------------------------------------------------------- commit-reveal


def commit_reveal_task(env: FLEnv, n: int = 3) -> int:
    task = env.create_task(d=3, commit_reveal=True, round_length=4, max_strikes=3)
    for who in CONTRIBUTORS[:n]:
        env.join(task, who, STAKES[who])
    return task


def test_commit_reveal_happy_path_aggregates(env: FLEnv) -> None:
    task = commit_reveal_task(env)
    state = env.fl.RoundState.get(task)
    assert (state.start, state.end, state.commit_end()) == (2, 5, 3)
    env.run_to(3)
    updates = {who: [i, -i, 2 * i] for i, who in enumerate(CONTRIBUTORS[:3], start=1)}
    salts = {who: bytes([i]) * 32 for i, who in enumerate(CONTRIBUTORS[:3])}
    for who, update in updates.items():
        commitment = compute_commitment(update, salts[who])
        env.call(who, "commit_update", task=task, round=0, commitment=commitment, num_samples=5)
    env.run_to(4)
    for who, update in updates.items():
        env.call(who, "reveal_update", task=task, round=0, update=vec(update), salt=salts[who])
    events = env.close_round(task)
    [agg] = of_type(events, RoundAggregated)
    assert agg.included == CONTRIBUTORS[:3]
    subs = [Submission(w, STAKES[w], vec(u)) for w, u in updates.items()]
    assert env.fl.GlobalModel.get(task).tolist() == weighted_mean(subs, 1000).update.tolist()


def test_unrevealed_commitment_gets_a_strike(env: FLEnv) -> None:
    task = commit_reveal_task(env, n=4)
    env.run_to(2)
    salt = b"\x05" * 32
    for who in CONTRIBUTORS[:4]:
        commitment = compute_commitment([1, 1, 1], salt)
        env.call(who, "commit_update", task=task, round=0, commitment=commitment, num_samples=1)
    env.run_to(4)
    for who in CONTRIBUTORS[:3]:
        env.call(who, "reveal_update", task=task, round=0, update=vec([1, 1, 1]), salt=salt)
    events = env.close_round(task)
    assert of_type(events, ContributorStruck) == [ContributorStruck(task, CONTRIBUTORS[3], 1)]
    assert list(env.fl.Commitments.iter_keys(task, 0)) == []


# ------------------------------------------------------------------- skip, leave, cancel


def test_round_with_too_few_updates_keeps_the_model(env: FLEnv) -> None:
    task = env.create_task(d=2, initial=[4, 4], rounds=2, pool=1_000)
    for who in CONTRIBUTORS[:3]:
        env.join(task, who, STAKES[who])
    env.run_to(2)
    for who in CONTRIBUTORS[:2]:
        env.submit(task, who, [1, 1])
    events = env.close_round(task)
    assert events == [RoundSkipped(task, 0, SkipReason.TooFewUpdates)]
    assert env.fl.GlobalModel.get(task).tolist() == [4, 4]
    assert env.fl.RoundState.get(task).model_version == 0
    assert list(env.fl.Submissions.iter_keys(task, 0)) == []
    # The skipped round's share rolls over: the last round pays the whole pool.
    for who in CONTRIBUTORS[:3]:
        env.submit(task, who, [1, 1])
    assert sum(e.amount for e in of_type(env.close_round(task), RewardPaid)) == 1_000


def test_leave_task_between_rounds_unreserves_the_stake(env: FLEnv) -> None:
    task = env.create_task(d=2)
    who = CONTRIBUTORS[0]
    env.join(task, who, 1_500)
    assert env.reserved(who) == 1_500
    assert_ok(lambda: env.call(who, "leave_task", task=task))
    env.chain.assert_last_event("FederatedLearning", ParticipantLeft(task, who, 1_500))
    assert env.reserved(who) == 0
    assert env.free(who) == ENDOWMENT
    assert env.fl.Tasks.get(task).participant_count == 0


def test_cancel_refunds_the_unspent_pool_and_every_stake(env: FLEnv) -> None:
    pool = 9_000
    task = env.create_task(d=2, pool=pool)
    for who in CONTRIBUTORS[:3]:
        env.join(task, who, STAKES[who])
    env.run_to(2)
    for who in CONTRIBUTORS[:3]:
        env.submit(task, who, [3, 3])
    paid = sum(e.amount for e in of_type(env.close_round(task), RewardPaid))
    env.submit(task, CONTRIBUTORS[0], [1, 1])
    assert_ok(lambda: env.call(OWNER, "cancel_task", task=task))
    env.chain.assert_last_event("FederatedLearning", TaskCancelled(task, pool - paid))
    assert env.reserved(OWNER) == 0
    assert env.free(OWNER) == ENDOWMENT - paid
    for who in CONTRIBUTORS[:3]:
        assert env.reserved(who) == 0
    assert env.fl.Tasks.get(task).status == TaskStatus.Cancelled
    assert list(env.fl.Submissions.iter_keys(task, 1)) == []
    assert env.fl.Agenda.get(env.fl.RoundState.get(task).end) == []
    # Nothing happens when the cancelled round's window ends.
    env.run_to(env.fl.RoundState.get(task).end + 1)
    assert env.fl.ModelVersions.get(task, 2) is None


# ----------------------------------------------------------------- weights, metadata, codec


def test_weights_grow_with_update_size(env: FLEnv) -> None:
    def info(d: int) -> Any:
        call = env.runtime.make_call(
            "FederatedLearning",
            "submit_update",
            task=0,
            round=0,
            update=vec([0] * d),
            num_samples=1,
        )
        return env.runtime.dispatch_info(call).weight

    small, large = info(10), info(100_000)
    assert large.ref_time - small.ref_time == fl_weights.PER_ELEMENT * (100_000 - 10)
    assert large.proof_size > small.proof_size


def test_on_initialize_charges_the_rounds_closing_there(env: FLEnv) -> None:
    task = env.create_task(d=1_000, rule=Median())
    for who in CONTRIBUTORS[:3]:
        env.join(task, who, STAKES[who])
    end = env.round_end(task)
    quiet = env.fl.on_initialize(end - 1)
    busy = env.fl.on_initialize(end)
    assert busy.ref_time - quiet.ref_time == fl_weights.close_round(Median(), 3, 1_000).ref_time


def test_metadata_describes_updates_as_sequence_of_i32(env: FLEnv) -> None:
    metadata = build_metadata_v14(env.runtime, STANDARD_EXTENSIONS)
    [pallet] = [p for p in metadata.pallets if p.name == "FederatedLearning"]
    assert pallet.storage is not None
    [entry] = [e for e in pallet.storage.entries if e.name == "GlobalModel"]
    seq = metadata.types.types[entry.ty.value].ty.type_def
    assert isinstance(seq, TypeDefSequence)
    item = metadata.types.types[seq.ty].ty.type_def
    assert item == TypeDefPrimitive(item.primitive) and item.primitive.name == "I32"
    client = Client(build_metadata(env.runtime, STANDARD_EXTENSIONS))
    call = env.runtime.make_call(
        "FederatedLearning",
        "submit_update",
        task=1,
        round=2,
        update=vec([3, -4, 2**31 - 1]),
        num_samples=9,
    )
    decoded = client.decode("Call", env.runtime.encode_call(call))
    assert decoded["call_function"] == "submit_update"
    assert [a["value"] for a in decoded["call_args"]] == [1, 2, [3, -4, 2**31 - 1], 9]


# ---------------------------------------------------------------------------- invariants


def test_try_state_detects_a_broken_reserve_ledger() -> None:
    env = build_fl_env([OWNER, *CONTRIBUTORS])
    with env.chain:
        env.chain.start_block()
        task = env.create_task(d=2)
        env.join(task, CONTRIBUTORS[0], 1_000)
        env.chain.check_try_state()
        env.fl.Reserves.insert(CONTRIBUTORS[0], 999)
        with pytest.raises(TryStateError, match="Reserves"):
            env.chain.check_try_state()


# ------------------------------------------------------------------- blocks and extrinsics


def test_signed_extrinsics_build_blocks_that_reimport_to_the_same_model() -> None:
    keys = [dev_keypair(name) for name in ("Alice", "Bob", "Charlie", "Dave")]
    endowed = [k.account_id for k in keys]
    producer = build_fl_env(endowed)
    blocks = []
    with producer.chain:
        chain, executive = producer.chain, producer.chain.executive
        chain.start_block()
        xts = [
            producer.sign(
                keys[0],
                "create_task",
                0,
                descriptor=descriptor(3),
                initial_model=vec([1, 2, 3]),
                reward_pool=3_000,
                params=params(rounds=1),
            )
        ]
        xts += [producer.sign(k, "join_task", 0, task=0, stake=500) for k in keys[1:]]
        for i, k in enumerate(keys[1:], start=1):
            update = vec([i, -i, 0])
            xts.append(
                producer.sign(k, "submit_update", 1, task=0, round=0, update=update, num_samples=i)
            )
        for number in range(1, 6):
            if number > 1:
                chain.start_block()
            batch = xts[:4] if number == 1 else xts[4:] if number == 2 else []
            for xt in batch:
                assert executive.apply_extrinsic(xt).error is None
            header = chain.finish_block()
            blocks.append(Block(header, tuple(executive.applied_extrinsics)))
        model = producer.fl.GlobalModel.get(0).tolist()
        assert producer.fl.Tasks.get(0).status == TaskStatus.Completed
    importer = build_fl_env(endowed)
    with importer.chain:
        for block in blocks:
            importer.chain.executive.execute_block(block)
        assert importer.fl.GlobalModel.get(0).tolist() == model == [1 + 2, 2 - 2, 3]
        importer.chain.check_try_state()


def test_a_rule_failure_skips_the_round_instead_of_failing_the_block(env: FLEnv) -> None:
    task = env.create_task(d=2, min_participants=3)
    # Storage written behind the pallet's back: Krum(1) needs 5 updates, the task accepts 3.
    info = env.fl.Tasks.get(task)
    env.fl.Tasks.insert(task, replace(info, params=replace(info.params, rule=Krum(1))))
    for who in CONTRIBUTORS[:3]:
        env.join(task, who, STAKES[who])
    env.run_to(2)
    for who in CONTRIBUTORS[:3]:
        env.submit(task, who, [1, 1])
    events = env.close_round(task)
    assert events == [RoundSkipped(task, 0, SkipReason.AggregationFailed)]
    assert env.fl.RoundState.get(task).round == 1


# ------------------------------------------------------------------- stateful property


class FLMachine(RuleBasedStateMachine):
    """Random joins, submissions (honest and outlying), leaves, cancels and blocks over two
    tasks; after every step all invariants hold, issuance is constant and every reserved unit of
    every account is accounted for by the pallet's ledger."""

    def __init__(self) -> None:
        super().__init__()
        self.env = build_fl_env([OWNER, *CONTRIBUTORS])
        self.env.chain.__enter__()
        self.env.chain.start_block()
        self.tasks = [
            self.env.create_task(
                d=3,
                pool=10_007,
                rule=Median(),
                rounds=6,
                round_length=3,
                min_participants=2,
                outlier_threshold=400_000_000,
                max_strikes=2,
                slash_fraction=300_000_000,
            ),
            self.env.create_task(
                d=3,
                pool=5_003,
                owner=CONTRIBUTORS[0],
                weighting=Weighting.StakeTimesSamples,
                rounds=8,
                round_length=2,
                min_participants=1,
            ),
        ]
        for task in self.tasks:
            for who in CONTRIBUTORS[1:5]:
                self.env.join(task, who, STAKES[who])
        self.env.run_to(2)
        self.issuance = self.env.balances.total_issuance()

    def teardown(self) -> None:
        self.env.chain.__exit__(None, None, None)

    def _try(self, name: str, who: bytes, **kwargs: Any) -> None:
        try:
            self.env.call(who, name, **kwargs)
        except DispatchError as exc:
            assert exc.encode()[:2] == bytes([3, 8]), exc  # this pallet's error, nothing else

    @rule(t=st.integers(0, 1), i=st.integers(0, 6), stake=st.integers(50, 5_000))
    def join(self, t: int, i: int, stake: int) -> None:
        self._try("join_task", CONTRIBUTORS[i], task=self.tasks[t], stake=stake)

    @rule(
        t=st.integers(0, 1),
        i=st.integers(0, 6),
        outlier=st.booleans(),
        samples=st.integers(1, 2**20),
    )
    def submit(self, t: int, i: int, outlier: bool, samples: int) -> None:
        state = self.env.fl.RoundState.get(self.tasks[t])
        update = [-900, 900, -900] if outlier else [100 + i, 50, -20]
        self._try(
            "submit_update",
            CONTRIBUTORS[i],
            task=self.tasks[t],
            round=state.round,
            update=vec(update),
            num_samples=samples,
        )

    @rule(t=st.integers(0, 1), outliers=st.lists(st.booleans(), min_size=7, max_size=7))
    def everyone_submits(self, t: int, outliers: list[bool]) -> None:
        for i, outlier in enumerate(outliers):
            self.submit(t, i, outlier, 1 + i)

    @rule(t=st.integers(0, 1), i=st.integers(0, 6))
    def leave(self, t: int, i: int) -> None:
        self._try("leave_task", CONTRIBUTORS[i], task=self.tasks[t])

    @rule(t=st.integers(0, 1), dice=st.integers(0, 19))
    def cancel(self, t: int, dice: int) -> None:
        if dice:  # rarely: a cancelled task accepts nothing more
            return
        owner = self.env.fl.Tasks.get(self.tasks[t]).owner
        self._try("cancel_task", owner, task=self.tasks[t])

    @rule(blocks=st.integers(1, 2))
    def advance(self, blocks: int) -> None:
        self.env.run_to(self.env.chain.block_number() + blocks)

    @invariant()
    def books_balance(self) -> None:
        self.env.chain.check_try_state()
        assert self.env.balances.total_issuance() == self.issuance
        ledger = sum(amount for _, amount in self.env.fl.Reserves.iter())
        reserved = sum(self.env.reserved(w) for w in [OWNER, *CONTRIBUTORS])
        assert ledger == reserved


TestFLMachine = FLMachine.TestCase
TestFLMachine.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
)
