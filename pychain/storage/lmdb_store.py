"""The node database on LMDB: one environment, one named database per column.

Mirrors the role of Substrate's ``kvdb-rocksdb::Database`` under ``sc-client-db`` (DESIGN.md §5),
on LMDB instead of RocksDB (as Substrate's ``parity-db``/``kvdb`` alternatives are pluggable):

* one LMDB environment under a directory (``data.mdb`` + ``lock.mdb``), one named database per
  column (:data:`~pychain.storage.kv.DEFAULT_COLUMNS`);
* every :class:`~pychain.storage.kv.WriteBatch` is applied in ONE write transaction — a block
  import commits all of its writes or none (STYLE.md §8), also across ``kill -9``;
* durable by default (``sync`` and ``metasync`` on: a returned commit survives power loss);
* a large initial map (1 GiB by default) that grows by doubling on ``MDB_MAP_FULL`` and retries
  the batch, up to ``max_map_size``. On reopen the map is never smaller than the data file
  (NETWORKING.md: "never reopen with a smaller map size"; RELIABILITY.md: a full map made every
  restart fail until the map was grown);
* reads are safe from several threads (each read is its own short read transaction; py-lmdb
  opens environments with ``MDB_NOTLS``); writes are serialised by a lock. Growing the map needs
  no transaction active in the process (``mdb_env_set_mapsize``), so reads hold a shared gate
  and a resize holds it exclusively. Iterators read in chunks of
  :data:`~pychain.storage.kv.ITER_CHUNK`, so they never pin a read transaction between chunks.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import lmdb

from pychain.storage.errors import (
    StorageBackendError,
    StorageFullError,
    StorageOpenError,
    StorageTypeError,
    StoreClosedError,
    UnknownColumnError,
)
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

__all__ = ["LmdbStore", "DEFAULT_MAP_SIZE", "DEFAULT_MAX_MAP_SIZE"]

# Node configuration defaults (DESIGN.md §5 / NETWORKING.md: LMDB's own default of 10 MiB is far
# too small for a chain; start at 1 GiB and double on demand up to 1 TiB of address space).
DEFAULT_MAP_SIZE = 1 << 30
DEFAULT_MAX_MAP_SIZE = 1 << 40
_DATA_FILE = "data.mdb"


class _ResizeGate:
    """A shared/exclusive gate: reads enter shared, ``set_mapsize``/``close`` enter exclusive.

    Writer-preferring, so a resize is not starved by a stream of readers.
    """

    __slots__ = ("_cond", "_readers", "_exclusive")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._exclusive = False

    def enter_shared(self) -> None:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._readers += 1

    def leave_shared(self) -> None:
        with self._cond:
            self._readers -= 1
            if self._readers == 0 and self._exclusive:
                self._cond.notify_all()

    def enter_exclusive(self) -> None:
        with self._cond:
            while self._exclusive:
                self._cond.wait()
            self._exclusive = True
            while self._readers:
                self._cond.wait()

    def leave_exclusive(self) -> None:
        with self._cond:
            self._exclusive = False
            self._cond.notify_all()


# LMDB forbids opening one environment twice in a process (its locks are per process).
_OPEN_LOCK = threading.Lock()
_OPEN_STORES: dict[str, weakref.ref[LmdbStore]] = {}


def _register(key: str, store: LmdbStore) -> None:
    with _OPEN_LOCK:
        ref = _OPEN_STORES.get(key)
        other = ref() if ref is not None else None
        if other is not None and not other.closed:
            raise StorageOpenError(f"{key} is already open in this process; close it first")
        _OPEN_STORES[key] = weakref.ref(store)


def _unregister(key: str, store: LmdbStore) -> None:
    with _OPEN_LOCK:
        ref = _OPEN_STORES.get(key)
        if ref is not None and ref() in (store, None):
            del _OPEN_STORES[key]


class LmdbStore:
    """A :class:`~pychain.storage.kv.KeyValueStore` in an LMDB environment under ``path``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        columns: Iterable[str] = DEFAULT_COLUMNS,
        *,
        map_size: int = DEFAULT_MAP_SIZE,
        max_map_size: int = DEFAULT_MAX_MAP_SIZE,
        durable: bool = True,
        max_readers: int = 126,
        create: bool = True,
    ) -> None:
        names = tuple(check_column_name(c) for c in columns)
        if len(set(names)) != len(names):
            raise UnknownColumnError(f"duplicate column names in {names!r}")
        for label, number in (
            ("map_size", map_size),
            ("max_map_size", max_map_size),
            ("max_readers", max_readers),
        ):
            if type(number) is not int:
                raise StorageTypeError(f"{label} must be int, got {type(number).__name__}")
            if number <= 0:
                raise StorageOpenError(f"{label} must be positive, got {number}")
        if not isinstance(path, str | os.PathLike):
            raise StorageTypeError(f"path must be str or PathLike, got {type(path).__name__}")
        if type(durable) is not bool:
            raise StorageTypeError(f"durable must be bool, got {type(durable).__name__}")
        self._path = Path(path)
        self._columns = names
        self._max_map_size = max_map_size
        self._gate = _ResizeGate()
        self._write_lock = threading.Lock()
        self._closed = False
        self._resizes = 0

        try:
            if self._path.exists() and not self._path.is_dir():
                raise StorageOpenError(f"{self._path} exists and is not a directory")
            if not self._path.exists():
                if not create:
                    raise StorageOpenError(f"no database at {self._path}")
                self._path.mkdir(parents=True)
            # Never open with a map smaller than what is already on disk.
            data_file = self._path / _DATA_FILE
            existing = data_file.stat().st_size if data_file.exists() else 0
        except OSError as e:
            raise StorageOpenError(f"cannot open {self._path}: {e}") from e
        size = max(map_size, existing)
        self._key = os.path.realpath(self._path)
        _register(self._key, self)
        try:
            self._open_env(size, len(names), max_readers, create, durable)
        except BaseException:
            _unregister(self._key, self)
            raise

    def _open_env(
        self, size: int, max_dbs: int, max_readers: int, create: bool, durable: bool
    ) -> None:
        try:
            self._env = lmdb.open(
                str(self._path),
                map_size=size,
                max_dbs=max_dbs,
                max_readers=max_readers,
                subdir=True,
                create=create,
                sync=durable,
                metasync=durable,
                readahead=False,
                lock=True,
            )
        except lmdb.Error as e:
            raise StorageOpenError(f"cannot open LMDB environment at {self._path}: {e}") from e
        try:
            self._dbs: dict[str, Any] = {}
            for name in self._columns:
                self._dbs[name] = self._open_db(name)
        except BaseException:
            self._env.close()
            raise

    def _open_db(self, name: str) -> Any:
        encoded = name.encode()
        while True:
            try:
                return self._env.open_db(encoded, create=True)
            except lmdb.MapFullError:
                self._grow()
            except lmdb.Error as e:
                raise StorageOpenError(f"cannot open column {name!r}: {e}") from e

    # -- KeyValueStore -------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[str, ...]:
        return self._columns

    @property
    def path(self) -> Path:
        return self._path

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def map_size(self) -> int:
        """The current LMDB map size in bytes (grows on demand)."""
        self._gate.enter_shared()
        try:
            self._check_open()
            return int(self._env.info()["map_size"])
        finally:
            self._gate.leave_shared()

    @property
    def resizes(self) -> int:
        """How many times this handle grew the map."""
        return self._resizes

    def get(self, column: str, key: bytes) -> bytes | None:
        db = self._db(column)
        key = check_key(key)
        gate = self._gate
        gate.enter_shared()
        try:
            if self._closed:
                raise StoreClosedError("store is closed")
            with self._env.begin(db=db, buffers=False) as txn:
                value: bytes | None = txn.get(key)
                return value
        except lmdb.Error as e:
            raise StorageBackendError(f"LMDB read failed: {e}") from e
        finally:
            gate.leave_shared()

    def contains(self, column: str, key: bytes) -> bool:
        return self.get(column, key) is not None

    def iter_prefix(
        self, column: str, prefix: bytes = b"", start: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        db = self._db(column)
        prefix = check_prefix(prefix)
        first = prefix if start is None else max(prefix, check_prefix(start))
        return self._iterate(db, prefix, first)

    def batch(self) -> WriteBatch:
        self._check_open()
        return WriteBatch(self)

    def close(self) -> None:
        """Close the environment once no read or write is in progress. Idempotent."""
        with self._write_lock:
            self._gate.enter_exclusive()
            try:
                if not self._closed:
                    self._closed = True
                    self._env.close()
                    _unregister(self._key, self)
            finally:
                self._gate.leave_exclusive()

    def __enter__(self) -> LmdbStore:
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
        return f"LmdbStore({str(self._path)!r}, {state})"

    # -- internals -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("store is closed")

    def _db(self, column: object) -> Any:
        try:
            return self._dbs[column]  # type: ignore[index]
        except (KeyError, TypeError):
            pass
        self._check_open()
        raise UnknownColumnError(f"unknown column {check_column_name(column)!r}")

    def _check_column(self, column: object) -> str:
        self._db(column)
        return column  # type: ignore[return-value]

    def _commit(self, ops: list[BatchOp]) -> None:
        """Apply ``ops`` in one write transaction, growing the map and retrying when full."""
        with self._write_lock:
            while True:
                self._check_open()
                try:
                    with self._env.begin(write=True) as txn:
                        dbs = self._dbs
                        for name, key, value in ops:
                            if value is None:
                                txn.delete(key, db=dbs[name])
                            else:
                                txn.put(key, value, db=dbs[name])
                    return
                except lmdb.MapFullError:
                    # The transaction was aborted by the context manager: nothing was written.
                    self._grow()
                except lmdb.Error as e:
                    raise StorageBackendError(f"LMDB write failed: {e}") from e

    def _grow(self) -> None:
        """Double the map size (called with no write transaction open in this process)."""
        self._gate.enter_exclusive()
        try:
            self._check_open()
            current = int(self._env.info()["map_size"])
            if current >= self._max_map_size:
                raise StorageFullError(
                    f"LMDB map is full at {current} bytes (max_map_size {self._max_map_size})"
                )
            new_size = min(current * 2, self._max_map_size)
            try:
                self._env.set_mapsize(new_size)
            except lmdb.Error as e:
                raise StorageFullError(f"cannot grow LMDB map to {new_size} bytes: {e}") from e
            self._resizes += 1
        finally:
            self._gate.leave_exclusive()

    def _chunk(
        self, db: Any, first: bytes, inclusive: bool, limit: int
    ) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        gate = self._gate
        gate.enter_shared()
        try:
            self._check_open()
            with self._env.begin(db=db, buffers=False) as txn:
                cursor = txn.cursor()
                if not first:
                    positioned = cursor.first()
                else:
                    positioned = cursor.set_range(first)
                if positioned and not inclusive and cursor.key() == first:
                    positioned = cursor.next()
                while positioned and len(out) < limit:
                    out.append((cursor.key(), cursor.value()))
                    positioned = cursor.next()
            return out
        except lmdb.Error as e:
            raise StorageBackendError(f"LMDB iteration failed: {e}") from e
        finally:
            gate.leave_shared()

    def _iterate(self, db: Any, prefix: bytes, first: bytes) -> Iterator[tuple[bytes, bytes]]:
        inclusive = True
        limit = FIRST_CHUNK
        while True:
            chunk = self._chunk(db, first, inclusive, limit)
            for key, value in chunk:
                if not key.startswith(prefix):
                    return
                yield key, value
            if len(chunk) < limit:
                return
            first, inclusive = chunk[-1][0], False
            limit = min(limit * 2, ITER_CHUNK)
