"""``cli.py inspect justification`` on the real Polkadot justification and commit message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cli
from consensus.grandpa.messages import FullCommitMessage

ROOT = Path(__file__).resolve().parent.parent
JUSTIFICATION = "grandpa/polkadot_block302592_justification.json"
JUSTIFICATION_HEX = "grandpa/smoldot_justification.hex"
COMMIT_HEX = "grandpa/smoldot_commit_message.hex"
TARGET = "0x29f1abec90ac199df06dee3ba0734c08c3fd6df06caa3f78952f8f95164058d2"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = cli.main(["inspect", "justification", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else None), err


def _vector(vectors: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors / JUSTIFICATION).read_text())
    return data


def _commit_authorities(vectors: Path) -> str:
    raw = bytes.fromhex((vectors / COMMIT_HEX).read_text().strip()[2:])
    message = FullCommitMessage.decode(raw)
    return json.dumps([["0x" + voter.hex(), 1] for _, voter in message.message.auth_data])


def test_cli_real_justification_with_vector_file_is_valid(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        str(vectors / JUSTIFICATION_HEX),
        "--set-id",
        "0",
        "--authorities",
        str(vectors / JUSTIFICATION),
    )
    assert code == 0
    assert out["valid"] is True
    assert "reason" not in out
    assert out["kind"] == "justification"
    assert out["target"] == {"hash": TARGET, "number": 302592}
    assert (out["round"], out["set_id"]) == (439559, 0)
    expected_signers = [p["authority_id"] for p in _vector(vectors)["precommits"]]
    assert out["signers"] == expected_signers
    assert (out["signed_weight"], out["threshold"], out["total_weight"]) == (5, 5, 6)


def test_cli_authorities_inline_json_and_scale_hex_agree(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _vector(vectors)
    hex_data = data["encoded_justification"]
    inline = json.dumps(data["authority_set"]["authorities"])
    scale = data["authority_set"]["scale_encoded_vec_authority_weight"]
    results = []
    for authorities in (inline, scale):
        code, out, _ = _run(capsys, hex_data, "--set-id", "0", "--authorities", authorities)
        assert code == 0
        results.append(out)
    assert results[0] == results[1]
    assert results[0]["valid"] is True


def test_cli_raw_binary_file_and_expected_block_hash(
    vectors: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _vector(vectors)
    raw_file = tmp_path / "justification.bin"
    raw_file.write_bytes(bytes.fromhex(data["encoded_justification"][2:]))
    authorities = str(vectors / JUSTIFICATION)
    common = [str(raw_file), "--set-id", "0", "--authorities", authorities]
    code, out, _ = _run(capsys, *common, "--block-hash", TARGET, "--block-number", "302592")
    assert (code, out["valid"]) == (0, True)
    code, out, _ = _run(capsys, *common, "--block-hash", "0x" + "11" * 32)
    assert (code, out["valid"], out["reason"]) == (1, False, "TargetMismatch")
    assert out["target"]["number"] == 302592


def test_cli_wrong_set_id_is_invalid_bad_signature(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        str(vectors / JUSTIFICATION_HEX),
        "--set-id",
        "1",
        "--authorities",
        str(vectors / JUSTIFICATION),
    )
    assert code == 1
    assert out["valid"] is False
    assert out["reason"] == "BadSignature"
    assert "precommit 0" in out["detail"]
    assert out["signed_weight"] == 5


def test_cli_missing_authority_is_invalid_unknown_voter(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _vector(vectors)
    authorities = data["authority_set"]["authorities"]
    without_first_signer = [a for a in authorities if a[0] != data["precommits"][0]["authority_id"]]
    code, out, _ = _run(
        capsys,
        data["encoded_justification"],
        "--set-id",
        "0",
        "--authorities",
        json.dumps(without_first_signer),
    )
    assert (code, out["reason"]) == (1, "UnknownVoter")
    assert (out["signed_weight"], out["threshold"]) == (4, 4)


@pytest.mark.parametrize("flag", [[], ["--commit-message"]])
def test_cli_real_commit_message_is_valid(
    vectors: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    code, out, _ = _run(
        capsys,
        str(vectors / COMMIT_HEX),
        *flag,
        "--authorities",
        _commit_authorities(vectors),
    )
    assert code == 0
    assert out["kind"] == "commit_message"
    assert out["valid"] is True
    assert (out["round"], out["set_id"]) == (3669, 3490)
    assert out["target"]["number"] == 5105457
    assert len(out["signers"]) == 7
    assert (out["signed_weight"], out["threshold"]) == (7, 5)


def test_cli_commit_message_other_set_id_is_invalid(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        str(vectors / COMMIT_HEX),
        "--set-id",
        "3491",
        "--authorities",
        _commit_authorities(vectors),
    )
    assert (code, out["reason"]) == (1, "SetIdMismatch")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0xzz", "--set-id", "0", "--authorities", "[]"], "not valid hex"),
        (["0x00", "--set-id", "0", "--authorities", "[]"], "voter set is empty"),
        (["0x00", "--set-id", "0", "--authorities", "[[1, 2]]"], "entry 0"),
        (["0x00", "--set-id", "0", "--authorities", "{oops"], "not valid JSON"),
        (["0x00", "--set-id", "0", "--authorities", "0x0401"], "AuthorityList"),
        (["0x00", "--set-id", "0", "--authorities", "no/such/file"], "neither JSON"),
        (["no/such/file", "--set-id", "0", "--authorities", "[]"], "neither 0x-hex"),
        (
            ["0x00", "--authorities", '[["0x' + "11" * 32 + '", 1]]', "--block-number", "5"],
            "--block-number needs --block-hash",
        ),
        (
            ["0x00", "--authorities", '[["0x' + "11" * 32 + '", 1]]', "--block-hash", "0x12"],
            "--block-hash must be 32 bytes",
        ),
    ],
)
def test_cli_bad_input_is_one_line_error_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert out is None
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err


def test_cli_undecodable_data_and_missing_set_id_exit_2(
    vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    authorities = str(vectors / JUSTIFICATION)
    code, _, err = _run(capsys, "0x0102", "--set-id", "0", "--authorities", authorities)
    assert code == 2 and "not a GRANDPA justification" in err
    code, _, err = _run(capsys, str(vectors / JUSTIFICATION_HEX), "--authorities", authorities)
    assert code == 2 and "--set-id is required" in err
    code, _, err = _run(
        capsys, str(vectors / JUSTIFICATION_HEX), "--commit-message", "--authorities", authorities
    )
    assert code == 2 and "not a GRANDPA commit message" in err


def test_cli_bad_set_id_argument_exits_2(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["inspect", "justification", "0x00", "--set-id", "-1", "--authorities", "[]"])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_cli_subprocess_real_justification(vectors: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "cli.py",
            "inspect",
            "justification",
            str(vectors / JUSTIFICATION_HEX),
            "--set-id",
            "0",
            "--authorities",
            str(vectors / JUSTIFICATION),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["valid"] is True
