"""Several validators in one process over the in-memory network: Aura authoring, sync, GRANDPA.

Each node is a real :class:`pychain.node.Node` (LMDB on a temp dir, the pychain runtime) whose
network is a :class:`~pychain.network.memory.MemoryNetwork` on one hub. Time is trio's
``MockClock`` with autojump, so slots of 250 ms pass as soon as every node is idle: the runs are
fast and do not depend on the machine's load.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trio.testing

from consensus.grandpa.justification import GRANDPA_ENGINE_ID, GrandpaJustification
from genesis import presets
from pychain.network.identity import peer_id_of
from pychain.network.memory import MemoryHub, MemoryNetwork
from pychain.network.messages import Roles
from pychain.node import ChainSetup, Node, NodeConfig
from pychain.node.grandpa import set_at
from pychain.runtime import PychainRuntime, RuntimeConfig

SLOT_MS = 250
#: The wall-clock time at which mock time 0 falls (any fixed value).
WALL_EPOCH = 1_800_000_000.0
NAMES = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")


def local_setup(authorities: Sequence[str], slot_ms: int = SLOT_MS) -> ChainSetup:
    """A chain whose Aura and GRANDPA authorities are the named dev accounts (sudo Alice)."""
    config = RuntimeConfig(slot_duration=slot_ms)
    genesis = presets.testnet_genesis(list(authorities), "Alice", list(NAMES))
    storage = PychainRuntime(config).build_genesis_storage(genesis)
    return ChainSetup("multinode_test", "Multinode Test", "Local", config, storage)


def node_key(i: int) -> bytes:
    return bytes([i + 1]) * 32


@dataclass
class Cluster:
    """Nodes on one :class:`MemoryHub`; node ``i`` uses base path ``root/i`` and node key ``i``."""

    root: Path
    setup: ChainSetup
    nursery: trio.Nursery
    hub: MemoryHub = field(default_factory=MemoryHub)
    nodes: dict[int, Node] = field(default_factory=dict)
    done: dict[int, trio.Event] = field(default_factory=dict)

    def config(self, i: int, key: str | None, **overrides: Any) -> NodeConfig:
        bootnodes = () if i == 0 else (f"/p2p/{peer_id_of(node_key(0))}",)
        values: dict[str, Any] = {
            "chain": "local",
            "base_path": self.root / str(i),
            "name": f"node{i}",
            "validator": key is not None,
            "dev_key": key,
            "status_interval": 5.0,
            "node_key": node_key(i).hex(),
            "bootnodes": bootnodes,
        }
        values.update(overrides)
        return NodeConfig(**values)

    async def start(self, i: int, key: str | None, **overrides: Any) -> Node:
        hub = self.hub

        def factory(secret: bytes, genesis: bytes, roles: Roles, best: Any) -> MemoryNetwork:
            return MemoryNetwork(hub, secret, genesis, roles, best)

        node = Node.open(self.config(i, key, **overrides), self.setup, factory)
        # One wall clock for every node: mock time from a fixed epoch.
        node.wall_clock = lambda: WALL_EPOCH + trio.current_time()
        self.nodes[i] = node
        done = self.done[i] = trio.Event()

        async def run(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            try:
                await node.run(task_status=task_status)
            finally:
                node.close()
                done.set()

        await self.nursery.start(run)
        return node

    async def stop(self, i: int) -> None:
        self.nodes[i].stop()
        await self.done[i].wait()
        del self.nodes[i]

    async def stop_all(self) -> None:
        for i in list(self.nodes):
            await self.stop(i)

    def finalized(self) -> list[int]:
        return [node.chain.finalized()[1] for node in self.nodes.values()]

    def best(self) -> list[int]:
        return [node.chain.best()[1] for node in self.nodes.values()]


def run_cluster(
    tmp_path: Path,
    authorities: Sequence[str],
    body: Callable[[Cluster], Awaitable[Any]],
    limit: float = 600.0,
) -> Any:
    """Run ``body(cluster)`` under a mock clock (``limit``: virtual seconds)."""

    async def main() -> Any:
        async with trio.open_nursery() as nursery:
            cluster = Cluster(tmp_path, local_setup(authorities), nursery)
            try:
                with trio.fail_after(limit):
                    return await body(cluster)
            finally:
                await cluster.stop_all()

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


async def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.05)


def assert_consistent_finality(nodes: Sequence[Node]) -> None:
    """Every node finalized the same block at every height they all finalized."""
    lowest = min(node.chain.finalized()[1] for node in nodes)
    for number in range(lowest + 1):
        hashes = {node.chain.hash_at(number) for node in nodes}
        assert len(hashes) == 1, f"conflicting finalized blocks at #{number}"


def justified_blocks(node: Node) -> list[tuple[int, GrandpaJustification]]:
    """``(number, justification)`` of every canonical block that stores one."""
    out = []
    for number in range(1, node.chain.finalized()[1] + 1):
        block_hash = node.chain.hash_at(number)
        assert block_hash is not None
        for engine, data in node.chain.justifications(block_hash):
            if engine == GRANDPA_ENGINE_ID:
                out.append((number, GrandpaJustification.from_bytes(data)))
    return out


# ------------------------------------------------------------------------------------ tests


def test_four_validators_author_and_finalize_with_small_lag(tmp_path: Path) -> None:
    names = NAMES[:4]
    lags: list[int] = []

    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(names):
            await cluster.start(i, name)
        await wait_until(lambda: min(cluster.best()) >= 8)
        # Steady state: sample best - finalized on every node every 100 ms for 40 slots.
        for _ in range(100):
            await trio.sleep(0.1)
            for node in cluster.nodes.values():
                lags.append(node.chain.best()[1] - node.chain.finalized()[1])
        nodes = list(cluster.nodes.values())
        assert min(cluster.finalized()) >= 40
        assert_consistent_finality(nodes)
        # Every validator authored some of the blocks (round-robin slots).
        authors = {node.config.name for node in nodes if node.authored > 0}
        assert len(authors) == 4
        # Justifications stored with finalized blocks verify against the set of their parent.
        node = nodes[1]
        stored = justified_blocks(node)
        assert len(stored) >= 10
        for number, justification in stored[-5:]:
            header = node.chain.store.expect_header(justification.target[0])
            assert header.number == number
            node.verify_justification(header, (GRANDPA_ENGINE_ID, justification.encode()))
        # Star topology through the bootnode (the in-memory network has no discovery).
        assert nodes[0].peer_count() == 3
        assert all(n.peer_count() == 1 for n in nodes[1:])

    run_cluster(tmp_path, names, body)
    lags.sort()
    median, p95, worst = lags[len(lags) // 2], lags[int(len(lags) * 0.95)], lags[-1]
    print(f"finality lag over {len(lags)} samples: median {median}, p95 {p95}, max {worst}")
    assert median <= 2
    assert p95 <= 2


def test_one_of_four_stopped_finality_continues_and_restart_catches_up(tmp_path: Path) -> None:
    names = NAMES[:4]

    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(names):
            await cluster.start(i, name)
        await wait_until(lambda: min(cluster.finalized()) >= 5)
        await cluster.stop(3)
        stopped_at = max(cluster.finalized())
        await wait_until(lambda: min(cluster.finalized()) >= stopped_at + 8)
        # Restarted with the same database: its persisted voter state and chain are reused.
        node = await cluster.start(3, names[3])
        target = max(cluster.finalized()) + 8
        await wait_until(lambda: min(cluster.finalized()) >= target)
        assert node.grandpa is not None and node.grandpa.voter is not None
        voter = node.grandpa.voter
        # It votes again: its prevote is counted in the others' current or last round.
        await wait_until(lambda: node.grandpa is not None and node.grandpa.env.state is not None)
        others = [cluster.nodes[i] for i in range(3)]

        def counted() -> bool:
            key = node.keys.grandpa
            assert key is not None
            for other in others:
                assert other.grandpa is not None and other.grandpa.voter is not None
                theirs = other.grandpa.voter
                rounds = [theirs.best.round, *theirs.past.values()]
                if any(r.has_voted(key.public_key, 0) for r in rounds):
                    return True
            return False

        await wait_until(counted)
        assert voter.round_number > 1
        assert_consistent_finality(list(cluster.nodes.values()))

    run_cluster(tmp_path, names, body)


def test_late_full_node_syncs_from_genesis_verifying_justifications(tmp_path: Path) -> None:
    names = NAMES[:4]

    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(names):
            await cluster.start(i, name)
        await wait_until(lambda: min(cluster.finalized()) >= 20)
        late = await cluster.start(4, None)  # no keys: a full node following finality
        assert late.grandpa is not None and late.grandpa.voter is not None
        assert late.grandpa.voter.local_id is None
        target = max(cluster.finalized())
        await wait_until(lambda: late.chain.finalized()[1] >= target)
        stored = justified_blocks(late)
        # It imported the finalized blocks with their justifications, each verified.
        assert late.justifications_verified >= len(
            [n for n, _ in stored if n <= target]
        ) - 3
        assert late.justifications_verified >= 10
        assert_consistent_finality(list(cluster.nodes.values()))
        await wait_until(lambda: late.chain.finalized()[1] >= target + 5)

    run_cluster(tmp_path, names, body)


def test_equivocating_validator_is_reported_on_chain(tmp_path: Path) -> None:
    names = NAMES[:4]

    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(names):
            await cluster.start(i, name, equivocate=(i == 3))
        byzantine = cluster.nodes[3]
        offender = byzantine.keys.grandpa
        assert offender is not None
        honest = cluster.nodes[0]
        grandpa = honest.runtime.grandpa

        def reported() -> bool:
            reports = honest.chain.call_at(
                honest.chain.finalized()[0], lambda: list(grandpa.EquivocationReports.iter_keys())
            )
            return any(key[2] == offender.public_key for key in reports)

        await wait_until(reported, timeout=120)
        assert byzantine.grandpa is not None and byzantine.grandpa.equivocations_sent > 0
        start = min(cluster.finalized())
        await wait_until(lambda: min(cluster.finalized()) >= start + 5)
        assert_consistent_finality(list(cluster.nodes.values()))

    run_cluster(tmp_path, names, body)
