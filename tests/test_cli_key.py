"""Tests of ``pychain key {generate,inspect,insert}`` (pychain.commands.key) through cli.main."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from pychain.primitives.keys import DEV_PHRASE, Keypair
from pychain.primitives.keystore import Keystore

ROOT = Path(__file__).resolve().parent.parent
ALICE_HEX = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
ALICE_SS58 = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_alice_prints_subkey_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "key", "inspect", "//Alice")
    assert code == 0
    assert out.splitlines() == [
        "Secret Key URI `//Alice` is account:",
        "  Network ID:        substrate",
        "  Secret seed:       0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a",
        f"  Public key (hex):  {ALICE_HEX}",
        f"  Account ID:        {ALICE_HEX}",
        f"  Public key (SS58): {ALICE_SS58}",
        f"  SS58 Address:      {ALICE_SS58}",
    ]


def test_inspect_phrase_json_uses_substrate_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "key", "inspect", DEV_PHRASE, "--output-type", "json")
    assert code == 0
    report = json.loads(out)
    assert list(report) == [
        "secretPhrase",
        "networkId",
        "secretSeed",
        "publicKey",
        "accountId",
        "ss58PublicKey",
        "ss58Address",
    ]
    assert report["secretPhrase"] == DEV_PHRASE
    assert report["publicKey"] == "0x" + Keypair.from_phrase(DEV_PHRASE).public_key.hex()


def test_inspect_network_changes_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "key", "inspect", "//Alice", "--network", "polkadot", "--output-type", "json"
    )
    report = json.loads(out)
    assert code == 0 and report["networkId"] == "polkadot"
    assert report["ss58Address"] == "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"
    assert report["secretKeyUri"] == "//Alice"


def test_inspect_ecdsa_shows_public_and_account(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "key", "inspect", "//Alice", "--scheme", "ecdsa", "--output-type", "json"
    )
    report = json.loads(out)
    assert code == 0
    assert (
        report["publicKey"]
        == "0x020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1"
    )
    assert (
        report["accountId"] == "0x01e552298e47454041ea31273b4b630c64c104e4514aa3643490b8aaca9cf8ed"
    )
    assert report["ss58Address"] == "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"


def test_inspect_soft_path_has_no_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "key", "inspect", "//Alice/1")
    assert code == 0 and "Secret seed:       n/a" in out


def test_inspect_address_prints_public_fields_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "key", "inspect", ALICE_SS58)
    assert code == 0
    assert out.splitlines()[0] == f"Public Key URI `{ALICE_SS58}` is account:"
    assert "Secret" not in out and f"Public key (hex):   {ALICE_HEX}" in out
    code, out, _ = _run(capsys, "key", "inspect", "--public", ALICE_SS58, "--output-type", "json")
    assert code == 0
    assert json.loads(out) == {
        "networkId": "substrate",
        "publicKey": ALICE_HEX,
        "accountId": ALICE_HEX,
        "ss58PublicKey": ALICE_SS58,
        "ss58Address": ALICE_SS58,
    }


def test_inspect_public_hex_and_ecdsa_address(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "key", "inspect", "--public", ALICE_HEX, "--network", "2")
    assert code == 0 and "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F" in out
    ecdsa_address = "KW39r9CJjAVzmkf9zQ4YDb2hqfAVGdRqn53eRqyruqpxAP5YL"
    code, out, _ = _run(capsys, "key", "inspect", ecdsa_address, "--output-type", "json")
    assert code == 0
    assert json.loads(out)["ss58Address"] == "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"


@pytest.mark.parametrize("scheme", ["sr25519", "ed25519", "ecdsa"])
def test_generate_json_rebuilds_same_key(capsys: pytest.CaptureFixture[str], scheme: str) -> None:
    code, out, _ = _run(
        capsys, "key", "generate", "--scheme", scheme, "--words", "24", "--output-type", "json"
    )
    report = json.loads(out)
    assert code == 0 and len(report["secretPhrase"].split()) == 24
    pair = Keypair.from_phrase(report["secretPhrase"], scheme)
    assert report["publicKey"] == "0x" + pair.public_key.hex()
    assert report["secretSeed"] == "0x" + (pair.seed or b"").hex()


def test_generate_text_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "key", "generate", "--network", "kusama")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("Secret phrase:       ")
    assert len(lines[0].split(":", 1)[1].split()) == 12
    assert lines[1] == "  Network ID:        kusama"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["key", "inspect", DEV_PHRASE.replace("walk", "wall")], "checksum"),
        (["key", "inspect", DEV_PHRASE.replace("walk", "walkk")], "not in the BIP-39"),
        (["key", "inspect", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ"], "checksum"),
        (["key", "inspect", "//Alice/soft", "--scheme", "ed25519"], "hard derivation"),
        (["key", "inspect", "0x1234"], "32 bytes"),
        (["key", "inspect", "//Alice", "--network", "99999"], "unknown network"),
        (["key", "inspect", "--public", "0xzz"], "hex"),
        (["key", "inspect", "--public", ALICE_HEX, "--scheme", "ecdsa"], "33 bytes"),
        (["key", "generate", "--words", "13"], "invalid choice"),
        (["key", "generate", "--scheme", "rsa"], "invalid choice"),
        (["key", "generate", "--network", "moon"], "unknown network"),
    ],
)
def test_bad_input_gives_one_line_error_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert fragment in err


def test_insert_writes_loadable_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("s3cret\n")
    code, out, _ = _run(
        capsys,
        "key",
        "insert",
        "--keystore-path",
        str(tmp_path / "ks"),
        "--key-type",
        "gran",
        "--suri",
        "//Alice",
        "--scheme",
        "ed25519",
        "--password-filename",
        str(password_file),
    )
    assert code == 0 and "gran" in out
    (entry,) = Keystore(tmp_path / "ks", "s3cret").keys()
    assert entry.scheme == "ed25519"
    assert (
        Keystore(tmp_path / "ks", "s3cret").load("gran", entry.public_key).public_key
        == entry.public_key
    )


def test_insert_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = ["key", "insert", "--keystore-path", str(tmp_path), "--suri", "//Alice"]
    code, _, err = _run(capsys, *base, "--key-type", "aura")
    assert code == 2 and "password" in err
    code, _, err = _run(capsys, *base, "--key-type", "AURA!", "--password", "x")
    assert code == 2 and "key type" in err


def test_cli_entry_point_runs_as_script() -> None:
    result = subprocess.run(
        [sys.executable, "cli.py", "key", "inspect", "//Bob", "--output-type", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        json.loads(result.stdout)["ss58Address"]
        == "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    )
