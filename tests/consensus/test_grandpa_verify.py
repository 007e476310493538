"""Justification, gossip-commit and equivocation-proof verification on real and synthetic data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.grandpa.errors import (
    BadEquivocationSignature,
    BadSignature,
    DuplicateAncestry,
    ExcessiveWeight,
    InsufficientWeight,
    JustificationError,
    Malformed,
    NotDescendant,
    SameVote,
    SetIdMismatch,
    TargetMismatch,
    TargetNotGhost,
    UnknownVoter,
    UnusedAncestry,
)
from consensus.grandpa.justification import GrandpaJustification
from consensus.grandpa.messages import (
    CompactCommit,
    EquivocationProof,
    Precommit,
    PrecommitEquivocation,
    Prevote,
    PrevoteEquivocation,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.verify import (
    check_equivocation_proof,
    verify_commit_message,
    verify_justification,
)
from consensus.grandpa.voter_set import VoterSet
from tests.consensus.grandpa_builders import (
    chain,
    commit_message,
    fork,
    justification,
    keypair,
    keypairs,
    real_commit_message,
    real_justification,
    sign_precommit,
    voter_set,
)

SET_ID = 0
ROUND = 7


def _with_precommits(
    just: GrandpaJustification, precommits: list[SignedPrecommit]
) -> GrandpaJustification:
    return dataclasses.replace(just, commit=dataclasses.replace(just.commit, precommits=precommits))


def _flip_signature_bit(signed: SignedPrecommit, bit: int) -> SignedPrecommit:
    signature = bytearray(signed.signature)
    signature[bit // 8] ^= 1 << (bit % 8)
    return dataclasses.replace(signed, signature=bytes(signature))


# --------------------------------------------------------------------- the real justification


def test_real_justification_verifies(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    result = verify_justification(just, 0, voters, just.target)
    assert result.round == 439559
    assert result.set_id == 0
    assert (result.target_hash, result.target_number) == just.target
    assert result.signers == tuple(signed.id for signed in just.commit.precommits)
    assert len(result.signers) == 5
    assert (result.signed_weight, result.threshold, result.total_weight) == (5, 5, 6)
    assert result.equivocators == ()


def test_real_justification_hash_only_expected_target_verifies(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    assert verify_justification(just, 0, voters, (just.target[0], None)).signed_weight == 5


def test_real_justification_wrong_set_id_is_bad_signature(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    with pytest.raises(BadSignature) as info:
        verify_justification(just, 1, voters)
    assert info.value.index == 0
    assert info.value.reason == "BadSignature"


def test_real_justification_wrong_round_is_bad_signature(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    with pytest.raises(BadSignature):
        verify_justification(dataclasses.replace(just, round=just.round + 1), 0, voters)


def test_real_justification_every_bit_of_first_signature_matters(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    precommits = just.commit.precommits
    for bit in range(512):
        tampered = [_flip_signature_bit(precommits[0], bit), *precommits[1:]]
        with pytest.raises(BadSignature) as info:
            verify_justification(_with_precommits(just, tampered), 0, voters)
        assert info.value.index == 0, bit


@pytest.mark.parametrize("index", range(5))
def test_real_justification_flipped_bit_in_each_signature_is_bad_signature(
    vectors: Path, index: int
) -> None:
    just, voters, _ = real_justification(vectors)
    precommits = list(just.commit.precommits)
    precommits[index] = _flip_signature_bit(precommits[index], 100 + 61 * index)
    with pytest.raises(BadSignature) as info:
        verify_justification(_with_precommits(just, precommits), 0, voters)
    assert info.value.index == index
    assert info.value.voter == precommits[index].id


@pytest.mark.parametrize("index", range(5))
def test_real_justification_dropping_a_precommit_is_insufficient_weight(
    vectors: Path, index: int
) -> None:
    just, voters, _ = real_justification(vectors)
    precommits = [p for i, p in enumerate(just.commit.precommits) if i != index]
    with pytest.raises(InsufficientWeight) as info:
        verify_justification(_with_precommits(just, precommits), 0, voters)
    assert (info.value.signed_weight, info.value.threshold) == (4, 5)


def test_real_justification_duplicated_precommit_counts_once(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    precommits = just.commit.precommits
    doubled = [*precommits[:4], precommits[0]]  # 4 distinct signers, one of them twice
    with pytest.raises(InsufficientWeight) as info:
        verify_justification(_with_precommits(just, doubled), 0, voters)
    assert info.value.signed_weight == 4
    result = verify_justification(_with_precommits(just, [*precommits, precommits[2]]), 0, voters)
    assert result.signed_weight == 5
    assert result.equivocators == ()


def test_real_justification_unknown_voter_is_rejected(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    signer = just.commit.precommits[3].id
    replaced = VoterSet(
        [(keypair(99).public_key if voter == signer else voter, w) for voter, w in voters]
    )
    with pytest.raises(UnknownVoter) as info:
        verify_justification(just, 0, replaced)
    assert (info.value.index, info.value.voter) == (3, signer)
    # finality-grandpa's behaviour: skip the stranger; then 4 of 6 is below the threshold
    with pytest.raises(InsufficientWeight) as skipped:
        verify_justification(just, 0, replaced, ignore_unknown_voters=True)
    assert skipped.value.signed_weight == 4


def test_real_justification_target_mismatch_is_rejected(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    target_hash, number = just.target
    for expected in ((bytes(32), number), (target_hash, number + 1), (bytes(32), None)):
        with pytest.raises(TargetMismatch) as info:
            verify_justification(just, 0, voters, expected)
        assert info.value.actual == just.target


def test_real_justification_unused_ancestry_is_rejected(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    stray = chain(1, start_number=302593)[0]
    with pytest.raises(UnusedAncestry) as info:
        verify_justification(dataclasses.replace(just, votes_ancestries=[stray]), 0, voters)
    assert info.value.block_hash == stray.hash()


def test_real_justification_empty_commit_is_malformed(vectors: Path) -> None:
    just, voters, _ = real_justification(vectors)
    with pytest.raises(Malformed):
        verify_justification(_with_precommits(just, []), 0, voters)


# ------------------------------------------------------------------ the real commit message


def test_real_commit_message_verifies(vectors: Path) -> None:
    message, voters, _ = real_commit_message(vectors)
    result = verify_commit_message(message, voters, set_id=3490)
    assert (result.round, result.set_id) == (3669, 3490)
    assert result.target_number == 5105457
    assert (result.signed_weight, result.threshold) == (7, 5)
    # the same precommits, as a justification of that round, verify too
    just = GrandpaJustification(message.round, message.message.to_commit(), [])
    assert verify_justification(just, 3490, voters).signers == result.signers


def test_real_commit_message_other_set_id_is_rejected(vectors: Path) -> None:
    message, voters, _ = real_commit_message(vectors)
    with pytest.raises(SetIdMismatch):
        verify_commit_message(message, voters, set_id=3491)
    with pytest.raises(BadSignature):
        verify_commit_message(dataclasses.replace(message, set_id=3491), voters)


def test_real_commit_message_flipped_signature_bit_is_bad_signature(vectors: Path) -> None:
    message, voters, _ = real_commit_message(vectors)
    compact = message.message
    auth_data = list(compact.auth_data)
    signature, voter = auth_data[4]
    auth_data[4] = (bytes([signature[0] ^ 0x80]) + signature[1:], voter)
    tampered = dataclasses.replace(
        message, message=dataclasses.replace(compact, auth_data=auth_data)
    )
    with pytest.raises(BadSignature) as info:
        verify_commit_message(tampered, voters)
    assert info.value.index == 4


def test_real_commit_message_unknown_signer_is_rejected(vectors: Path) -> None:
    message, voters, _ = real_commit_message(vectors)
    stranger = message.message.auth_data[6][1]
    fewer = VoterSet([(voter, 1) for voter, _ in voters if voter != stranger])
    with pytest.raises(UnknownVoter) as info:
        verify_commit_message(message, fewer)
    assert info.value.index == 6


def test_real_commit_message_unpaired_signatures_is_malformed(vectors: Path) -> None:
    message, voters, _ = real_commit_message(vectors)
    compact = message.message
    broken = CompactCommit(
        compact.target_hash, compact.target_number, compact.precommits, compact.auth_data[:6]
    )
    with pytest.raises(Malformed):
        verify_commit_message(dataclasses.replace(message, message=broken), voters)


def test_real_commit_message_repeated_signers_beyond_bound_is_excessive(vectors: Path) -> None:
    message, voters, _ = real_commit_message(vectors)
    compact = message.message
    # total 7 + f 2 = 9: eleven entries (7 + 4 repeats) carry too much weight
    precommits = compact.precommits + compact.precommits[:4]
    auth_data = compact.auth_data + compact.auth_data[:4]
    repeated = CompactCommit(compact.target_hash, compact.target_number, precommits, auth_data)
    with pytest.raises(ExcessiveWeight) as info:
        verify_commit_message(dataclasses.replace(message, message=repeated), voters)
    assert info.value.bound == 9


# ------------------------------------------------------------------------ synthetic commits


def test_synthetic_all_on_target_verifies() -> None:
    pairs = keypairs(4)
    target = chain(1)[0]
    just = justification(target, [sign_precommit(p, target, ROUND, SET_ID) for p in pairs[:3]])
    result = verify_justification(just, SET_ID, voter_set(pairs))
    assert result.signers == tuple(p.public_key for p in pairs[:3])
    assert (result.signed_weight, result.threshold) == (3, 3)


def test_synthetic_descendant_precommits_with_ancestries_verify() -> None:
    pairs = keypairs(4)
    headers = chain(4)
    target = headers[0]
    precommits = [
        sign_precommit(pairs[0], headers[0], ROUND, SET_ID),
        sign_precommit(pairs[1], headers[3], ROUND, SET_ID),
        sign_precommit(pairs[2], headers[2], ROUND, SET_ID),
    ]
    just = justification(target, precommits, headers[1:])
    result = verify_justification(just, SET_ID, voter_set(pairs), (target.hash(), target.number))
    assert result.signed_weight == 3
    # the encoded form verifies the same after a round trip
    decoded = GrandpaJustification.from_bytes(just.encode())
    assert verify_justification(decoded, SET_ID, voter_set(pairs)) == result


def test_synthetic_missing_ancestry_header_is_not_descendant() -> None:
    pairs = keypairs(4)
    headers = chain(4)
    precommits = [
        sign_precommit(pairs[0], headers[0], ROUND, SET_ID),
        sign_precommit(pairs[1], headers[3], ROUND, SET_ID),
        sign_precommit(pairs[2], headers[1], ROUND, SET_ID),
    ]
    just = justification(headers[0], precommits, [headers[1], headers[3]])  # headers[2] missing
    with pytest.raises(NotDescendant) as info:
        verify_justification(just, SET_ID, voter_set(pairs))
    assert info.value.index == 1


def test_synthetic_precommit_on_other_branch_is_not_descendant() -> None:
    pairs = keypairs(4)
    headers = chain(2)
    other = chain(2, tag=b"other")
    precommits = [
        sign_precommit(pairs[0], headers[0], ROUND, SET_ID),
        sign_precommit(pairs[1], headers[0], ROUND, SET_ID),
        sign_precommit(pairs[2], other[1], ROUND, SET_ID),
    ]
    just = justification(headers[0], precommits, other)
    with pytest.raises(NotDescendant) as info:
        verify_justification(just, SET_ID, voter_set(pairs))
    assert info.value.index == 2


@pytest.mark.parametrize("number_shift", [-1, 1])
def test_synthetic_precommit_with_wrong_number_is_not_descendant(number_shift: int) -> None:
    pairs = keypairs(4)
    headers = chain(3)
    precommits = [
        sign_precommit(pairs[0], headers[0], ROUND, SET_ID),
        sign_precommit(pairs[1], headers[0], ROUND, SET_ID),
        sign_precommit(pairs[2], (headers[2].hash(), headers[2].number + number_shift), ROUND, 0),
    ]
    just = justification(headers[0], precommits, headers[1:])
    with pytest.raises(NotDescendant):
        verify_justification(just, SET_ID, voter_set(pairs))


def test_synthetic_precommit_on_target_hash_with_wrong_number_is_not_descendant() -> None:
    pairs = keypairs(4)
    target = chain(1)[0]
    precommits = [sign_precommit(p, target, ROUND, SET_ID) for p in pairs[:2]]
    precommits.append(sign_precommit(pairs[2], (target.hash(), target.number + 1), ROUND, SET_ID))
    with pytest.raises(NotDescendant) as info:
        verify_justification(justification(target, precommits), SET_ID, voter_set(pairs))
    assert info.value.index == 2


def test_synthetic_precommit_below_target_is_not_descendant() -> None:
    pairs = keypairs(4)
    headers = chain(3)
    precommits = [sign_precommit(p, headers[1], ROUND, SET_ID) for p in pairs[:2]]
    precommits.append(sign_precommit(pairs[2], headers[0], ROUND, SET_ID))
    # commit claims headers[1]; one precommit is for its parent
    just = justification(headers[1], precommits, [headers[0]])
    with pytest.raises(NotDescendant) as info:
        verify_justification(just, SET_ID, voter_set(pairs))
    assert info.value.index == 2


def test_synthetic_unused_and_duplicate_ancestries_are_rejected() -> None:
    pairs = keypairs(4)
    headers = chain(4)
    precommits = [sign_precommit(p, headers[1], ROUND, SET_ID) for p in pairs[:2]]
    precommits.append(sign_precommit(pairs[2], headers[0], ROUND, SET_ID))
    unused = justification(headers[0], precommits, headers[1:3])  # headers[2] on no route
    with pytest.raises(UnusedAncestry) as info:
        verify_justification(unused, SET_ID, voter_set(pairs))
    assert info.value.block_hash == headers[2].hash()
    duplicate = justification(headers[0], precommits, [headers[1], headers[1]])
    with pytest.raises(DuplicateAncestry):
        verify_justification(duplicate, SET_ID, voter_set(pairs))
    # the target's own header is not part of any route either
    with_target = justification(headers[0], precommits, [headers[0], headers[1]])
    with pytest.raises(UnusedAncestry) as info:
        verify_justification(with_target, SET_ID, voter_set(pairs))
    assert info.value.block_hash == headers[0].hash()


def test_synthetic_supermajority_on_child_makes_target_not_ghost() -> None:
    pairs = keypairs(4)
    headers = chain(3)
    precommits = [sign_precommit(p, headers[2], ROUND, SET_ID) for p in pairs[:3]]
    just = justification(headers[0], precommits, headers[1:])
    with pytest.raises(TargetNotGhost) as info:
        verify_justification(just, SET_ID, voter_set(pairs))
    assert info.value.ghost == (headers[2].hash(), headers[2].number)


def test_synthetic_forked_precommits_finalize_common_ancestor() -> None:
    pairs = keypairs(7)
    target = chain(1)[0]
    left, right = fork(target, 2, b"left"), fork(target, 1, b"right")
    precommits = [sign_precommit(p, left[1], ROUND, SET_ID) for p in pairs[:3]]
    precommits += [sign_precommit(p, right[0], ROUND, SET_ID) for p in pairs[3:5]]
    just = justification(target, precommits, [*left, *right])
    result = verify_justification(just, SET_ID, voter_set(pairs))
    assert (result.signed_weight, result.threshold) == (5, 5)


def test_synthetic_equivocating_voter_counts_once() -> None:
    pairs = keypairs(4)
    headers = chain(2)
    a, b, c = pairs[:3]
    precommits = [
        sign_precommit(a, headers[0], ROUND, SET_ID),
        sign_precommit(b, headers[0], ROUND, SET_ID),
        sign_precommit(a, headers[1], ROUND, SET_ID),  # a equivocates
    ]
    just = justification(headers[0], precommits, headers[1:])
    with pytest.raises(InsufficientWeight) as info:
        verify_justification(just, SET_ID, voter_set(pairs))
    assert info.value.signed_weight == 2
    precommits.append(sign_precommit(c, headers[0], ROUND, SET_ID))
    result = verify_justification(
        justification(headers[0], precommits, headers[1:]), SET_ID, voter_set(pairs)
    )
    assert result.signed_weight == 3
    assert result.equivocators == (a.public_key,)
    assert result.signers == (a.public_key, b.public_key, c.public_key)


def test_synthetic_equivocator_weight_counts_for_every_block() -> None:
    # finality-grandpa counts an equivocator for every block: two votes on the child plus the
    # equivocator make a supermajority (3 of 4) there, so the target is not the GHOST.
    pairs = keypairs(4)
    headers = chain(2)
    a, b, c = pairs[:3]
    precommits = [
        sign_precommit(a, headers[0], ROUND, SET_ID),
        sign_precommit(b, headers[1], ROUND, SET_ID),
        sign_precommit(c, headers[1], ROUND, SET_ID),
        sign_precommit(a, headers[1], ROUND, SET_ID),
    ]
    just = justification(headers[0], precommits, headers[1:])
    with pytest.raises(TargetNotGhost):
        verify_justification(just, SET_ID, voter_set(pairs))


def test_synthetic_weighted_voters_reach_threshold_by_weight() -> None:
    pairs = keypairs(4)
    voters = voter_set(pairs, [5, 1, 1, 1])  # total 8, threshold 6
    target = chain(1)[0]
    heavy_alone = justification(target, [sign_precommit(pairs[0], target, ROUND, SET_ID)])
    with pytest.raises(InsufficientWeight) as info:
        verify_justification(heavy_alone, SET_ID, voters)
    assert (info.value.signed_weight, info.value.threshold) == (5, 6)
    light = justification(target, [sign_precommit(p, target, ROUND, SET_ID) for p in pairs[1:]])
    with pytest.raises(InsufficientWeight):
        verify_justification(light, SET_ID, voters)
    enough = justification(target, [sign_precommit(p, target, ROUND, SET_ID) for p in pairs[:2]])
    assert verify_justification(enough, SET_ID, voters).signed_weight == 6


def test_synthetic_signature_for_other_precommit_is_bad_signature() -> None:
    pairs = keypairs(4)
    headers = chain(2)
    precommits = [sign_precommit(p, headers[0], ROUND, SET_ID) for p in pairs[:3]]
    # a valid signature of a different vote, pasted onto the target precommit
    other = sign_precommit(pairs[1], headers[1], ROUND, SET_ID)
    precommits[1] = dataclasses.replace(precommits[1], signature=other.signature)
    with pytest.raises(BadSignature) as info:
        verify_justification(justification(headers[0], precommits), SET_ID, voter_set(pairs))
    assert info.value.index == 1


def test_synthetic_commit_message_verifies_and_needs_ancestries_for_descendants() -> None:
    pairs = keypairs(4)
    headers = chain(2)
    on_target = [sign_precommit(p, headers[0], 3, 9) for p in pairs[:3]]
    message = commit_message(headers[0], on_target, 3, 9)
    assert verify_commit_message(message, voter_set(pairs), set_id=9).signed_weight == 3
    mixed = [*on_target[:2], sign_precommit(pairs[2], headers[1], 3, 9)]
    message = commit_message(headers[0], mixed, 3, 9)
    with pytest.raises(NotDescendant):
        verify_commit_message(message, voter_set(pairs))
    result = verify_commit_message(message, voter_set(pairs), votes_ancestries=headers[1:])
    assert result.signed_weight == 3


def test_verification_errors_share_one_root() -> None:
    for error in (BadSignature, UnknownVoter, NotDescendant, UnusedAncestry, TargetNotGhost):
        assert issubclass(error, JustificationError)


# ---------------------------------------------------------------------- equivocation proofs


def _prevote_proof(set_id: int = 2, round_number: int = 5) -> EquivocationProof:
    pair = keypair(0)
    first, second = Prevote(b"\x01" * 32, 10), Prevote(b"\x02" * 32, 10)
    return EquivocationProof(
        set_id,
        PrevoteEquivocation(
            round_number,
            pair.public_key,
            (first, pair.sign(localized_payload(round_number, set_id, first))),
            (second, pair.sign(localized_payload(round_number, set_id, second))),
        ),
    )


def _precommit_proof(first: Precommit, second: Precommit) -> EquivocationProof:
    pair = keypair(1)
    return EquivocationProof(
        4,
        PrecommitEquivocation(
            8,
            pair.public_key,
            (first, pair.sign(localized_payload(8, 4, first))),
            (second, pair.sign(localized_payload(8, 4, second))),
        ),
    )


def test_equivocation_proof_of_prevotes_verifies() -> None:
    proof = _prevote_proof()
    check_equivocation_proof(proof)
    check_equivocation_proof(EquivocationProof.decode(proof.encode()))


def test_equivocation_proof_of_precommits_verifies() -> None:
    check_equivocation_proof(
        _precommit_proof(Precommit(b"\x01" * 32, 3), Precommit(b"\x01" * 32, 4))
    )


def test_equivocation_proof_same_vote_is_rejected() -> None:
    vote = Precommit(b"\x01" * 32, 3)
    with pytest.raises(SameVote):
        check_equivocation_proof(_precommit_proof(vote, vote))


def test_equivocation_proof_bad_signatures_are_rejected() -> None:
    proof = _prevote_proof()
    eq = proof.equivocation
    assert isinstance(eq, PrevoteEquivocation)
    bad = bytes([eq.first[1][0] ^ 1]) + eq.first[1][1:]
    tampered = dataclasses.replace(
        proof, equivocation=dataclasses.replace(eq, first=(eq.first[0], bad))
    )
    with pytest.raises(BadEquivocationSignature) as info:
        check_equivocation_proof(tampered)
    assert info.value.which == "first"
    swapped = dataclasses.replace(
        proof, equivocation=dataclasses.replace(eq, second=(eq.second[0], eq.first[1]))
    )
    with pytest.raises(BadEquivocationSignature) as info:
        check_equivocation_proof(swapped)
    assert info.value.which == "second"
    # signed for another set or round: both fail on the first vote
    with pytest.raises(BadEquivocationSignature):
        check_equivocation_proof(dataclasses.replace(proof, set_id=3))
    with pytest.raises(BadEquivocationSignature):
        check_equivocation_proof(
            dataclasses.replace(proof, equivocation=dataclasses.replace(eq, round_number=6))
        )


def test_equivocation_proof_by_other_identity_is_rejected() -> None:
    proof = _prevote_proof()
    eq = proof.equivocation
    stranger = dataclasses.replace(eq, identity=keypair(5).public_key)
    with pytest.raises(BadEquivocationSignature):
        check_equivocation_proof(dataclasses.replace(proof, equivocation=stranger))


# ------------------------------------------------------------------------------- properties

_PAIRS = keypairs(7)
_TARGET = chain(1, tag=b"property")[0]
_SIGNED = [sign_precommit(p, _TARGET, ROUND, SET_ID) for p in _PAIRS]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=12), st.permutations(range(7)))
def test_property_valid_exactly_when_distinct_signers_reach_threshold(
    chosen: list[int], order: list[int]
) -> None:
    weights = [1 + order[i] for i in range(7)]  # 1..7, total 28, threshold 19
    voters = voter_set(_PAIRS, weights)
    just = justification(_TARGET, [_SIGNED[i] for i in chosen])
    distinct_weight = sum(weights[i] for i in set(chosen))
    if distinct_weight >= voters.threshold:
        result = verify_justification(just, SET_ID, voters)
        assert result.signed_weight == distinct_weight
        assert result.signers == tuple(dict.fromkeys(_PAIRS[i].public_key for i in chosen))
    else:
        with pytest.raises(InsufficientWeight) as info:
            verify_justification(just, SET_ID, voters)
        assert info.value.signed_weight == distinct_weight
