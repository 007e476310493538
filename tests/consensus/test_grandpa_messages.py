"""Encodings of GRANDPA messages, commits, justifications and equivocation proofs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.grandpa.errors import Malformed
from consensus.grandpa.justification import GrandpaJustification
from consensus.grandpa.messages import (
    Commit,
    CompactCommit,
    EquivocationProof,
    FullCommitMessage,
    Message,
    Precommit,
    PrecommitEquivocation,
    Prevote,
    PrevoteEquivocation,
    PrimaryPropose,
    SignedMessage,
    SignedPrecommit,
    localized_payload,
)
from tests.consensus.grandpa_builders import (
    chain,
    justification,
    keypairs,
    real_commit_message,
    real_justification,
    sign_precommit,
)

HASH = bytes(range(32))


def test_localized_payload_precommit_is_53_bytes_in_spec_layout() -> None:
    payload = localized_payload(439559, 7, Precommit(HASH, 302592))
    assert len(payload) == 53
    assert payload[0] == 1
    assert payload[1:33] == HASH
    assert payload[33:37] == (302592).to_bytes(4, "little")
    assert payload[37:45] == (439559).to_bytes(8, "little")
    assert payload[45:53] == (7).to_bytes(8, "little")


def test_message_enum_indices_are_prevote0_precommit1_primary2() -> None:
    assert Message.encode(Prevote(HASH, 1))[0] == 0
    assert Message.encode(Precommit(HASH, 1))[0] == 1
    assert Message.encode(PrimaryPropose(HASH, 1))[0] == 2
    assert Message.decode(b"\x02" + HASH + b"\x05\x00\x00\x00") == PrimaryPropose(HASH, 5)


def test_message_unknown_index_is_rejected() -> None:
    from pychain.primitives.scale import ScaleDecodeError

    with pytest.raises(ScaleDecodeError):
        Message.decode(b"\x03" + HASH + bytes(4))


def test_real_justification_round_trip_is_byte_identical(vectors: Path) -> None:
    decoded, _, raw = real_justification(vectors)
    assert decoded.round == 439559
    assert decoded.target == (
        bytes.fromhex("29f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2"),
        302592,
    )
    assert len(decoded.commit.precommits) == 5
    assert decoded.votes_ancestries == []
    assert decoded.encode() == raw
    assert GrandpaJustification.from_bytes(raw) == decoded


def test_real_commit_message_round_trip_is_byte_identical(vectors: Path) -> None:
    message, _, raw = real_commit_message(vectors)
    assert (message.round, message.set_id) == (3669, 3490)
    assert message.message.target_number == 5105457
    assert len(message.message.precommits) == len(message.message.auth_data) == 7
    assert message.encode() == raw
    # The compact form converts to a full commit and back without change.
    assert message.message.to_commit().to_compact() == message.message


def test_justification_with_ancestries_round_trip_is_byte_identical() -> None:
    headers = chain(3)
    pairs = keypairs(3)
    precommits = [sign_precommit(p, headers[i], 7, 0) for i, p in enumerate(pairs)]
    original = justification(headers[0], precommits, headers[1:])
    raw = original.encode()
    decoded = GrandpaJustification.from_bytes(raw)
    assert decoded == original
    assert decoded.encode() == raw
    assert [h.hash() for h in decoded.votes_ancestries] == [h.hash() for h in headers[1:]]


def test_justification_truncated_or_extended_is_malformed(vectors: Path) -> None:
    _, _, raw = real_justification(vectors)
    for cut in (0, 1, 8, 44, 45, len(raw) // 2, len(raw) - 1):
        with pytest.raises(Malformed):
            GrandpaJustification.from_bytes(raw[:cut])
    with pytest.raises(Malformed):
        GrandpaJustification.from_bytes(raw + b"\x00")


def test_commit_message_truncated_is_malformed(vectors: Path) -> None:
    _, _, raw = real_commit_message(vectors)
    for cut in (0, 15, 16, 52, len(raw) - 1):
        with pytest.raises(Malformed):
            FullCommitMessage.from_bytes(raw[:cut])


def test_compact_commit_with_unpaired_signatures_is_malformed(vectors: Path) -> None:
    message, _, _ = real_commit_message(vectors)
    compact = message.message
    broken = CompactCommit(
        compact.target_hash, compact.target_number, compact.precommits, compact.auth_data[:-1]
    )
    with pytest.raises(Malformed, match="7 precommits but 6 signatures"):
        broken.to_commit()


def test_signed_message_round_trip_keeps_variant() -> None:
    for vote in (Prevote(HASH, 9), Precommit(HASH, 9), PrimaryPropose(HASH, 9)):
        signed = SignedMessage(vote, bytes(64), bytes(range(1, 33)))
        raw = signed.encode()
        assert len(raw) == 1 + 36 + 64 + 32
        decoded = SignedMessage.decode(raw)
        assert type(decoded.message) is type(vote)
        assert decoded == signed


def test_equivocation_proof_round_trip_and_variant_index() -> None:
    first, second = (Prevote(HASH, 3), b"\x01" * 64), (Prevote(bytes(32), 3), b"\x02" * 64)
    prevote_proof = EquivocationProof(5, PrevoteEquivocation(11, b"\x07" * 32, first, second))
    raw = prevote_proof.encode()
    assert raw[:8] == (5).to_bytes(8, "little")
    assert raw[8] == 0
    assert raw[9:17] == (11).to_bytes(8, "little")
    assert len(raw) == 8 + 1 + 8 + 32 + 2 * (36 + 64)
    assert EquivocationProof.decode(raw) == prevote_proof

    pc_first = (Precommit(HASH, 3), b"\x01" * 64)
    pc_second = (Precommit(bytes(32), 4), b"\x02" * 64)
    precommit_proof = EquivocationProof(
        5, PrecommitEquivocation(11, b"\x07" * 32, pc_first, pc_second)
    )
    raw = precommit_proof.encode()
    assert raw[8] == 1
    decoded = EquivocationProof.decode(raw)
    assert isinstance(decoded.equivocation, PrecommitEquivocation)
    assert decoded == precommit_proof


_precommits = st.lists(
    st.builds(
        SignedPrecommit,
        st.builds(Precommit, st.binary(min_size=32, max_size=32), st.integers(0, 2**32 - 1)),
        st.binary(min_size=64, max_size=64),
        st.binary(min_size=32, max_size=32),
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**32 - 1),
    _precommits,
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1),
)
def test_commit_forms_round_trip_byte_identical(
    target_hash: bytes,
    target_number: int,
    precommits: list[SignedPrecommit],
    round_number: int,
    set_id: int,
) -> None:
    commit = Commit(target_hash, target_number, precommits)
    raw = commit.encode()
    assert Commit.decode(raw) == commit
    # target (36) ++ one-byte compact length (< 64 items) ++ 132 bytes per signed precommit
    assert len(raw) == 36 + 1 + 132 * len(precommits)
    message = FullCommitMessage(round_number, set_id, commit.to_compact())
    raw_message = message.encode()
    decoded = FullCommitMessage.decode(raw_message)
    assert decoded.encode() == raw_message
    assert decoded.message.to_commit() == commit
