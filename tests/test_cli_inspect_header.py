"""``pychain inspect header``: real Polkadot/Kusama headers, and its error paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cli
from pychain.primitives.header import Header, PreRuntime, RuntimeEnvironmentUpdated

ROOT = Path(__file__).resolve().parent.parent


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def listing(vectors: Path) -> list[dict[str, Any]]:
    headers: list[dict[str, Any]] = json.loads(
        (vectors / "headers" / "headers_decoded.json").read_text()
    )["headers"]
    return headers


def _path(vectors: Path, entry: dict[str, Any]) -> Path:
    return vectors / "headers" / Path(entry["file"]).name


def test_raw_file_hex_arg_and_hex_file_agree(
    listing: list[dict[str, Any]], vectors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for entry in listing:
        raw = _path(vectors, entry).read_bytes()
        hex_file = tmp_path / "header.hex"
        hex_file.write_text("0x" + raw.hex() + "\n")
        outputs = []
        for source in (str(_path(vectors, entry)), "0x" + raw.hex(), str(hex_file)):
            code, out, err = run_cli(["inspect", "header", source], capsys)
            assert code == 0, err
            outputs.append(json.loads(out))
        assert outputs[0] == outputs[1] == outputs[2]
        view = outputs[0]
        assert view["number"] == entry["number"]
        assert view["hash"] == entry["blake2_256"]
        assert view["parent_hash"] == entry["parent"]
        assert view["encoded_length"] == entry["len"]
        if "state_root" in entry:
            assert view["state_root"] == entry["state_root"]
            assert view["extrinsics_root"] == entry["extrinsics_root"]


def test_polkadot_frnk_scheduled_change_shown(
    listing: list[dict[str, Any]], vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = next(e for e in listing if e["number"] == 512271)
    code, out, _ = run_cli(["inspect", "header", str(_path(vectors, entry))], capsys)
    assert code == 0
    digest = json.loads(out)["digest"]
    assert [(d["type"], d["engine"]) for d in digest] == [
        ("PreRuntime", "BABE"),
        ("Consensus", "BABE"),
        ("Consensus", "FRNK"),
        ("Seal", "BABE"),
    ]
    change = digest[2]["grandpa"]
    assert change["type"] == "ScheduledChange" and change["delay"] == 0
    assert len(change["next_authorities"]) == 197
    assert all(a["weight"] == 1 and len(a["id"]) == 66 for a in change["next_authorities"])
    assert "grandpa" not in digest[1]


def test_kusama_frnk_on_disabled_and_change_shown(
    listing: list[dict[str, Any]], vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = next(e for e in listing if e["number"] == 7472481)
    code, out, _ = run_cli(["inspect", "header", str(_path(vectors, entry))], capsys)
    assert code == 0
    grandpa = [d["grandpa"] for d in json.loads(out)["digest"] if "grandpa" in d]
    assert [g["type"] for g in grandpa] == ["OnDisabled"] * 11 + ["ScheduledChange"]
    assert len(grandpa[-1]["next_authorities"]) == 900
    assert all(isinstance(g.get("authority_index", 0), int) for g in grandpa)


def test_aura_slot_and_runtime_update_shown(capsys: pytest.CaptureFixture[str]) -> None:
    header = Header(
        b"\x01" * 32,
        7,
        b"\x02" * 32,
        b"\x03" * 32,
        [PreRuntime(b"aura", (123456).to_bytes(8, "little")), RuntimeEnvironmentUpdated()],
    )
    code, out, _ = run_cli(["inspect", "header", "0x" + header.encode().hex()], capsys)
    assert code == 0
    view = json.loads(out)
    assert view["number"] == 7 and view["hash"] == "0x" + header.hash().hex()
    assert view["digest"][0]["slot"] == 123456
    assert view["digest"][1] == {"type": "RuntimeEnvironmentUpdated"}


def test_error_paths_exit_2_with_one_line(
    vectors: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = (vectors / "headers" / "header-polkadot-512271.bin").read_bytes()
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(raw[:-10])
    trailing = tmp_path / "trailing.bin"
    trailing.write_bytes(raw + b"\x00")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    bad_index = bytearray(bytes(32) + b"\x00" + bytes(64) + b"\x04\x07")
    cases = [
        ["0xzz"],
        ["0x123"],
        ["0x"],
        [str(tmp_path / "missing.bin")],
        [str(truncated)],
        [str(trailing)],
        [str(empty)],
        ["0x" + bytes(bad_index).hex()],
        [str(tmp_path)],
        [],
    ]
    for args in cases:
        code, out, err = run_cli(["inspect", "header", *args], capsys)
        assert code == 2, args
        assert out == "", args
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)


def test_subprocess_inspect_header(vectors: Path) -> None:
    result = subprocess.run(
        [sys.executable, "cli.py", "inspect", "header", "0x1234"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    good = subprocess.run(
        [
            sys.executable,
            "cli.py",
            "inspect",
            "header",
            str(vectors / "headers" / "header-polkadot-512271.bin"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["number"] == 512271
