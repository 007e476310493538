"""Genesis state roots and hashes of real chain specs (vectors/chainspecs/expected.json)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from genesis.chain_spec import ChainSpec, RawGenesis, parse_chain_spec
from genesis.errors import ChainSpecError, GenesisError
from genesis.genesis_block import (
    CODE_KEY,
    DEFAULT_CHILD_STORAGE_KEY_PREFIX,
    build_genesis,
    compute_state_root,
    construct_genesis_header,
    resolve_state_version,
)
from pychain.primitives.hashing import blake2_256
from pychain.primitives.runtime_version import ZSTD_PREFIX
from pychain.trie import EMPTY_TRIE_ROOT, trie_root

# The empty-trie root as stated in the vectors' README.
README_EMPTY_ROOT = "0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314"


def test_every_chain_reproduces_root_and_hash_with_auto_state_version(
    expected_chains: list[dict[str, Any]], loaded_specs: dict[str, ChainSpec]
) -> None:
    for chain in expected_chains:
        block = build_genesis(loaded_specs[chain["file"]])
        assert "0x" + block.hash.hex() == chain["genesis_hash"], chain["file"]
        if "state_root" in chain:
            assert "0x" + block.state_root.hex() == chain["state_root"], chain["file"]
            assert block.state_version == chain["state_version"], chain["file"]
        else:
            assert block.state_version is None


def test_every_raw_chain_reproduces_hash_with_explicit_state_version(
    expected_chains: list[dict[str, Any]], loaded_specs: dict[str, ChainSpec]
) -> None:
    raw_chains = [chain for chain in expected_chains if "state_version" in chain]
    assert len(raw_chains) == 6
    for chain in raw_chains:
        block = build_genesis(loaded_specs[chain["file"]], chain["state_version"])
        assert "0x" + block.hash.hex() == chain["genesis_hash"], chain["file"]
        assert block.runtime_version is None


def test_wrong_state_version_gives_a_different_root(
    expected_chains: list[dict[str, Any]], loaded_specs: dict[str, ChainSpec]
) -> None:
    # Both layouts occur among the vectors, so detection is what makes the hash right.
    versions = {chain["state_version"] for chain in expected_chains if "state_version" in chain}
    assert versions == {0, 1}
    for chain in expected_chains:
        if "state_version" not in chain:
            continue
        wrong = build_genesis(loaded_specs[chain["file"]], 1 - chain["state_version"])
        assert "0x" + wrong.hash.hex() != chain["genesis_hash"], chain["file"]


def test_genesis_header_shape_matches_readme(loaded_specs: dict[str, ChainSpec]) -> None:
    block = build_genesis(loaded_specs["chainspecs/substrate-node-template.json"])
    header = block.header
    assert header.parent_hash == bytes(32)
    assert header.number == 0
    assert header.digest == ()
    assert "0x" + header.extrinsics_root.hex() == README_EMPTY_ROOT
    assert EMPTY_TRIE_ROOT == header.extrinsics_root
    assert block.hash == blake2_256(
        bytes(32) + b"\x00" + block.state_root + header.extrinsics_root + b"\x00"
    )


def test_light_spec_hash_comes_from_state_root_hash(
    expected_chains: list[dict[str, Any]], loaded_specs: dict[str, ChainSpec]
) -> None:
    light = next(chain for chain in expected_chains if "state_root" not in chain)
    spec = loaded_specs[light["file"]]
    assert spec.raw is None and spec.state_root_hash is not None
    block = build_genesis(spec, state_version=1)
    assert block.state_root == spec.state_root_hash
    assert block.state_version is None
    assert "0x" + block.hash.hex() == light["genesis_hash"]


def test_spec_modified_in_one_value_changes_the_hash(
    node_template_document: dict[str, Any], loaded_specs: dict[str, ChainSpec]
) -> None:
    original = build_genesis(loaded_specs["chainspecs/substrate-node-template.json"])
    document = copy.deepcopy(node_template_document)
    top = document["genesis"]["raw"]["top"]
    key = next(k for k in sorted(top) if k != "0x3a636f6465" and len(top[k]) > 2)
    value = top[key]
    top[key] = value[:-1] + ("0" if value[-1] != "0" else "1")
    changed = build_genesis(parse_chain_spec(document))
    assert changed.state_version == original.state_version == 0
    assert changed.hash != original.hash
    assert changed.state_root != original.state_root


def test_state_version_read_from_runtime_code(loaded_specs: dict[str, ChainSpec]) -> None:
    template = loaded_specs["chainspecs/substrate-node-template.json"].raw
    coretime = loaded_specs["chainspecs/kusama-coretime.json"].raw
    kusama = loaded_specs["chainspecs/kusama.json"].raw
    assert template is not None and coretime is not None and kusama is not None
    version, runtime = resolve_state_version(template)
    assert version == 0 and runtime is not None and runtime.spec_name == "node-template"
    version, runtime = resolve_state_version(coretime)
    assert version == 1 and runtime is not None and runtime.state_version == 1
    # An old runtime without an embedded version section: V0, as Substrate's default.
    assert resolve_state_version(kusama) == (0, None)


def test_no_code_or_non_wasm_code_means_v0() -> None:
    assert resolve_state_version(RawGenesis({b"k": b"v"})) == (0, None)
    assert resolve_state_version(RawGenesis({CODE_KEY: b"pychain-runtime"})) == (0, None)


def test_corrupt_compressed_code_is_a_chain_spec_error() -> None:
    raw = RawGenesis({CODE_KEY: ZSTD_PREFIX + b"\x00\x01\x02 not zstd"})
    with pytest.raises(ChainSpecError, match=":code"):
        resolve_state_version(raw)
    with pytest.raises(ChainSpecError, match=":code"):
        build_genesis(ChainSpec(None, None, raw, None))


def test_non_empty_child_root_is_inserted_under_prefixed_key() -> None:
    top = {b"alpha": b"1", b"beta": b"2" * 40}
    child = {b"c1": b"x", b"c2": b"y" * 50}
    for version in (0, 1):
        raw = RawGenesis(top, {b"mychild": child})
        expected_top = dict(top)
        expected_top[DEFAULT_CHILD_STORAGE_KEY_PREFIX + b"mychild"] = trie_root(child, version)
        assert compute_state_root(raw, version) == trie_root(expected_top, version)
        assert compute_state_root(raw, version) != trie_root(top, version)


def test_empty_child_trie_is_skipped() -> None:
    top = {b"alpha": b"1"}
    for version in (0, 1):
        with_empty = compute_state_root(RawGenesis(top, {b"empty": {}}), version)
        assert with_empty == trie_root(top, version)


def test_top_key_under_child_storage_prefix_rejected() -> None:
    raw = RawGenesis({b":child_storage:default:x": b"\x00" * 32})
    with pytest.raises(ChainSpecError, match="child_storage"):
        compute_state_root(raw, 0)


@pytest.mark.parametrize("version", [-1, 2, 255])
def test_invalid_state_version_rejected(version: int) -> None:
    spec = ChainSpec(None, None, RawGenesis({b"k": b"v"}), None)
    with pytest.raises(GenesisError):
        build_genesis(spec, version)


def test_construct_genesis_header_encoding() -> None:
    header = construct_genesis_header(b"\x01" * 32, EMPTY_TRIE_ROOT)
    assert header.encode() == bytes(32) + b"\x00" + b"\x01" * 32 + EMPTY_TRIE_ROOT + b"\x00"
