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

import pytest
import trio
import trio.testing

from consensus.aura import FutureSlot, pre_digest, seal_block
from consensus.grandpa.errors import JustificationError
from consensus.grandpa.justification import GRANDPA_ENGINE_ID, GrandpaJustification
from consensus.grandpa.verify import verify_justification
from genesis import presets
from pychain.network.identity import peer_id_of
from pychain.network.memory import MemoryHub, MemoryNetwork
from pychain.network.messages import Roles
from pychain.node import ChainSetup, Node, NodeConfig
from pychain.node.grandpa import set_at
from pychain.primitives.block import Block
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import sign_extrinsic
from pychain.primitives.keyring import dev_keypair
from pychain.runtime import VERSION, PychainRuntime, RuntimeConfig
from tests.node.helpers import block_containing, transfer

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


def test_authority_set_change_four_to_five_finalizes_under_set_one(tmp_path: Path) -> None:
    names = NAMES[:4]
    new_set = [(dev_keypair(name, "ed25519").public_key, 1) for name in NAMES[:5]]

    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(names):
            await cluster.start(i, name)
        # Eve holds a GRANDPA key that is not in set 0: she observes until the change.
        eve = await cluster.start(4, "Eve")
        await wait_until(lambda: min(cluster.finalized()) >= 3)
        assert eve.grandpa is not None and eve.grandpa.voter is not None
        assert eve.grandpa.voter.local_id is None
        node = cluster.nodes[0]
        runtime = node.runtime.runtime
        inner = runtime.make_call(
            "Grandpa", "schedule_change", next_authorities=new_set, delay=2, forced=None
        )
        call = runtime.encode_call(runtime.make_call("Sudo", "sudo", call=inner))
        alice = dev_keypair("Alice")
        nonce = node.chain.account_nonce(alice.account_id)
        xt = sign_extrinsic(
            alice, call, nonce, Era(), 0, node.chain.genesis_hash, VERSION.spec_version,
            VERSION.transaction_version,
        )
        node.submit_extrinsic(xt)

        def switched() -> bool:
            nodes = cluster.nodes.values()
            return all(n.grandpa is not None and n.grandpa.set_id == 1 for n in nodes)

        await wait_until(switched)
        assert eve.grandpa is not None and eve.grandpa.voter is not None
        assert eve.grandpa.voter.local_id == dev_keypair("Eve", "ed25519").public_key
        history = eve.grandpa.set_history
        assert [(r.set_id, len(r.authorities)) for r in history] == [(0, 4), (1, 5)]
        first = history[1].first_block
        start = min(cluster.finalized())
        await wait_until(lambda: min(cluster.finalized()) >= start + 6)
        assert_consistent_finality(list(cluster.nodes.values()))
        # The enactment block is justified by set 0, blocks after it by set 1.
        checked = 0
        for number, justification in justified_blocks(node):
            header = node.chain.store.expect_header(justification.target[0])
            set_id, voters = set_at(node.chain, node.runtime, header.parent_hash)
            assert set_id == (0 if number < first else 1)
            node.verify_justification(header, (GRANDPA_ENGINE_ID, justification.encode()))
            if number >= first:
                checked += 1
                _, old_voters = set_at(node.chain, node.runtime, node.chain.genesis_hash)
                with pytest.raises(JustificationError):
                    verify_justification(justification, 0, old_voters)
        assert checked >= 3

    run_cluster(tmp_path, names, body)


def sealed_block(node: Node, parent: bytes, slot: int, extrinsics: Sequence[bytes] = ()) -> Block:
    """A block for ``slot`` on ``parent``, sealed with the Aura key of that slot's author."""
    runtime = node.runtime
    built = node.chain.build_block(
        parent,
        [pre_digest(slot)],
        extrinsics,
        runtime.inherent_extrinsics(runtime.slot_timestamp(slot)),
    )
    author = NAMES[slot % len(AUTHORITIES)]
    return seal_block(built.block, dev_keypair(author, "sr25519"))


AUTHORITIES = NAMES[:4]


def test_transactions_gossip_to_peers_and_get_included(tmp_path: Path) -> None:
    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(AUTHORITIES):
            await cluster.start(i, name)
        await wait_until(lambda: min(cluster.best()) >= 2)
        sender = cluster.nodes[2]
        alice, bob = dev_keypair("Alice"), dev_keypair("Bob")
        xt = transfer(sender.chain, alice, 0, bob.account_id, 10**12)
        sender.submit_extrinsic(xt)
        others = [cluster.nodes[i] for i in (0, 1, 3)]
        await wait_until(lambda: all(n.network is not None and n.network.transactions_received
                                     for n in others))
        await wait_until(lambda: block_containing(cluster.nodes[0].chain, xt) is not None)
        included = block_containing(cluster.nodes[0].chain, xt)
        assert included is not None
        # Whoever authored it, every node has the same block at that height.
        number = cluster.nodes[0].chain.store.expect_header(included).number
        await wait_until(lambda: min(cluster.finalized()) >= number)
        assert {n.chain.hash_at(number) for n in cluster.nodes.values()} == {included}

    run_cluster(tmp_path, AUTHORITIES, body)


def test_offline_after_stops_networking_and_others_keep_finalizing(tmp_path: Path) -> None:
    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(AUTHORITIES):
            await cluster.start(i, name, offline_after=2.0 if i == 3 else None)
        quiet = cluster.nodes[3]
        await wait_until(lambda: quiet.offline)
        frozen = quiet.chain.finalized()[1]
        await wait_until(lambda: cluster.nodes[0].chain.finalized()[1] >= frozen + 8)
        assert quiet.chain.finalized()[1] == frozen
        assert quiet.peer_count() == 0
        assert cluster.nodes[0].peer_count() == 2

    run_cluster(tmp_path, AUTHORITIES, body)


def test_competing_blocks_for_one_slot_keep_the_first_as_best(tmp_path: Path) -> None:
    setup = local_setup(AUTHORITIES)
    config = NodeConfig(chain="local", base_path=tmp_path / "a", validator=False)
    with Node.open(config, setup) as node:
        genesis = node.chain.genesis_hash
        alice, bob = dev_keypair("Alice"), dev_keypair("Bob")
        xt = transfer(node.chain, alice, 0, bob.account_id, 10**12)
        first = sealed_block(node, genesis, 5)
        second = sealed_block(node, genesis, 5, [xt])
        assert first.hash() != second.hash()
        assert node.import_block(first).is_new_best
        result = node.import_block(second)
        assert result.status == "imported" and not result.is_new_best
        assert node.chain.best_hash() == first.hash()
        assert node.chain.header(second.hash()) is not None


def test_block_from_the_future_is_refused_and_costs_the_peer(tmp_path: Path) -> None:
    async def body(cluster: Cluster) -> None:
        honest = await cluster.start(0, "Alice")
        liar = await cluster.start(1, None)
        await wait_until(lambda: honest.peer_count() == 1)
        assert honest.clock is not None
        now_slot = honest.clock.now_ms() // SLOT_MS
        future = sealed_block(liar, liar.chain.genesis_hash, now_slot + 20)
        with pytest.raises(FutureSlot):
            honest.import_block(future)
        # The liar stores it without the clock check and announces it.
        liar.chain.import_block(future)
        assert liar.network is not None
        liar.network.announce(future.header)
        assert honest.network is not None
        service = honest.network.service
        liar_id = liar.network.local_peer_id
        await wait_until(lambda: service.reputation.is_banned(liar_id))
        assert honest.chain.header(future.hash()) is None

    run_cluster(tmp_path, AUTHORITIES, body)


def test_full_node_follows_a_single_voter_dev_chain_through_gossiped_commits(
    tmp_path: Path,
) -> None:
    async def body(cluster: Cluster) -> None:
        alice = await cluster.start(0, "Alice")
        follower = await cluster.start(1, None)
        assert alice.grandpa is None and alice.finality is not None  # the fast path
        assert follower.grandpa is not None
        await wait_until(lambda: follower.chain.finalized()[1] >= 10)
        assert_consistent_finality([alice, follower])

    run_cluster(tmp_path, ["Alice"], body)
