"""The KeyValueStore contract, run against both LmdbStore and MemoryStore (the twin test).

Counterpart: the shared ``kvdb-shared-tests`` suite that Substrate's kvdb backends all pass.
"""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pychain.errors import PychainError
from pychain.storage import (
    COL_BLOBS,
    COL_HEADERS,
    COL_META,
    COL_TRIE_NODES,
    MAX_KEY_SIZE,
    BatchClosedError,
    InvalidKeyError,
    KeyValueStore,
    LmdbStore,
    MemoryStore,
    StorageError,
    StorageTypeError,
    StoreClosedError,
    UnknownColumnError,
)
from pychain.storage.kv import ITER_CHUNK


class _Boom(Exception):
    pass


def test_store_implements_protocol_both_backends(store: KeyValueStore) -> None:
    assert isinstance(store, KeyValueStore)
    assert COL_HEADERS in store.columns and COL_META in store.columns


def test_get_missing_key_returns_none(store: KeyValueStore) -> None:
    assert store.get(COL_HEADERS, b"nope") is None
    assert not store.contains(COL_HEADERS, b"nope")


def test_batch_put_then_get_returns_value(store: KeyValueStore) -> None:
    with store.batch() as b:
        b.put(COL_HEADERS, b"h1", b"header-1")
        b.put(COL_META, b"best", b"\x01\x02")
        b.put(COL_BLOBS, b"empty", b"")
    assert store.get(COL_HEADERS, b"h1") == b"header-1"
    assert store.get(COL_META, b"best") == b"\x01\x02"
    assert store.get(COL_BLOBS, b"empty") == b""
    assert store.contains(COL_BLOBS, b"empty")


def test_columns_are_separate_namespaces(store: KeyValueStore) -> None:
    with store.batch() as b:
        b.put(COL_HEADERS, b"k", b"in headers")
    assert store.get(COL_META, b"k") is None
    assert store.get(COL_HEADERS, b"k") == b"in headers"


def test_batch_invisible_until_commit(store: KeyValueStore) -> None:
    with store.batch() as b:
        b.put(COL_META, b"x", b"1")
        assert store.get(COL_META, b"x") is None
    assert store.get(COL_META, b"x") == b"1"


def test_batch_raising_writes_nothing(store: KeyValueStore) -> None:
    with store.batch() as b:
        b.put(COL_META, b"keep", b"old")
    with pytest.raises(_Boom):
        with store.batch() as b:
            b.put(COL_META, b"keep", b"new")
            b.put(COL_META, b"other", b"v")
            b.delete(COL_META, b"keep")
            raise _Boom
    assert store.get(COL_META, b"keep") == b"old"
    assert store.get(COL_META, b"other") is None


def test_batch_ops_apply_in_order(store: KeyValueStore) -> None:
    with store.batch() as b:
        b.put(COL_META, b"a", b"1")
        b.delete(COL_META, b"a")
        b.put(COL_META, b"b", b"1")
        b.put(COL_META, b"b", b"2")
        b.delete(COL_META, b"missing")
    assert store.get(COL_META, b"a") is None
    assert store.get(COL_META, b"b") == b"2"


def test_batch_used_after_exit_raises(store: KeyValueStore) -> None:
    with store.batch() as b:
        b.put(COL_META, b"a", b"1")
    with pytest.raises(BatchClosedError):
        b.put(COL_META, b"b", b"2")
    with pytest.raises(BatchClosedError):
        b.delete(COL_META, b"a")
    assert store.get(COL_META, b"b") is None


def test_unknown_column_raises_typed_error(store: KeyValueStore) -> None:
    with pytest.raises(UnknownColumnError, match="nope"):
        store.get("nope", b"k")
    with pytest.raises(UnknownColumnError):
        store.iter_prefix("nope")
    with store.batch() as b, pytest.raises(UnknownColumnError):
        b.put("nope", b"k", b"v")


@pytest.mark.parametrize("bad", [None, 3, b"headers", ["headers"]])
def test_non_str_column_raises_type_error(store: KeyValueStore, bad: object) -> None:
    with pytest.raises(StorageTypeError):
        store.get(bad, b"k")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["key", 5, None, 1.5])
def test_non_bytes_key_raises_type_error(store: KeyValueStore, bad: object) -> None:
    with pytest.raises(StorageTypeError):
        store.get(COL_META, bad)  # type: ignore[arg-type]
    with store.batch() as b, pytest.raises(StorageTypeError):
        b.put(COL_META, bad, b"v")  # type: ignore[arg-type]


def test_non_bytes_value_raises_type_error(store: KeyValueStore) -> None:
    with store.batch() as b, pytest.raises(StorageTypeError):
        b.put(COL_META, b"k", "text")  # type: ignore[arg-type]
    assert store.get(COL_META, b"k") is None


@pytest.mark.parametrize("size", [0, MAX_KEY_SIZE + 1, 4096])
def test_bad_key_length_raises_invalid_key(store: KeyValueStore, size: int) -> None:
    with pytest.raises(InvalidKeyError):
        store.get(COL_META, b"k" * size)
    with store.batch() as b, pytest.raises(InvalidKeyError):
        b.put(COL_META, b"k" * size, b"v")


def test_max_key_size_accepted(store: KeyValueStore) -> None:
    key = b"\xff" * MAX_KEY_SIZE
    with store.batch() as b:
        b.put(COL_META, key, b"v")
    assert store.get(COL_META, key) == b"v"


def test_buffer_keys_and_values_are_copied(store: KeyValueStore) -> None:
    value = bytearray(b"abc")
    with store.batch() as b:
        b.put(COL_META, bytearray(b"k"), value)  # type: ignore[arg-type]
        value[0] = ord("z")
    assert store.get(COL_META, memoryview(b"k")) == b"abc"  # type: ignore[arg-type]


def test_errors_share_pychain_root(store: KeyValueStore) -> None:
    with pytest.raises(PychainError):
        store.get("nope", b"k")
    assert issubclass(StorageError, PychainError)


def test_iter_prefix_sorted_and_bounded(store: KeyValueStore) -> None:
    keys = [b"a", b"ab", b"abc", b"ab\x00", b"ac", b"b", b"\x00", b"a\xff"]
    with store.batch() as b:
        for k in keys:
            b.put(COL_HEADERS, k, k * 2)
    got = list(store.iter_prefix(COL_HEADERS, b"ab"))
    assert got == [(b"ab", b"abab"), (b"ab\x00", b"ab\x00ab\x00"), (b"abc", b"abcabc")]
    assert [k for k, _ in store.iter_prefix(COL_HEADERS)] == sorted(keys)
    assert list(store.iter_prefix(COL_HEADERS, b"zz")) == []


def test_iter_prefix_start_skips_lower_keys(store: KeyValueStore) -> None:
    with store.batch() as b:
        for i in range(10):
            b.put(COL_HEADERS, b"p%d" % i, b"v")
        b.put(COL_HEADERS, b"q0", b"v")
    got = [k for k, _ in store.iter_prefix(COL_HEADERS, b"p", start=b"p5")]
    assert got == [b"p5", b"p6", b"p7", b"p8", b"p9"]
    # a start below the prefix begins at the prefix; one above all keys yields nothing
    assert len(list(store.iter_prefix(COL_HEADERS, b"p", start=b"a"))) == 10
    assert list(store.iter_prefix(COL_HEADERS, b"p", start=b"p99")) == []


def test_iter_prefix_spans_many_chunks(store: KeyValueStore) -> None:
    n = ITER_CHUNK * 3 + 7
    with store.batch() as b:
        for i in range(n):
            b.put(COL_TRIE_NODES, i.to_bytes(4, "big"), i.to_bytes(4, "little"))
        b.put(COL_TRIE_NODES, b"\xff\xff\xff\xff\x00", b"outside")
    got = list(store.iter_prefix(COL_TRIE_NODES, b"\x00\x00"))
    assert [int.from_bytes(k, "big") for k, _ in got] == list(range(n))
    assert all(int.from_bytes(v, "little") == int.from_bytes(k, "big") for k, v in got)


def test_iter_prefix_sees_no_duplicate_when_writing_during_iteration(
    store: KeyValueStore,
) -> None:
    with store.batch() as b:
        for i in range(ITER_CHUNK * 2):
            b.put(COL_TRIE_NODES, b"k%05d" % i, b"v")
    seen = []
    for key, _ in store.iter_prefix(COL_TRIE_NODES, b"k"):
        seen.append(key)
        if len(seen) == 10:
            with store.batch() as b:
                b.put(COL_TRIE_NODES, b"k00000x", b"late, before the cursor")
                b.delete(COL_TRIE_NODES, b"k00300")
    assert seen == sorted(set(seen))
    assert b"k00000x" not in seen  # it sits before the cursor: not yielded
    assert b"k00300" not in seen  # deleted before its chunk was read


def test_iterator_abandoned_does_not_block_writes(store: KeyValueStore) -> None:
    with store.batch() as b:
        for i in range(ITER_CHUNK + 5):
            b.put(COL_TRIE_NODES, b"k%05d" % i, b"v")
    it = store.iter_prefix(COL_TRIE_NODES)
    next(it)
    with store.batch() as b:
        b.put(COL_TRIE_NODES, b"new", b"v")
    assert store.get(COL_TRIE_NODES, b"new") == b"v"


def test_close_then_use_raises_store_closed(store: KeyValueStore) -> None:
    with store.batch() as b:
        b.put(COL_META, b"a", b"1")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreClosedError):
        store.get(COL_META, b"a")
    with pytest.raises(StoreClosedError):
        store.batch()
    with pytest.raises(StoreClosedError):
        list(store.iter_prefix(COL_META))
    with pytest.raises(StoreClosedError):
        store.get("nope", b"a")


def test_batch_committed_after_close_raises(store: KeyValueStore) -> None:
    b = store.batch()
    with pytest.raises(StoreClosedError):
        with b:
            b.put(COL_META, b"a", b"1")
            store.close()


def test_concurrent_readers_see_whole_values(store: KeyValueStore) -> None:
    """Readers in several threads while one thread writes: every read is a committed value."""
    key = b"counter"
    with store.batch() as b:
        b.put(COL_META, key, b"0" * 64)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                value = store.get(COL_META, key)
                assert value is not None and len(value) == 64 and len(set(value)) == 1
                time.sleep(0.0001)  # let the writer thread have the GIL
        except BaseException as e:  # noqa: BLE001 - reported to the main thread
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(200):
        with store.batch() as b:
            b.put(COL_META, key, bytes([48 + i % 10]) * 64)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert store.get(COL_META, key) == bytes([48 + 199 % 10]) * 64


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.lists(
            st.tuples(
                st.binary(min_size=1, max_size=3),
                st.one_of(st.none(), st.binary(max_size=4)),
            ),
            max_size=8,
        ),
        max_size=6,
    )
)
def test_backends_agree_on_random_batches(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[tuple[bytes, bytes | None]]]
) -> None:
    """The twin and LMDB end in the same state after the same batches (and a dict model)."""
    lm = LmdbStore(tmp_path_factory.mktemp("db"), map_size=1 << 20, durable=False)
    mem = MemoryStore()
    model: dict[bytes, bytes] = {}
    try:
        for ops in batches:
            for db in (lm, mem):
                with db.batch() as b:
                    for key, value in ops:
                        if value is None:
                            b.delete(COL_BLOBS, key)
                        else:
                            b.put(COL_BLOBS, key, value)
            for key, value in ops:
                if value is None:
                    model.pop(key, None)
                else:
                    model[key] = value
        expected = sorted(model.items())
        assert list(lm.iter_prefix(COL_BLOBS)) == expected
        assert list(mem.iter_prefix(COL_BLOBS)) == expected
    finally:
        lm.close()
