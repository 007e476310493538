"""GRANDPA vote messages and equivocation proofs: the pure data types both the runtime and the
voter need.

Counterparts (Polkadot spec, "Finality", sections "Voting Messages" and "Equivocations"):

* :class:`Prevote`, :class:`Precommit`, :class:`PrimaryPropose` and the :data:`Message` enum
  (indices 0/1/2) are ``finality_grandpa::{Prevote, Precommit, PrimaryPropose, Message}``.
* :func:`localized_payload` is ``sp_consensus_grandpa::localized_payload``: the bytes an
  authority signs, ``SCALE(message) ++ round u64 LE ++ set_id u64 LE`` (53 bytes for a precommit),
  signed with ed25519 as they are, not hashed.
* :class:`PrevoteEquivocation` / :class:`PrecommitEquivocation` are
  ``finality_grandpa::Equivocation<AuthorityId, Prevote|Precommit, Signature>`` and
  :data:`Equivocation` / :class:`EquivocationProof` the ``sp_consensus_grandpa`` enum (0 Prevote,
  1 Precommit) and proof struct reported to the runtime (``report_equivocation``).
* :func:`check_equivocation_proof` is ``sp_consensus_grandpa::check_equivocation_proof``.

These types live in ``pychain.primitives`` (not ``consensus/``) because the Grandpa pallet decodes
and checks equivocation proofs and ``pychain`` never imports the higher ``consensus`` layer;
``consensus.grandpa.messages`` re-exports them. Differences: block numbers are ``u32``
(Polkadot's ``BlockNumber``); ids and signatures are raw bytes (32 and 64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pychain.errors import PychainError
from pychain.primitives.keys import verify_signature
from pychain.primitives.scale import H256, H512, U32, U64, Enum, Struct, Tuple

__all__ = [
    "Prevote",
    "Precommit",
    "PrimaryPropose",
    "Vote",
    "Message",
    "localized_payload",
    "PrevoteEquivocation",
    "PrecommitEquivocation",
    "Equivocation",
    "EquivocationProof",
    "check_equivocation_proof",
]


@dataclass(frozen=True)
class Prevote(Struct):
    """A prevote for a block: the first vote of a round."""

    target_hash: Annotated[bytes, H256]
    target_number: Annotated[int, U32]


@dataclass(frozen=True)
class Precommit(Struct):
    """A precommit for a block: the second vote of a round; commits and justifications hold these."""

    target_hash: Annotated[bytes, H256]
    target_number: Annotated[int, U32]


@dataclass(frozen=True)
class PrimaryPropose(Struct):
    """The round's primary proposes a block (the best block it saw finalizable in the last round)."""

    target_hash: Annotated[bytes, H256]
    target_number: Annotated[int, U32]


#: Any of the three vote messages.
Vote = Prevote | Precommit | PrimaryPropose

#: ``finality_grandpa::Message``: 0 Prevote, 1 Precommit, 2 PrimaryPropose.
Message = Enum(
    "Message",
    {0: Prevote, 1: Precommit, 2: PrimaryPropose},
    names={0: "Prevote", 1: "Precommit", 2: "PrimaryPropose"},
)

_ROUND_SET_ID = Tuple(U64, U64)


def localized_payload(round_number: int, set_id: int, message: Vote) -> bytes:
    """The bytes an authority signs for ``message`` in round ``round_number`` of set ``set_id``.

    ``sp_consensus_grandpa::localized_payload``: ``SCALE(Message) ++ round u64 LE ++ set_id u64 LE``.
    """
    return Message.encode(message) + _ROUND_SET_ID.encode((round_number, set_id))


_SIGNED_PREVOTE = Tuple(Prevote.codec(), H512)
_SIGNED_PRECOMMIT = Tuple(Precommit.codec(), H512)


@dataclass(frozen=True)
class PrevoteEquivocation(Struct):
    """Voter ``identity`` cast two different prevotes in round ``round_number``."""

    round_number: Annotated[int, U64]
    identity: Annotated[bytes, H256]
    first: Annotated[tuple[Prevote, bytes], _SIGNED_PREVOTE]
    second: Annotated[tuple[Prevote, bytes], _SIGNED_PREVOTE]


@dataclass(frozen=True)
class PrecommitEquivocation(Struct):
    """Voter ``identity`` cast two different precommits in round ``round_number``."""

    round_number: Annotated[int, U64]
    identity: Annotated[bytes, H256]
    first: Annotated[tuple[Precommit, bytes], _SIGNED_PRECOMMIT]
    second: Annotated[tuple[Precommit, bytes], _SIGNED_PRECOMMIT]


#: ``sp_consensus_grandpa::Equivocation``: 0 Prevote, 1 Precommit.
Equivocation = Enum(
    "Equivocation",
    {0: PrevoteEquivocation, 1: PrecommitEquivocation},
    names={0: "Prevote", 1: "Precommit"},
)


@dataclass(frozen=True)
class EquivocationProof(Struct):
    """``sp_consensus_grandpa::EquivocationProof``: an equivocation within authority set ``set_id``."""

    set_id: Annotated[int, U64]
    equivocation: Annotated[PrevoteEquivocation | PrecommitEquivocation, Equivocation]

    @property
    def offender(self) -> bytes:
        """The authority that equivocated (``EquivocationProof::offender``)."""
        return self.equivocation.identity

    @property
    def round(self) -> int:
        """The round in which it equivocated (``EquivocationProof::round``)."""
        return self.equivocation.round_number


def check_equivocation_proof(proof: EquivocationProof) -> bool:
    """``sp_consensus_grandpa::check_equivocation_proof``: two *different* votes of the same
    kind, same round and same voter, each with a valid ed25519 signature over its localized
    payload for ``(round, set_id)``."""
    equivocation = proof.equivocation
    (first_vote, first_sig), (second_vote, second_sig) = equivocation.first, equivocation.second
    # Verify the two votes differ (the same vote twice is no equivocation).
    if first_vote == second_vote:
        return False
    for vote, signature in ((first_vote, first_sig), (second_vote, second_sig)):
        payload = localized_payload(equivocation.round_number, proof.set_id, vote)
        # Verify each vote is signed by the offender for this round and set.
        try:
            if not verify_signature("ed25519", equivocation.identity, payload, signature):
                return False
        except PychainError:
            return False
    return True
