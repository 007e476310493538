"""Three real ``cli.py node`` processes over libp2p on 127.0.0.1: Aura authoring, block sync and
GRANDPA finality across processes, observed through JSON-RPC over HTTP POST.

The chain spec (raw) has Alice, Bob and Charlie as Aura and GRANDPA authorities with 500 ms slots;
each node gets its keys with ``cli.py key insert`` into ``BASE/chains/<id>/keystore`` and a fixed
``--node-key`` so that its peer id (and thus the bootnode addresses) is known before it starts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from genesis import presets
from genesis.build_spec import ChainDefinition, chain_spec_document
from pychain.network.identity import peer_id_of
from pychain.primitives.keyring import dev_keypair
from pychain.runtime import RuntimeConfig

ROOT = Path(__file__).resolve().parents[2]
CLI = str(ROOT / "cli.py")
CHAIN_ID = "multiproc_test"
VALIDATORS = ("Alice", "Bob", "Charlie")
SLOT_MS = 500


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_spec(path: Path, names: tuple[str, ...] = VALIDATORS) -> None:
    """A raw chain spec whose authorities are ``names`` (sudo Alice)."""
    metadata: dict[str, Any] = {
        "name": "Multiprocess Test",
        "id": CHAIN_ID,
        "chainType": "Local",
        "bootNodes": [],
        "telemetryEndpoints": None,
        "protocolId": "pychain",
        "properties": {"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UNIT"},
        "codeSubstitutes": {},
    }
    genesis = presets.testnet_genesis(list(names), "Alice", list(names))
    definition = ChainDefinition(metadata, RuntimeConfig(slot_duration=SLOT_MS), genesis)
    path.write_text(json.dumps(chain_spec_document(definition, raw=True)))


def rpc(port: int, method: str, params: list[Any] | None = None) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert "error" not in answer, answer
    return answer["result"]


def heights(port: int) -> tuple[int, int]:
    """``(best, finalized)`` block numbers of the node serving RPC on ``port``."""
    best = int(rpc(port, "chain_getHeader")["number"], 16)
    final_hash = rpc(port, "chain_getFinalizedHead")
    finalized = int(rpc(port, "chain_getHeader", [final_hash])["number"], 16)
    return best, finalized


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class ProcessNet:
    """``cli.py node`` processes of the validators ``names`` (keys inserted with the CLI)."""

    def __init__(self, root: Path, names: tuple[str, ...]) -> None:
        self.root = root
        self.spec = root / "spec.json"
        write_spec(self.spec, names)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.nodes: list[dict[str, Any]] = []
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        for i, name in enumerate(names):
            base = root / name.lower()
            keystore = base / "chains" / CHAIN_ID / "keystore"
            for key_type, scheme in (("aura", "sr25519"), ("gran", "ed25519")):
                subprocess.run(
                    [sys.executable, CLI, "key", "insert", "--keystore-path", str(keystore),
                     "--key-type", key_type, "--scheme", scheme, "--suri", f"//{name}",
                     "--password", ""],
                    check=True, env=self.env, capture_output=True, timeout=60,
                )
            secret = bytes([0x40 + i]) * 32
            self.nodes.append(
                {"name": name, "base": base, "key": secret.hex(), "peer": peer_id_of(secret),
                 "port": free_port(), "rpc": free_port(), "log": root / f"{name}.log"}
            )

    def start(self, i: int) -> None:
        node = self.nodes[i]
        others = [n for n in self.nodes if n is not node]
        bootnodes = [f"/ip4/127.0.0.1/tcp/{n['port']}/p2p/{n['peer']}" for n in others]
        command = [
            sys.executable, CLI, "node", "--chain", str(self.spec), "--base-path",
            str(node["base"]), "--name", node["name"], "--validator", "--port",
            str(node["port"]), "--rpc-port", str(node["rpc"]), "--no-prometheus",
            "--node-key", node["key"], "--bootnodes", *bootnodes,
        ]
        with open(node["log"], "ab") as log:
            self.procs[i] = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    def kill(self, i: int) -> None:
        proc = self.procs.pop(i)
        proc.kill()
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[[tuple[str, ...]], ProcessNet]]:
    started: list[ProcessNet] = []

    def make(names: tuple[str, ...]) -> ProcessNet:
        net = ProcessNet(tmp_path, names)
        started.append(net)
        for i in range(len(names)):
            net.start(i)
        return net

    try:
        yield make
    finally:
        for net in started:
            net.stop_all()


@pytest.mark.slow
def test_three_node_processes_author_and_finalize_over_libp2p(
    processes: Callable[[tuple[str, ...]], ProcessNet],
) -> None:
    network = processes(VALIDATORS).nodes
    ports = [node["rpc"] for node in network]

    def all_finalized(at_least: int) -> Callable[[], bool]:
        return lambda: all(heights(port)[1] >= at_least for port in ports)

    wait_for(all_finalized(3), 90, "every node to finalize block #3")
    start = min(heights(port)[1] for port in ports)
    # Steady state: sample best - finalized on every node every 250 ms while 6+ blocks finalize.
    lags: list[int] = []
    deadline = time.monotonic() + 60
    while min(heights(port)[1] for port in ports) < start + 6:
        assert time.monotonic() < deadline, "finality did not advance by 6 blocks"
        for port in ports:
            best, finalized = heights(port)
            lags.append(best - finalized)
        time.sleep(0.25)
    lags.sort()
    print(f"process finality lag: {len(lags)} samples, median {lags[len(lags) // 2]}, "
          f"p90 {lags[int(len(lags) * 0.9)]}, max {lags[-1]}")
    assert lags[len(lags) // 2] <= 2
    for node in network:
        log = node["log"].read_text()
        assert f"Local node identity is: {node['peer']}" in log
        assert f"Listening on /ip4/127.0.0.1/tcp/{node['port']}/p2p/{node['peer']}" in log
    for port in ports:
        assert rpc(port, "system_health")["peers"] >= 1
    # The nodes agree on the finalized chain.
    lowest = min(heights(port)[1] for port in ports)
    hashes = {rpc(port, "chain_getBlockHash", [lowest]) for port in ports}
    assert len(hashes) == 1
    # Blocks of every validator are on the chain (three round-robin Aura authors).
    logs = [node["log"].read_text() for node in network]
    assert sum(log.count("Prepared block for proposing") for log in logs) >= lowest
    assert all("Prepared block for proposing" in log for log in logs)


@pytest.mark.slow
def test_killed_validator_process_restarts_catches_up_and_finality_continues(
    processes: Callable[[tuple[str, ...]], ProcessNet],
) -> None:
    net = processes(("Alice", "Bob", "Charlie", "Dave"))
    ports = [node["rpc"] for node in net.nodes]
    wait_for(lambda: all(heights(port)[1] >= 3 for port in ports), 90, "finality of #3")
    net.kill(0)  # the first bootnode, SIGKILL
    alive = ports[1:]
    start = max(heights(port)[1] for port in alive)
    wait_for(lambda: all(heights(port)[1] >= start + 4 for port in alive), 60, "finality of 3")
    net.start(0)
    target = max(heights(port)[1] for port in alive) + 2
    wait_for(lambda: heights(ports[0])[1] >= target, 60, "the restarted node to catch up")
    # It votes again: a later round seen by Bob counts Alice's prevote.
    alice = "0x" + dev_keypair("Alice", "ed25519").public_key.hex()
    restart_round = rpc(ports[1], "grandpa_roundState")["best"]["round"]

    def alice_voted() -> bool:
        state = rpc(ports[1], "grandpa_roundState")
        rounds = [state["best"], *state["background"]]
        return any(
            r["round"] > restart_round and alice not in r["prevotes"]["missing"] for r in rounds
        )

    wait_for(alice_voted, 60, "the restarted validator's votes")
    wait_for(lambda: all(heights(port)[1] >= target + 4 for port in ports), 60, "finality")
    lowest = min(heights(port)[1] for port in ports)
    assert len({rpc(port, "chain_getBlockHash", [lowest]) for port in ports}) == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--node-key", "abcd"], "node key must be 64 hex characters"),
        (["--bootnodes", "/ip4/127.0.0.1/tcp/30333"], "must end in /p2p/<peer id>"),
        (["--listen-addr", "not-a-multiaddr"], "invalid multiaddr"),
        (["--port", "70000"], "is not a TCP port"),
        (["--offline-after", "-1"], "--offline-after must be positive"),
    ],
)
def test_node_network_flags_bad_input_is_a_one_line_error(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cli

    argv = ["node", "--dev", "--base-path", str(tmp_path), "--no-prometheus", "--no-rpc", *flags]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_node_help_documents_the_network_and_research_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import cli

    with pytest.raises(SystemExit):
        cli.main(["node", "--help"])
    out = capsys.readouterr().out
    for flag in ("--port", "--listen-addr", "--bootnodes", "--node-key", "--node-key-file",
                 "--equivocate", "--offline-after"):
        assert flag in out


def test_node_refuses_a_p2p_port_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cli

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["node", "--dev", "--base-path", str(tmp_path), "--no-prometheus", "--no-rpc",
                "--port", str(port)]
        assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --port {port}: the p2p port is already in use"]
