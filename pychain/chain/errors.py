"""Typed errors of the chain layer (block store, import pipeline, transaction pool).

Substrate counterparts: ``sp_blockchain::Error`` and ``sp_consensus::Error`` for import
(``UnknownParent``, ``InvalidBlock``, state root mismatch, ``NotInFinalizedChain``) and
``sc_transaction_pool_api::error::Error`` for the pool (``AlreadyImported``, ``TooLowPriority``,
``ImmediatelyDropped``, ``InvalidTransaction``...). One root, :class:`ChainError`, derives from
:class:`~pychain.errors.PychainError`.
"""

from __future__ import annotations

from pychain.errors import PychainError
from pychain.frame.dispatch import TransactionValidityError

__all__ = [
    "ChainError",
    "StoreCorrupted",
    "UnknownBlock",
    "UnknownParent",
    "InvalidBlock",
    "BadStateRoot",
    "NotDescendantOfFinalized",
    "GenesisMismatch",
    "BlockBuildError",
    "StateUnavailable",
    "PoolError",
    "AlreadyImported",
    "TooLowPriority",
    "PoolFull",
    "TransactionTooLarge",
    "InvalidPoolTransaction",
]


class ChainError(PychainError):
    """Root of the chain layer's errors."""


class StoreCorrupted(ChainError):
    """The block store holds something it could not have written (undecodable, missing links)."""


class UnknownBlock(ChainError):
    """No block with this hash (or number) is known."""


class UnknownParent(ChainError):
    """The block's parent is not in the store (``ImportResult::UnknownParent``)."""


class InvalidBlock(ChainError):
    """The block is malformed or does not execute (``BlockImportError::BadBlock``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadStateRoot(InvalidBlock):
    """Executing the block gives another state root than its header claims."""

    def __init__(self, claimed: bytes, computed: bytes | None) -> None:
        got = "unknown" if computed is None else f"0x{computed.hex()}"
        super().__init__(f"state root mismatch: header 0x{claimed.hex()}, computed {got}")
        self.claimed = claimed
        self.computed = computed


class NotDescendantOfFinalized(ChainError):
    """The block is not on the chain of the last finalized block (no reorg below finality)."""


class GenesisMismatch(ChainError):
    """The database was written for another genesis than the one given."""

    def __init__(self, stored: bytes, expected: bytes) -> None:
        super().__init__(
            f"database genesis 0x{stored.hex()} differs from the chain spec's 0x{expected.hex()}"
        )
        self.stored = stored
        self.expected = expected


class BlockBuildError(ChainError):
    """Authoring could not produce a block (an inherent failed, unknown parent...)."""


class StateUnavailable(ChainError):
    """The state of a known block cannot be read (missing trie nodes)."""


class PoolError(ChainError):
    """Root of the transaction pool's errors."""


class AlreadyImported(PoolError):
    """The same transaction (by hash) is already in the pool."""


class TooLowPriority(PoolError):
    """Another transaction provides the same tag with a priority at least as high."""


class PoolFull(PoolError):
    """The pool is full and the transaction has the lowest priority (``ImmediatelyDropped``)."""


class TransactionTooLarge(PoolError):
    """The encoded transaction is larger than the pool accepts."""


class InvalidPoolTransaction(PoolError):
    """The runtime refused the transaction; ``validity`` carries the runtime's reason."""

    def __init__(self, validity: TransactionValidityError) -> None:
        super().__init__(f"invalid transaction: {validity.reason}")
        self.validity = validity
