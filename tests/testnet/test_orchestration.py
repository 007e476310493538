"""The :class:`Testnet` process manager, driven with a fake node command (``fake_node.py``): spec
and keystores written, processes started and connected, ``nodes.json``, kill/restart/terminate,
``wait_for``, the partition table and the ``cli.py testnet`` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genesis.build_spec import genesis_block_of, load_chain
from pychain.primitives.keys import Keypair
from pychain.primitives.keystore import Keystore
from pychain.testnet.config import default_config
from pychain.testnet.errors import NodeProcessError, WaitTimeout
from pychain.testnet.network import Testnet, multiaddr
from pychain.testnet.spec import keystore_dir
from tests.testnet.conftest import FAKE_NODE

ROOT = Path(__file__).resolve().parents[2]


def test_chain_spec_has_every_authority_and_loads(tmp_path: Path, ports: dict[str, int]) -> None:
    config = default_config(5, contributors=2, slot_duration=500, **ports)
    testnet = Testnet(config, tmp_path, node_command=FAKE_NODE)
    testnet.prepare()
    definition = load_chain(str(testnet.spec_path))
    assert definition.is_raw
    assert definition.metadata["id"] == "pychain_testnet"
    genesis_block_of(definition)  # builds: the runtime reads its :code (slot duration 500)
    store = Keystore(keystore_dir(tmp_path / "eve", "pychain_testnet"), "")
    eve_gran = Keypair.from_uri("//Eve", "ed25519").public_key
    assert store.has_key("gran", eve_gran)
    assert store.load("gran", eve_gran).public_key == eve_gran


def test_testnet_starts_connects_and_lists_nodes(tmp_path: Path, ports: dict[str, int]) -> None:
    config = default_config(4, **ports)
    with Testnet(config, tmp_path, node_command=FAKE_NODE, stop_timeout=5) as testnet:
        testnet.start(timeout=30)
        listed = json.loads((tmp_path / "nodes.json").read_text())
        assert [n["name"] for n in listed] == ["alice", "bob", "charlie", "dave"]
        assert [n["rpc_port"] for n in listed] == [ports["rpc_port"] + i for i in range(4)]
        assert all(n["pid"] == testnet.nodes[i].pid for i, n in enumerate(listed))
        assert all(n["validator"] for n in listed)
        args = testnet.node_args(0)
        assert multiaddr(ports["port"] + 1, listed[1]["peer_id"]) in args
        assert multiaddr(ports["port"], listed[0]["peer_id"]) not in args
        peers = testnet.wait_for(
            lambda: all((s.peers or 0) == 3 for s in testnet.statuses()), 20, what="3 peers each"
        )
        assert peers is True
        log = Path(listed[0]["log_file"]).read_text()
        assert f"Local node identity is: {listed[0]['peer_id']}" in log
        genesis = {testnet.block_hash(i, 0) for i in range(4)}
        assert len(genesis) == 1 and None not in genesis


def test_kill_restart_and_terminate_one_node(tmp_path: Path, ports: dict[str, int]) -> None:
    config = default_config(3, **ports)
    with Testnet(config, tmp_path, node_command=FAKE_NODE, stop_timeout=5) as testnet:
        testnet.start(timeout=30)
        old_pid = testnet.nodes[1].pid
        testnet.kill(1)
        assert not testnet.is_running(1)
        assert testnet.exit_code(1) == -signal.SIGKILL
        assert testnet.status(1).status == "killed"
        with pytest.raises(NodeProcessError, match="not running"):
            testnet.kill(1)
        testnet.restart(1, timeout=30)
        listed = json.loads((tmp_path / "nodes.json").read_text())
        assert listed[1]["pid"] == testnet.nodes[1].pid != old_pid
        assert listed[1]["restarts"] == 1
        assert testnet.status(1).status == "running"
        assert testnet.terminate(2, timeout=5) == 0  # SIGTERM: a clean exit
    assert all(not testnet.is_running(i) for i in range(3))


def test_add_node_later_gets_next_ports_and_is_listed(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    config = default_config(2, **ports)
    with Testnet(config, tmp_path, node_command=FAKE_NODE, stop_timeout=5) as testnet:
        testnet.start(timeout=30)
        index = testnet.add_node("late", timeout=30)
        assert index == 2
        assert testnet.nodes[2].rpc_port == ports["rpc_port"] + 2
        assert testnet.nodes[2].validator is False
        listed = json.loads((tmp_path / "nodes.json").read_text())
        assert listed[2]["name"] == "late"
        with pytest.raises(NodeProcessError, match="already exists"):
            testnet.add_node("late")


def test_wait_for_times_out_with_the_condition_named() -> None:
    with pytest.raises(WaitTimeout, match="never true"):
        Testnet.wait_for(lambda: False, timeout=0.3, interval=0.05, what="never true")
    assert Testnet.wait_for(lambda: 7, timeout=1) == 7


def test_node_that_exits_at_start_is_reported_with_its_log(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    config = default_config(1, **ports)
    bad = [sys.executable, "-c", "import sys; print('boom: bad flag'); sys.exit(3)"]
    testnet = Testnet(config, tmp_path, node_command=bad, stop_timeout=2)
    with pytest.raises(NodeProcessError, match="boom: bad flag"):
        testnet.start(timeout=20)
    assert not testnet.is_running(0)


def test_partition_cuts_connections_between_groups_only(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    config = default_config(4, **ports)
    testnet = Testnet(config, tmp_path, node_command=FAKE_NODE, stop_timeout=5, partitionable=True)
    with testnet:
        testnet.start(timeout=30)
        table = testnet.partitioner.table if testnet.partitioner else ""
        testnet.wait_for(lambda: all(s.peers == 3 for s in testnet.statuses()), 20)
        testnet.partition([0, 1], [2, 3])
        # The fake node counts a peer when a TCP connect to its p2p port succeeds.
        assert testnet.wait_for(lambda: all(s.peers == 1 for s in testnet.statuses()), 20)
        testnet.heal()
        assert testnet.wait_for(lambda: all(s.peers == 3 for s in testnet.statuses()), 20)
    listed = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert table and table not in listed  # the table is always removed


def test_cli_testnet_runs_for_a_duration_and_writes_nodes_json(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    env = dict(os.environ, PYCHAIN_TESTNET_NODE_COMMAND=" ".join(FAKE_NODE))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "testnet", "--validators", "2", "--base-dir",
         str(tmp_path), "--duration", "2", "--no-table", "--rpc-port", str(ports["rpc_port"]),
         "--port", str(ports["port"]), "--prometheus-port", str(ports["prometheus_port"])],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 2
    assert "alice: pid=" in done.stdout and "status=running" in done.stdout
    assert len(json.loads((tmp_path / "nodes.json").read_text())) == 2
    assert "alice: exit status 0" in done.stdout


def test_cli_testnet_sigterm_stops_every_node(tmp_path: Path, ports: dict[str, int]) -> None:
    env = dict(os.environ, PYCHAIN_TESTNET_NODE_COMMAND=" ".join(FAKE_NODE))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "testnet", "--validators", "2", "--base-dir",
         str(tmp_path), "--no-table", "--rpc-port", str(ports["rpc_port"]), "--port",
         str(ports["port"]), "--prometheus-port", str(ports["prometheus_port"])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    nodes_json = tmp_path / "nodes.json"
    deadline = time.monotonic() + 30
    while not nodes_json.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pids = [n["pid"] for n in json.loads(nodes_json.read_text())]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--validators", "0"], "--validators must be >= 1"),
        (["--slot-duration", "5"], "slot_duration 5"),
        (["--duration", "-1"], "--duration must be > 0"),
        (["--config", "/nonexistent.toml"], "network file not found"),
        (["--config", "examples/testnet.toml", "--validators", "3"], "cannot be combined"),
        (["--rpc-port", "30333"], "overlaps"),
        (["--validators", "many"], "invalid int value"),
    ],
)
def test_cli_testnet_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "testnet", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_status_table_shows_lag_round_and_status() -> None:
    import io

    from rich.console import Console

    from pychain.testnet.network import NodeStatus
    from pychain.testnet.table import status_table

    rows = [
        NodeStatus("alice", 101, "running", 3, 12, 10, "0x00", 11, 0),
        NodeStatus("bob", 102, "killed"),
    ]
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(status_table(rows))
    text = console.export_text()
    alice = next(line for line in text.splitlines() if "alice" in line)
    cells = [cell.strip() for cell in alice.split("│")[1:-1]]
    assert cells == ["alice", "101", "3", "12", "10", "2", "11", "0", "running"]
    bob = next(line for line in text.splitlines() if "bob" in line)
    assert "killed" in bob and "-" in bob


@pytest.mark.slow
def test_contributors_start_as_participant_processes_and_report(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    config = default_config(1, contributors=2, **ports)
    with Testnet(config, tmp_path, node_command=FAKE_NODE, stop_timeout=5) as testnet:
        testnet.start(timeout=30)
        assert testnet.start_contributors() == 2
        assert testnet.contributor_note is None
        participant = json.loads((tmp_path / "contributor2" / "participant.json").read_text())
        assert participant["suri"] == "//Contributor2"
        assert participant["index"] == 1 and participant["n_clients"] == 2
        assert participant["url"] == f"ws://127.0.0.1:{ports['rpc_port']}"
        # The fake node has no FederatedLearning storage: each participant stops with an error
        # in its summary, which the testnet reports.
        outcomes = testnet.wait_for(
            lambda: (o := testnet.contributor_outcomes())
            and all(outcome.startswith("error") for _, outcome in o)
            and o,
            60,
            what="participant summaries",
        )
        assert [name for name, _ in outcomes] == ["contributor1", "contributor2"]
