"""Tests of the federated-learning aggregation kernels (``federated_learning/aggregation.py``).

Every rule is checked against a Python-int reference written straight from its definition (exact
equality) and a float64 reference (within one unit), on hand-checkable examples, on random rounds
(hypothesis, small), at the extremes of the documented bounds (values at +-B, weights forcing the
apportionment, the 2^53 fast-path edge), for independence from submission order (identical bytes
and model hash), and for a typed error on each kind of bad input. A last test uses real data:
logistic-regression updates on scikit-learn's bundled digits with three sign-flipping attackers.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.errors import PychainError
from pychain.pallets.federated_learning import aggregation as agg
from pychain.pallets.federated_learning.aggregation import (
    FLOAT64_EXACT,
    INT64_LIMIT,
    KRUM_MAX_BOUND,
    MAX_BOUND,
    PER_BILLION,
    AggregationError,
    BadAccountId,
    BadBound,
    BadParameter,
    BadUpdate,
    DuplicateContributor,
    LengthMismatch,
    NonPositiveWeight,
    NoSubmissions,
    Submission,
    TooFewContributors,
    UpdateBatch,
    ValueOutOfBound,
    agreement_scores,
    effective_weights,
    krum,
    krum_scores,
    multi_krum,
    norm_clipped_mean,
    weighted_mean,
    weighted_median,
    weighted_trimmed_mean,
)
from pychain.primitives.hashing import blake2_256

# --- helpers ------------------------------------------------------------------------------------


def acct(i: int) -> bytes:
    """A 32-byte account id whose order follows ``i``."""
    return i.to_bytes(32, "big")


def subs(updates: list[list[int]], weights: list[int] | None = None) -> list[Submission]:
    weights = weights or [1] * len(updates)
    return [
        Submission(acct(i + 1), w, np.asarray(u, dtype=np.int32))
        for i, (u, w) in enumerate(zip(updates, weights, strict=True))
    ]


def random_round(
    seed: int, n: int, d: int, bound: int, weight_bits: int, extremes: float
) -> list[Submission]:
    """``n`` submissions with random 32-byte ids, weights below ``2^weight_bits`` and values in
    ``[-bound, bound]``, a share ``extremes`` of them at exactly ``+-bound``."""
    rng = np.random.default_rng(seed)
    values = rng.integers(-bound, bound + 1, size=(n, d), dtype=np.int64)
    at_edge = rng.random((n, d)) < extremes
    values[at_edge] = np.where(rng.random(int(at_edge.sum())) < 0.5, -bound, bound)
    ids: set[bytes] = set()
    while len(ids) < n:
        ids.add(rng.bytes(32))
    weights = [1 + int.from_bytes(rng.bytes(16), "big") % (2**weight_bits) for _ in range(n)]
    return [
        Submission(a, w, values[i].astype(np.int32))
        for i, (a, w) in enumerate(zip(sorted(ids), weights, strict=True))
    ]


def rows(batch: UpdateBatch) -> list[list[int]]:
    return [[int(x) for x in row] for row in batch.matrix]


# --- Python-int references, written from the definitions ----------------------------------------


def ref_mean(vals: list[list[int]], w: list[int]) -> list[int]:
    total = sum(w)
    return [
        sum(wi * v[j] for wi, v in zip(w, vals, strict=True)) // total for j in range(len(vals[0]))
    ]


def ref_median(vals: list[list[int]], w: list[int]) -> list[int]:
    total, out = sum(w), []
    for j in range(len(vals[0])):
        cum = 0
        for i in sorted(range(len(vals)), key=lambda i: (vals[i][j], i)):
            cum += w[i]
            if 2 * cum >= total:
                out.append(vals[i][j])
                break
    return out


def ref_trimmed(vals: list[list[int]], w: list[int], beta: int) -> list[int]:
    total = sum(w)
    t = beta * total // PER_BILLION
    out = []
    for j in range(len(vals[0])):
        acc, cum = 0, 0
        for i in sorted(range(len(vals)), key=lambda i: (vals[i][j], i)):
            lo, hi = cum, cum + w[i]
            cum = hi
            acc += max(0, min(hi, total - t) - max(lo, t)) * vals[i][j]
        out.append(acc // (total - 2 * t))
    return out


def sqdist(a: list[int], b: list[int]) -> int:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))


def ref_krum_scores(vals: list[list[int]], w: list[int], f: int, weighted: bool) -> list[Fraction]:
    n = len(vals)
    k = n - f - 2
    scores = []
    for i in range(n):
        others = sorted((sqdist(vals[i], vals[j]), j) for j in range(n) if j != i)
        if not weighted:
            scores.append(Fraction(sum(dd for dd, _ in others[:k]), k))
            continue
        quota = min(sum(w) * k // n, sum(w) - w[i])
        left, acc = quota, 0
        for dd, j in others:
            take = min(left, w[j])
            acc += take * dd
            left -= take
        scores.append(Fraction(acc, quota))
    return scores


def ref_clipped(vals: list[list[int]], w: list[int], clip: int, center: list[int]) -> list[int]:
    total = sum(w)
    sums = [0] * len(center)
    for wi, row in zip(w, vals, strict=True):
        v = [x - c for x, c in zip(row, center, strict=True)]
        norm2 = sum(x * x for x in v)
        if norm2 > clip * clip:
            r = math.isqrt(norm2 - 1) + 1
            v = [abs(x) * clip // r * (1 if x >= 0 else -1) for x in v]
        sums = [s + wi * x for s, x in zip(sums, v, strict=True)]
    return [c + s // total for c, s in zip(center, sums, strict=True)]


def ref_score(q: list[int], a: list[int]) -> int:
    den = sum(x * x for x in q) + sum(x * x for x in a)
    if den == 0:
        return PER_BILLION
    return min(
        PER_BILLION, max(0, 2 * PER_BILLION * sum(x * y for x, y in zip(q, a, strict=True)) // den)
    )


# --- hand-checkable examples --------------------------------------------------------------------


def test_weighted_mean_hand_example_floors_towards_minus_infinity() -> None:
    # (1*[3, -4, 0] + 2*[0, 1, -1]) / 3 = [1, -2/3, -2/3] -> floor [1, -1, -1]
    result = weighted_mean(subs([[3, -4, 0], [0, 1, -1]], [1, 2]), bound=10)
    assert result.update.dtype == np.int32
    assert result.update.tolist() == [1, -1, -1]
    assert result.included == (True, True)


def test_weighted_median_hand_example_picks_lower_weighted_median() -> None:
    # weights 1, 1, 2 (total 4): coordinate 0 sorted 1(1) 5(1) 9(2): cum 2 at 5 -> 2*2 >= 4 -> 5;
    # coordinate 1 sorted 0(2) 10(1) 20(1): cum 2 at 0 -> 0; coordinate 2 ties: all 7 -> 7.
    result = weighted_median(subs([[1, 10, 7], [5, 20, 7], [9, 0, 7]], [1, 1, 2]), bound=100)
    assert result.update.tolist() == [5, 0, 7]


def test_weighted_median_equal_weights_even_count_takes_lower_middle() -> None:
    result = weighted_median(subs([[4], [1], [3], [2]]), bound=10)
    assert result.update.tolist() == [2]


def test_trimmed_mean_hand_example_straddling_value_keeps_remaining_weight() -> None:
    # weights 3, 1, 2 (total 6), beta 1/4 -> t = floor(1.5) = 1, kept interval [1, 5):
    # 1 on [0, 3) keeps 2, 5 on [3, 4) keeps 1, 9 on [4, 6) keeps 1 -> (2 + 5 + 9) / 4 = 4
    result = weighted_trimmed_mean(subs([[1], [5], [9]], [3, 1, 2]), 250_000_000, bound=10)
    assert result.update.tolist() == [4]


def test_trimmed_mean_equal_weights_drops_ends() -> None:
    # five equal weights, beta 20 %: drops -100 and 100, mean of 1, 2, 4 = 7/3 -> 2
    result = weighted_trimmed_mean(subs([[-100], [1], [2], [4], [100]]), 200_000_000, bound=100)
    assert result.update.tolist() == [2]


@pytest.mark.parametrize("bound", [2**15, 2**31 - 1])
@pytest.mark.parametrize("beta", [10_000_000, 100_000_000, 490_000_000])
def test_trimmed_mean_on_a_wider_round_matches_reference(beta: int, bound: int) -> None:
    # 40 contributors: several coordinate blocks' worth of rows; with bound 2^31 - 1 the kept
    # weighted sums exceed 2^53 and take the int64 path instead of float64.
    batch = UpdateBatch.from_submissions(random_round(21, 40, 60, bound, 30, 0.1), bound)
    w = effective_weights(batch.weights, bound)
    assert (sum(w) * bound < FLOAT64_EXACT) is (bound == 2**15)
    assert weighted_trimmed_mean(batch, beta).update.tolist() == ref_trimmed(rows(batch), w, beta)


def test_krum_hand_example_excludes_outlier_and_breaks_ties_by_account() -> None:
    updates = [[0, 0], [1, 0], [0, 1], [1, 1], [100, 100]]
    scores = krum_scores(subs(updates), 1, bound=100)
    # n - f - 2 = 2 nearest: the four honest ones score (1 + 1) / 2; the outlier (19602 + 19801) / 2
    assert scores == [1, 1, 1, 1, Fraction(39403, 2)]
    chosen = krum(subs(updates), 1, bound=100)
    assert chosen.update.tolist() == [0, 0]  # four-way tie: the smallest account id wins
    assert chosen.excluded == (acct(2), acct(3), acct(4), acct(5))
    multi = multi_krum(subs(updates, [1, 1, 1, 5, 1]), 1, 4, bound=100)
    assert multi.excluded == (acct(5),)
    # (0 + 1 + 0 + 5) / 8 = 0.75 -> 0, (0 + 0 + 1 + 5) / 8 -> 0
    assert multi.update.tolist() == [0, 0]


def test_norm_clipped_mean_hand_example_rounds_towards_zero() -> None:
    # [3, 4] and [-3, -4] have norm 5 > C = 2: scaled by 2/5 -> [1, 1] and [-1, -1] (towards 0);
    # [0, 1] (norm 1) is kept. Mean of [1, 1], [-1, -1], [0, 1] = [0, 1/3] -> [0, 0].
    result = norm_clipped_mean(subs([[3, 4], [-3, -4], [0, 1]]), 2, bound=10)
    assert result.update.tolist() == [0, 0]
    one = norm_clipped_mean(subs([[3, 4]]), 2, bound=10)
    assert one.update.tolist() == [1, 1]


def test_norm_clipped_mean_center_clips_around_previous_model() -> None:
    center = np.asarray([10, 10], dtype=np.int64)
    # q - center = [3, 4] -> clipped to [1, 1] -> center + [1, 1]
    result = norm_clipped_mean(subs([[13, 14]]), 2, center=center, bound=20)
    assert result.update.tolist() == [11, 11]


def test_agreement_scores_hand_example() -> None:
    batch = UpdateBatch.from_submissions(subs([[1, 0], [-1, 0], [0, 1], [2, 0], [0, 0]]), 5)
    scores = agreement_scores(batch, np.asarray([1, 0], dtype=np.int32))
    # identical 1e9; opposite 0; orthogonal 0; 2*2/(4+1) = 0.8; zero vs a: 0
    assert scores == [PER_BILLION, 0, 0, 800_000_000, 0]
    zero = agreement_scores(batch, np.zeros(2, dtype=np.int32))
    assert zero[4] == PER_BILLION


# --- invariances --------------------------------------------------------------------------------


def _all_rules(batch: UpdateBatch) -> dict[str, np.ndarray]:
    out = {
        "mean": weighted_mean(batch).update,
        "median": weighted_median(batch).update,
        "trimmed": weighted_trimmed_mean(batch, 150_000_000).update,
        "clipped": norm_clipped_mean(batch, batch.bound * 2).update,
    }
    if batch.n >= 5 and batch.bound <= KRUM_MAX_BOUND:
        out["krum"] = krum(batch, 1).update
        out["multi_krum"] = multi_krum(batch, 1, 3, weighted=True).update
    return out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 8),
    d=st.integers(1, 40),
    bound=st.sampled_from([1, 100, 2**15, 2**31 - 1]),
    weight_bits=st.sampled_from([1, 10, 40, 80]),
    order=st.randoms(use_true_random=False),
)
def test_every_rule_result_is_independent_of_submission_order(
    seed: int, n: int, d: int, bound: int, weight_bits: int, order: object
) -> None:
    submissions = random_round(seed, n, d, bound, weight_bits, 0.2)
    shuffled = list(submissions)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    first = _all_rules(UpdateBatch.from_submissions(submissions, bound))
    second = _all_rules(UpdateBatch.from_submissions(shuffled, bound))
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].tobytes() == second[name].tobytes(), name
        assert blake2_256(first[name].tobytes()) == blake2_256(second[name].tobytes())


def test_submission_order_reversed_gives_same_model_hash_at_scale() -> None:
    submissions = random_round(7, 12, 50_000, 2**15, 20, 0.05)
    forward = _all_rules(UpdateBatch.from_submissions(submissions, 2**15))
    backward = _all_rules(UpdateBatch.from_submissions(submissions[::-1], 2**15))
    for name, value in forward.items():
        assert blake2_256(value.tobytes()) == blake2_256(backward[name].tobytes()), name


def test_from_matrix_matches_from_submissions_and_leaves_input_alone() -> None:
    submissions = random_round(3, 5, 30, 1000, 10, 0.1)
    matrix = np.stack([s.update for s in submissions[::-1]])
    before = matrix.copy()
    batch = UpdateBatch.from_matrix(
        [s.account_id for s in submissions[::-1]],
        [s.weight for s in submissions[::-1]],
        matrix,
        1000,
    )
    reference = UpdateBatch.from_submissions(submissions, 1000)
    assert batch.accounts == reference.accounts
    assert np.array_equal(batch.matrix, reference.matrix)
    assert np.array_equal(matrix, before)
    assert weighted_mean(batch).update.tobytes() == weighted_mean(reference).update.tobytes()
    assert not batch.matrix.flags.writeable


# --- references on random rounds ----------------------------------------------------------------

ROUND = {
    "seed": st.integers(0, 2**32 - 1),
    "n": st.integers(1, 9),
    "d": st.integers(1, 30),
    "bound": st.sampled_from([1, 7, 2**15, 2**16, 2**31 - 1]),
    "weight_bits": st.sampled_from([1, 12, 48, 100]),
    "extremes": st.sampled_from([0.0, 0.5, 1.0]),
}


@settings(max_examples=120, deadline=None)
@given(**ROUND)
def test_weighted_mean_matches_python_and_float_references(
    seed: int, n: int, d: int, bound: int, weight_bits: int, extremes: float
) -> None:
    batch = UpdateBatch.from_submissions(
        random_round(seed, n, d, bound, weight_bits, extremes), bound
    )
    w = effective_weights(batch.weights, bound)
    got = weighted_mean(batch).update
    assert got.tolist() == ref_mean(rows(batch), w)
    as_float = np.asarray(w, dtype=np.float64) @ batch.matrix.astype(np.float64) / sum(w)
    assert np.all(np.abs(got - as_float) <= 1.0)


@settings(max_examples=120, deadline=None)
@given(**ROUND)
def test_weighted_median_matches_python_reference(
    seed: int, n: int, d: int, bound: int, weight_bits: int, extremes: float
) -> None:
    batch = UpdateBatch.from_submissions(
        random_round(seed, n, d, bound, weight_bits, extremes), bound
    )
    w = effective_weights(batch.weights, bound)
    assert weighted_median(batch).update.tolist() == ref_median(rows(batch), w)


@settings(max_examples=120, deadline=None)
@given(beta=st.integers(0, PER_BILLION // 2 - 1), **ROUND)
def test_trimmed_mean_matches_python_and_float_references(
    beta: int, seed: int, n: int, d: int, bound: int, weight_bits: int, extremes: float
) -> None:
    batch = UpdateBatch.from_submissions(
        random_round(seed, n, d, bound, weight_bits, extremes), bound
    )
    w = effective_weights(batch.weights, bound)
    got = weighted_trimmed_mean(batch, beta).update
    assert got.tolist() == ref_trimmed(rows(batch), w, beta)
    # float64 reference: kept weights from float cumulative sums (all small integers: exact here)
    if sum(w) < 2**40:
        t = beta * sum(w) // PER_BILLION
        for j in range(batch.d):
            col = batch.matrix[:, j].astype(np.float64)
            order = np.argsort(col, kind="stable")
            cum = np.cumsum(np.asarray(w, dtype=np.float64)[order])
            kept = np.clip(cum, t, sum(w) - t) - np.clip(cum - np.asarray(w)[order], t, sum(w) - t)
            assert abs(got[j] - kept @ col[order] / (sum(w) - 2 * t)) <= 1.0


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(3, 9),
    d=st.integers(1, 20),
    bound=st.sampled_from([1, 50, KRUM_MAX_BOUND]),
    weight_bits=st.sampled_from([1, 10, 70]),
    data=st.data(),
)
def test_krum_matches_python_reference(
    seed: int, n: int, d: int, bound: int, weight_bits: int, data: st.DataObject
) -> None:
    f = data.draw(st.integers(0, (n - 3) // 2))
    m = data.draw(st.integers(1, n - f))
    weighted = data.draw(st.booleans())
    batch = UpdateBatch.from_submissions(random_round(seed, n, d, bound, weight_bits, 0.3), bound)
    vals, raw = rows(batch), [int(w) for w in batch.weights]
    scores = ref_krum_scores(vals, raw, f, weighted)
    assert krum_scores(batch, f, weighted=weighted) == scores
    chosen = sorted(sorted(range(n), key=lambda i: (scores[i], i))[:m])
    result = multi_krum(batch, f, m, weighted=weighted)
    assert result.included == tuple(i in chosen for i in range(n))
    w = effective_weights([raw[i] for i in chosen], bound)
    assert result.update.tolist() == ref_mean([vals[i] for i in chosen], w)


@settings(max_examples=100, deadline=None)
@given(
    clip_choice=st.sampled_from(["zero", "small", "mid", "large", "huge"]),
    with_center=st.booleans(),
    **ROUND,
)
def test_norm_clipped_mean_matches_python_reference(
    clip_choice: str,
    with_center: bool,
    seed: int,
    n: int,
    d: int,
    bound: int,
    weight_bits: int,
    extremes: float,
) -> None:
    batch = UpdateBatch.from_submissions(
        random_round(seed, n, d, bound, weight_bits, extremes), bound
    )
    clip = {"zero": 0, "small": 1, "mid": bound, "large": bound * 4, "huge": 2**70}[clip_choice]
    rng = np.random.default_rng(seed + 1)
    center = rng.integers(-bound, bound + 1, size=d) if with_center else None
    got = norm_clipped_mean(batch, clip, center=center)
    center_list = [0] * d if center is None else [int(x) for x in center]
    w = effective_weights(batch.weights, bound if center is None else 2 * bound)
    assert got.update.tolist() == ref_clipped(rows(batch), w, clip, center_list)
    assert np.all(np.abs(got.update.astype(np.int64)) <= bound)


@settings(max_examples=100, deadline=None)
@given(**ROUND)
def test_agreement_scores_match_python_reference(
    seed: int, n: int, d: int, bound: int, weight_bits: int, extremes: float
) -> None:
    batch = UpdateBatch.from_submissions(
        random_round(seed, n, d, bound, weight_bits, extremes), bound
    )
    aggregate = weighted_median(batch).update
    expected = [ref_score(row, aggregate.tolist()) for row in rows(batch)]
    assert agreement_scores(batch, aggregate) == expected


# --- equivalences -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(**ROUND)
def test_trimmed_mean_with_zero_beta_equals_weighted_mean(
    seed: int, n: int, d: int, bound: int, weight_bits: int, extremes: float
) -> None:
    batch = UpdateBatch.from_submissions(
        random_round(seed, n, d, bound, weight_bits, extremes), bound
    )
    assert weighted_trimmed_mean(batch, 0).update.tobytes() == weighted_mean(batch).update.tobytes()


def test_median_and_trimmed_mean_of_identical_updates_is_that_update() -> None:
    update = np.asarray([-(2**15), -1, 0, 5, 2**15], dtype=np.int32)
    batch = UpdateBatch.from_submissions(
        [Submission(acct(i), w, update.copy()) for i, w in enumerate([3, 1, 7, 2], start=1)], 2**15
    )
    assert weighted_median(batch).update.tolist() == update.tolist()
    assert weighted_trimmed_mean(batch, 400_000_000).update.tolist() == update.tolist()
    assert weighted_mean(batch).update.tolist() == update.tolist()
    assert agreement_scores(batch, update) == [PER_BILLION] * 4


def test_weighted_krum_with_equal_weights_equals_unweighted() -> None:
    batch = UpdateBatch.from_submissions(random_round(11, 9, 25, 1000, 1, 0.0), 1000)
    equal = UpdateBatch.from_matrix(batch.accounts, [5] * 9, batch.matrix, 1000)
    assert krum_scores(equal, 2, weighted=True) == krum_scores(equal, 2)


def test_krum_result_is_the_chosen_update_itself() -> None:
    batch = UpdateBatch.from_submissions(random_round(12, 7, 40, 2**15, 30, 0.2), 2**15)
    result = krum(batch, 2)
    (chosen,) = [i for i, inc in enumerate(result.included) if inc]
    assert np.array_equal(result.update, batch.matrix[chosen])


def test_krum_excludes_obvious_outlier_even_with_large_stake() -> None:
    rng = np.random.default_rng(5)
    honest = rng.integers(900, 1100, size=(8, 200))
    outlier = -10 * honest.mean(axis=0).astype(np.int64)
    updates = [*honest.tolist(), outlier.tolist()]
    weights = [1] * 8 + [100]  # the attacker holds most of the stake
    for weighted in (False, True):
        result = multi_krum(subs(updates, weights), 2, 5, weighted=weighted, bound=2**15)
        assert result.excluded[-1] == acct(9)
        assert krum(subs(updates, weights), 2, weighted=weighted, bound=2**15).included[8] is False


# --- extremes and bounds ------------------------------------------------------------------------


def test_effective_weights_keep_small_totals_and_apportion_large_ones() -> None:
    assert effective_weights([3, 1, 2], 2**15) == [3, 1, 2]
    big = [2**100, 2**100 + 1, 3, 2**99]
    bound = 2**31 - 1
    w = effective_weights(big, bound)
    assert sum(w) == 2 ** (63 - bound.bit_length())
    assert sum(w) * bound < INT64_LIMIT
    assert w[2] == 0  # a share below 2^-32 of the total
    # equal remainders: the extra units go to the smaller indices (account ids)
    third = 2**61 // 3  # target 2^(63 - 2) split three ways, remainder 2
    assert effective_weights([2**62] * 3, 2) == [third + 1, third + 1, third]


@pytest.mark.parametrize("sign", [1, -1])
def test_extreme_values_and_weights_do_not_overflow(sign: int) -> None:
    bound = MAX_BOUND
    d = 64
    weights = [2**200, 2**199 + 12345, 2**63 - 1, 1]
    submissions = [
        Submission(acct(i + 1), w, np.full(d, sign * bound, dtype=np.int32))
        for i, w in enumerate(weights)
    ]
    batch = UpdateBatch.from_submissions(submissions, bound)
    for result in (
        weighted_mean(batch),
        weighted_median(batch),
        weighted_trimmed_mean(batch, 499_999_999),
        norm_clipped_mean(batch, 2**80),
    ):
        assert result.update.tolist() == [sign * bound] * d
    clipped = norm_clipped_mean(batch, bound).update  # norm bound * 8 clipped to bound
    assert clipped.tolist() == [sign * (bound // 8)] * d


def test_extreme_mixed_signs_match_python_reference_on_every_path() -> None:
    bound = MAX_BOUND
    rng = np.random.default_rng(9)
    vals = np.where(rng.random((6, 33)) < 0.5, -bound, bound).astype(np.int32)
    vals[:, 0] = bound
    for weights in ([1, 2, 3, 4, 5, 6], [2**61, 3, 2**40, 7, 2**62, 1], [2**90] * 6):
        batch = UpdateBatch.from_matrix([acct(i) for i in range(6)], weights, vals, bound)
        w = effective_weights(weights, bound)
        assert weighted_mean(batch).update.tolist() == ref_mean(rows(batch), w)
        assert weighted_median(batch).update.tolist() == ref_median(rows(batch), w)
        assert weighted_trimmed_mean(batch, 123_456_789).update.tolist() == ref_trimmed(
            rows(batch), w, 123_456_789
        )


@pytest.mark.parametrize("above", [False, True])
def test_mean_fast_path_edge_at_two_to_the_53_is_exact(above: bool) -> None:
    # W * B just below 2^53 takes the single float64 product; one more unit takes the limb path.
    # All values at +B (and one row at -B) make the partial sums as large as the bound allows.
    bound = 2**15
    total = (FLOAT64_EXACT - 1) // bound + (1 if above else 0)
    weights = [total - 3, 1, 2]
    vals = np.full((3, 17), bound, dtype=np.int32)
    vals[1] = -bound
    batch = UpdateBatch.from_matrix([acct(1), acct(2), acct(3)], weights, vals, bound)
    assert (sum(weights) * bound < FLOAT64_EXACT) is not above
    sums = agg._weighted_sum(batch.matrix, weights, bound)
    assert sums.tolist() == [(total - 3 - 1 + 2) * bound] * 17
    assert weighted_mean(batch).update.tolist() == ref_mean(rows(batch), weights)


def test_mean_many_contributors_int64_fallback_path_is_exact() -> None:
    # n * B >= 2^53 forces the int64 products (no float64 limb can stay exact).
    bound = MAX_BOUND
    n = (FLOAT64_EXACT // bound) + 1
    vals = np.full((n, 2), bound, dtype=np.int32)
    vals[::2, 1] = -bound
    weights = [1] * n
    sums = agg._weighted_sum(vals, weights, bound)
    assert sums.tolist() == [n * bound, -bound]


def test_krum_extreme_values_give_exact_distances() -> None:
    bound = KRUM_MAX_BOUND
    d = 2**16
    rng = np.random.default_rng(4)
    vals = np.where(rng.random((5, d)) < 0.5, -bound, bound).astype(np.int32)
    vals[0] = bound
    vals[1] = -bound  # distance (2B)^2 d = 2^48 between rows 0 and 1
    batch = UpdateBatch.from_matrix([acct(i) for i in range(5)], [1] * 5, vals, bound)
    v = [[int(x) for x in row] for row in vals]
    assert krum_scores(batch, 1) == ref_krum_scores(v, [1] * 5, 1, False)
    assert sqdist(v[0], v[1]) == 2**48


def test_exact_dots_split_path_matches_python_at_int32_extremes() -> None:
    vals = np.asarray(
        [[MAX_BOUND, -MAX_BOUND, MAX_BOUND] * 300, [-MAX_BOUND] * 900], dtype=np.int32
    )
    vec = np.asarray([MAX_BOUND, MAX_BOUND, -MAX_BOUND] * 300, dtype=np.int64)
    got = agg._exact_dots(vals, vec, MAX_BOUND, MAX_BOUND)
    expected = [sum(int(a) * int(b) for a, b in zip(row, vec, strict=True)) for row in vals]
    assert got == expected
    assert agg._exact_dots(vals, None, MAX_BOUND, MAX_BOUND) == [900 * MAX_BOUND**2] * 2


# --- errors -------------------------------------------------------------------------------------


def test_errors_share_the_aggregation_root() -> None:
    for cls in (
        NoSubmissions,
        BadAccountId,
        DuplicateContributor,
        NonPositiveWeight,
        BadUpdate,
        LengthMismatch,
        ValueOutOfBound,
        BadBound,
        BadParameter,
        TooFewContributors,
    ):
        assert issubclass(cls, AggregationError)
    assert issubclass(AggregationError, PychainError)


def test_empty_input_is_rejected() -> None:
    with pytest.raises(NoSubmissions):
        weighted_mean([], bound=5)
    with pytest.raises(NoSubmissions):
        UpdateBatch.from_matrix([], [], np.zeros((0, 3), dtype=np.int32), 5)


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(LengthMismatch):
        weighted_median(subs([[1, 2], [1, 2, 3]]), bound=5)
    with pytest.raises(LengthMismatch):
        UpdateBatch.from_matrix([acct(1)], [1, 2], np.zeros((1, 3), dtype=np.int32), 5)
    batch = UpdateBatch.from_submissions(subs([[1, 2]]), 5)
    with pytest.raises(LengthMismatch):
        agreement_scores(batch, np.zeros(3, dtype=np.int32))
    with pytest.raises(LengthMismatch):
        norm_clipped_mean(batch, 1, center=np.zeros(1, dtype=np.int64))


@pytest.mark.parametrize("weight", [0, -3, True, 1.5, "2"])
def test_zero_negative_or_non_integer_weight_is_rejected(weight: object) -> None:
    with pytest.raises(NonPositiveWeight):
        weighted_mean(subs([[1], [2]], [1, weight]), bound=5)  # type: ignore[list-item]


def test_values_outside_the_bound_are_rejected() -> None:
    with pytest.raises(ValueOutOfBound, match="0x" + acct(2).hex()):
        weighted_mean(subs([[5, -5], [6, 0]]), bound=5)
    with pytest.raises(ValueOutOfBound):
        weighted_mean(subs([[5, -6]]), bound=5)
    batch = UpdateBatch.from_submissions(subs([[1, 2]]), 5)
    with pytest.raises(ValueOutOfBound):
        agreement_scores(batch, np.asarray([1, 6], dtype=np.int32))
    with pytest.raises(ValueOutOfBound):
        norm_clipped_mean(batch, 1, center=np.asarray([-6, 0], dtype=np.int64))


def test_duplicate_contributors_are_rejected() -> None:
    twice = [Submission(acct(1), 1, np.zeros(2, dtype=np.int32))] * 2
    with pytest.raises(DuplicateContributor):
        weighted_mean(twice, bound=5)
    with pytest.raises(DuplicateContributor):
        UpdateBatch.from_matrix([acct(1), acct(1)], [1, 1], np.zeros((2, 2), dtype=np.int32), 5)


def test_batch_constructor_validates_what_the_kernels_rely_on() -> None:
    matrix = np.zeros((2, 3), dtype=np.int32)
    with pytest.raises(BadAccountId):  # rows must already be in account-id order
        UpdateBatch((acct(2), acct(1)), (1, 1), matrix, 5)
    with pytest.raises(ValueOutOfBound):
        UpdateBatch((acct(1), acct(2)), (1, 1), np.full((2, 3), 6, dtype=np.int32), 5)
    with pytest.raises(NonPositiveWeight):
        UpdateBatch((acct(1), acct(2)), (1, 0), matrix, 5)
    batch = UpdateBatch((acct(1), acct(2)), (1, np.int64(2)), matrix, 5)  # type: ignore[arg-type]
    assert batch.weights == (1, 2) and type(batch.weights[1]) is int
    assert matrix.flags.writeable and not batch.matrix.flags.writeable


def test_krum_with_too_few_contributors_is_rejected() -> None:
    four = subs([[0], [1], [2], [3]])
    with pytest.raises(TooFewContributors):
        krum(four, 1, bound=5)  # needs 2*1 + 3 = 5
    assert krum(four, 0, bound=5).update.tolist() in ([0], [1], [2], [3])


def test_bad_account_ids_are_rejected() -> None:
    with pytest.raises(BadAccountId):
        weighted_mean([Submission(b"short", 1, np.zeros(1, dtype=np.int32))], bound=5)
    with pytest.raises(BadAccountId):
        weighted_mean([Submission("x" * 32, 1, np.zeros(1, dtype=np.int32))], bound=5)  # type: ignore[arg-type]


def test_bad_update_arrays_are_rejected() -> None:
    for update in (
        np.zeros(3, dtype=np.int64),
        np.zeros((1, 3), dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        [1, 2, 3],
    ):
        with pytest.raises(BadUpdate):
            weighted_mean([Submission(acct(1), 1, update)], bound=5)  # type: ignore[arg-type]
    with pytest.raises(BadUpdate):
        weighted_mean([(acct(1), 1, np.zeros(3, dtype=np.int32))], bound=5)  # type: ignore[list-item]
    with pytest.raises(BadUpdate):
        UpdateBatch.from_matrix([acct(1)], [1], np.zeros((1, 3), dtype=np.float32), 5)  # type: ignore[arg-type]


@pytest.mark.parametrize("bound", [0, -1, 2**31, True, 2.0, None])
def test_bad_bounds_are_rejected(bound: object) -> None:
    with pytest.raises(BadBound):
        weighted_mean(subs([[0]]), bound=bound)  # type: ignore[arg-type]


def test_bound_mismatch_and_krum_bound_are_rejected() -> None:
    batch = UpdateBatch.from_submissions(subs([[0], [1], [2], [3], [4]]), 2**16)
    with pytest.raises(BadBound):
        weighted_mean(batch, bound=5)
    with pytest.raises(BadBound):
        krum(batch, 1)  # 2^16 > 2^15: distances could overflow int64


def test_bad_rule_parameters_are_rejected() -> None:
    batch = UpdateBatch.from_submissions(subs([[0], [1], [2], [3], [4]]), 10)
    for beta in (-1, PER_BILLION // 2, 0.1):
        with pytest.raises(BadParameter):
            weighted_trimmed_mean(batch, beta)  # type: ignore[arg-type]
    for m in (0, 5, 4.0):
        with pytest.raises(BadParameter):
            multi_krum(batch, 1, m)  # type: ignore[arg-type]
    with pytest.raises(BadParameter):
        krum(batch, -1)
    with pytest.raises(BadParameter):
        norm_clipped_mean(batch, -1)


# --- real data: digits, logistic regression, sign-flipping attackers ----------------------------


def test_robust_rules_resist_sign_flip_on_real_digit_updates() -> None:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = np.hstack([x / 16.0, np.ones((len(x), 1))])
    onehot = np.eye(10)[y]
    rng = np.random.default_rng(0)
    parts = np.array_split(rng.permutation(len(x)), 10)
    weights_model = np.zeros((x.shape[1], 10))

    def local_delta(idx: np.ndarray) -> np.ndarray:
        w = weights_model.copy()
        for _ in range(5):  # five full-batch gradient steps of softmax regression
            logits = x[idx] @ w
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            w -= 0.5 * x[idx].T @ (p - onehot[idx]) / len(idx)
        return (w - weights_model).ravel()

    scale, bound = 2**12, 2**15
    deltas = [local_delta(idx) for idx in parts]
    quantised = [np.clip(np.round(dl * scale), -bound, bound).astype(np.int32) for dl in deltas]
    honest_mean = np.mean(quantised[3:], axis=0)
    attacked = [
        np.clip(-5 * q.astype(np.int64), -bound, bound).astype(np.int32) for q in quantised[:3]
    ]
    samples = [len(idx) for idx in parts]
    submissions = [
        Submission(acct(i + 1), samples[i], q) for i, q in enumerate(attacked + quantised[3:])
    ]
    batch = UpdateBatch.from_submissions(submissions, bound)

    def error(update: np.ndarray) -> float:
        return float(np.linalg.norm(update - honest_mean) / np.linalg.norm(honest_mean))

    plain = error(weighted_mean(batch).update)
    assert plain > 1.0  # the attack wins against FedAvg
    for result in (
        weighted_median(batch),
        weighted_trimmed_mean(batch, 350_000_000),
        multi_krum(batch, 3, 7, weighted=True),
    ):
        assert error(result.update) < 0.35
    assert multi_krum(batch, 3, 7).excluded == (acct(1), acct(2), acct(3))
    scores = agreement_scores(batch, weighted_median(batch).update)
    assert max(scores[:3]) == 0 and min(scores[3:]) > 500_000_000
    # the exact mean of the honest updates matches numpy's float mean within the floor
    honest = UpdateBatch.from_submissions(submissions[3:], bound)
    w = np.asarray(honest.weights, dtype=np.float64)
    assert np.all(np.abs(weighted_mean(honest).update - w @ honest.matrix / w.sum()) <= 1.0)


def test_weighted_mean_float_floor_path_is_exact_at_its_bound() -> None:
    """The float64 floor division (taken when (B + 1) W <= 2^53) equals Python's exact floor
    division, including negative sums and quotients just below an integer, at the edge of the
    bound."""
    import numpy as np

    from pychain.pallets.federated_learning import aggregation as agg

    rng = np.random.default_rng(7)
    bound = 2**15
    cases = []
    # weights making (B + 1) W = 2^53 exactly or just under: the largest W the fast path takes
    edge_total = agg.FLOAT64_EXACT // (bound + 1)
    for total in (edge_total, edge_total - 1, 3, 1000):
        n = 3
        weights = [total // n] * (n - 1)
        weights.append(total - sum(weights))
        for _ in range(4):
            rows = rng.integers(-bound, bound + 1, size=(n, 64), dtype=np.int64)
            rows[:, 0] = bound
            rows[:, 1] = -bound
            rows[0, 2], rows[1, 2], rows[2, 2] = bound, bound, bound - 1  # just below an integer
            rows[0, 3], rows[1, 3], rows[2, 3] = -bound, -bound, -bound + 1
            cases.append((weights, rows.astype(np.int32)))
    for weights, matrix in cases:
        accounts = [bytes([i + 1]) * 32 for i in range(len(weights))]
        result = agg.weighted_mean(
            [agg.Submission(a, w, matrix[i]) for i, (a, w) in enumerate(zip(accounts, weights, strict=True))],
            bound,
        )
        total = sum(weights)
        expected = [
            sum(int(w) * int(matrix[i, j]) for i, w in enumerate(weights)) // total
            for j in range(matrix.shape[1])
        ]
        assert result.update.tolist() == expected
