"""The key-value interface under the node's database: named columns, reads, atomic write batches.

Mirrors Substrate's ``kvdb::KeyValueDB`` (``get(col, key)``, ``iter_with_prefix(col, prefix)``,
``write(DBTransaction)``) as used by ``sc-client-db``, whose columns (``HEADER``, ``BODY``,
``JUSTIFICATIONS``, ``STATE``, ``KEY_LOOKUP``, ``META``, …) map onto pychain's
:data:`DEFAULT_COLUMNS` (DESIGN.md §5: one LMDB environment per node holding headers, bodies,
justifications, trie nodes by hash, the canonical index, metadata and blobs).

Differences from ``kvdb``: columns are named (``str``) rather than numbered, and a write batch is a
context manager: ``with db.batch() as b: b.put(col, k, v); b.delete(col, k)`` commits every
operation in one write transaction when the block exits normally, and none of them when it raises.
Writes buffered in a batch are not visible to reads until the batch commits (as ``DBTransaction``).

Key rules are LMDB's, enforced by every backend so that the in-memory twin behaves identically:
keys are 1..:data:`MAX_KEY_SIZE` bytes; values are any bytes (possibly empty). Iteration is in
ascending byte order (``memcmp``, shorter-prefix first, i.e. Python's ``bytes`` order). Iterators
read in growing chunks and resume after the last key seen, so a batch committed while an iterator is
being consumed may or may not be seen by it, but each key is yielded at most once and in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Protocol, runtime_checkable

from pychain.storage.errors import (
    BatchClosedError,
    InvalidKeyError,
    StorageTypeError,
    UnknownColumnError,
)

__all__ = [
    "COL_HEADERS",
    "COL_BODIES",
    "COL_JUSTIFICATIONS",
    "COL_TRIE_NODES",
    "COL_CANONICAL",
    "COL_META",
    "COL_BLOBS",
    "DEFAULT_COLUMNS",
    "MAX_KEY_SIZE",
    "FIRST_CHUNK",
    "ITER_CHUNK",
    "KeyValueStore",
    "WriteBatch",
    "BatchOp",
    "check_key",
    "check_value",
    "check_prefix",
    "check_column_name",
]

# Column names (DESIGN.md §5; sc-client-db `columns` module for the Substrate counterparts).
COL_HEADERS = "headers"  # block hash -> SCALE header (sc-client-db HEADER)
COL_BODIES = "bodies"  # block hash -> SCALE Vec<extrinsic> (BODY)
COL_JUSTIFICATIONS = "justifications"  # block hash -> SCALE justifications (JUSTIFICATIONS)
COL_TRIE_NODES = "trie_nodes"  # node hash -> encoded trie node (STATE)
COL_CANONICAL = "canonical"  # block number (u32 big-endian) -> canonical block hash (KEY_LOOKUP)
COL_META = "meta"  # b"best", b"finalized", … (META)
COL_BLOBS = "blobs"  # blob hash -> bytes (model updates and other large payloads)

DEFAULT_COLUMNS: tuple[str, ...] = (
    COL_HEADERS,
    COL_BODIES,
    COL_JUSTIFICATIONS,
    COL_TRIE_NODES,
    COL_CANONICAL,
    COL_META,
    COL_BLOBS,
)

# LMDB's compile-time key limit (MDB_MAXKEYSIZE = 511 with the default page size); LMDB also
# rejects empty keys. Both backends enforce it so that code tested on the twin runs on LMDB.
MAX_KEY_SIZE = 511

# How many entries an iterator reads per (short) read transaction: FIRST_CHUNK first (cheap
# "first key under a prefix" lookups), doubling up to ITER_CHUNK.
FIRST_CHUNK = 8
ITER_CHUNK = 256

# One buffered batch operation: (column, key, value) with value None meaning "delete".
BatchOp = tuple[str, bytes, bytes | None]


def check_column_name(column: object) -> str:
    """Return ``column`` if it is a usable column name, else raise a typed error."""
    if type(column) is not str:
        raise StorageTypeError(f"column name must be str, got {type(column).__name__}")
    if not column:
        raise UnknownColumnError("column name must not be empty")
    try:
        column.encode()
    except UnicodeEncodeError as e:
        raise UnknownColumnError(f"column name {column!r} is not valid UTF-8 text") from e
    return column


def check_key(key: object) -> bytes:
    """Return ``key`` as ``bytes`` if it is a valid store key, else raise a typed error."""
    if type(key) is not bytes:
        if isinstance(key, bytearray | memoryview):
            key = bytes(key)
        else:
            raise StorageTypeError(f"key must be bytes, got {type(key).__name__}")
    n = len(key)
    if n == 0 or n > MAX_KEY_SIZE:
        raise InvalidKeyError(f"key length must be 1..{MAX_KEY_SIZE} bytes, got {n}")
    return key


def check_prefix(prefix: object) -> bytes:
    """Return ``prefix`` as ``bytes`` (may be empty) or raise :class:`StorageTypeError`."""
    if type(prefix) is bytes:
        return prefix
    if isinstance(prefix, bytearray | memoryview):
        return bytes(prefix)
    raise StorageTypeError(f"prefix must be bytes, got {type(prefix).__name__}")


def check_value(value: object) -> bytes:
    """Return ``value`` as (an immutable copy in) ``bytes`` or raise :class:`StorageTypeError`."""
    if type(value) is bytes:
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise StorageTypeError(f"value must be bytes, got {type(value).__name__}")


class _BatchSink(Protocol):
    """What a :class:`WriteBatch` needs from its store."""

    def _check_column(self, column: object) -> str: ...

    def _commit(self, ops: list[BatchOp]) -> None: ...


class WriteBatch:
    """A buffered, all-or-nothing group of writes (``kvdb::DBTransaction``).

    Operations are validated when they are added (wrong types, unknown columns and bad keys raise
    at once) and applied in order, in one write transaction, when the ``with`` block exits
    without an exception. If the block raises, nothing is written and the exception propagates.
    The batch cannot be used after its block ends.
    """

    __slots__ = ("_store", "_ops", "_closed")

    def __init__(self, store: _BatchSink) -> None:
        self._store = store
        self._ops: list[BatchOp] = []
        self._closed = False

    def put(self, column: str, key: bytes, value: bytes) -> None:
        """Set ``column[key] = value`` when the batch commits."""
        if self._closed:
            raise BatchClosedError("write batch already committed or discarded")
        self._ops.append((self._store._check_column(column), check_key(key), check_value(value)))

    def delete(self, column: str, key: bytes) -> None:
        """Remove ``column[key]`` (if present) when the batch commits."""
        if self._closed:
            raise BatchClosedError("write batch already committed or discarded")
        self._ops.append((self._store._check_column(column), check_key(key), None))

    def __len__(self) -> int:
        return len(self._ops)

    def __enter__(self) -> WriteBatch:
        if self._closed:
            raise BatchClosedError("write batch already committed or discarded")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        ops, self._ops = self._ops, []
        self._closed = True
        if exc_type is None and ops:
            self._store._commit(ops)


@runtime_checkable
class KeyValueStore(Protocol):
    """The node database: named columns of ``bytes -> bytes`` with atomic batches.

    Implemented by :class:`~pychain.storage.lmdb_store.LmdbStore` and its in-memory twin
    :class:`~pychain.storage.memory.MemoryStore`; both pass the same test suite.
    """

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names this store was opened with."""
        ...

    def get(self, column: str, key: bytes) -> bytes | None:
        """The value stored under ``key`` in ``column``, or ``None``."""
        ...

    def contains(self, column: str, key: bytes) -> bool:
        """Whether ``key`` is present in ``column``."""
        ...

    def iter_prefix(
        self, column: str, prefix: bytes = b"", start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` pairs of ``column`` whose key starts with ``prefix``, ascending.

        With ``start``, begin at the first such key ``>= start``.
        """
        ...

    def batch(self) -> WriteBatch:
        """A new write batch; use it as a context manager."""
        ...

    def close(self) -> None:
        """Release the store; later calls raise ``StoreClosedError``. Idempotent."""
        ...
