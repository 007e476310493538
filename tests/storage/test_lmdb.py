"""LMDB-specific behaviour: persistence across reopen, map growth on MDB_MAP_FULL, open errors.

RELIABILITY.md: "a full map (MDB_MAP_FULL) made every restart fail until the map was grown —
test it"; NETWORKING.md: "never reopen with a smaller map size".
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pychain.storage import (
    COL_BLOBS,
    COL_HEADERS,
    COL_META,
    LmdbStore,
    StorageFullError,
    StorageOpenError,
    StorageTypeError,
    UnknownColumnError,
)

SMALL_MAP = 64 * 1024


def test_reopen_keeps_committed_data(tmp_path: Path) -> None:
    with LmdbStore(tmp_path / "db", map_size=1 << 20) as db:
        with db.batch() as b:
            b.put(COL_HEADERS, b"h", b"header")
            b.put(COL_META, b"best", b"h")
    with LmdbStore(tmp_path / "db", map_size=1 << 20) as db:
        assert db.get(COL_HEADERS, b"h") == b"header"
        assert db.get(COL_META, b"best") == b"h"


def test_reopen_with_extra_column_keeps_old_columns(tmp_path: Path) -> None:
    with LmdbStore(tmp_path / "db", ["a"], map_size=1 << 20) as db:
        with db.batch() as b:
            b.put("a", b"k", b"v")
    with LmdbStore(tmp_path / "db", ["a", "b"], map_size=1 << 20) as db:
        assert db.get("a", b"k") == b"v"
        assert db.get("b", b"k") is None
        assert db.columns == ("a", "b")


def test_map_full_grows_transparently_in_one_big_batch(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 8  # 2 KiB
    with LmdbStore(tmp_path / "db", map_size=SMALL_MAP, durable=False) as db:
        before = db.map_size
        with db.batch() as b:
            for i in range(1000):  # ~2 MiB: 30x the initial map
                b.put(COL_BLOBS, i.to_bytes(4, "big"), payload + i.to_bytes(4, "big"))
        assert db.map_size > before * 16
        assert db.resizes >= 4
        assert db.get(COL_BLOBS, (999).to_bytes(4, "big")) == payload + (999).to_bytes(4, "big")
    # Reopen with the same tiny map size: the map is not shrunk below the data, all is there,
    # and further writes grow it again instead of failing (the MDB_MAP_FULL restart bug).
    with LmdbStore(tmp_path / "db", map_size=SMALL_MAP, durable=False) as db:
        assert db.map_size >= (tmp_path / "db" / "data.mdb").stat().st_size
        got = list(db.iter_prefix(COL_BLOBS))
        assert len(got) == 1000
        assert all(v == payload + k for k, v in got)
        with db.batch() as b:
            for i in range(1000, 1500):
                b.put(COL_BLOBS, i.to_bytes(4, "big"), payload)
        assert db.get(COL_BLOBS, (1499).to_bytes(4, "big")) == payload


def test_map_full_at_max_size_raises_storage_full_and_writes_nothing(tmp_path: Path) -> None:
    with LmdbStore(
        tmp_path / "db", map_size=SMALL_MAP, max_map_size=SMALL_MAP * 4, durable=False
    ) as db:
        with db.batch() as b:
            b.put(COL_META, b"before", b"1")
        with pytest.raises(StorageFullError):
            with db.batch() as b:
                b.put(COL_META, b"partial", b"x")
                b.put(COL_BLOBS, b"big", b"\x00" * (SMALL_MAP * 8))
        assert db.get(COL_META, b"partial") is None
        assert db.get(COL_BLOBS, b"big") is None
        assert db.get(COL_META, b"before") == b"1"
        with db.batch() as b:  # still usable afterwards
            b.put(COL_META, b"after", b"2")
        assert db.get(COL_META, b"after") == b"2"


def test_readers_during_map_growth_never_fail(tmp_path: Path) -> None:
    """Reads from other threads while a writer grows the map (set_mapsize needs no open txn)."""
    errors: list[BaseException] = []
    reads = [0, 0, 0]
    stop = threading.Event()
    with LmdbStore(tmp_path / "db", map_size=SMALL_MAP, durable=False) as db:
        with db.batch() as b:
            b.put(COL_META, b"fixed", b"F" * 100)

        def reader(me: int) -> None:
            try:
                while not stop.is_set():
                    assert db.get(COL_META, b"fixed") == b"F" * 100
                    reads[me] += 1
                    for _ in db.iter_prefix(COL_BLOBS, b"\x00"):
                        pass
                    time.sleep(0.0002)  # let the writer thread have the GIL
            except BaseException as e:  # noqa: BLE001 - reported to the main thread
                errors.append(e)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 10
            while min(reads) == 0 and time.monotonic() < deadline:
                time.sleep(0.001)  # every reader is running before the writes start
            for n in range(40):
                with db.batch() as b:
                    for i in range(25):
                        b.put(COL_BLOBS, bytes([n, i]), b"\x07" * 1024)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert db.resizes >= 3
        assert errors == []
        assert min(reads) > 0
        assert len(list(db.iter_prefix(COL_BLOBS))) == 1000


def test_open_on_a_file_raises_open_error(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_bytes(b"not a database")
    with pytest.raises(StorageOpenError):
        LmdbStore(f)


def test_open_missing_without_create_raises_open_error(tmp_path: Path) -> None:
    with pytest.raises(StorageOpenError):
        LmdbStore(tmp_path / "absent", create=False)


def test_open_corrupt_data_file_raises_open_error(tmp_path: Path) -> None:
    d = tmp_path / "db"
    d.mkdir()
    (d / "data.mdb").write_bytes(b"\x13" * 20000)
    with pytest.raises(StorageOpenError):
        LmdbStore(d, map_size=1 << 20)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"map_size": 0}, StorageOpenError),
        ({"map_size": "1G"}, StorageTypeError),
        ({"max_readers": -1}, StorageOpenError),
        ({"columns": ["a", "a"]}, UnknownColumnError),
        ({"columns": [1]}, StorageTypeError),
    ],
)
def test_bad_open_arguments_raise_typed_errors(
    tmp_path: Path, kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        LmdbStore(tmp_path / "db", **kwargs)  # type: ignore[arg-type]


def test_bad_path_type_raises_type_error() -> None:
    with pytest.raises(StorageTypeError):
        LmdbStore(42)  # type: ignore[arg-type]


def test_default_map_size_is_large_and_durable(tmp_path: Path) -> None:
    with LmdbStore(tmp_path / "db") as db:
        assert db.map_size >= 1 << 30
        assert db._env.flags()["sync"] and db._env.flags()["metasync"]


def test_second_open_in_same_process_raises_until_closed(tmp_path: Path) -> None:
    first = LmdbStore(tmp_path / "db", map_size=1 << 20)
    with pytest.raises(StorageOpenError, match="already open"):
        LmdbStore(tmp_path / "db" / ".." / "db", map_size=1 << 20)
    first.close()
    with LmdbStore(tmp_path / "db", map_size=1 << 20) as again:
        assert again.get(COL_META, b"k") is None


def test_non_bool_durable_raises_type_error(tmp_path: Path) -> None:
    with pytest.raises(StorageTypeError):
        LmdbStore(tmp_path / "db", durable="yes")  # type: ignore[arg-type]
    with LmdbStore(tmp_path / "db", map_size=1 << 20) as db:  # the failed open left no lock
        assert not db.closed
