"""GRANDPA votes and commits, as ``finality-grandpa`` and ``sp-consensus-grandpa`` encode them.

Counterparts (Polkadot spec, "Finality", sections "Voting Messages" and "Justification"):

* :class:`Prevote`, :class:`Precommit`, :class:`PrimaryPropose` and the :data:`Message` enum
  (indices 0/1/2) are ``finality_grandpa::{Prevote, Precommit, PrimaryPropose, Message}``.
* :func:`localized_payload` is ``sp_consensus_grandpa::localized_payload``: the bytes an
  authority signs, ``SCALE(message) ++ round u64 LE ++ set_id u64 LE`` (53 bytes for a precommit),
  signed with ed25519 as they are, not hashed.
* :class:`SignedMessage`, :class:`SignedPrecommit`, :class:`Commit`, :class:`CompactCommit` are the
  ``finality_grandpa`` types of those names; :class:`FullCommitMessage` is the gossip commit
  ``sc_consensus_grandpa::communication::gossip::FullCommitMessage`` (round, set_id, compact commit;
  without the ``GossipMessage`` enum byte in front).
* :class:`PrevoteEquivocation` / :class:`PrecommitEquivocation` are
  ``finality_grandpa::Equivocation<AuthorityId, Prevote|Precommit, Signature>`` and
  :data:`Equivocation` / :class:`EquivocationProof` the ``sp_consensus_grandpa`` enum (0 Prevote,
  1 Precommit) and proof struct reported to the runtime.

The vote and equivocation types are defined in :mod:`pychain.primitives.grandpa` (the Grandpa
pallet checks equivocation proofs and ``pychain`` never imports ``consensus``) and re-exported here.

Differences: block numbers are ``u32`` (Polkadot's ``BlockNumber``); authority ids and signatures
are raw bytes (32 and 64), the ed25519 key scheme being fixed by GRANDPA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from consensus.grandpa.errors import Malformed
from pychain.primitives.grandpa import (
    Equivocation,
    EquivocationProof,
    Message,
    Precommit,
    PrecommitEquivocation,
    Prevote,
    PrevoteEquivocation,
    PrimaryPropose,
    Vote,
    localized_payload,
)
from pychain.primitives.scale import (
    H256,
    H512,
    U32,
    U64,
    ScaleDecodeError,
    Struct,
    Tuple,
    Vec,
)

__all__ = [
    "Prevote",
    "Precommit",
    "PrimaryPropose",
    "Vote",
    "Message",
    "localized_payload",
    "SignedMessage",
    "SignedPrecommit",
    "Commit",
    "CompactCommit",
    "FullCommitMessage",
    "PrevoteEquivocation",
    "PrecommitEquivocation",
    "Equivocation",
    "EquivocationProof",
]


@dataclass(frozen=True)
class SignedMessage(Struct):
    """A vote message with its ed25519 signature and the signing authority's id."""

    message: Annotated[Any, Message]
    signature: Annotated[bytes, H512]
    id: Annotated[bytes, H256]


@dataclass(frozen=True)
class SignedPrecommit(Struct):
    """A precommit with its signature and signer, as carried in a :class:`Commit`."""

    precommit: Precommit
    signature: Annotated[bytes, H512]
    id: Annotated[bytes, H256]


@dataclass(frozen=True)
class Commit(Struct):
    """A commit for a block: the precommits that justify finalizing ``target``."""

    target_hash: Annotated[bytes, H256]
    target_number: Annotated[int, U32]
    precommits: Annotated[list[SignedPrecommit], Vec(SignedPrecommit.codec())]

    def to_compact(self) -> CompactCommit:
        """The gossip form: precommits and (signature, id) pairs in two parallel lists."""
        return CompactCommit(
            self.target_hash,
            self.target_number,
            [signed.precommit for signed in self.precommits],
            [(signed.signature, signed.id) for signed in self.precommits],
        )


_AUTH_DATA = Vec(Tuple(H512, H256))


@dataclass(frozen=True)
class CompactCommit(Struct):
    """A commit with its precommits and their authentication data split in two lists."""

    target_hash: Annotated[bytes, H256]
    target_number: Annotated[int, U32]
    precommits: Annotated[list[Precommit], Vec(Precommit.codec())]
    auth_data: Annotated[list[tuple[bytes, bytes]], _AUTH_DATA]

    def to_commit(self) -> Commit:
        """Pair each precommit with its (signature, id); :class:`Malformed` if the lists differ.

        Substrate's gossip validator rejects such a commit outright (``MALFORMED_COMMIT``)
        rather than truncating to the shorter list.
        """
        if len(self.precommits) != len(self.auth_data):
            raise Malformed(
                f"compact commit has {len(self.precommits)} precommits but "
                f"{len(self.auth_data)} signatures"
            )
        return Commit(
            self.target_hash,
            self.target_number,
            [
                SignedPrecommit(precommit, signature, voter)
                for precommit, (signature, voter) in zip(
                    self.precommits, self.auth_data, strict=True
                )
            ],
        )


@dataclass(frozen=True)
class FullCommitMessage(Struct):
    """The gossip commit message: ``round u64 ++ set_id u64 ++ CompactCommit``."""

    round: Annotated[int, U64]
    set_id: Annotated[int, U64]
    message: CompactCommit

    @classmethod
    def from_bytes(cls, data: bytes) -> FullCommitMessage:
        """Decode strictly; any SCALE error becomes :class:`Malformed`."""
        try:
            return cls.decode(data)
        except ScaleDecodeError as exc:
            raise Malformed(f"not a GRANDPA commit message: {exc}") from None
