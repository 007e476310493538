"""The chain layer: block store, state backend over the trie, block import and the transaction pool.

Substrate counterparts: ``sc-client-db`` (:class:`BlockStore`, :class:`TrieBackend`),
``sc-service``'s client and ``sc-consensus``'s import pipeline (:class:`Chain`), and
``sc-transaction-pool`` (:class:`TransactionPool`). See DESIGN.md §1 ("chain") and §5.
"""

from pychain.chain.backend import IncrementalRoot, KvNodeStore, StateTrie, TrieBackend
from pychain.chain.client import (
    BuiltBlock,
    Chain,
    FinalityResult,
    ImportResult,
    StateView,
)
from pychain.chain.errors import (
    AlreadyImported,
    BadStateRoot,
    BlockBuildError,
    ChainError,
    GenesisMismatch,
    InvalidBlock,
    InvalidPoolTransaction,
    NotDescendantOfFinalized,
    PoolError,
    PoolFull,
    StateUnavailable,
    StoreCorrupted,
    TooLowPriority,
    TransactionTooLarge,
    UnknownBlock,
    UnknownParent,
)
from pychain.chain.store import BlockStore, Justification

__all__ = [
    "AlreadyImported",
    "BadStateRoot",
    "BlockBuildError",
    "BlockStore",
    "BuiltBlock",
    "Chain",
    "ChainError",
    "FinalityResult",
    "GenesisMismatch",
    "ImportResult",
    "IncrementalRoot",
    "InvalidBlock",
    "InvalidPoolTransaction",
    "Justification",
    "KvNodeStore",
    "NotDescendantOfFinalized",
    "PoolError",
    "PoolFull",
    "StateTrie",
    "StateUnavailable",
    "StateView",
    "StoreCorrupted",
    "TooLowPriority",
    "TransactionTooLarge",
    "TrieBackend",
    "UnknownBlock",
    "UnknownParent",
]
