"""OverlayedChanges: reads through to the backend, tombstones, nested transactions, ordered keys.

Expected behaviour from Substrate's ``sp_state_machine`` overlay tests
(``overlayed_changes/changeset.rs``: nested commit/rollback, ``clear_where``, ``next_key``).
"""

from __future__ import annotations

import pytest

from pychain.errors import PychainError
from pychain.storage import (
    DictBackend,
    FunctionBackend,
    MemoryStore,
    NoOpenTransactionError,
    OverlayedChanges,
    StorageTypeError,
    TransactionStillOpenError,
    UnknownColumnError,
)
from pychain.storage.overlay import KvColumnBackend


def _overlay() -> OverlayedChanges:
    return OverlayedChanges(DictBackend({b"a": b"A", b"b": b"B", b"c1": b"C1", b"c2": b"C2"}))


def test_get_falls_through_to_backend() -> None:
    ov = _overlay()
    assert ov.get(b"a") == b"A"
    assert ov.get(b"zz") is None
    assert len(ov) == 0


def test_set_overrides_backend_and_delete_is_tombstone() -> None:
    ov = _overlay()
    ov.set(b"a", b"A2")
    ov.delete(b"b")
    assert ov.get(b"a") == b"A2"
    assert ov.get(b"b") is None
    assert not ov.exists(b"b")
    assert ov.overlay_value(b"b") == (True, None)
    assert ov.overlay_value(b"c1") == (False, None)


def test_rollback_restores_previous_values() -> None:
    ov = _overlay()
    ov.set(b"a", b"base")
    ov.start_transaction()
    ov.set(b"a", b"t1")
    ov.set(b"new", b"t1")
    ov.delete(b"b")
    ov.rollback_transaction()
    assert ov.get(b"a") == b"base"
    assert ov.get(b"new") is None
    assert ov.get(b"b") == b"B"
    assert ov.drain() == {b"a": b"base"}


def test_nested_commit_then_outer_rollback_discards_all() -> None:
    ov = _overlay()
    ov.start_transaction()
    ov.set(b"a", b"t1")
    ov.start_transaction()
    ov.set(b"a", b"t2")
    ov.set(b"x", b"t2")
    ov.commit_transaction()
    assert ov.get(b"a") == b"t2" and ov.transaction_depth == 1
    ov.rollback_transaction()
    assert ov.get(b"a") == b"A"
    assert ov.get(b"x") is None
    assert ov.drain() == {}


def test_nested_rollback_keeps_outer_writes() -> None:
    ov = _overlay()
    ov.start_transaction()
    ov.set(b"a", b"t1")
    ov.start_transaction()
    ov.set(b"a", b"t2")
    ov.delete(b"c1")
    ov.rollback_transaction()
    assert ov.get(b"a") == b"t1"
    assert ov.get(b"c1") == b"C1"
    ov.commit_transaction()
    assert ov.drain() == {b"a": b"t1"}


def test_commit_skipping_a_layer_keeps_value() -> None:
    """A key written at depth 1 and 3 but not 2: commits fold it down correctly."""
    ov = _overlay()
    ov.start_transaction()
    ov.set(b"k", b"d1")
    ov.start_transaction()
    ov.start_transaction()
    ov.set(b"k", b"d3")
    ov.commit_transaction()  # 3 -> 2: no predecessor at depth 2, value moves down
    ov.rollback_transaction()  # drop depth 2: back to d1
    assert ov.get(b"k") == b"d1"
    ov.commit_transaction()
    assert ov.drain() == {b"k": b"d1"}


def test_commit_and_rollback_without_transaction_raise() -> None:
    ov = _overlay()
    with pytest.raises(NoOpenTransactionError):
        ov.commit_transaction()
    with pytest.raises(NoOpenTransactionError):
        ov.rollback_transaction()
    with pytest.raises(PychainError):
        ov.rollback_transaction()


def test_drain_with_open_transaction_raises_and_keeps_changes() -> None:
    ov = _overlay()
    ov.set(b"a", b"1")
    ov.start_transaction()
    with pytest.raises(TransactionStillOpenError):
        ov.drain()
    ov.commit_transaction()
    assert ov.drain() == {b"a": b"1"}
    assert ov.drain() == {}
    assert ov.get(b"a") == b"A"


def test_changes_are_key_ordered_and_include_tombstones() -> None:
    ov = _overlay()
    for key in (b"z", b"b", b"m", b"a"):
        ov.set(key, key)
    ov.delete(b"b")
    ov.start_transaction()
    ov.set(b"c", b"open")
    changes = ov.changes()
    assert list(changes) == [b"a", b"b", b"c", b"m", b"z"]
    assert changes[b"b"] is None and changes[b"c"] == b"open"


def test_next_key_merges_overlay_and_backend_skipping_tombstones() -> None:
    ov = _overlay()
    ov.delete(b"b")
    ov.set(b"bb", b"new")
    ov.delete(b"c1")
    ov.delete(b"never-existed")
    assert ov.next_key(b"") == b"a"
    assert ov.next_key(b"a") == b"bb"
    assert ov.next_key(b"bb") == b"c2"
    assert ov.next_key(b"c2") is None
    assert [k for k, _ in ov.iter_prefix()] == [b"a", b"bb", b"c2"]


def test_iter_prefix_includes_prefix_key_itself() -> None:
    ov = _overlay()
    ov.set(b"c", b"C")
    assert list(ov.iter_prefix(b"c")) == [(b"c", b"C"), (b"c1", b"C1"), (b"c2", b"C2")]


def test_next_key_after_rollback_forgets_removed_keys() -> None:
    ov = _overlay()
    ov.start_transaction()
    ov.set(b"aa", b"1")
    assert ov.next_key(b"a") == b"aa"
    ov.rollback_transaction()
    assert ov.next_key(b"a") == b"b"
    ov.set(b"aa", b"2")  # written again after removal: listed once
    assert [k for k, _ in ov.iter_prefix(b"a")] == [b"a", b"aa"]
    assert list(ov.changes()) == [b"aa"]


def test_many_new_keys_between_ordered_reads() -> None:
    """More than the insort threshold of new keys triggers a full merge; order stays exact."""
    ov = OverlayedChanges()
    ov.start_transaction()
    for i in range(0, 300, 2):
        ov.set(i.to_bytes(2, "big"), b"v")
    ov.next_key(b"")
    ov.rollback_transaction()
    for i in range(299, -1, -3):
        ov.set(i.to_bytes(2, "big"), b"w")
    assert [int.from_bytes(k, "big") for k, _ in ov.iter_prefix()] == list(range(2, 300, 3))


def test_clear_prefix_removes_overlay_and_backend_keys() -> None:
    ov = _overlay()
    ov.set(b"c3", b"C3")
    ov.set(b"d", b"D")
    result = ov.clear_prefix(b"c")
    assert result.maybe_cursor is None
    assert (result.backend, result.unique, result.loops) == (2, 3, 2)
    assert [k for k, _ in ov.iter_prefix()] == [b"a", b"b", b"d"]


def test_clear_prefix_with_limit_returns_cursor_and_resumes() -> None:
    backend = DictBackend({b"p%02d" % i: b"v" for i in range(10)} | {b"q": b"v"})
    ov = OverlayedChanges(backend)
    first = ov.clear_prefix(b"p", limit=4)
    assert first.maybe_cursor == b"p04"
    assert (first.backend, first.loops) == (4, 4)
    assert ov.next_key(b"p") == b"p04"
    second = ov.clear_prefix(b"p", limit=100, maybe_cursor=first.maybe_cursor)
    assert second.maybe_cursor is None
    assert (second.backend, second.loops) == (6, 6)
    assert [k for k, _ in ov.iter_prefix()] == [b"q"]


def test_clear_prefix_rolled_back_restores_keys() -> None:
    ov = _overlay()
    ov.start_transaction()
    ov.clear_prefix(b"c")
    assert ov.get(b"c1") is None
    ov.rollback_transaction()
    assert ov.get(b"c1") == b"C1" and ov.get(b"c2") == b"C2"


@pytest.mark.parametrize("bad", ["key", 1, None, bytearray(b"k")])
def test_non_bytes_key_raises_type_error(bad: object) -> None:
    ov = _overlay()
    with pytest.raises(StorageTypeError):
        ov.get(bad)  # type: ignore[arg-type]
    with pytest.raises(StorageTypeError):
        ov.set(bad, b"v")  # type: ignore[arg-type]
    with pytest.raises(StorageTypeError):
        ov.next_key(bad)  # type: ignore[arg-type]
    with pytest.raises(StorageTypeError):
        ov.iter_prefix(bad)  # type: ignore[arg-type]


def test_non_bytes_value_or_bad_limit_raises_type_error() -> None:
    ov = _overlay()
    with pytest.raises(StorageTypeError):
        ov.set(b"k", "v")  # type: ignore[arg-type]
    with pytest.raises(StorageTypeError):
        ov.clear_prefix(b"c", limit=-1)
    assert ov.get(b"k") is None and ov.get(b"c1") == b"C1"


def test_bad_backend_raises_type_error() -> None:
    with pytest.raises(StorageTypeError):
        OverlayedChanges(object())  # type: ignore[arg-type]
    with pytest.raises(StorageTypeError):
        DictBackend({"a": b"b"})  # type: ignore[dict-item]


def test_function_backend_reads_through() -> None:
    data = {b"k1": b"1", b"k2": b"2"}
    keys = sorted(data)
    backend = FunctionBackend(data.get, lambda k: next((x for x in keys if x > k), None))
    ov = OverlayedChanges(backend)
    ov.delete(b"k1")
    assert [k for k, _ in ov.iter_prefix(b"k")] == [b"k2"]


def test_kv_column_backend_reads_a_store_column() -> None:
    store = MemoryStore()
    with store.batch() as b:
        b.put("trie_nodes", b"x1", b"1")
        b.put("trie_nodes", b"x2", b"2")
    ov = OverlayedChanges(KvColumnBackend(store, "trie_nodes"))
    ov.set(b"x15", b"15")
    assert list(ov.iter_prefix(b"x")) == [(b"x1", b"1"), (b"x15", b"15"), (b"x2", b"2")]
    assert ov.get(b"") is None  # a key the store cannot hold is simply absent
    with pytest.raises(UnknownColumnError):
        KvColumnBackend(store, "state")
    with pytest.raises(StorageTypeError):
        KvColumnBackend({}, "trie_nodes")  # type: ignore[arg-type]
