"""``pychain tx`` end to end: cli.main in-process against the in-process chain's RPC
(tests/rpc/chain_fixture.py, a block every 100 ms), exit codes 0/1/2 and the bad-input paths."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import cli
from pychain.commands.tx import parse_amount
from pychain.errors import PychainError
from pychain.primitives.ss58 import ss58_encode
from pychain.rpc.client import PychainClient, RpcClient, RpcConnectionError
from tests.rpc.chain_fixture import ALICE, ALICE_ED, BOB, UNIT
from tests.rpc.test_client import run_with_chain

BOB_SS58 = ss58_encode(BOB.account_id)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def transfer_argv(url: str, *extra: str, amount: str = "1.5 UNIT") -> list[str]:
    return [
        "tx",
        "balances",
        "transfer",
        "--from",
        "//Alice",
        "--to",
        BOB_SS58,
        "--amount",
        amount,
        "--url",
        url,
        *extra,
    ]


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert captured.out == ""
    return lines[0]


def test_tx_transfer_finalized_prints_json_and_moves_the_amount(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def work(url: str) -> dict[str, Any]:
        with PychainClient(url) as client:
            before = client.account_info(BOB.account_id).data.free
            code = cli.main(transfer_argv(url, "--wait", "finalized", "--tip", "7"))
            after = client.account_info(BOB.account_id).data.free
        return {"code": code, "delta": after - before}

    got = run_with_chain(work)
    out = json.loads(capsys.readouterr().out)
    assert got["code"] == 0
    assert got["delta"] == 3 * UNIT // 2
    assert out["success"] is True and out["status"] == "finalized" and out["error"] is None
    assert out["feePaid"] > 0
    assert out["sender"] == "0x" + ALICE.account_id.hex()
    events = [e["event"] for e in out["events"]]
    assert "Balances.Transfer" in events and "TransactionPayment.TransactionFeePaid" in events
    paid = next(e for e in out["events"] if e["event"] == "TransactionPayment.TransactionFeePaid")
    assert paid["fields"]["tip"] == 7 and paid["fields"]["actual_fee"] == out["feePaid"]
    assert len(bytes.fromhex(out["blockHash"][2:])) == 32


def test_tx_transfer_wait_none_returns_the_extrinsic_hash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_with_chain(lambda url: cli.main(transfer_argv(url, "--wait", "none")))
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["blockHash"] is None and out["success"] is None
    assert len(bytes.fromhex(out["extrinsicHash"][2:])) == 32


def test_tx_transfer_dispatch_failure_exits_1_with_the_error_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_with_chain(
        lambda url: cli.main(transfer_argv(url, "--allow-death", amount="5000 UNIT"))
    )
    assert code == 1
    line = one_line_error(capsys)
    assert "dispatch failed: Balances.InsufficientBalance" in line


def test_tx_transfer_from_unfunded_account_exits_2_with_the_pool_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def work(url: str) -> int:
        argv = transfer_argv(url)
        argv[argv.index("//Alice")] = "//Charlie"
        return cli.main(argv)

    assert run_with_chain(work) == 2
    line = one_line_error(capsys)
    assert "refused by the pool" in line and "Inability to pay some fees" in line


def test_tx_call_generic_transfer_and_ed25519_remark_succeed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def work(url: str) -> list[int]:
        args = json.dumps({"dest": BOB_SS58, "value": str(UNIT)})
        first = cli.main(
            [
                "tx",
                "call",
                "Balances",
                "transfer_keep_alive",
                "--args",
                args,
                "--from",
                "//Alice",
                "--url",
                url,
            ]
        )
        second = cli.main(
            [
                "tx",
                "call",
                "System",
                "remark",
                "--args",
                '["0x68656c6c6f"]',
                "--from",
                "//Alice",
                "--scheme",
                "ed25519",
                "--url",
                url,
            ]
        )
        return [first, second]

    assert run_with_chain(work) == [0, 0]
    outputs = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert "Balances.Transfer" in [e["event"] for e in outputs[0]["events"]]
    assert outputs[1]["sender"] == "0x" + ALICE_ED.account_id.hex()
    assert outputs[1]["success"] is True


def test_tx_call_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    def work(url: str) -> list[int]:
        base = ["--from", "//Alice", "--url", url]
        return [
            cli.main(["tx", "call", "Balances", "transfer_keep_alive", "--args", "{", *base]),
            cli.main(
                ["tx", "call", "Balances", "transfer_keep_alive", "--args", '{"value": 1}', *base]
            ),
            cli.main(["tx", "call", "Balances", "nope", *base]),
        ]

    assert run_with_chain(work) == [2, 2, 2]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert "not JSON" in lines[0] and "missing ['dest']" in lines[1] and "no call" in lines[2]


@pytest.mark.parametrize(
    ("argv_change", "message"),
    [
        ({"--to": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQX"}, "bad address"),
        ({"--to": "0x1234"}, "32 bytes"),
        ({"--amount": "-5"}, "bad amount"),
        ({"--amount": "1.5 DOT"}, "bad amount"),
        ({"--amount": "0.0000000000001 UNIT"}, "at most 12 decimals"),
        ({"--amount": str(1 << 128)}, "u128::MAX"),
        ({"--tip": "x"}, "bad tip"),
        ({"--from": "not a valid phrase//Alice"}, "secret URI"),
        ({"--url": "http://127.0.0.1:9944"}, "only ws://"),
    ],
)
def test_tx_transfer_bad_input_exits_2_with_one_line(
    argv_change: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = transfer_argv(f"ws://127.0.0.1:{free_port()}")
    for flag, value in argv_change.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    assert cli.main(argv) == 2
    assert message in one_line_error(capsys)


def test_tx_transfer_unreachable_node_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(transfer_argv(f"ws://127.0.0.1:{free_port()}", "--timeout", "2")) == 2
    assert "cannot reach the node" in one_line_error(capsys)


def test_tx_parser_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["tx", "balances", "transfer", "--to", BOB_SS58, "--amount", "1"])
    assert info.value.code == 2
    assert "--from" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(transfer_argv("ws://x", "--keep-alive", "--allow-death"))
    assert info.value.code == 2


@pytest.mark.parametrize(
    ("text", "planck"),
    [
        ("0", 0),
        ("1000", 1000),
        ("1 UNIT", UNIT),
        ("1.5 UNIT", 3 * UNIT // 2),
        ("0.000000000001unit", 1),
        ("2.25 UNIT", 2_250_000_000_000),
    ],
)
def test_parse_amount_reads_planck_and_decimal_units(text: str, planck: int) -> None:
    assert parse_amount(text) == planck


def test_parse_amount_rejects_bad_text_with_typed_error() -> None:
    for text in ("", "1e5", "1.5", "1,5 UNIT", "-1 UNIT", "UNIT", "0x10"):
        with pytest.raises(PychainError):
            parse_amount(text)


# ------------------------------------------------------------------------------- a real node

ROOT = Path(__file__).resolve().parent.parent


def wait_for_rpc(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll until the node's RPC answers (or fail with its log)."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the node exited early"
        try:
            with RpcClient(url, timeout=2) as rpc:
                if int(rpc.request("chain_getHeader")["number"], 16) >= 1:
                    return
        except RpcConnectionError:
            pass
        assert time.monotonic() < deadline, f"no RPC at {url} after {timeout} s"
        time.sleep(0.2)


@pytest.mark.slow
def test_tx_transfer_against_a_dev_node_subprocess(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    log_path = tmp_path / "node.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "cli.py",
                "node",
                "--dev",
                "--slot-duration",
                "200",
                "--rpc-port",
                str(port),
                "--no-prometheus",
                "--duration",
                "120",
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for_rpc(url, process)
            with PychainClient(url) as client:
                before = client.account_info(BOB.account_id).data.free
                ok = cli.main(transfer_argv(url, "--wait", "finalized", amount="2.5 UNIT"))
                out = json.loads(capsys.readouterr().out)
                after = client.account_info(BOB.account_id, bytes.fromhex(out["blockHash"][2:]))
                alice = client.account_info(ALICE.account_id).data.free
                too_much = str(alice + UNIT)
                failed = cli.main(transfer_argv(url, "--allow-death", amount=too_much))
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    assert ok == 0, log_path.read_text()[-2000:]
    assert out["success"] is True and out["status"] == "finalized"
    assert after.data.free - before == 5 * UNIT // 2
    assert failed == 1
    assert "Balances.InsufficientBalance" in one_line_error(capsys)
