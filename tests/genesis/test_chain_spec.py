"""Chain-spec loading: raw and light specs, strict hex, typed errors naming the bad key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from genesis.chain_spec import (
    ChainSpec,
    chain_spec_from_json,
    load_chain_spec,
    parse_chain_spec,
    parse_hex,
)
from genesis.errors import ChainSpecError, GenesisError
from pychain.errors import PychainError


def test_real_raw_specs_parse_all_keys(
    expected_chains: list[dict[str, Any]], loaded_specs: dict[str, ChainSpec], vectors: Path
) -> None:
    for chain in expected_chains:
        spec = loaded_specs[chain["file"]]
        document = json.loads((vectors / chain["file"]).read_text())
        assert spec.name == document["name"]
        if "raw" in document["genesis"]:
            assert spec.raw is not None
            assert len(spec.raw.top) == len(document["genesis"]["raw"]["top"])
            assert spec.raw.top[b":code"][:4] in (b"\x00asm", bytes.fromhex("52bc5376"))
        else:
            assert spec.raw is None and spec.state_root_hash is not None


def test_children_default_is_parsed_with_unprefixed_keys(
    node_template_document: dict[str, Any],
) -> None:
    document = copy.deepcopy(node_template_document)
    document["genesis"]["raw"]["childrenDefault"] = {"0xabcd": {"0x01": "0x02"}}
    spec = parse_chain_spec(document)
    assert spec.raw is not None
    assert spec.raw.children_default == {b"\xab\xcd": {b"\x01": b"\x02"}}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abcd", "0x prefix"),
        ("0xabc", "odd number"),
        ("0xzz", "not valid hex"),
        ("0xab cd", "odd number"),
        ("0xab  cd", "not valid hex"),
        ("0x\u0661\u0662", "not valid hex"),
    ],
)
def test_parse_hex_rejects_bad_text(text: str, reason: str) -> None:
    with pytest.raises(ChainSpecError, match=reason) as info:
        parse_hex(text, "somewhere")
    assert str(info.value).startswith("somewhere:")


def test_parse_hex_accepts_both_cases_and_empty() -> None:
    assert parse_hex("0xABcd", "x") == b"\xab\xcd"
    assert parse_hex("0x", "x") == b""
    with pytest.raises(ChainSpecError, match="expected a hex string"):
        parse_hex(12, "x")


def _with_top(document: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["genesis"]["raw"]["top"].update(top)
    return changed


@pytest.mark.parametrize(
    ("top", "needle"),
    [
        ({"0x12zz": "0x00"}, "'0x12zz'"),
        ({"1234": "0x00"}, "'1234'"),
        ({"0x123": "0x00"}, "'0x123'"),
        ({"0x1234": "0x0"}, "'0x1234'"),
        ({"0x1234": "12"}, "'0x1234'"),
        ({"0x1234": None}, "'0x1234'"),
        ({"0x3A636F6465": "0x00"}, "appears twice"),
    ],
)
def test_bad_top_entry_error_names_the_key(
    node_template_document: dict[str, Any], top: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ChainSpecError) as info:
        parse_chain_spec(_with_top(node_template_document, top))
    assert needle in str(info.value)
    assert "genesis.raw.top" in str(info.value)


def test_bad_child_entry_error_names_the_child(node_template_document: dict[str, Any]) -> None:
    document = copy.deepcopy(node_template_document)
    document["genesis"]["raw"]["childrenDefault"] = {"0xab": {"0x01": "0xq1"}}
    with pytest.raises(ChainSpecError, match=r"childrenDefault\['0xab'\]"):
        parse_chain_spec(document)
    document["genesis"]["raw"]["childrenDefault"] = {"0xa": {}}
    with pytest.raises(ChainSpecError, match="childrenDefault key '0xa'"):
        parse_chain_spec(document)


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ([], "top level"),
        ({"name": "x"}, "missing 'genesis'"),
        ({"genesis": []}, "genesis: expected an object"),
        ({"genesis": {"runtimeGenesis": {}}}, "plain specs"),
        ({"genesis": {"raw": {}}}, "missing 'top'"),
        ({"genesis": {"raw": {"top": []}}}, "genesis.raw.top"),
        ({"genesis": {"raw": {"top": {}, "childrenDefault": []}}}, "childrenDefault"),
        ({"genesis": {"stateRootHash": "0x1234"}}, "32 bytes"),
        ({"name": 5, "genesis": {"raw": {"top": {}}}}, "'name'"),
    ],
)
def test_malformed_spec_structure_rejected(document: Any, needle: str) -> None:
    with pytest.raises(ChainSpecError, match=needle):
        parse_chain_spec(document)


def test_minimal_raw_spec_without_children_parses() -> None:
    spec = chain_spec_from_json('{"genesis": {"raw": {"top": {"0x01": "0x02"}}}}')
    assert spec.raw is not None and spec.raw.top == {b"\x01": b"\x02"}
    assert spec.raw.children_default == {}
    assert spec.name is None


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'{"genesis": ', "malformed JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8|malformed JSON"),
        (b'{"a": 1, "a": 2}', "appears twice"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply|malformed"),
    ],
)
def test_bad_json_is_a_chain_spec_error(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "spec.json"
    path.write_bytes(content)
    with pytest.raises(ChainSpecError, match=needle):
        load_chain_spec(path)


def test_missing_file_and_directory_are_chain_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(ChainSpecError, match="not found"):
        load_chain_spec(tmp_path / "nope.json")
    with pytest.raises(ChainSpecError, match="directory"):
        load_chain_spec(tmp_path)


def test_chain_spec_error_is_rooted_in_pychain_error() -> None:
    assert issubclass(ChainSpecError, GenesisError)
    assert issubclass(GenesisError, PychainError)
