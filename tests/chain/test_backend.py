"""Tests of the trie state backend: ordered seek, incremental roots, nodes in the KV store."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.chain.backend import (
    IncrementalRoot,
    KvNodeStore,
    StateTrie,
    TrieBackend,
    new_block_ext,
)
from pychain.storage import DictBackend, MemoryStore
from pychain.trie import EMPTY_TRIE_ROOT, build_trie_nodes, trie_root
from tests.chain.conftest import BACKENDS, open_kv

keys = st.binary(min_size=0, max_size=4)
values = st.binary(min_size=0, max_size=40)
states = st.dictionaries(st.binary(min_size=1, max_size=4), values, max_size=30)


def _store_with(entries: dict[bytes, bytes], version: int = 1) -> tuple[KvNodeStore, bytes]:
    kv = MemoryStore()
    root, nodes = build_trie_nodes(entries, version)
    store = KvNodeStore(kv)
    store.put_batch(nodes)
    return store, root


@settings(max_examples=150, deadline=None)
@given(states, st.lists(keys, max_size=8))
def test_next_key_matches_sorted_keys(entries: dict[bytes, bytes], probes: list[bytes]) -> None:
    store, root = _store_with(entries)
    backend = TrieBackend(store, root)
    reference = DictBackend(entries)
    for probe in [*probes, *entries]:
        assert backend.next_storage_key(probe) == reference.next_storage_key(probe)
        assert backend.storage(probe) == reference.storage(probe)


@settings(max_examples=100, deadline=None)
@given(states, st.dictionaries(st.binary(min_size=1, max_size=4), st.none() | values, max_size=20))
def test_incremental_root_equals_from_scratch_root(
    entries: dict[bytes, bytes], changes: dict[bytes, bytes | None]
) -> None:
    store, root = _store_with(entries)
    merged = dict(entries)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    root_of = IncrementalRoot(store, root)
    assert root_of(changes, 1) == trie_root(merged, 1)
    commit = root_of.commit(dict(changes), 1)
    assert commit.root == trie_root(merged, 1)
    # The committed nodes plus the old ones hold the whole new state.
    store.put_batch(commit.nodes)
    assert dict(StateTrie(store, commit.root).items()) == merged


def test_next_key_of_empty_state_is_none() -> None:
    backend = TrieBackend(KvNodeStore(MemoryStore()), EMPTY_TRIE_ROOT)
    assert backend.next_storage_key(b"") is None
    assert backend.storage(b"a") is None


@pytest.mark.parametrize("kind", BACKENDS)
def test_block_ext_reads_parent_and_roots_incrementally(kind: str, tmp_path: Path) -> None:
    kv = open_kv(kind, tmp_path)
    entries = {b"alpha": b"1", b"beta": b"2" * 40, b"gamma": b"3"}
    root, nodes = build_trie_nodes(entries, 1)
    store = KvNodeStore(kv)
    store.put_batch(nodes)
    ext, root_of = new_block_ext(store, root)
    ext.storage_set(b"delta", b"4")
    ext.storage_clear(b"alpha")
    assert ext.storage_get(b"beta") == b"2" * 40
    assert ext.next_key(b"beta") == b"delta"
    expected = trie_root({b"beta": b"2" * 40, b"gamma": b"3", b"delta": b"4"}, 1)
    assert ext.storage_root(1) == expected
    commit = root_of.commit(ext.drain(), 1)
    assert commit.root == expected
    # Nothing reached the database until the caller writes the nodes.
    assert kv.get("trie_nodes", expected) is None
    kv.close()
