"""Tests of ``pychain inspect extrinsic`` on the recorded extrinsic vectors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cli
from pychain.primitives.extrinsic import UncheckedExtrinsic

ROOT = Path(__file__).resolve().parent.parent
PY_NODE = "py_substrate_interface_1.8.1_node_template_transfers.json"
PY_POLKADOT = "py_substrate_interface_1.8.1_polkadot1002005_transfers.json"
PJS_POLKADOT = "polkadot_js_16.5.6_polkadot1002005_transfers.json"


def _load(vectors: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors / "extrinsics" / name).read_text())
    return data


def _genesis(data: dict[str, Any]) -> str:
    return str(data["chain"].split("genesis ")[1].split()[0])


def _context_args(data: dict[str, Any]) -> list[str]:
    return [
        "--genesis-hash",
        _genesis(data),
        "--spec-version",
        str(data["runtime"]["spec_version"]),
        "--tx-version",
        str(data["runtime"]["transaction_version"]),
    ]


def _vector(data: dict[str, Any], label: str) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in data["vectors"] if v["label"] == label)
    return found


def _run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = cli.main(["inspect", "extrinsic", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _inspect(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict[str, Any]:
    code, out, err = _run(capsys, args)
    assert code == 0, err
    assert err == ""
    result: dict[str, Any] = json.loads(out)
    return result


def test_cli_immortal_tip_vector_fields_match(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _load(vectors, PY_NODE)
    v = _vector(data, "ed25519_immortal_nonce5_tip1000")
    result = _inspect(capsys, [v["extrinsic"], *_context_args(data)])
    assert result["signed"] is True
    assert result["signer"] == data["keys"]["alice_ed25519_pub"]
    assert result["signer_ss58"] == data["keys"]["alice_ed25519_ss58"]
    assert result["scheme"] == "ed25519"
    assert result["signature_valid"] is True
    assert result["reason"] is None
    assert result["era"] == "immortal"
    assert (result["nonce"], result["tip"]) == (5, 1000)
    assert result["call"] == data["call"]["encoded"]
    assert result["hash"] == v["extrinsic_hash"]


def test_cli_sr25519_vector_signature_valid(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _load(vectors, PY_NODE)
    v = _vector(data, "sr25519_immortal_nonce0")
    result = _inspect(capsys, [v["extrinsic"], *_context_args(data)])
    assert result["scheme"] == "sr25519"
    assert result["signer_ss58"] == data["keys"]["alice_sr25519_ss58"]
    assert result["signature_valid"] is True


def test_cli_mortal_vector_with_block_hash_is_valid(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _load(vectors, PY_NODE)
    v = _vector(data, "ed25519_mortal_period64_current100")
    args = [v["extrinsic"], *_context_args(data), "--block-hash", v["birth_block_hash_used"]]
    result = _inspect(capsys, args)
    assert result["era"] == {"period": 64, "phase": 36}
    assert result["signature_valid"] is True
    assert result["hash"] == v["extrinsic_hash"]


def test_cli_mortal_vector_without_block_hash_reports_unknown(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _load(vectors, PY_NODE)
    v = _vector(data, "ed25519_mortal_period64_current100")
    result = _inspect(capsys, [v["extrinsic"], *_context_args(data)])
    assert result["signature_valid"] is None
    assert "--block-hash" in result["reason"]
    assert result["nonce"] == 1


def test_cli_polkadot_vector_needs_metadata_hash_extension(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    py = _load(vectors, PY_POLKADOT)
    v = _vector(_load(vectors, PJS_POLKADOT), "ed25519_mortal_period64_current100")
    birth = _vector(py, "ed25519_mortal_period64_current100")["birth_block_hash_used"]
    args = [v["extrinsic"], *_context_args(py), "--block-hash", birth]
    result = _inspect(capsys, [*args, "--metadata-hash-extension"])
    assert result["signature_valid"] is True
    assert result["metadata_hash_mode"] == "disabled"
    assert result["hash"] == v["hash"]
    # Without the extension the mode byte is taken as part of the call: the signature fails.
    result = _inspect(capsys, args)
    assert result["signature_valid"] is False
    assert result["reason"]
    assert "metadata_hash_mode" not in result


def test_cli_wrong_spec_version_signature_invalid(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _load(vectors, PY_NODE)
    v = _vector(data, "ed25519_immortal_nonce0")
    args = _context_args(data)
    args[args.index("--spec-version") + 1] = "101"
    result = _inspect(capsys, [v["extrinsic"], *args])
    assert result["signature_valid"] is False


def test_cli_flipped_signature_bit_reports_invalid(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _load(vectors, PY_NODE)
    raw = bytearray.fromhex(_vector(data, "sr25519_immortal_nonce0")["extrinsic"][2:])
    raw[60] ^= 0x10
    result = _inspect(capsys, ["0x" + raw.hex(), *_context_args(data)])
    assert result["signature_valid"] is False


def test_cli_bare_extrinsic_reports_unsigned(capsys: pytest.CaptureFixture[str]) -> None:
    raw = UncheckedExtrinsic(b"\x00\x07\x04ab").encode()
    result = _inspect(
        capsys,
        [
            "0x" + raw.hex(),
            "--genesis-hash",
            "0x" + "11" * 32,
            "--spec-version",
            "1",
            "--tx-version",
            "1",
        ],
    )
    assert result["signed"] is False
    assert result["call"] == "0x000704" + b"ab".hex()
    assert "signature_valid" not in result and "signer" not in result
    assert result["hash"].startswith("0x") and len(result["hash"]) == 66


@pytest.mark.parametrize(
    "extrinsic, extra_args, message",
    [
        ("0x12zz", [], "not valid hex"),
        ("0x0c0400", [], "malformed extrinsic"),
        ("0x0c050001", [], "version"),
        ("0x", [], "malformed extrinsic"),
        ("0x0c040001", ["--block-hash", "0x1234"], "--block-hash must be 32 bytes"),
        ("0x0c040001", ["--ss58-prefix", "20000"], "ss58"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], extrinsic: str, extra_args: list[str], message: str
) -> None:
    args = [
        extrinsic,
        "--genesis-hash",
        "0x" + "11" * 32,
        "--spec-version",
        "1",
        "--tx-version",
        "1",
        *extra_args,
    ]
    code, out, err = _run(capsys, args)
    assert code == 2
    assert out == ""
    assert err.startswith("error:") and err.count("\n") == 1
    assert message in err


def test_cli_bad_genesis_hash_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys, ["0x0c040001", "--genesis-hash", "0x11", "--spec-version", "1", "--tx-version", "1"]
    )
    assert code == 2 and "--genesis-hash must be 32 bytes" in err


def test_cli_bad_version_number_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(
            [
                "inspect",
                "extrinsic",
                "0x0c040001",
                "--genesis-hash",
                "0x" + "11" * 32,
                "--spec-version",
                "-1",
                "--tx-version",
                "1",
            ]
        )
    assert info.value.code == 2
    assert "not a u32" in capsys.readouterr().err


def test_cli_subprocess_malformed_exits_2() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "inspect",
            "extrinsic",
            "0x0c84ff",
            "--genesis-hash",
            "0x" + "11" * 32,
            "--spec-version",
            "1",
            "--tx-version",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: malformed extrinsic") and proc.stderr.count("\n") == 1
