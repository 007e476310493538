"""Block authoring and verified import for the node: one Aura slot at a time (synchronous core).

Counterparts: ``sc_consensus_aura``'s ``AuraWorker`` (``claim_slot``, ``pre_digest_data``,
``block_import_params`` with the seal) over ``sc_basic_authorship::Proposer``, and the import side,
``AuraVerifier::verify`` followed by ``BlockImport::import_block`` (Polkadot spec, "Block
Production", Aura; "Block Import").

:class:`BlockImporter` checks a block's seal and slot against the Aura authorities of its parent's
state (:func:`consensus.aura.check_header`) before the chain layer executes and stores it.
:class:`SlotAuthor` claims a slot when the node's Aura key is the slot author, builds the block on
the best block with the ``Timestamp.set(slot × slot_duration)`` inherent and the pool's ready
transactions, seals it and imports it through the same :class:`BlockImporter` (own blocks are not
re-executed: the chain layer keeps the post-state of the blocks it built). Waiting for slots is the
service's job (:mod:`pychain.node.service`); nothing here reads a clock.

Differences: no block-import queue or deferred import of future blocks; the proposer's time limit
is a ``should_stop`` callback given by the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from consensus.aura import CheckedHeader, check_header, find_pre_digest, pre_digest, seal_block
from consensus.aura import slot_author as aura_slot_author
from pychain.chain import Chain, ImportResult, Justification, UnknownParent
from pychain.chain.pool import TransactionPool
from pychain.primitives.block import Block
from pychain.primitives.hashing import blake2_256
from pychain.primitives.keys import Keypair
from pychain.runtime import PychainRuntime

__all__ = ["AuthoredBlock", "BlockImporter", "SlotAuthor", "short_hash"]

log = logging.getLogger("pychain.aura")


def short_hash(block_hash: bytes) -> str:
    """``0x1234…abcd``: how Substrate's logs abbreviate a hash."""
    text = block_hash.hex()
    return f"0x{text[:4]}…{text[-4:]}"


class BlockImporter:
    """Aura verification, then the chain layer's import (``AuraVerifier`` + ``BlockImport``)."""

    def __init__(self, chain: Chain, runtime: PychainRuntime, scheme: str = "sr25519") -> None:
        self.chain = chain
        self.runtime = runtime
        self.scheme = scheme

    def authorities_at(self, block_hash: bytes) -> list[bytes]:
        """``AuraApi_authorities`` at ``block_hash``."""
        aura = self.runtime.aura
        authorities: list[bytes] = self.chain.call_at(block_hash, aura.authorities)
        return authorities

    def slot_of(self, block_hash: bytes) -> int | None:
        """The Aura slot of a stored block (``None`` for genesis)."""
        header = self.chain.store.expect_header(block_hash)
        return None if header.number == 0 else find_pre_digest(header.without_seal())

    def verify(self, block: Block, now_slot: int | None = None) -> CheckedHeader:
        """Check the seal and slot of ``block`` against its parent (raises an ``AuraError``)."""
        header = block.header
        parent = self.chain.header(header.parent_hash)
        if parent is None:
            raise UnknownParent(
                f"parent 0x{header.parent_hash.hex()} of #{header.number} is unknown"
            )
        parent_slot = None if parent.number == 0 else find_pre_digest(parent.without_seal())
        authorities = self.authorities_at(header.parent_hash)
        return check_header(header, parent_slot, authorities, self.scheme, now_slot)

    def import_block(
        self,
        block: Block,
        justification: Justification | None = None,
        origin: str = "network",
        now_slot: int | None = None,
    ) -> ImportResult:
        """Verify ``block``'s seal, then import it; raises (and stores nothing) on failure."""
        self.verify(block, now_slot)
        return self.chain.import_block(
            block, justification, origin="own" if origin == "own" else "network"
        )


@dataclass(frozen=True)
class AuthoredBlock:
    """A block this node authored and imported."""

    slot: int
    block: Block
    result: ImportResult
    included: int
    skipped: int
    build_ms: float


class SlotAuthor:
    """Claims slots for one Aura key and authors its blocks (``AuraWorker``)."""

    def __init__(
        self,
        chain: Chain,
        pool: TransactionPool,
        runtime: PychainRuntime,
        importer: BlockImporter,
        key: Keypair,
    ) -> None:
        self.chain = chain
        self.pool = pool
        self.runtime = runtime
        self.importer = importer
        self.key = key

    def claim_slot(self, slot: int) -> bool:
        """``claim_slot``: whether this key authors ``slot`` on the best block (and the slot is
        above the best block's)."""
        best_hash = self.chain.best_hash()
        authorities = self.importer.authorities_at(best_hash)
        if not authorities or aura_slot_author(slot, authorities) != self.key.public_key:
            return False
        best_slot = self.importer.slot_of(best_hash)
        return best_slot is None or slot > best_slot

    def author_slot(
        self, slot: int, should_stop: Callable[[], bool] | None = None
    ) -> AuthoredBlock | None:
        """Author, seal and import the block of ``slot`` if this key may; ``None`` if not ours."""
        if not self.claim_slot(slot):
            log.debug("slot %d is not ours", slot)
            return None
        started = time.perf_counter()
        parent_hash = self.chain.best_hash()
        inherents = self.runtime.inherent_extrinsics(self.runtime.slot_timestamp(slot))
        built = self.chain.build_block(
            parent_hash,
            [pre_digest(slot)],
            self.pool.ready_extrinsics(),
            inherents,
            should_stop=should_stop,
        )
        build_ms = (time.perf_counter() - started) * 1000
        invalid = [blake2_256(xt) for xt in built.invalid]
        if invalid:
            self.pool.remove_invalid(invalid, "invalid at block building")
        header = built.block.header
        log.info(
            "Prepared block for proposing at %d (%d ms) [hash: 0x%s; parent_hash: %s; "
            "extrinsics (%d)]",
            header.number,
            build_ms,
            header.hash().hex(),
            short_hash(parent_hash),
            len(built.block.extrinsics),
        )
        sealed = seal_block(built.block, self.key)
        result = self.importer.import_block(sealed, origin="own")
        log.info("Imported #%d (%s)", result.number, short_hash(result.hash))
        return AuthoredBlock(
            slot, sealed, result, len(built.included), len(built.skipped), build_ms
        )
