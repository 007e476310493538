"""A local multi-validator testnet: one OS process per node, on 127.0.0.1, scriptable from Python.

Counterparts: zombienet's native provider and ``polkadot-launch`` (spawn each node with its own
base path, keys and ports, connect them with ``--bootnodes``, watch them over RPC) and Substrate's
``substrate --chain local --alice/--bob`` recipe ("Simulate a network" tutorial). Layout under
the base folder::

    BASE/chain-spec.json      raw chain spec shared by every node
    BASE/nodes.json           one entry per node (name, pid, ports, peer id, paths, flags)
    BASE/<name>/              the node's --base-path (LMDB under chains/<id>/db, keystore)
    BASE/<name>/node.log      its stdout and stderr (appended across restarts)

``nodes.json`` is rewritten on start and whenever a node is (re)started or added, so that other
scripts can find, stop and restart individual nodes. :class:`Testnet` is the API the CLI, the
fault tests, the benchmark and experiments use: ``start``, ``stop``, ``kill(i)``,
``terminate(i)``, ``restart(i)``, ``add_node(...)``, ``rpc(i, method, params)``, ``status(i)``
and ``wait_for(predicate, timeout)``.

Stopping follows Substrate's own shutdown path: SIGTERM to each node (the node stops cleanly),
wait, then SIGKILL whatever is left after a timeout. Nodes run in their own session so that a
Ctrl-C in the terminal reaches the orchestrator only, which then stops them in order.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from pychain.network.identity import peer_id_of
from pychain.testnet.config import MAX_EXTRA_NODES, TestnetConfig, node_key_of
from pychain.testnet.errors import (
    NodeProcessError,
    PartitionError,
    TestnetError,
    TestnetRpcError,
    WaitTimeout,
)
from pychain.testnet.partition import Partitioner, node_gid
from pychain.testnet.rpc import header_number, http_rpc
from pychain.testnet.spec import insert_session_keys, write_chain_spec

__all__ = ["NodeInfo", "NodeStatus", "Testnet", "default_node_command", "multiaddr"]

T = TypeVar("T")

#: The repository root, where ``cli.py`` lives.
ROOT = Path(__file__).resolve().parents[2]
#: Environment variable that replaces the node command line prefix.
NODE_COMMAND_ENV = "PYCHAIN_TESTNET_NODE_COMMAND"
#: Seconds between SIGTERM and SIGKILL when stopping a node (Substrate nodes stop in < 1 s).
DEFAULT_STOP_TIMEOUT = 10.0


def default_node_command() -> list[str]:
    """``python cli.py node``: the command every node process runs (``PYCHAIN_TESTNET_NODE_COMMAND``
    replaces it, split like a shell line, e.g. for a node under a profiler)."""
    override = os.environ.get(NODE_COMMAND_ENV)
    if override:
        return shlex.split(override)
    return [sys.executable, str(ROOT / "cli.py"), "node"]


def multiaddr(port: int, peer_id: str) -> str:
    """The loopback multiaddr of a node: ``/ip4/127.0.0.1/tcp/<port>/p2p/<peer id>``."""
    return f"/ip4/127.0.0.1/tcp/{port}/p2p/{peer_id}"


@dataclass
class NodeInfo:
    """One node as ``nodes.json`` lists it."""

    index: int
    name: str
    pid: int | None
    p2p_port: int
    rpc_port: int
    prometheus_port: int
    peer_id: str
    node_key: str
    base_path: str
    validator: bool
    log_file: str
    suri: str | None = None
    authority: bool = False
    equivocate: bool = False
    offline_after: float | None = None
    restarts: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class NodeStatus:
    """One row of the live table: what a node reports over RPC right now."""

    name: str
    pid: int | None
    status: str
    peers: int | None = None
    best: int | None = None
    finalized: int | None = None
    finalized_hash: str | None = None
    round: int | None = None
    set_id: int | None = None


class Testnet:
    """N node processes sharing one raw chain spec, connected through ``--bootnodes``.

    ``node_command`` is the command line prefix of a node (``python cli.py node`` by default); the
    flags of Substrate's ``RunCmd`` follow it. The object is a context manager that stops every
    process it started on exit.
    """

    __test__ = False  # not a pytest class

    def __init__(
        self,
        config: TestnetConfig,
        base_dir: Path,
        node_command: Sequence[str] | None = None,
        extra_args: Sequence[str] = (),
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        partitionable: bool = False,
    ) -> None:
        self.config = config
        self.base_dir = Path(base_dir)
        self.node_command = list(node_command or default_node_command())
        self.extra_args = list(extra_args)
        self.stop_timeout = stop_timeout
        self.spec_path = self.base_dir / "chain-spec.json"
        self.nodes: list[NodeInfo] = []
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._logs: dict[int, IO[bytes]] = {}
        self._contributors: list[subprocess.Popen[bytes]] = []
        self.contributor_note: str | None = None
        #: With ``partitionable``, node *i* runs under group id ``node_gid(i)`` and an nftables
        #: table (:class:`Partitioner`) can cut the network; it is installed by :meth:`start`.
        self.partitionable = partitionable
        self.partitioner: Partitioner | None = None
        for index, validator in enumerate(config.validators):
            self.nodes.append(
                self._node_info(
                    index,
                    validator.name,
                    validator=True,
                    suri=config.validator_suri(index),
                    authority=validator.authority,
                    equivocate=validator.equivocate,
                    offline_after=validator.offline_after,
                )
            )

    # ------------------------------------------------------------------------------ layout

    def _node_info(self, index: int, name: str, **flags: Any) -> NodeInfo:
        key = node_key_of(index)
        base_path = self.base_dir / name
        return NodeInfo(
            index=index,
            name=name,
            pid=None,
            p2p_port=self.config.port + index,
            rpc_port=self.config.rpc_port + index,
            prometheus_port=self.config.prometheus_port + index,
            peer_id=peer_id_of(key),
            node_key=key.hex(),
            base_path=str(base_path),
            log_file=str(base_path / "node.log"),
            **flags,
        )

    def __enter__(self) -> Testnet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __len__(self) -> int:
        return len(self.nodes)

    def prepare(self) -> None:
        """Write the chain spec and every validator's keystore (idempotent)."""
        try:
            self.base_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TestnetError(f"cannot create {self.base_dir}: {exc}") from None
        write_chain_spec(self.config, self.spec_path)
        for node in self.nodes:
            self._prepare_node(node)

    def _prepare_node(self, node: NodeInfo) -> None:
        Path(node.base_path).mkdir(parents=True, exist_ok=True)
        if node.validator and node.suri is not None:
            insert_session_keys(Path(node.base_path), self.config.chain_id, node.suri)

    def node_args(self, index: int) -> list[str]:
        """The full command line of node ``index``."""
        node = self.nodes[index]
        bootnodes = [
            multiaddr(other.p2p_port, other.peer_id) for other in self.nodes if other is not node
        ]
        args = [
            *self.node_command,
            "--chain", str(self.spec_path),
            "--base-path", node.base_path,
            "--name", node.name,
            "--port", str(node.p2p_port),
            "--rpc-port", str(node.rpc_port),
            "--prometheus-port", str(node.prometheus_port),
            "--node-key", node.node_key,
        ]
        if bootnodes:
            args += ["--bootnodes", *bootnodes]
        if node.validator:
            args.append("--validator")
        if node.equivocate:
            args.append("--equivocate")
        if node.offline_after is not None:
            args += ["--offline-after", f"{node.offline_after:g}"]
        return args + self.extra_args

    def write_nodes_json(self) -> Path:
        """Write ``BASE/nodes.json`` (atomically: write a temporary file, then rename)."""
        path = self.base_dir / "nodes.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps([node.to_json() for node in self.nodes], indent=1) + "\n", encoding="utf-8"
        )
        os.replace(tmp, path)
        return path

    # ------------------------------------------------------------------------- processes

    def start(self, wait: bool = True, timeout: float = 60.0) -> None:
        """Prepare, start every node, write ``nodes.json`` and (``wait``) wait until each
        node answers RPC."""
        self.prepare()
        if self.partitionable and self.partitioner is None:
            partitioner = Partitioner(len(self.config.validators) + MAX_EXTRA_NODES)
            partitioner.install()
            self.partitioner = partitioner
        try:
            for index in range(len(self.nodes)):
                self._spawn(index)
            self.write_nodes_json()
            if wait:
                self.wait_ready(timeout=timeout)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, index: int) -> None:
        node = self.nodes[index]
        if self.is_running(index):
            raise NodeProcessError(f"node {node.name} is already running (pid {node.pid})")
        self._close_log(index)
        log = open(node.log_file, "ab")  # noqa: SIM115 - closed in _close_log
        self._logs[index] = log
        try:
            proc = subprocess.Popen(
                self.node_args(index),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(ROOT),
                start_new_session=True,
                group=node_gid(index) if self.partitionable else None,
            )
        except OSError as exc:
            self._close_log(index)
            raise NodeProcessError(f"cannot start node {node.name}: {exc}") from None
        self._procs[index] = proc
        node.pid = proc.pid

    def _close_log(self, index: int) -> None:
        log = self._logs.pop(index, None)
        if log is not None:
            log.close()

    def _index(self, index: int) -> NodeInfo:
        if not 0 <= index < len(self.nodes):
            raise NodeProcessError(f"no node {index}; the testnet has {len(self.nodes)}")
        return self.nodes[index]

    def is_running(self, index: int) -> bool:
        """Whether node ``index``'s process is alive."""
        self._index(index)
        proc = self._procs.get(index)
        return proc is not None and proc.poll() is None

    def exit_code(self, index: int) -> int | None:
        """The exit status of a stopped node (negative: killed by that signal)."""
        proc = self._procs.get(index)
        return None if proc is None else proc.poll()

    def kill(self, index: int) -> None:
        """SIGKILL node ``index`` (a crash: no clean shutdown) and reap it."""
        self._index(index)
        proc = self._procs.get(index)
        if proc is None or proc.poll() is not None:
            raise NodeProcessError(f"node {self.nodes[index].name} is not running")
        proc.kill()
        proc.wait()
        self._close_log(index)

    def terminate(self, index: int, timeout: float | None = None) -> int | None:
        """SIGTERM node ``index``, wait up to ``timeout`` s, then SIGKILL; its exit status."""
        self._index(index)
        proc = self._procs.get(index)
        if proc is None:
            return None
        self._stop_all([proc], self.stop_timeout if timeout is None else timeout)
        self._close_log(index)
        return proc.poll()

    def restart(self, index: int, wait: bool = True, timeout: float = 60.0) -> None:
        """Start node ``index`` again with the same database, keys and ports (after a kill or a
        terminate; a running node is terminated first)."""
        node = self._index(index)
        if self.is_running(index):
            self.terminate(index)
        node.restarts += 1
        self._spawn(index)
        self.write_nodes_json()
        if wait:
            self.wait_ready([index], timeout=timeout)

    def add_node(
        self,
        name: str,
        validator: bool = False,
        suri: str | None = None,
        start: bool = True,
        wait: bool = True,
        timeout: float = 60.0,
    ) -> int:
        """Add a node after the start (a full node by default, or a validator holding the keys of
        ``suri``); it knows every other node as a bootnode and syncs from genesis."""
        if any(node.name == name for node in self.nodes):
            raise NodeProcessError(f"a node called {name!r} already exists")
        if len(self.nodes) >= len(self.config.validators) + MAX_EXTRA_NODES:
            raise NodeProcessError(f"at most {MAX_EXTRA_NODES} nodes can be added at run time")
        if validator and suri is None:
            raise NodeProcessError("a validator added at run time needs a suri for its keys")
        index = len(self.nodes)
        node = self._node_info(index, name, validator=validator, suri=suri)
        self.nodes.append(node)
        self._prepare_node(node)
        if start:
            self._spawn(index)
            if wait:
                self.wait_ready([index], timeout=timeout)
        self.write_nodes_json()
        return index

    @staticmethod
    def _stop_all(procs: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
        """SIGTERM each process, wait for all up to ``timeout`` s, SIGKILL the rest."""
        alive = [p for p in procs if p.poll() is None]
        for proc in alive:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + timeout
        for proc in alive:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the contributors, then every node: SIGTERM, wait, SIGKILL after ``timeout``."""
        limit = self.stop_timeout if timeout is None else timeout
        self._stop_all(self._contributors, limit)
        self._stop_all(list(self._procs.values()), limit)
        for index in list(self._logs):
            self._close_log(index)
        if self.partitioner is not None:
            self.partitioner.close()
            self.partitioner = None

    def partition(self, group_a: Sequence[int], group_b: Sequence[int]) -> None:
        """Cut all traffic between two groups of nodes (needs ``partitionable=True``)."""
        if self.partitioner is None:
            raise PartitionError("start the testnet with partitionable=True to partition it")
        self.partitioner.partition(group_a, group_b)

    def heal(self) -> None:
        """Undo :meth:`partition`."""
        if self.partitioner is not None:
            self.partitioner.heal()

    # ------------------------------------------------------------------------ contributors

    def start_contributors(self) -> int:
        """Start one ``ml_engine.participant`` process per ``[[contributors]]`` entry, each
        talking to node ``i mod N``; returns how many started (0 with :attr:`contributor_note`
        set when the module is unavailable)."""
        if not self.config.contributors:
            return 0
        if importlib.util.find_spec("ml_engine.participant") is None:
            self.contributor_note = "ml_engine.participant is not available: no contributors"
            return 0
        n = len(self.config.contributors)
        for i, contributor in enumerate(self.config.contributors):
            node = self.nodes[i % len(self.config.validators)]
            folder = self.base_dir / contributor.name
            folder.mkdir(parents=True, exist_ok=True)
            participant = {
                "url": f"ws://127.0.0.1:{node.rpc_port}",
                "task_id": self.config.task_id,
                "suri": self.config.contributor_suri(i),
                "index": contributor.shard,
                "n_clients": n,
                "dataset": self.config.dataset,
                "partition": self.config.partition,
                "seed": self.config.seed,
                "stake": contributor.stake,
                "attack": contributor.attack,
                "n_attackers": sum(1 for c in self.config.contributors if c.attack),
                "log_path": str(folder / "participant.log"),
                "summary_path": str(folder / "summary.json"),
            }
            config_path = folder / "participant.json"
            config_path.write_text(json.dumps(participant, indent=1) + "\n", encoding="utf-8")
            with open(folder / "stdout.log", "ab") as out:
                try:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "ml_engine.participant", "--config",
                         str(config_path)],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        cwd=str(ROOT),
                        start_new_session=True,
                    )
                except OSError as exc:
                    raise NodeProcessError(f"cannot start {contributor.name}: {exc}") from None
            self._contributors.append(proc)
        return n

    @property
    def contributor_pids(self) -> list[int]:
        return [proc.pid for proc in self._contributors]

    def contributor_outcomes(self) -> list[tuple[str, str]]:
        """(name, outcome) of each started contributor, from the JSON summary its process
        writes at exit (``status`` and ``error``), or ``running``/``no summary``."""
        outcomes = []
        for contributor, proc in zip(self.config.contributors, self._contributors, strict=False):
            summary = self.base_dir / contributor.name / "summary.json"
            try:
                data = json.loads(summary.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                outcomes.append(
                    (contributor.name, "running" if proc.poll() is None else "no summary")
                )
                continue
            status = data.get("status", "?") if isinstance(data, dict) else "?"
            error = data.get("error") if isinstance(data, dict) else None
            outcomes.append((contributor.name, f"{status}: {error}" if error else str(status)))
        return outcomes

    # ------------------------------------------------------------------------------- RPC

    def rpc(self, index: int, method: str, params: list[Any] | None = None,
            timeout: float = 5.0) -> Any:
        """Call ``method`` on node ``index`` over HTTP JSON-RPC."""
        return http_rpc(self._index(index).rpc_port, method, params, timeout)

    def url(self, index: int) -> str:
        """The WebSocket URL of node ``index`` (for :class:`pychain.rpc.client.PychainClient`)."""
        return f"ws://127.0.0.1:{self._index(index).rpc_port}"

    def best_number(self, index: int) -> int:
        return header_number(self.rpc(index, "chain_getHeader"))

    def finalized(self, index: int) -> tuple[int, str]:
        """Node ``index``'s finalized head as (number, hash)."""
        head = self.rpc(index, "chain_getFinalizedHead")
        return header_number(self.rpc(index, "chain_getHeader", [head])), str(head)

    def finalized_number(self, index: int) -> int:
        return self.finalized(index)[0]

    def block_hash(self, index: int, number: int) -> str | None:
        value = self.rpc(index, "chain_getBlockHash", [number])
        return None if value is None else str(value)

    def status(self, index: int, timeout: float = 2.0) -> NodeStatus:
        """Peers, best, finalized and GRANDPA round of node ``index`` (``status`` says
        ``stopped``/``killed``/``starting`` when it does not answer)."""
        node = self._index(index)
        proc = self._procs.get(index)
        if proc is None:
            return NodeStatus(node.name, node.pid, "not started")
        code = proc.poll()
        if code is not None:
            return NodeStatus(node.name, node.pid, "killed" if code < 0 else f"exited {code}")
        try:
            health = self.rpc(index, "system_health", timeout=timeout)
            best = header_number(self.rpc(index, "chain_getHeader", timeout=timeout))
            head = self.rpc(index, "chain_getFinalizedHead", timeout=timeout)
            finalized = header_number(self.rpc(index, "chain_getHeader", [head], timeout=timeout))
        except TestnetRpcError:
            return NodeStatus(node.name, node.pid, "starting")
        round_number: int | None = None
        set_id: int | None = None
        try:
            state = self.rpc(index, "grandpa_roundState", timeout=timeout)
            round_number = int(state["best"]["round"])
            set_id = int(state["setId"])
        except (TestnetRpcError, KeyError, TypeError, ValueError):
            pass
        peers = health.get("peers") if isinstance(health, dict) else None
        syncing = isinstance(health, dict) and bool(health.get("isSyncing"))
        return NodeStatus(
            node.name,
            node.pid,
            "syncing" if syncing else "running",
            peers if isinstance(peers, int) else None,
            best,
            finalized,
            str(head),
            round_number,
            set_id,
        )

    def statuses(self) -> list[NodeStatus]:
        return [self.status(i) for i in range(len(self.nodes))]

    def wait_ready(self, indices: Sequence[int] | None = None, timeout: float = 60.0) -> None:
        """Wait until each node answers ``system_health``; a node that exits first is an error
        naming the tail of its log."""
        pending = list(range(len(self.nodes)) if indices is None else indices)
        deadline = time.monotonic() + timeout
        while pending:
            for index in list(pending):
                if not self.is_running(index):
                    raise NodeProcessError(
                        f"node {self.nodes[index].name} exited with status "
                        f"{self.exit_code(index)}: {self.log_tail(index)}"
                    )
                try:
                    self.rpc(index, "system_health", timeout=1.0)
                except TestnetRpcError:
                    continue
                pending.remove(index)
            if not pending:
                return
            if time.monotonic() > deadline:
                names = ", ".join(self.nodes[i].name for i in pending)
                raise WaitTimeout(f"node(s) {names} did not answer RPC within {timeout:g} s")
            time.sleep(0.2)

    def log_tail(self, index: int, lines: int = 5) -> str:
        """The last ``lines`` lines of node ``index``'s log, joined with `` | ``."""
        try:
            text = Path(self.nodes[index].log_file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"

    @staticmethod
    def wait_for(
        predicate: Callable[[], T | None],
        timeout: float,
        interval: float = 0.25,
        what: str = "condition",
    ) -> T:
        """Call ``predicate`` every ``interval`` s until it returns a truthy value (returned);
        RPC errors count as "not yet". :class:`WaitTimeout` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = predicate()
            except TestnetRpcError as exc:
                value, last_error = None, exc
            if value:
                return value
            if time.monotonic() > deadline:
                suffix = f" (last RPC error: {last_error})" if last_error else ""
                raise WaitTimeout(f"{what} not reached within {timeout:g} s{suffix}")
            time.sleep(interval)
