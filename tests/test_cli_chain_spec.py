"""``pychain chain-spec hash``: real specs through the CLI, and its error paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def chains(vectors: Path) -> list[dict[str, Any]]:
    listing: list[dict[str, Any]] = json.loads(
        (vectors / "chainspecs" / "expected.json").read_text()
    )["chains"]
    return listing


def test_every_chain_hash_printed_on_last_line(
    chains: list[dict[str, Any]], vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for chain in chains:
        code, out, err = run_cli(["chain-spec", "hash", str(vectors / chain["file"])], capsys)
        assert code == 0, err
        assert out.strip().splitlines()[-1] == chain["genesis_hash"]


def test_every_chain_json_report_matches_expected(
    chains: list[dict[str, Any]], vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for chain in chains:
        code, out, _ = run_cli(
            ["chain-spec", "hash", str(vectors / chain["file"]), "--json"], capsys
        )
        assert code == 0
        report = json.loads(out)
        assert report["genesis_hash"] == chain["genesis_hash"]
        assert report["state_version"] == chain.get("state_version")
        assert report["extrinsics_root"] == (
            "0x03170a2e7597b7b7e3d84c05391d139a62b157e78786d8c082f29dcf4c111314"
        )
        if "state_root" in chain:
            assert report["state_root"] == chain["state_root"]


def test_explicit_state_version_flag_is_honoured(
    chains: list[dict[str, Any]], vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coretime = next(c for c in chains if c["file"].endswith("polkadot-coretime.json"))
    path = str(vectors / coretime["file"])
    code, out, _ = run_cli(["chain-spec", "hash", path, "--state-version", "1"], capsys)
    assert code == 0 and out.strip() == coretime["genesis_hash"]
    code, out, _ = run_cli(["chain-spec", "hash", path, "--state-version", "0"], capsys)
    assert code == 0 and out.strip() != coretime["genesis_hash"]


def test_subprocess_hash_of_node_template(chains: list[dict[str, Any]], vectors: Path) -> None:
    template = next(c for c in chains if "node-template" in c["file"])
    result = subprocess.run(
        [sys.executable, "cli.py", "chain-spec", "hash", str(vectors / template["file"])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == template["genesis_hash"]


def _write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


def _error_cases(tmp_path: Path) -> list[list[str]]:
    good_top = '{"0x3a636f6465": "0x"}'
    return [
        [str(tmp_path / "missing.json")],
        [_write(tmp_path, "malformed.json", '{"genesis": {')],
        [_write(tmp_path, "nonhex.json", '{"genesis": {"raw": {"top": {"0xzz": "0x00"}}}}')],
        [_write(tmp_path, "oddkey.json", '{"genesis": {"raw": {"top": {"0x123": "0x00"}}}}')],
        [_write(tmp_path, "oddval.json", '{"genesis": {"raw": {"top": {"0x12": "0x0"}}}}')],
        [_write(tmp_path, "nogenesis.json", '{"name": "x"}')],
        [_write(tmp_path, "plain.json", '{"genesis": {"runtimeGenesis": {}}}')],
        [
            _write(tmp_path, "ok.json", f'{{"genesis": {{"raw": {{"top": {good_top}}}}}}}'),
            "--state-version",
            "2",
        ],
        [_write(tmp_path, "ok2.json", '{"genesis": {"raw": {"top": {}}}}'), "--state-version", "x"],
        [str(tmp_path)],
        [],
    ]


def test_error_paths_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in _error_cases(tmp_path):
        code, out, err = run_cli(["chain-spec", "hash", *args], capsys)
        assert code == 2, args
        assert out == "", args
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)


def test_error_names_the_offending_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path, "bad.json", '{"genesis": {"raw": {"top": {"0x01": "0x02", "0xabc": "0x"}}}}'
    )
    code, _, err = run_cli(["chain-spec", "hash", path], capsys)
    assert code == 2 and "'0xabc'" in err


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.json", '{"genesis": {"raw": {"top": {"0xq1": "0x"}}}}')
    result = subprocess.run(
        [sys.executable, "cli.py", "chain-spec", "hash", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
