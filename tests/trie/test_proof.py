"""Read proofs: generated proofs verify; missing, truncated or altered nodes are rejected."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.primitives.hashing import blake2_256
from pychain.trie import (
    EMPTY_TRIE_ROOT,
    InvalidProof,
    MemoryNodeStore,
    MissingNode,
    Trie,
    TrieError,
    build_trie_nodes,
    generate_proof,
    verify_proof,
)
from tests.trie.helpers import ENTRIES, KEYS, load_chainspec_top

VERSIONS = st.sampled_from([0, 1])
QUERIES = st.lists(KEYS, min_size=1, max_size=6)


def _proved(
    entries: dict[bytes, bytes], version: int, keys: list[bytes]
) -> tuple[bytes, list[bytes]]:
    root, nodes = build_trie_nodes(entries, version)
    return root, generate_proof(MemoryNodeStore(nodes), root, keys)


@settings(max_examples=200, deadline=None)
@given(ENTRIES, QUERIES, VERSIONS)
def test_proof_verifies_values_and_absences(
    entries: dict[bytes, bytes], queries: list[bytes], version: int
) -> None:
    keys = queries + list(entries)[:3]
    root, proof = _proved(entries, version, keys)
    assert proof == sorted(set(proof))
    result = verify_proof(root, proof, keys, allow_extra=False)
    assert result == {k: entries.get(k) for k in keys}


@settings(max_examples=150, deadline=None)
@given(ENTRIES, QUERIES, VERSIONS, st.data())
def test_proof_with_any_node_removed_or_altered_is_rejected(
    entries: dict[bytes, bytes], queries: list[bytes], version: int, data: st.DataObject
) -> None:
    keys = queries + list(entries)[:3]
    root, proof = _proved(entries, version, keys)
    if not proof:
        assert root == EMPTY_TRIE_ROOT
        return
    victim = data.draw(st.integers(0, len(proof) - 1), label="victim")
    truncated = proof[:victim] + proof[victim + 1 :]
    with pytest.raises(InvalidProof):
        verify_proof(root, truncated, keys)
    node = proof[victim]
    if node:
        pos = data.draw(st.integers(0, len(node) - 1), label="pos")
        altered = node[:pos] + bytes([node[pos] ^ 0x01]) + node[pos + 1 :]
        with pytest.raises(InvalidProof):
            verify_proof(root, truncated + [altered], keys)
    shortened = node[:-1]
    with pytest.raises(InvalidProof):
        verify_proof(root, truncated + [shortened], keys)


def test_proof_against_wrong_root_is_rejected() -> None:
    entries = {b"alpha": b"1", b"beta": b"2" * 40}
    root, proof = _proved(entries, 0, [b"alpha"])
    with pytest.raises(InvalidProof):
        verify_proof(blake2_256(b"other"), proof, [b"alpha"])
    with pytest.raises(InvalidProof):
        verify_proof(root[:31], proof, [b"alpha"])


def test_proof_extra_nodes_allowed_only_when_asked() -> None:
    entries = {bytes([i]) * 3: bytes([i]) * 40 for i in range(20)}
    root, proof = _proved(entries, 0, [b"\x01\x01\x01"])
    extra = proof + [b"unrelated node"]
    assert verify_proof(root, extra, [b"\x01\x01\x01"]) == {b"\x01\x01\x01": b"\x01" * 40}
    with pytest.raises(InvalidProof, match="not needed"):
        verify_proof(root, extra, [b"\x01\x01\x01"], allow_extra=False)


def test_proof_v1_includes_value_node_and_rejects_without_it() -> None:
    long_value = b"L" * 64
    entries = {b"key": long_value, b"kez": b"short"}
    root, proof = _proved(entries, 1, [b"key"])
    assert long_value in proof
    assert verify_proof(root, proof, [b"key"]) == {b"key": long_value}
    without = [p for p in proof if p != long_value]
    with pytest.raises(InvalidProof, match="value node"):
        verify_proof(root, without, [b"key"])


def test_proof_inline_nodes_travel_inside_parent() -> None:
    entries = {b"\x10": b"a", b"\x11": b"b"}  # both leaves are inlined in the root branch
    root, proof = _proved(entries, 0, [b"\x10", b"\x11", b"\x12"])
    assert len(proof) == 1
    assert verify_proof(root, proof, [b"\x10", b"\x12"]) == {b"\x10": b"a", b"\x12": None}


def test_proof_of_empty_trie_proves_absence() -> None:
    assert generate_proof(MemoryNodeStore(), EMPTY_TRIE_ROOT, [b"k"]) == []
    assert verify_proof(EMPTY_TRIE_ROOT, [], [b"k"]) == {b"k": None}


def test_proof_from_uncommitted_trie_matches_store_proof() -> None:
    trie = Trie(state_version=1)
    trie.update({b"abc": b"1" * 50, b"abd": b"2", b"b": b"3" * 10})
    keys = [b"abc", b"abe", b"b"]
    proof = generate_proof(trie, trie.root(), keys)
    commit = trie.commit()
    assert proof == generate_proof(trie.store, commit.root, keys)
    assert verify_proof(commit.root, proof, keys) == {
        b"abc": b"1" * 50,
        b"abe": None,
        b"b": b"3" * 10,
    }
    with pytest.raises(TrieError):
        generate_proof(trie, EMPTY_TRIE_ROOT, keys)


def test_proof_generation_with_missing_store_node_raises_missing_node() -> None:
    entries = {bytes([i]) * 3: bytes([i]) * 40 for i in range(20)}
    root, nodes = build_trie_nodes(entries)
    store = MemoryNodeStore({root: nodes[root]})
    with pytest.raises(MissingNode):
        generate_proof(store, root, [b"\x05\x05\x05"])


def test_proof_non_bytes_items_are_rejected() -> None:
    with pytest.raises(InvalidProof):
        verify_proof(EMPTY_TRIE_ROOT, ["node"], [b"k"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("spec", "version"),
    [("chainspecs/westend.json", 0), ("chainspecs/polkadot-coretime.json", 1)],
)
def test_proof_of_real_genesis_code_verifies(vectors: Path, spec: str, version: int) -> None:
    top = load_chainspec_top(vectors / spec)
    trie = Trie.from_entries(top, state_version=version)
    keys = [b":code", b":heappages", b":absent"]
    proof = generate_proof(trie.store, trie.root(), keys)
    assert (top[b":code"] in proof) == (version == 1)  # V1: the runtime is a separate value node
    assert verify_proof(trie.root(), proof, keys, allow_extra=False) == {
        k: top.get(k) for k in keys
    }
