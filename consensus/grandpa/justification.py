"""GRANDPA justification: the proof, stored with a block, that the block is final.

Counterpart: ``sc_consensus_grandpa::GrandpaJustification`` (Polkadot spec, "Finality",
definition "Justification"): ``round u64 ++ Commit ++ votes_ancestries: Vec<Header>``, where the
commit's precommits may target descendants of the commit target and ``votes_ancestries`` holds the
headers from those targets back to (not including) the commit target. Verification is in
:mod:`consensus.grandpa.verify`.

Differences: none in the encoding. :meth:`GrandpaJustification.from_bytes` turns every SCALE
error into :class:`~consensus.grandpa.errors.Malformed`, so callers handle one error family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from consensus.grandpa.errors import Malformed
from consensus.grandpa.messages import Commit
from pychain.primitives.header import Header
from pychain.primitives.scale import U64, ScaleDecodeError, Struct, Vec

__all__ = ["GrandpaJustification", "GRANDPA_ENGINE_ID"]

#: The engine id under which a block's GRANDPA justification is stored and served
#: (``sp_consensus_grandpa::GRANDPA_ENGINE_ID``; ``justifications: [[engine, bytes]]`` in RPC JSON).
GRANDPA_ENGINE_ID = b"FRNK"


@dataclass(frozen=True)
class GrandpaJustification(Struct):
    """A commit for round ``round`` plus the headers that link its precommits to its target."""

    round: Annotated[int, U64]
    commit: Commit
    votes_ancestries: Annotated[list[Header], Vec(Header.codec())]

    @classmethod
    def from_bytes(cls, data: bytes) -> GrandpaJustification:
        """Decode strictly (no trailing bytes); any SCALE error becomes :class:`Malformed`."""
        try:
            return cls.decode(data)
        except ScaleDecodeError as exc:
            raise Malformed(f"not a GRANDPA justification: {exc}") from None

    @property
    def target(self) -> tuple[bytes, int]:
        """The finalized block: ``(hash, number)`` of the commit target."""
        return self.commit.target_hash, self.commit.target_number
