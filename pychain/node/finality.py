"""Single-voter GRANDPA finality for a dev chain: finalize each new best block at once.

Counterpart: what ``sc_consensus_grandpa``'s voter does when its authority set has one voter
(``--dev``): every round it prevotes and precommits the best block alone, the precommit alone is a
supermajority, and the round's commit becomes a ``GrandpaJustification`` stored with the block
(Polkadot spec, "Finality", "Justification"; paper arXiv:2007.01560).

:class:`SingleVoterFinality` builds that justification for a target block — one
``SignedPrecommit`` signed with the node's ed25519 GRANDPA key over
``localized_payload(round, set_id, Precommit(target))`` — checks it with
:func:`consensus.grandpa.verify.verify_justification` against the voter set of the last finalized
block's state, and only then calls :meth:`Chain.finalize` with ``(b"FRNK", justification)``.

Differences: no rounds of messages (nobody else votes); the round number is the target's block
number, which increases with every finalized block; if the node's key alone does not reach the
voter set's threshold (``local`` chain, several authorities) nothing is finalized here — that is
the networked voter's job (:mod:`pychain.node.grandpa`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from consensus.grandpa.justification import GRANDPA_ENGINE_ID, GrandpaJustification
from consensus.grandpa.messages import Commit, Precommit, SignedPrecommit, localized_payload
from consensus.grandpa.verify import VerificationResult, verify_justification
from consensus.grandpa.voter_set import VoterSet
from pychain.chain import Chain, FinalityResult, Justification
from pychain.node.authoring import short_hash
from pychain.node.errors import NodeError
from pychain.primitives.keys import Keypair
from pychain.runtime import PychainRuntime

__all__ = ["FinalizedBlock", "SingleVoterFinality", "current_voter_set", "check_justification"]

log = logging.getLogger("pychain.grandpa")


@dataclass(frozen=True)
class FinalizedBlock:
    """A block finalized by this node, with the justification stored for it."""

    result: FinalityResult
    justification: GrandpaJustification
    verification: VerificationResult


def current_voter_set(chain: Chain, runtime: PychainRuntime) -> tuple[int, VoterSet]:
    """``(set_id, voters)`` of the GRANDPA set in force at the last finalized block."""
    finalized_hash, _ = chain.finalized()
    grandpa = runtime.grandpa

    def read() -> tuple[int, list[tuple[bytes, int]]]:
        return grandpa.current_set_id(), grandpa.grandpa_authorities()

    set_id, authorities = chain.call_at(finalized_hash, read)
    return set_id, VoterSet(authorities)


def check_justification(
    chain: Chain, runtime: PychainRuntime, target: tuple[bytes, int], justification: Justification
) -> VerificationResult:
    """Verify a ``(b"FRNK", bytes)`` justification of ``target`` (what an importer does before
    finalizing a block it received with one): against the set of the target's parent state when
    the target is stored (the rule of :mod:`pychain.node.grandpa`, right across authority-set
    changes), else against the current voter set. Raises a ``JustificationError`` subclass, or
    :class:`NodeError` for another engine."""
    engine, encoded = justification
    if engine != GRANDPA_ENGINE_ID:
        raise NodeError(f"unsupported justification engine {engine!r}")
    decoded = GrandpaJustification.from_bytes(encoded)
    header = chain.header(target[0])
    if header is not None and header.number > 0:
        grandpa = runtime.grandpa

        def read() -> tuple[int, list[tuple[bytes, int]]]:
            return grandpa.current_set_id(), grandpa.grandpa_authorities()

        set_id, authorities = chain.call_at(header.parent_hash, read)
        voters = VoterSet(authorities)
    else:
        set_id, voters = current_voter_set(chain, runtime)
    return verify_justification(decoded, set_id, voters, expected_target=target)


class SingleVoterFinality:
    """Finalizes blocks with the node's GRANDPA key when that key alone is a supermajority."""

    def __init__(self, chain: Chain, runtime: PychainRuntime, key: Keypair) -> None:
        if key.scheme != "ed25519":
            raise NodeError(f"a GRANDPA key is ed25519, not {key.scheme}")
        self.chain = chain
        self.runtime = runtime
        self.key = key
        self._warned_set: int | None = None

    def voter_set(self) -> tuple[int, VoterSet]:
        """``(set_id, voters)`` in force at the last finalized block."""
        return current_voter_set(self.chain, self.runtime)

    def can_finalize_alone(self) -> bool:
        """Whether this key's weight reaches the threshold of the current voter set."""
        set_id, voters = self.voter_set()
        alone = voters.weight_of([self.key.public_key]) >= voters.threshold
        if not alone and self._warned_set != set_id:
            self._warned_set = set_id
            log.info("GRANDPA set %d needs other voters: not finalizing alone", set_id)
        return alone

    def justify(self, target_hash: bytes) -> GrandpaJustification:
        """The one-precommit justification of ``target_hash`` (not yet verified)."""
        header = self.chain.store.expect_header(target_hash)
        set_id, _ = self.voter_set()
        round_number = header.number
        precommit = Precommit(target_hash, header.number)
        signature = self.key.sign(localized_payload(round_number, set_id, precommit))
        commit = Commit(
            target_hash,
            header.number,
            [SignedPrecommit(precommit, signature, self.key.public_key)],
        )
        return GrandpaJustification(round_number, commit, [])

    def finalize(self, target_hash: bytes) -> FinalizedBlock | None:
        """Finalize ``target_hash`` with a verified justification; ``None`` when it is already
        final or this key cannot finalize alone. Verification failures raise."""
        header = self.chain.store.expect_header(target_hash)
        _, finalized_number = self.chain.finalized()
        if header.number <= finalized_number or not self.can_finalize_alone():
            return None
        justification = self.justify(target_hash)
        set_id, voters = self.voter_set()
        # Verify the justification as any importer of it will, before storing it.
        verification = verify_justification(
            justification, set_id, voters, expected_target=(target_hash, header.number)
        )
        result = self.chain.finalize(target_hash, (GRANDPA_ENGINE_ID, justification.encode()))
        log.debug("Finalized #%d (%s)", header.number, short_hash(target_hash))
        return FinalizedBlock(result, justification, verification)
