"""Key-value storage: a KV protocol, an LMDB backend, an in-memory twin and transactional overlays.

Substrate counterparts: ``kvdb::KeyValueDB`` (:class:`KeyValueStore`), ``kvdb-rocksdb`` under
``sc-client-db`` (:class:`LmdbStore`, on LMDB), ``kvdb-memorydb`` (:class:`MemoryStore`) and
``sp_state_machine::OverlayedChanges`` (:class:`OverlayedChanges`). See DESIGN.md §5.
"""

from pychain.storage.errors import (
    BatchClosedError,
    InvalidKeyError,
    NoOpenTransactionError,
    StorageBackendError,
    StorageError,
    StorageFullError,
    StorageOpenError,
    StorageTypeError,
    StoreClosedError,
    TransactionError,
    TransactionStillOpenError,
    UnknownColumnError,
)
from pychain.storage.kv import (
    COL_BLOBS,
    COL_BODIES,
    COL_CANONICAL,
    COL_HEADERS,
    COL_JUSTIFICATIONS,
    COL_META,
    COL_TRIE_NODES,
    DEFAULT_COLUMNS,
    MAX_KEY_SIZE,
    KeyValueStore,
    WriteBatch,
)
from pychain.storage.lmdb_store import DEFAULT_MAP_SIZE, LmdbStore
from pychain.storage.memory import MemoryStore
from pychain.storage.overlay import (
    DictBackend,
    FunctionBackend,
    KvColumnBackend,
    MultiRemovalResults,
    OverlayedChanges,
    StateBackend,
)

__all__ = [
    "BatchClosedError",
    "COL_BLOBS",
    "COL_BODIES",
    "COL_CANONICAL",
    "COL_HEADERS",
    "COL_JUSTIFICATIONS",
    "COL_META",
    "COL_TRIE_NODES",
    "DEFAULT_COLUMNS",
    "DEFAULT_MAP_SIZE",
    "DictBackend",
    "FunctionBackend",
    "InvalidKeyError",
    "KeyValueStore",
    "KvColumnBackend",
    "LmdbStore",
    "MAX_KEY_SIZE",
    "MemoryStore",
    "MultiRemovalResults",
    "NoOpenTransactionError",
    "OverlayedChanges",
    "StateBackend",
    "StorageBackendError",
    "StorageError",
    "StorageFullError",
    "StorageOpenError",
    "StorageTypeError",
    "StoreClosedError",
    "TransactionError",
    "TransactionStillOpenError",
    "UnknownColumnError",
    "WriteBatch",
]
