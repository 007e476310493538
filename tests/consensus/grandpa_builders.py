"""Builders for synthetic GRANDPA data in tests: keys, a chain of headers, signed precommits.

Keys are ed25519 pairs from fixed seeds (deterministic), signing through ``Keypair.sign`` exactly
as a GRANDPA voter signs ``localized_payload(round, set_id, Precommit)``.
"""

from __future__ import annotations

import json
from pathlib import Path

from consensus.grandpa.justification import GrandpaJustification
from consensus.grandpa.messages import (
    Commit,
    FullCommitMessage,
    Precommit,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.voter_set import VoterSet
from pychain.primitives.hashing import blake2_256
from pychain.primitives.header import Header
from pychain.primitives.keys import Keypair

JUSTIFICATION_JSON = "grandpa/polkadot_block302592_justification.json"
COMMIT_MESSAGE_JSON = "grandpa/commit_message_round3669_set3490.json"


def keypair(index: int) -> Keypair:
    """The ``index``-th test voter: ed25519 from the seed blake2_256("grandpa voter" ++ index)."""
    return Keypair.from_seed(blake2_256(b"grandpa voter" + index.to_bytes(4, "little")), "ed25519")


def keypairs(count: int) -> list[Keypair]:
    return [keypair(i) for i in range(count)]


def voter_set(pairs: list[Keypair], weights: list[int] | None = None) -> VoterSet:
    weights = weights or [1] * len(pairs)
    return VoterSet([(pair.public_key, w) for pair, w in zip(pairs, weights, strict=True)])


def chain(length: int, start_number: int = 100, tag: bytes = b"") -> list[Header]:
    """``length`` linked headers; ``chain[0]`` (number ``start_number``) is the commit target."""
    headers: list[Header] = []
    parent = blake2_256(b"parent of the target" + tag)
    for offset in range(length):
        header = Header(parent, start_number + offset, blake2_256(tag + bytes([offset])), bytes(32))
        headers.append(header)
        parent = header.hash()
    return headers


def fork(base: Header, length: int, tag: bytes) -> list[Header]:
    """``length`` headers descending from ``base`` (a sibling branch when ``tag`` differs)."""
    headers: list[Header] = []
    parent = base.hash()
    for offset in range(1, length + 1):
        header = Header(parent, base.number + offset, blake2_256(tag + bytes([offset])), bytes(32))
        headers.append(header)
        parent = header.hash()
    return headers


def sign_precommit(
    pair: Keypair, block: Header | tuple[bytes, int], round_number: int, set_id: int
) -> SignedPrecommit:
    if isinstance(block, Header):
        block = (block.hash(), block.number)
    precommit = Precommit(*block)
    signature = pair.sign(localized_payload(round_number, set_id, precommit))
    return SignedPrecommit(precommit, signature, pair.public_key)


def justification(
    target: Header,
    precommits: list[SignedPrecommit],
    ancestries: list[Header] | None = None,
    round_number: int = 7,
) -> GrandpaJustification:
    commit = Commit(target.hash(), target.number, precommits)
    return GrandpaJustification(round_number, commit, list(ancestries or []))


def commit_message(
    target: Header, precommits: list[SignedPrecommit], round_number: int, set_id: int
) -> FullCommitMessage:
    commit = Commit(target.hash(), target.number, precommits)
    return FullCommitMessage(round_number, set_id, commit.to_compact())


def load_json(vectors: Path, name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((vectors / name).read_text())
    return data


def real_justification(vectors: Path) -> tuple[GrandpaJustification, VoterSet, bytes]:
    """The Polkadot #302592 justification, its authority set and its encoding."""
    data = load_json(vectors, JUSTIFICATION_JSON)
    raw = bytes.fromhex(str(data["encoded_justification"])[2:])
    authority_set = data["authority_set"]
    assert isinstance(authority_set, dict)
    voters = VoterSet(
        [(bytes.fromhex(key[2:]), weight) for key, weight in authority_set["authorities"]]
    )
    return GrandpaJustification.decode(raw), voters, raw


def real_commit_message(vectors: Path) -> tuple[FullCommitMessage, VoterSet, bytes]:
    """The round 3669 / set 3490 gossip commit and a voter set of its 7 signers (weight 1)."""
    data = load_json(vectors, COMMIT_MESSAGE_JSON)
    raw = bytes.fromhex(str(data["encoded"])[2:])
    message = FullCommitMessage.decode(raw)
    voters = VoterSet([(voter, 1) for _, voter in message.message.auth_data])
    return message, voters, raw
