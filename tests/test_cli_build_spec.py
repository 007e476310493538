"""Tests of ``pychain build-spec``: plain and raw chain specs of the presets, their round trip
through a file, and agreement with ``chain-spec hash`` and the runtime's own genesis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli import main
from genesis.build_spec import genesis_block_of, load_chain
from genesis.chain_spec import load_chain_spec
from genesis.genesis_block import build_genesis
from genesis.presets import get_preset
from pychain.frame.ext import TestExternalities
from pychain.primitives.header import Header
from pychain.runtime import build_genesis_storage
from pychain.trie import ordered_trie_root


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def spec_of(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "build-spec", *argv)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def runtime_genesis_hash(preset_name: str) -> bytes:
    preset = get_preset(preset_name)
    storage = build_genesis_storage(preset.genesis, preset.runtime_config)
    root = TestExternalities(storage).storage_root(1)
    return Header(bytes(32), 0, root, ordered_trie_root([], 1), ()).hash()


def test_plain_dev_spec_has_substrate_fields(capsys: pytest.CaptureFixture[str]) -> None:
    spec = spec_of(capsys, "--chain", "dev")
    assert spec["name"] == "Development"
    assert spec["id"] == "dev"
    assert spec["chainType"] == "Development"
    assert spec["bootNodes"] == []
    assert spec["telemetryEndpoints"] is None
    assert spec["properties"] == {"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UNIT"}
    assert spec["codeSubstitutes"] == {}
    runtime_genesis = spec["genesis"]["runtimeGenesis"]
    assert runtime_genesis["code"].startswith("0x0061736d01000000")
    patch = runtime_genesis["patch"]
    assert patch["aura"]["authorities"] == ["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"]
    assert len(patch["balances"]["balances"]) == 12


def test_raw_dev_spec_hash_matches_runtime_genesis(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = spec_of(capsys, "--chain", "dev", "--raw")
    assert spec["genesis"]["raw"]["childrenDefault"] == {}
    assert "0x3a636f6465" in spec["genesis"]["raw"]["top"]
    path = tmp_path / "dev-raw.json"
    path.write_text(json.dumps(spec))
    block = build_genesis(load_chain_spec(path))
    assert block.state_version == 1
    assert block.hash == runtime_genesis_hash("dev")
    code, out, _ = run_cli(capsys, "chain-spec", "hash", str(path))
    assert code == 0
    assert out.strip() == "0x" + runtime_genesis_hash("dev").hex()


def test_plain_spec_file_converts_to_same_raw_spec(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = spec_of(capsys, "--chain", "local")
    path = tmp_path / "local-plain.json"
    path.write_text(json.dumps(plain))
    from_file = spec_of(capsys, "--chain", str(path), "--raw")
    from_preset = spec_of(capsys, "--chain", "local", "--raw")
    assert from_file == from_preset
    assert genesis_block_of(load_chain(str(path))).hash == runtime_genesis_hash("local")


def test_plain_spec_patch_changes_genesis(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = spec_of(capsys, "--chain", "dev")
    plain["genesis"]["runtimeGenesis"]["patch"]["sudo"] = {"key": None}
    path = tmp_path / "no-sudo.json"
    path.write_text(json.dumps(plain))
    assert genesis_block_of(load_chain(str(path))).hash != runtime_genesis_hash("dev")


def test_raw_spec_file_is_written_back_raw(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = spec_of(capsys, "--chain", "dev", "--raw")
    path = tmp_path / "raw.json"
    path.write_text(json.dumps(raw))
    assert spec_of(capsys, "--chain", str(path)) == raw


def test_dev_and_local_genesis_hashes_differ() -> None:
    assert runtime_genesis_hash("dev") != runtime_genesis_hash("local")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "neither a preset"),
        ("{not json", "not valid JSON"),
        ('{"name": "x", "id": "x", "genesis": {"runtimeGenesis": {"patch": {}}}}', "'code'"),
        (
            '{"name": "x", "id": "x", "genesis": {"runtimeGenesis": {"code": "0x00", "patch": {}}}}',
            "not a pychain runtime",
        ),
        ('{"name": "x", "id": "x", "genesis": {"stateRootHash": "0x' + "00" * 32 + '"}}', "light"),
    ],
)
def test_bad_chain_gives_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "spec.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run_cli(capsys, "build-spec", "--chain", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def test_bad_patch_value_gives_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = spec_of(capsys, "--chain", "dev")
    plain["genesis"]["runtimeGenesis"]["patch"]["balances"] = {"balances": [["nobody", 1]]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(plain))
    code, _, err = run_cli(capsys, "build-spec", "--chain", str(path), "--raw")
    assert code == 2
    assert "balances.balances[0]" in err
