"""Fixtures for the storage tests: the same store suite runs on LMDB and on its in-memory twin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pychain.storage import DEFAULT_COLUMNS, KeyValueStore, LmdbStore, MemoryStore

BACKENDS = ("lmdb", "memory")


def open_store(kind: str, path: Path, **kwargs: object) -> KeyValueStore:
    """Open a store of ``kind`` (LMDB under ``path``; memory ignores it)."""
    if kind == "lmdb":
        # Tests do not need fsync: a SIGKILL keeps the page cache; only test_crash turns it on.
        kwargs.setdefault("durable", False)
        kwargs.setdefault("map_size", 1 << 24)
        return LmdbStore(path / "db", DEFAULT_COLUMNS, **kwargs)  # type: ignore[arg-type]
    assert kind == "memory"
    return MemoryStore(DEFAULT_COLUMNS)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyValueStore]:
    """A fresh store, LMDB on a temp dir or the in-memory twin."""
    db = open_store(request.param, tmp_path)
    yield db
    db.close()
