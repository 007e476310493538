"""In-memory twin of the LMDB store, with identical semantics.

Mirrors Substrate's ``kvdb-memorydb::InMemory`` (the ``KeyValueDB`` used by tests and by
``sc-client-db`` when the database is "in memory"). It enforces the same rules as
:class:`~pychain.storage.lmdb_store.LmdbStore` — LMDB's key limits, unknown-column errors,
all-or-nothing batches, ascending chunked iteration, errors after ``close()`` — and the shared
suite in ``tests/storage/test_kv.py`` runs against both.

Each column is a ``dict`` plus a lazily rebuilt sorted key list used for prefix iteration; a
lock serialises batch commits against the rebuild so reads from several threads are safe.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from types import TracebackType

from pychain.storage.errors import StoreClosedError, UnknownColumnError
from pychain.storage.kv import (
    DEFAULT_COLUMNS,
    FIRST_CHUNK,
    ITER_CHUNK,
    BatchOp,
    WriteBatch,
    check_column_name,
    check_key,
    check_prefix,
)

__all__ = ["MemoryStore"]


class _Column:
    __slots__ = ("data", "sorted_keys", "dirty")

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.sorted_keys: list[bytes] = []
        self.dirty = False


class MemoryStore:
    """A :class:`~pychain.storage.kv.KeyValueStore` held in process memory."""

    def __init__(self, columns: Iterable[str] = DEFAULT_COLUMNS) -> None:
        names = tuple(check_column_name(c) for c in columns)
        if len(set(names)) != len(names):
            raise UnknownColumnError(f"duplicate column names in {names!r}")
        self._columns = names
        self._cols: dict[str, _Column] = {name: _Column() for name in names}
        self._lock = threading.Lock()
        self._closed = False

    # -- KeyValueStore -------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def closed(self) -> bool:
        return self._closed

    def get(self, column: str, key: bytes) -> bytes | None:
        col = self._column(column)
        return col.data.get(check_key(key))

    def contains(self, column: str, key: bytes) -> bool:
        col = self._column(column)
        return check_key(key) in col.data

    def iter_prefix(
        self, column: str, prefix: bytes = b"", start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        col = self._column(column)
        prefix = check_prefix(prefix)
        first = prefix if start is None else max(prefix, check_prefix(start))
        return self._iterate(col, prefix, first)

    def batch(self) -> WriteBatch:
        if self._closed:
            raise StoreClosedError("store is closed")
        return WriteBatch(self)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cols = {}

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._columns)} columns"
        return f"MemoryStore({state})"

    # -- internals -----------------------------------------------------------------------------

    def _column(self, column: object) -> _Column:
        try:
            return self._cols[column]  # type: ignore[index]
        except (KeyError, TypeError):
            pass
        if self._closed:
            raise StoreClosedError("store is closed")
        raise UnknownColumnError(f"unknown column {check_column_name(column)!r}")

    def _check_column(self, column: object) -> str:
        self._column(column)
        return column  # type: ignore[return-value]

    def _commit(self, ops: list[BatchOp]) -> None:
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            for name, key, value in ops:
                col = self._cols[name]
                if value is None:
                    if col.data.pop(key, None) is not None:
                        col.dirty = True
                else:
                    if key not in col.data:
                        col.dirty = True
                    col.data[key] = value

    def _chunk(
        self, col: _Column, first: bytes, inclusive: bool, limit: int
    ) -> list[tuple[bytes, bytes]]:
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            if col.dirty:
                col.sorted_keys = sorted(col.data)
                col.dirty = False
            keys = col.sorted_keys
            i = bisect_left(keys, first)
            if not inclusive and i < len(keys) and keys[i] == first:
                i += 1
            data = col.data
            return [(k, data[k]) for k in keys[i : i + limit]]

    def _iterate(self, col: _Column, prefix: bytes, first: bytes) -> Iterator[tuple[bytes, bytes]]:
        inclusive = True
        limit = FIRST_CHUNK
        while True:
            chunk = self._chunk(col, first, inclusive, limit)
            for key, value in chunk:
                if not key.startswith(prefix):
                    return
                yield key, value
            if len(chunk) < limit:
                return
            first, inclusive = chunk[-1][0], False
            limit = min(limit * 2, ITER_CHUNK)
