"""Sustained signed transfers over RPC into a 4-validator testnet, against a 1-node dev chain.

Measures, with real node processes on 127.0.0.1 (``python cli.py node``, Aura 1000 ms slots,
GRANDPA), how fast signed ``Balances.transfer_keep_alive`` extrinsics submitted over HTTP
``author_submitExtrinsic`` are included and finalized:

* 2,000 transfers (quick: 200) from the twelve endowed dev accounts (Alice … Ferdie and their
  stashes), sequential nonces per sender, immortal era, pre-signed before the clock starts; each
  sender submits to one node (sender *s* to node *s* mod N) so that its nonces arrive in order;
* submission rate (tx/s of the submit loop), inclusion rate (transfers / time from the first
  submission until the senders' nonces at the best block account for all of them), time until
  all are finalized, and the finality lag (best − finalized, every 250 ms on every node) under
  that load;
* baseline: the same loop against ``python cli.py node --dev`` (one node, Alice), in the same
  run; ratios are testnet / dev.

Figures are printed, never asserted (STYLE §12).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pychain.primitives.era import Era
from pychain.primitives.extrinsic import sign_extrinsic
from pychain.primitives.keyring import dev_keypair, dev_names
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.rpc.client import PychainClient
from pychain.testnet.config import default_config
from pychain.testnet.errors import TestnetRpcError
from pychain.testnet.finality import histogram_percentile
from pychain.testnet.network import ROOT, Testnet
from pychain.testnet.rpc import header_number, http_rpc

SLOT_MS = 1000
DEV_RPC_PORT = 47944
DEV_P2P_PORT = 47333
DEV_PROMETHEUS_PORT = 47615
TESTNET_PORTS = {"port": 46333, "rpc_port": 46944, "prometheus_port": 46615}


@dataclass
class LoadResult:
    label: str
    transfers: int
    submit_s: float
    included_s: float | None
    finalized_s: float | None
    lag_histogram: dict[int, int]
    rejected: int

    def line(self) -> str:
        def rate(seconds: float | None) -> str:
            return "n/a" if not seconds else f"{self.transfers / seconds:7.1f} tx/s"

        lag = self.lag_histogram
        return (
            f"{self.label:<22} submit {rate(self.submit_s)}  included {rate(self.included_s)}"
            f"  finalized {rate(self.finalized_s)}  lag p50/p95/max "
            f"{histogram_percentile(lag, 50)}/{histogram_percentile(lag, 95)}/"
            f"{max(lag) if lag else 0}  rejected {self.rejected}"
        )


def _sign_all(rpc_port: int, transfers: int) -> list[tuple[int, str, bytes]]:
    """(sender index, hex extrinsic, sender account) of every transfer, nonces in order."""
    senders = [dev_keypair(name) for name in dev_names(include_stash=True)]
    dest = Keypair.from_uri("//BenchDestination", "sr25519").account_id
    with PychainClient(f"ws://127.0.0.1:{rpc_port}", timeout=30) as client:
        runtime = client.runtime
        value = runtime.config.existential_deposit * 10
        call = runtime.runtime.encode_call(
            runtime.runtime.make_call("Balances", "transfer_keep_alive",
                                      dest=AddressId(dest), value=value)
        )
        genesis = client.genesis_hash()
        version = client.runtime_version()
        nonces = [client.account_nonce(pair.account_id) for pair in senders]
    signed = []
    for i in range(transfers):
        s = i % len(senders)
        nonce = nonces[s]
        nonces[s] += 1
        xt = sign_extrinsic(senders[s], call, nonce, Era.immortal(), 0, genesis,
                            version.spec_version, version.transaction_version, None)
        signed.append((s, "0x" + xt.hex(), senders[s].account_id))
    return signed


def _nonce_sum(rpc_port: int, accounts: list[bytes], at: str) -> int:
    with PychainClient(f"ws://127.0.0.1:{rpc_port}", timeout=30) as client:
        block = bytes.fromhex(at[2:])
        return sum(client.account_info(a, block).nonce for a in accounts)


def _load(label: str, rpc_ports: list[int], transfers: int, timeout: float) -> LoadResult:
    signed = _sign_all(rpc_ports[0], transfers)
    accounts = sorted({account for _, _, account in signed})
    head = http_rpc(rpc_ports[0], "chain_getFinalizedHead")
    start_sum = _nonce_sum(rpc_ports[0], accounts, head)
    lag: Counter[int] = Counter()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for port in rpc_ports:
                try:
                    best = header_number(http_rpc(port, "chain_getHeader", timeout=2))
                    fin_hash = http_rpc(port, "chain_getFinalizedHead", timeout=2)
                    fin = header_number(http_rpc(port, "chain_getHeader", [fin_hash], timeout=2))
                except TestnetRpcError:
                    continue
                lag[max(best - fin, 0)] += 1
            stop.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rejected = 0
    t0 = time.monotonic()
    for s, xt, _ in signed:
        try:
            http_rpc(rpc_ports[s % len(rpc_ports)], "author_submitExtrinsic", [xt], timeout=30)
        except TestnetRpcError:
            rejected += 1
    submit_s = time.monotonic() - t0
    included_s = finalized_s = None
    deadline = t0 + timeout
    while time.monotonic() < deadline and finalized_s is None:
        try:
            best_hash = http_rpc(rpc_ports[0], "chain_getBlockHash")
            fin_hash = http_rpc(rpc_ports[0], "chain_getFinalizedHead")
            if included_s is None and (
                _nonce_sum(rpc_ports[0], accounts, best_hash) - start_sum >= transfers - rejected
            ):
                included_s = time.monotonic() - t0
            if _nonce_sum(rpc_ports[0], accounts, fin_hash) - start_sum >= transfers - rejected:
                finalized_s = time.monotonic() - t0
                included_s = included_s or finalized_s
        except TestnetRpcError:
            pass
        time.sleep(0.25)
    stop.set()
    sampler.join()
    return LoadResult(label, transfers, submit_s, included_s, finalized_s, dict(lag), rejected)


def _dev_node(base: Path) -> subprocess.Popen[bytes]:
    log = open(base / "dev-node.log", "ab")  # noqa: SIM115 - owned by the process
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "node", "--dev", "--base-path", str(base / "dev"),
         "--rpc-port", str(DEV_RPC_PORT), "--port", str(DEV_P2P_PORT),
         "--prometheus-port", str(DEV_PROMETHEUS_PORT)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(ROOT),
        start_new_session=True,
    )


def _wait_blocks(port: int, blocks: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if header_number(http_rpc(port, "chain_getHeader")) >= blocks:
                return
        except TestnetRpcError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"node on port {port} did not reach #{blocks}")


def run(quick: bool) -> None:
    transfers = 200 if quick else 2000
    timeout = 120.0 if quick else 600.0
    base = Path(tempfile.mkdtemp(prefix="pychain-bench-testnet-"))
    try:
        dev = _dev_node(base)
        try:
            _wait_blocks(DEV_RPC_PORT, 2, 60)
            baseline = _load("1-node dev chain", [DEV_RPC_PORT], transfers, timeout)
        finally:
            Testnet._stop_all([dev], 10)
        print(baseline.line(), flush=True)
        config = default_config(4, slot_duration=SLOT_MS, **TESTNET_PORTS)
        with Testnet(config, base / "testnet") as testnet:
            testnet.start(timeout=90)
            _wait_blocks(testnet.nodes[0].rpc_port, 2, 60)
            ports = [node.rpc_port for node in testnet.nodes]
            result = _load("4-validator testnet", ports, transfers, timeout)
        print(result.line(), flush=True)
        for what, ours, theirs in (
            ("inclusion", result.included_s, baseline.included_s),
            ("finality", result.finalized_s, baseline.finalized_s),
        ):
            if ours and theirs:
                print(f"ratio testnet/dev {what} rate: {theirs / ours:.2f}x "
                      f"({transfers} transfers, {SLOT_MS} ms slots)")
            else:
                print(f"ratio testnet/dev {what} rate: n/a (not all transfers {what} in time)")
    finally:
        shutil.rmtree(base, ignore_errors=True)
