"""Trie roots against real-world data: w3f/polkadot-tests fixtures, the independent-implementation
roots, and the genesis state roots of real chains (trie V0 and V1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pychain.primitives.hashing import blake2_256
from pychain.primitives.scale import encode_compact
from pychain.trie import (
    EMPTY_TRIE_ROOT,
    Trie,
    TrieError,
    build_trie_nodes,
    ordered_trie_root,
    state_root,
    trie_root,
)
from tests.trie.helpers import hex_bytes, load_chainspec_children, load_chainspec_top, load_w3f

W3F_FILES = [
    "10000_node",
    "1c1",
    "hex_1c1",
    "hex_limit",
    "hex_long",
    "pk_branch",
    "pk_branch2",
    "random_state_80",
    "scv",
]


def _selfcomputed(vectors: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (vectors / "trie" / "trie_root_vectors_selfcomputed.json").read_text()
    )
    return data


def test_empty_trie_root_is_hash_of_empty_node() -> None:
    assert EMPTY_TRIE_ROOT == blake2_256(b"\x00")
    assert (
        EMPTY_TRIE_ROOT.hex() == "03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314"
    )
    assert trie_root({}) == EMPTY_TRIE_ROOT
    assert trie_root([], 1) == EMPTY_TRIE_ROOT
    assert ordered_trie_root([]) == EMPTY_TRIE_ROOT
    assert Trie().root() == EMPTY_TRIE_ROOT


def test_w3f_fixtures_all_have_expected_roots(vectors: Path) -> None:
    cases = _selfcomputed(vectors)["cases"]
    files = sorted(p.name for p in (vectors / "trie").glob("w3f_polkadot-tests_*.yaml"))
    assert files == sorted(f"w3f_polkadot-tests_{n}.yaml" for n in W3F_FILES)
    checked = 0
    for name, case in cases.items():
        base, _, mode = name.partition(" (keys as ")
        path = vectors / "trie" / f"w3f_polkadot-tests_{base}.yaml"
        entries = load_w3f(path, keys_as_hex=mode.startswith("hex"))
        assert len(dict(entries)) == case["entries"], name
        assert trie_root(entries, 0).hex() == case["root_v0"][2:], name
        assert trie_root(entries, 1).hex() == case["root_v1"][2:], name
        checked += 1
    assert checked == len(cases) >= len(W3F_FILES)


@pytest.mark.parametrize("state_version", [0, 1])
def test_small_vectors_roots_and_root_encodings_match(vectors: Path, state_version: int) -> None:
    small = _selfcomputed(vectors)["small"]
    assert small
    for name, case in small.items():
        entries = {hex_bytes(k): hex_bytes(v) for k, v in case["entries"].items()}
        want_root = case[f"root_v{state_version}"][2:]
        want_enc = case[f"root_node_encoding_v{state_version}"][2:]
        root, nodes = build_trie_nodes(entries, state_version)
        assert trie_root(entries, state_version).hex() == want_root, name
        assert root.hex() == want_root, name
        assert nodes.get(root, b"\x00").hex() == want_enc, name
        trie = Trie(state_version=state_version)
        trie.update(entries)
        assert trie.root().hex() == want_root, name


def test_10000_node_fixture_incremental_build_matches(vectors: Path) -> None:
    entries = load_w3f(vectors / "trie" / "w3f_polkadot-tests_10000_node.yaml", keys_as_hex=True)
    want = _selfcomputed(vectors)["cases"]["10000_node (keys as hex)"]["root_v0"][2:]
    trie = Trie()
    for key, value in entries:
        trie.insert(key, value)
    assert trie.root().hex() == want
    assert trie_root(dict(entries)).hex() == want


def _chains(vectors: Path) -> list[dict[str, Any]]:
    chains: list[dict[str, Any]] = json.loads(
        (vectors / "chainspecs" / "expected.json").read_text()
    )["chains"]
    return [c for c in chains if "state_root" in c]


def test_genesis_state_roots_of_real_chains_match(vectors: Path) -> None:
    chains = _chains(vectors)
    assert {c["state_version"] for c in chains} == {0, 1}
    for chain in chains:
        path = vectors / chain["file"]
        top = load_chainspec_top(path)
        children = load_chainspec_children(path)
        root = state_root(top, children, chain["state_version"])
        assert root.hex() == chain["state_root"][2:], chain["file"]


def test_genesis_state_root_incremental_and_committed_match(vectors: Path) -> None:
    for chain in _chains(vectors):
        if chain["file"] not in ("chainspecs/westend.json", "chainspecs/polkadot-coretime.json"):
            continue
        top = load_chainspec_top(vectors / chain["file"])
        trie = Trie(state_version=chain["state_version"])
        trie.update(top)
        commit = trie.commit()
        assert commit.root.hex() == chain["state_root"][2:]
        reopened = Trie(trie.store, commit.root, chain["state_version"])
        assert dict(reopened.items()) == top


def test_ordered_trie_root_uses_compact_index_keys() -> None:
    items = [b"\x04\x00", b"ext-1", bytes(100)]
    expected = trie_root({encode_compact(i): v for i, v in enumerate(items)})
    assert ordered_trie_root(items) == expected
    assert ordered_trie_root(items, 1) != expected  # the 100-byte item is hashed in V1
    assert ordered_trie_root(items[:2], 1) == ordered_trie_root(items[:2], 0)
    many = [bytes([i]) for i in range(70)]  # indices >= 64 take a two-byte compact key
    assert ordered_trie_root(many) == trie_root({encode_compact(i): v for i, v in enumerate(many)})


@pytest.mark.parametrize("bad", [b"abc", "abc", 5, [b"ok", "not bytes"]])
def test_ordered_trie_root_rejects_non_sequences_of_bytes(bad: object) -> None:
    with pytest.raises(TrieError):
        ordered_trie_root(bad)  # type: ignore[arg-type]
