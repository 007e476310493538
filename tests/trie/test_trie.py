"""Incremental trie: agreement with from-scratch roots, canonical deletes, commit and reopen."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.trie import (
    EMPTY_TRIE_ROOT,
    MemoryNodeStore,
    MissingNode,
    NodeStore,
    Trie,
    TrieError,
    build_trie_nodes,
    trie_root,
)
from tests.trie.helpers import ENTRIES, KEYS, VALUES

VERSIONS = st.sampled_from([0, 1])
OPS = st.lists(st.tuples(KEYS, st.one_of(st.none(), VALUES)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(ENTRIES, VERSIONS, st.randoms(use_true_random=False))
def test_trie_inserts_in_any_order_match_from_scratch_root(
    entries: dict[bytes, bytes], version: int, rnd: object
) -> None:
    order = list(entries.items())
    rnd.shuffle(order)  # type: ignore[attr-defined]
    trie = Trie(state_version=version)
    for key, value in order:
        trie.insert(key, value)
    assert trie.root() == trie_root(entries, version)
    assert dict(trie.items()) == entries
    for key, value in entries.items():
        assert trie.get(key) == value


@settings(max_examples=200, deadline=None)
@given(ENTRIES, OPS, VERSIONS)
def test_trie_random_insert_delete_sequence_matches_from_scratch(
    initial: dict[bytes, bytes], ops: list[tuple[bytes, bytes | None]], version: int
) -> None:
    trie = Trie.from_entries(initial, state_version=version)
    model = dict(initial)
    for i, (key, value) in enumerate(ops):
        if value is None:
            assert trie.delete(key) == (key in model)
            model.pop(key, None)
        else:
            trie.insert(key, value)
            model[key] = value
        if i % 3 == 0:
            assert trie.root() == trie_root(model, version)
        if i % 7 == 0:  # persist and continue from the store, as block import does
            commit = trie.commit()
            trie = Trie(trie.store, commit.root, version)
    assert trie.root() == trie_root(model, version)
    assert dict(trie.items()) == model


@settings(max_examples=200, deadline=None)
@given(ENTRIES, ENTRIES, VERSIONS)
def test_trie_deleting_inserted_keys_restores_previous_root(
    base: dict[bytes, bytes], extra: dict[bytes, bytes], version: int
) -> None:
    new_keys = {k: v for k, v in extra.items() if k not in base}
    trie = Trie.from_entries(base, state_version=version)
    before = trie.root()
    trie.update(new_keys)
    if new_keys:
        assert trie.root() != before
    for key in reversed(list(new_keys)):
        assert trie.delete(key)
    assert trie.root() == before == trie_root(base, version)


@settings(max_examples=150, deadline=None)
@given(ENTRIES, st.dictionaries(KEYS, st.one_of(st.none(), VALUES), max_size=12), VERSIONS)
def test_trie_batched_update_then_one_root_matches_model(
    base: dict[bytes, bytes], changes: dict[bytes, bytes | None], version: int
) -> None:
    store = MemoryNodeStore()
    trie = Trie.from_entries(base, store, version)
    trie.update(changes)
    model = dict(base)
    for key, value in changes.items():
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value
    commit = trie.commit()
    assert commit.root == trie_root(model, version)
    # The committed nodes alone, over the old ones, are enough to read the new state back.
    assert dict(Trie(store, commit.root, version).items()) == model


@settings(max_examples=100, deadline=None)
@given(ENTRIES)
def test_trie_v1_root_differs_from_v0_exactly_when_a_value_is_33_bytes_or_more(
    entries: dict[bytes, bytes],
) -> None:
    has_long = any(len(v) >= 33 for v in entries.values())
    assert (trie_root(entries, 0) != trie_root(entries, 1)) == has_long
    trie0, trie1 = Trie(state_version=0), Trie(state_version=1)
    trie0.update(entries)
    trie1.update(entries)
    assert (trie0.root() != trie1.root()) == has_long


def test_commit_returns_only_new_nodes_and_writes_them() -> None:
    entries = {bytes([i, j]): bytes([i]) * 40 for i in range(8) for j in range(8)}
    store = MemoryNodeStore()
    trie = Trie.from_entries(entries, store, 1)
    size_before = len(store)
    trie.insert(bytes([3, 3]), b"changed")
    commit = trie.commit()
    assert commit.root == trie_root({**entries, bytes([3, 3]): b"changed"}, 1)
    assert commit.root in commit.nodes
    # Only the path to the changed key is new: root branch and the branch under nibble 0x0.
    assert 1 <= len(commit.nodes) <= 3
    assert len(store) == size_before + len(commit.nodes)
    assert trie.commit().nodes == {commit.root: commit.nodes[commit.root]}
    assert trie.commit(persist=False).root == commit.root


def test_commit_includes_v1_value_nodes_of_new_values() -> None:
    trie = Trie(state_version=1)
    long_value = b"v" * 33
    trie.insert(b"key", long_value)
    trie.insert(b"short", b"s")
    commit = trie.commit()
    assert long_value in commit.nodes.values()
    reopened = Trie(trie.store, commit.root, 1)
    assert reopened.get(b"key") == long_value


def test_trie_over_missing_root_raises_missing_node() -> None:
    with pytest.raises(MissingNode) as info:
        Trie(MemoryNodeStore(), b"\x11" * 32)
    assert info.value.node_hash == b"\x11" * 32


def test_trie_missing_child_node_raises_missing_node_on_access() -> None:
    entries = {bytes([i]) * 4: bytes([i]) * 40 for i in range(16)}
    root, nodes = build_trie_nodes(entries)
    child_hashes = [h for h in nodes if h != root]
    store = MemoryNodeStore({h: e for h, e in nodes.items() if h != child_hashes[0]})
    trie = Trie(store, root)
    with pytest.raises(MissingNode):
        dict(trie.items())


def test_trie_missing_value_node_raises_missing_node() -> None:
    root, nodes = build_trie_nodes({b"k": b"x" * 50}, 1)
    store = MemoryNodeStore({root: nodes[root]})
    trie = Trie(store, root, 1)
    with pytest.raises(MissingNode):
        trie.get(b"k")


def test_v0_nodes_reencode_as_v1_only_when_touched() -> None:
    entries = {b"a": b"1" * 40, b"b": b"2" * 40}
    store = MemoryNodeStore()
    v0 = Trie.from_entries(entries, store, 0)
    migrated = Trie(store, v0.root(), state_version=1)
    assert migrated.root() == trie_root(entries, 0)  # untouched nodes keep their V0 encoding
    migrated.insert(b"a", b"1" * 40)  # same value: nothing changes
    assert migrated.root() == trie_root(entries, 0)
    migrated.insert(b"a", b"3" * 40)
    migrated.insert(b"b", b"4" * 40)
    assert migrated.root() == trie_root({b"a": b"3" * 40, b"b": b"4" * 40}, 1)


def test_v1_hashed_values_reencode_inline_in_v0_trie() -> None:
    entries = {b"a": b"1" * 40, b"ab": b"2"}
    store = MemoryNodeStore()
    v1 = Trie.from_entries(entries, store, 1)
    back = Trie(store, v1.root(), state_version=0)
    back.insert(b"ab", b"3")  # the branch at "a" with its hashed value is re-encoded in V0
    assert back.root() == trie_root({b"a": b"1" * 40, b"ab": b"3"}, 0)


def test_empty_value_is_stored_and_distinct_from_absent() -> None:
    trie = Trie()
    trie.insert(b"k", b"")
    assert trie.get(b"k") == b""
    assert b"k" in trie
    assert trie.root() == trie_root({b"k": b""}) != EMPTY_TRIE_ROOT
    assert trie.delete(b"k")
    assert not trie.delete(b"k")
    assert trie.root() == EMPTY_TRIE_ROOT


def test_items_with_prefix_returns_sorted_matching_entries() -> None:
    entries = {b"\x01\x02": b"a", b"\x01\x02\x03": b"b", b"\x01\x03": b"c", b"\x02": b"d"}
    trie = Trie.from_entries(entries)
    assert list(trie.items(b"\x01\x02")) == [(b"\x01\x02", b"a"), (b"\x01\x02\x03", b"b")]
    assert [k for k, _ in trie.items(b"\x01")] == [b"\x01\x02", b"\x01\x02\x03", b"\x01\x03"]
    assert list(trie.items(b"\x03")) == []
    assert [k for k, _ in trie.items()] == sorted(entries)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.insert("key", b"v"),
        lambda t: t.insert(b"key", 5),
        lambda t: t.get(None),
        lambda t: t.delete(1.5),
    ],
)
def test_trie_non_bytes_arguments_raise_trie_error(call: object) -> None:
    with pytest.raises(TrieError):
        call(Trie())  # type: ignore[operator]


def test_trie_bad_root_or_version_raises_trie_error() -> None:
    with pytest.raises(TrieError):
        Trie(root=b"\x00" * 31)
    with pytest.raises(TrieError):
        Trie(state_version=2)
    with pytest.raises(TrieError):
        trie_root([(b"k",)])  # type: ignore[list-item]


def test_memory_node_store_satisfies_protocol() -> None:
    store = MemoryNodeStore()
    assert isinstance(store, NodeStore)
    store.put_batch({b"h" * 32: b"node"})
    assert store.get(b"h" * 32) == b"node" and store.get(b"x" * 32) is None
    assert len(store) == 1 and b"h" * 32 in store


def test_keys_nested_beyond_recursion_limit_raise_trie_error() -> None:
    chain = {b"\x01" * i: b"v" for i in range(1, 400)}  # each key a prefix of the next
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)  # a lower limit keeps the deep chain (and the test) small
    try:
        with pytest.raises(TrieError, match="too deeply"):
            trie_root(chain)
        trie = Trie()
        with pytest.raises(TrieError, match="too deeply"):
            for key, value in chain.items():
                trie.insert(key, value)
            trie.root()
    finally:
        sys.setrecursionlimit(limit)
