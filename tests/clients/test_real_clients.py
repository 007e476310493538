"""Stock Polkadot clients, unmodified, against pychain: py-substrate-interface 1.8.1 and
@polkadot/api 16.5.6 each read storage and constants, sign a transfer and wait for finality —
against `python cli.py node --dev` (a real node process), and against the in-process RPC fixture.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tests.clients.node_process import dev_node
from tests.rpc.chain_fixture import UNIT, rpc_chain

HERE = Path(__file__).resolve().parent
JS_DIR = HERE / "js"


def run_client_against_chain(cmd: list[str], timeout: float = 150) -> dict:
    result: dict = {}

    async def main() -> None:
        async with rpc_chain() as env:

            async def author_loop() -> None:
                while True:
                    await trio.sleep(0.3)
                    env.author()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(author_loop)
                url = f"ws://127.0.0.1:{env.port}"
                with trio.fail_after(timeout):
                    proc = await trio.run_process(
                        [*cmd, url], capture_stdout=True, capture_stderr=True, check=False
                    )
                assert proc.returncode == 0, proc.stderr.decode()[-3000:]
                result.update(json.loads(proc.stdout.decode().strip().splitlines()[-1]))
                nursery.cancel_scope.cancel()

    trio.run(main)
    return result


def run_client_against_node(cmd: list[str], timeout: float = 150) -> dict:
    with dev_node() as node:
        proc = subprocess.run(
            [*cmd, node.url], capture_output=True, text=True, timeout=timeout, check=False
        )
    assert proc.returncode == 0, proc.stderr[-3000:] + "".join(node.lines[-40:])
    result: dict = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
@pytest.mark.parametrize("target", ["node", "fixture"])
def test_py_substrate_interface_transfers_and_reads(target: str) -> None:
    runner = run_client_against_node if target == "node" else run_client_against_chain
    out = runner([sys.executable, str(HERE / "py_check.py")])
    assert out["chain"] == "Development"
    assert out["alice_free"] > 0
    for key in ("sr25519", "fund_ed25519", "ed25519"):
        assert out[key]["success"] is True, out[key]
        assert out[key]["fee"] > 0
        assert "Balances.Transfer" in out[key]["events"]
        assert "TransactionPayment.TransactionFeePaid" in out[key]["events"]
    assert "System.NewAccount" in out["fund_ed25519"]["events"]
    assert out["bob_delta"] == 3 * UNIT
    assert len(out["accounts"]) >= 4  # genesis accounts + the new ed25519 account


def _npm_ready() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not installed: the polkadot.js check needs them")
    if not (JS_DIR / "node_modules" / "@polkadot" / "api").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, timeout=600
        )


@pytest.mark.slow
@pytest.mark.parametrize("target", ["node", "fixture"])
def test_polkadot_js_transfers_and_subscribes(target: str) -> None:
    _npm_ready()
    runner = run_client_against_node if target == "node" else run_client_against_chain
    out = runner(["node", str(JS_DIR / "check.mjs")])
    assert out["specName"] == "pychain"
    assert int(out["existentialDeposit"]) > 0
    assert out["bobDelta"] == "1234567890123"
    assert out["aliceNonceAfter"] == out["aliceNonceBefore"] + 1
    assert "balances.Transfer" in out["events"] and "system.ExtrinsicSuccess" in out["events"]
    assert out["heads"] >= 1
