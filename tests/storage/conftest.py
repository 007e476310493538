"""Fixtures for the storage tests: the same store suite runs on LMDB and on its in-memory twin."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pychain.storage import DEFAULT_COLUMNS, KeyValueStore, LmdbStore, MemoryStore

BACKENDS = ("lmdb", "memory")


def open_store(kind: str, path: Path, columns: Sequence[str] = DEFAULT_COLUMNS) -> KeyValueStore:
    """Open a store of ``kind`` with ``columns`` (LMDB under ``path``; memory ignores it)."""
    if kind == "lmdb":
        # Tests need no fsync (only test_crash, which SIGKILLs a writer, turns it on).
        return LmdbStore(path / "db", columns, map_size=1 << 24, durable=False)
    assert kind == "memory"
    return MemoryStore(columns)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    """A fresh store, LMDB on a temp dir or the in-memory twin."""
    db = open_store(request.param, tmp_path)
    yield db
    db.close()
