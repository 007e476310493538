"""VoterSet: weights, the n − ⌊(n − 1)/3⌋ threshold, and refusal of unusable sets."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.grandpa.errors import GrandpaError, InvalidVoterSet
from consensus.grandpa.voter_set import VoterSet, compute_threshold
from pychain.errors import PychainError


def _id(i: int) -> bytes:
    return i.to_bytes(4, "little") * 8


@pytest.mark.parametrize(
    ("total", "threshold"),
    [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (6, 5), (7, 5), (10, 7), (100, 67), (300, 201)],
)
def test_threshold_matches_spec_formula(total: int, threshold: int) -> None:
    assert compute_threshold(total) == threshold
    voters = VoterSet([(_id(i), 1) for i in range(total)])
    assert (voters.total_weight, voters.threshold) == (total, threshold)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2**64 - 1))
def test_threshold_is_a_byzantine_supermajority(total: int) -> None:
    threshold = compute_threshold(total)
    faulty = total - threshold
    # more than two thirds sign, and at most a third may be faulty
    assert 3 * threshold > 2 * total
    assert 3 * faulty <= total - 1 or total == 1
    # any two thresholds overlap in more than the faulty weight
    assert 2 * threshold - total > faulty


def test_weighted_set_counts_weights() -> None:
    voters = VoterSet([(_id(1), 5), (_id(2), 1), (_id(3), 1), (_id(4), 1)])
    assert voters.total_weight == 8
    assert voters.threshold == 6
    assert voters.max_faulty_weight == 2
    assert voters.get_weight(_id(1)) == 5
    assert voters.get_weight(_id(9)) is None
    assert _id(2) in voters and _id(9) not in voters
    assert list(voters) == [(_id(1), 5), (_id(2), 1), (_id(3), 1), (_id(4), 1)]
    assert voters.ids == (_id(1), _id(2), _id(3), _id(4))


def test_weight_of_counts_distinct_known_voters_once() -> None:
    voters = VoterSet([(_id(1), 5), (_id(2), 1)])
    assert voters.weight_of([_id(1), _id(1), _id(2), _id(9)]) == 6
    assert voters.weight_of([]) == 0


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "empty"),
        ([(_id(1), 0)], "weight 0"),
        ([(_id(1), 1), (_id(1), 2)], "appears twice"),
        ([(b"\x01" * 31, 1)], "32 bytes"),
        ([(_id(1), True)], "must be an int"),
        ([(_id(1), -1)], "not in 1..2^64-1"),
        ([(_id(1), 2**64)], "not in 1..2^64-1"),
        ([(_id(1), 2**63), (_id(2), 2**63)], "overflows"),
        ([(_id(1),)], "not an (id, weight) pair"),
    ],
)
def test_invalid_voter_set_is_rejected(entries: list[tuple[bytes, int]], message: str) -> None:
    with pytest.raises(InvalidVoterSet, match=re.escape(message)):
        VoterSet(entries)


def test_errors_share_the_grandpa_and_pychain_roots() -> None:
    with pytest.raises(GrandpaError):
        VoterSet([])
    assert issubclass(InvalidVoterSet, PychainError)
