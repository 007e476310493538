"""Typed errors of ``consensus.grandpa``: one root, :class:`GrandpaError`.

Verification failures mirror the reasons Substrate gives when it rejects a justification or a
gossip commit (``sc-consensus-grandpa`` ``justification.rs`` / ``communication/mod.rs`` and
``finality-grandpa`` ``validate_commit``), with the extra precision of the bridge verifier
(``bp-header-chain`` ``justification`` errors): each failure is its own class, carries the
offending index / hash, and ``reason`` is its class name (the JSON ``reason`` of the CLI).
"""

from __future__ import annotations

from pychain.errors import PychainError


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class GrandpaError(PychainError):
    """Root of every error raised on purpose by ``consensus.grandpa``."""


class InvalidVoterSet(GrandpaError):
    """A voter set that GRANDPA cannot run with: empty, zero weights, duplicates, bad ids."""


class JustificationError(GrandpaError):
    """A justification or commit failed verification; ``reason`` names the failed rule."""

    @property
    def reason(self) -> str:
        return type(self).__name__


class Malformed(JustificationError):
    """The bytes do not decode, or the decoded value is structurally unusable."""


class TargetMismatch(JustificationError):
    """The commit finalizes another block than the one the caller expected."""

    def __init__(self, expected: tuple[bytes, int | None], actual: tuple[bytes, int]) -> None:
        number = "?" if expected[1] is None else str(expected[1])
        super().__init__(
            f"commit target is #{actual[1]} {_hex(actual[0])}, expected #{number} "
            f"{_hex(expected[0])}"
        )
        self.expected = expected
        self.actual = actual


class SetIdMismatch(JustificationError):
    """A gossip commit message names another authority set id than the verifier's."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"commit message is for set_id {actual}, expected {expected}")
        self.expected = expected
        self.actual = actual


class UnknownVoter(JustificationError):
    """Precommit ``index`` is signed by a key that is not in the voter set."""

    def __init__(self, index: int, voter: bytes) -> None:
        super().__init__(f"precommit {index} is signed by {_hex(voter)}, not a voter of this set")
        self.index = index
        self.voter = voter


class BadSignature(JustificationError):
    """Precommit ``index``'s signature does not verify for its (round, set_id) payload."""

    def __init__(self, index: int, voter: bytes) -> None:
        super().__init__(f"invalid signature on precommit {index} (signer {_hex(voter)})")
        self.index = index
        self.voter = voter


class NotDescendant(JustificationError):
    """Precommit ``index`` targets a block not proven to be the commit target or a descendant."""

    def __init__(self, index: int, target: tuple[bytes, int], detail: str) -> None:
        super().__init__(
            f"precommit {index} for #{target[1]} {_hex(target[0])} is not proven to descend "
            f"from the commit target: {detail}"
        )
        self.index = index
        self.target = target


class DuplicateAncestry(JustificationError):
    """The same header appears twice in ``votes_ancestries``."""

    def __init__(self, block_hash: bytes) -> None:
        super().__init__(f"votes_ancestries holds header {_hex(block_hash)} twice")
        self.block_hash = block_hash


class UnusedAncestry(JustificationError):
    """A header of ``votes_ancestries`` lies on no precommit's route to the commit target."""

    def __init__(self, block_hash: bytes) -> None:
        super().__init__(f"votes_ancestries header {_hex(block_hash)} is used by no precommit")
        self.block_hash = block_hash


class InsufficientWeight(JustificationError):
    """Distinct known voters' precommits weigh less than the supermajority threshold."""

    def __init__(self, signed_weight: int, threshold: int) -> None:
        super().__init__(f"signed weight {signed_weight} is below the threshold {threshold}")
        self.signed_weight = signed_weight
        self.threshold = threshold


class TargetNotGhost(JustificationError):
    """A descendant of the commit target also has a supermajority: the target is not the GHOST."""

    def __init__(self, ghost: tuple[bytes, int]) -> None:
        super().__init__(
            f"the precommit GHOST is #{ghost[1]} {_hex(ghost[0])}, a descendant of the target"
        )
        self.ghost = ghost


class ExcessiveWeight(JustificationError):
    """A gossip commit carries more precommit weight than total + f (Substrate's gossip bound)."""

    def __init__(self, weight: int, bound: int) -> None:
        super().__init__(f"commit carries precommit weight {weight}, above the bound {bound}")
        self.weight = weight
        self.bound = bound


class EquivocationError(GrandpaError):
    """An equivocation proof does not prove an equivocation."""

    @property
    def reason(self) -> str:
        return type(self).__name__


class SameVote(EquivocationError):
    """Both votes of the proof have the same target: that is no equivocation."""


class BadEquivocationSignature(EquivocationError):
    """The ``first`` or ``second`` vote's signature does not verify."""

    def __init__(self, which: str) -> None:
        super().__init__(f"the {which} vote's signature does not verify")
        self.which = which
