"""The node service: chain + pool + Aura authoring + single-voter finality + informant, in one
trio nursery.

Counterpart: ``sc_service::new_full`` of the Substrate node template (``service.rs``) with
``sc_informant`` (the 5-second status line), and ``sc_cli``'s runner (signals stop the node,
the database is closed on the way out). Assembly, in order:

1. resolve ``--chain`` into a :class:`~pychain.node.config.ChainSetup` (preset, plain or raw spec);
2. open the LMDB database at ``BASE/chains/<chain id>/db/full`` and :meth:`Chain.open` it with the
   genesis storage — a database written for another genesis is refused
   (:class:`~pychain.node.errors.DatabaseGenesisMismatch`);
3. the transaction pool (maintained on every import and finality change), the Aura importer, and
   for a validator the slot author and the GRANDPA single voter, with the node's keys;
4. :meth:`Node.run` starts the authoring, finality and status tasks in one nursery and returns when
   :meth:`Node.stop` is called (``--blocks``, ``--duration``, SIGINT/SIGTERM, or a caller).

The RPC server (next issue) attaches to a :class:`Node`: it exposes ``chain``, ``pool``,
``runtime`` and ``config``, :meth:`Node.submit_extrinsic`, and trio channels of new best heads,
finalized heads and pool status (:meth:`Node.subscribe_best`, :meth:`Node.subscribe_finalized`,
:meth:`Node.subscribe_pool_status`). Block import and building run inline in the loop: a block's
work at a time.

Time: the slot loop reads the wall clock as ``trio.current_time()`` plus an offset taken at start
(:class:`NodeClock`), so the same loop runs under trio's ``MockClock`` in tests.

Networking and GRANDPA (several validators): with ``NodeConfig.network`` (``cli.py node``) or a
``network_factory`` (tests: the in-memory twin), a :class:`~pychain.node.network.NodeNetwork`
announces authored blocks, syncs and imports announced ones (Aura seal, then justification
checks), gossips pool submissions and feeds GRANDPA messages to a
:class:`~pychain.node.grandpa.NodeGrandpa` voter (or observer, without a key of the set). A set of
one voter whose key the node holds keeps the single-voter fast path
(:class:`~pychain.node.finality.SingleVoterFinality`), whose commits are gossiped so that
observers follow. ``--offline-after S`` stops networking, authoring and voting after ``S`` seconds
while the process (and its RPC server) keeps running: a crash as the others see it.
"""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

import trio

import pychain
from consensus.aura import next_slot_start, slot_at
from consensus.grandpa.errors import GrandpaError
from consensus.grandpa.messages import FullCommitMessage
from consensus.grandpa.voter_set import VoterSet
from pychain.chain import Chain, FinalityResult, GenesisMismatch, ImportResult, Justification
from pychain.chain.pool import PoolStatus, TransactionPool
from pychain.errors import PychainError
from pychain.frame.metadata import build_metadata
from pychain.network.identity import load_node_key
from pychain.network.libp2p_network import Libp2pNetwork
from pychain.network.messages import GrandpaMessageValue, Roles
from pychain.network.service import BestBlockProvider, NetworkService
from pychain.node.authoring import AuthoredBlock, BlockImporter, SlotAuthor, short_hash
from pychain.node.config import (
    ChainSetup,
    NodeConfig,
    NodeKeys,
    database_path,
    keystore_path,
    load_chain_setup,
    select_keys,
)
from pychain.node.errors import DatabaseGenesisMismatch, NodeConfigError
from pychain.node.finality import FinalizedBlock, SingleVoterFinality
from pychain.node.grandpa import (
    NodeGrandpa,
    from_network,
    set_at,
    to_network,
    verify_block_justification,
)
from pychain.node.network import NodeNetwork
from pychain.primitives.block import Block
from pychain.primitives.header import Header
from pychain.rpc.api import RpcContext, SubstrateRpc
from pychain.rpc.prometheus import Timing, node_registry, serve_prometheus
from pychain.rpc.server import RpcConfig, RpcServer
from pychain.runtime import PychainRuntime
from pychain.storage import DEFAULT_COLUMNS, LmdbStore

__all__ = [
    "Broadcast",
    "LOG_LEVELS",
    "Node",
    "NodeClock",
    "PROPOSAL_SLOT_PORTION",
    "configure_logging",
    "run_node",
]

log = logging.getLogger("pychain.node")

T = TypeVar("T")

#: ``sc_consensus_slots::SlotProportion``: the share of a slot the proposer may spend (2/3, as
#: the node template's ``block_proposal_slot_portion``).
PROPOSAL_SLOT_PORTION = (2, 3)
#: Buffer of each notification subscriber; a subscriber that falls this far behind is dropped.
SUBSCRIBER_BUFFER = 256
#: Most seconds ``--blocks`` waits for the last block's finality before stopping.
FINALITY_WAIT_S = 5.0

#: Builds the node's network service from (node key, genesis hash, roles, best-block provider).
NetworkFactory = Callable[[bytes, bytes, Roles, BestBlockProvider], NetworkService]


class NodeClock:
    """The wall clock seen through trio's clock: ``now = trio.current_time() + offset``."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._offset = wall() - trio.current_time()

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        return int((trio.current_time() + self._offset) * 1000)

    async def sleep_until_ms(self, timestamp_ms: int) -> None:
        await trio.sleep_until(timestamp_ms / 1000 - self._offset)


class Broadcast(Generic[T]):
    """Fan-out of notifications to trio channels (``sc_utils::notification``).

    :meth:`publish` never blocks: a subscriber whose buffer is full is closed and dropped (the
    slow-consumer rule of Substrate's RPC subscriptions).
    """

    def __init__(self, buffer: int = SUBSCRIBER_BUFFER) -> None:
        self._buffer = buffer
        self._senders: list[trio.MemorySendChannel[T]] = []

    def subscribe(self) -> trio.MemoryReceiveChannel[T]:
        send, receive = trio.open_memory_channel[T](self._buffer)
        self._senders.append(send)
        return receive

    def publish(self, item: T) -> None:
        alive = []
        for send in self._senders:
            try:
                send.send_nowait(item)
            except trio.WouldBlock:
                send.close()
                continue
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                continue
            alive.append(send)
        self._senders = alive

    def close(self) -> None:
        for send in self._senders:
            send.close()
        self._senders = []

    def __len__(self) -> int:
        return len(self._senders)


class Node:
    """A running (or ready to run) pychain node. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(
        self,
        config: NodeConfig,
        setup: ChainSetup,
        base_path: Path,
        kv: LmdbStore,
        runtime: PychainRuntime,
        chain: Chain,
        temporary: bool,
    ) -> None:
        self.config = config
        self.setup = setup
        self.base_path = base_path
        self.kv = kv
        self.runtime = runtime
        self.chain = chain
        self.pool = TransactionPool(chain, auto_maintain=True)
        self.importer = BlockImporter(chain, runtime)
        self.keys = NodeKeys()
        self.author: SlotAuthor | None = None
        self.finality: SingleVoterFinality | None = None
        self.authored = 0
        self.clock: NodeClock | None = None
        self._temporary = temporary
        self._closed = False
        self._nursery: trio.Nursery | None = None
        self._best = Broadcast[Header]()
        self._finalized = Broadcast[Header]()
        self._pool_status = Broadcast[PoolStatus]()
        self._best_wakeup = Broadcast[Header](buffer=1024)
        self.rpc: SubstrateRpc | None = None
        self.rpc_server: RpcServer | None = None
        self.rpc_port: int | None = None
        self.prometheus_port: int | None = None
        self.import_timing = Timing()
        self.network: NodeNetwork | None = None
        self.grandpa: NodeGrandpa | None = None
        self.justifications_verified = 0
        self.offline = False
        #: The wall clock the slot loop reads (tests share one across in-process nodes).
        self.wall_clock: Callable[[], float] = time.time
        self._consensus_scope: trio.CancelScope | None = None
        chain.subscribe_imports(self._on_import)
        chain.subscribe_finality(self._on_finality)

    # --------------------------------------------------------------------------- assembly

    @classmethod
    def open(
        cls,
        config: NodeConfig,
        setup: ChainSetup | None = None,
        network_factory: NetworkFactory | None = None,
    ) -> Node:
        """Open the database and assemble the node (nothing runs until :meth:`run`).

        With ``config.network`` the node gets a libp2p network; ``network_factory`` (tests)
        supplies another :class:`NetworkService`, e.g. a ``MemoryNetwork``."""
        if setup is None:
            setup = load_chain_setup(config.chain, config.slot_duration)
        temporary = config.base_path is None
        if config.base_path is None:
            base_path = Path(tempfile.mkdtemp(prefix="pychain-"))
        else:
            base_path = config.base_path
        kv: LmdbStore | None = None
        try:
            db = database_path(base_path, setup.chain_id)
            kv = LmdbStore(db, DEFAULT_COLUMNS, durable=True)
            runtime = PychainRuntime(setup.runtime_config)
            try:
                chain = Chain.open(kv, runtime.runtime, runtime.executive, setup.genesis_storage)
            except GenesisMismatch as exc:
                raise DatabaseGenesisMismatch(
                    f"the database at {db} belongs to another chain: {exc} "
                    f"(use another --base-path, or purge-chain)"
                ) from None
            node = cls(config, setup, base_path, kv, runtime, chain, temporary)
            node._load_keys()
            if network_factory is not None or config.network:
                node._setup_network(network_factory)
        except BaseException:
            if kv is not None:
                kv.close()
            if temporary:
                shutil.rmtree(base_path, ignore_errors=True)
            raise
        return node

    def _load_keys(self) -> None:
        best = self.chain.best_hash()
        aura = self.importer.authorities_at(best)
        grandpa = self.chain.call_at(best, self.runtime.grandpa.grandpa_authorities)
        keystore = self.config.keystore_path or keystore_path(self.base_path, self.setup.chain_id)
        self.keys = select_keys(self.config, keystore, aura, [key for key, _ in grandpa])
        if self.keys.aura is not None:
            self.author = SlotAuthor(
                self.chain, self.pool, self.runtime, self.importer, self.keys.aura
            )
        if self.keys.grandpa is not None:
            self.finality = SingleVoterFinality(self.chain, self.runtime, self.keys.grandpa)

    def _setup_network(self, factory: NetworkFactory | None) -> None:
        config = self.config
        chain_dir = self.base_path / "chains" / self.setup.chain_id
        node_key = load_node_key(config.node_key, config.node_key_file, chain_dir)
        roles = Roles.AUTHORITY if config.validator else Roles.FULL
        if factory is None:
            service: NetworkService = Libp2pNetwork(
                node_key, self.chain.genesis_hash, roles, self.chain.best
            )
        else:
            service = factory(node_key, self.chain.genesis_hash, roles, self.chain.best)
        self.network = NodeNetwork(self, service, config.listen_addrs, config.bootnodes)
        self.network.on_grandpa = self._on_grandpa_gossip
        _, voters = current_voters(self)
        key = self.keys.grandpa
        single = key is not None and len(voters) == 1 and key.public_key in voters
        if not single:
            self.finality = None
            network = self.network
            self.grandpa = NodeGrandpa(
                self.chain,
                self.runtime,
                self.kv,
                self.pool,
                key,
                self.slot_duration,
                lambda message: network.broadcast_grandpa(to_network(message)),
                lambda peer, _block: network.request_sync(peer),
                equivocate=config.equivocate,
                other_keys=self.keys.grandpa_all,
            )

    def _on_grandpa_gossip(self, peer: str, value: GrandpaMessageValue) -> None:
        if self.grandpa is None or self.network is None:
            return
        try:
            message = from_network(value)
        except GrandpaError:
            self.network.report_malformed(peer)
            return
        if message is not None:
            self.grandpa.on_gossip(peer, message)

    def close(self) -> None:
        """Close the database (and remove a temporary base path). Idempotent."""
        if self._closed:
            return
        self._closed = True
        for channel in (self._best, self._finalized, self._pool_status, self._best_wakeup):
            channel.close()
        self.kv.close()
        if self._temporary:
            shutil.rmtree(self.base_path, ignore_errors=True)

    def __enter__(self) -> Node:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def slot_duration(self) -> int:
        return self.setup.runtime_config.slot_duration

    @property
    def role(self) -> str:
        return "AUTHORITY" if self.config.validator else "FULL"

    # ---------------------------------------------------------------------- notifications

    def subscribe_best(self) -> trio.MemoryReceiveChannel[Header]:
        """New best heads (``chain_subscribeNewHeads``)."""
        return self._best.subscribe()

    def subscribe_finalized(self) -> trio.MemoryReceiveChannel[Header]:
        """Newly finalized heads, lowest first (``chain_subscribeFinalizedHeads``)."""
        return self._finalized.subscribe()

    def subscribe_pool_status(self) -> trio.MemoryReceiveChannel[PoolStatus]:
        """Pool status after every change the node makes (submission, block, finality)."""
        return self._pool_status.subscribe()

    def _on_import(self, result: ImportResult) -> None:
        if result.is_new_best:
            header = self.chain.store.expect_header(result.hash)
            self._best.publish(header)
            self._best_wakeup.publish(header)
        self._pool_status.publish(self.pool.status())

    def _on_finality(self, result: FinalityResult) -> None:
        for block_hash in result.finalized:
            self._finalized.publish(self.chain.store.expect_header(block_hash))
        self._pool_status.publish(self.pool.status())

    # ---------------------------------------------------------------------------- actions

    def submit_extrinsic(self, xt: bytes) -> bytes:
        """``author_submitExtrinsic``: validate and add to the pool; returns the hash. The
        transaction is gossiped to peers.

        Raises the pool's typed errors (``InvalidPoolTransaction`` carrying the runtime's
        ``TransactionValidityError``, ``AlreadyImported``, ...); nothing changes on failure.
        """
        tx_hash = self.pool.submit(xt)
        self._pool_status.publish(self.pool.status())
        if self.network is not None:
            self.network.broadcast_transactions([xt])
        return tx_hash

    def verify_justification(self, header: Header, justification: Justification) -> None:
        """Check a GRANDPA justification of ``header`` against the set that justifies it (the
        set of its parent's state); raises a ``JustificationError`` or ``NodeError``."""
        verify_block_justification(self.chain, self.runtime, header, justification)
        self.justifications_verified += 1

    def import_block(
        self, block: Block, justification: Justification | None = None
    ) -> ImportResult:
        """Import a block from elsewhere: Aura seal and slot check, then execution and storage."""
        now_slot = None
        if self.clock is not None:
            # Allow one slot of clock drift between nodes.
            now_slot = slot_at(self.clock.now_ms(), self.slot_duration) + 1
        self.importer.verify(block, now_slot)
        if justification is not None:
            # Verify the justification before it finalizes anything.
            self.verify_justification(block.header, justification)
        started = time.perf_counter()
        result = self.chain.import_block(block, justification, origin="network")
        self.import_timing.observe(time.perf_counter() - started)
        if result.status == "imported":
            log.info("Imported #%d (%s)", result.number, short_hash(result.hash))
        return result

    def stop(self) -> None:
        """Stop :meth:`run` (cancels every task of the node's nursery)."""
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    # -------------------------------------------------------------------------------- run

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run the node's tasks until :meth:`stop`; ``task_status.started`` once they are up."""
        if self._closed:
            raise NodeConfigError("the node is closed")
        self.clock = NodeClock(self.wall_clock)
        self._log_startup()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if self.config.handle_signals:
                    await nursery.start(self._signal_task)
                nursery.start_soon(self._status_task)
                await nursery.start(self._consensus_task)
                if self.config.duration is not None:
                    nursery.start_soon(self._deadline_task, self.config.duration)
                if self.config.rpc_port is not None:
                    self.rpc_port = await nursery.start(self._rpc_task)
                if self.config.prometheus_port is not None:
                    self.prometheus_port = await nursery.start(self._prometheus_task)
                task_status.started(self)
        finally:
            self._nursery = None
            # The node's streams end with it (subscribers see end-of-channel).
            for channel in (self._best, self._finalized, self._pool_status, self._best_wakeup):
                channel.close()
            log.info("Shutting down: best #%d, finalized #%d", *self._numbers())

    async def _consensus_task(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Networking, authoring and finality, in one scope that ``--offline-after`` cancels."""
        service_nursery: trio.Nursery | None = None
        service_done = trio.Event()
        if self.network is not None and self._nursery is not None:
            service_nursery = await self._nursery.start(self._service_host, service_done)
        try:
            async with trio.open_nursery() as inner:
                self._consensus_scope = inner.cancel_scope
                if self.network is not None:
                    await self.network.start(inner, service_nursery)
                if self.grandpa is not None:
                    await inner.start(self.grandpa.run)
                elif self.finality is not None:
                    wakeups = self._best_wakeup.subscribe()
                    inner.start_soon(self._finality_task, wakeups)
                if self.author is not None:
                    inner.start_soon(self._authoring_task)
                if self.config.offline_after is not None:
                    inner.start_soon(self._offline_task, self.config.offline_after)
                task_status.started()
        finally:
            if self.network is not None:
                with trio.CancelScope(shield=True):
                    await self.network.stop()
            service_done.set()

    @staticmethod
    async def _service_host(
        done: trio.Event, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Hosts the network service's tasks, shielded: they outlive the node's own tasks until
        the service is stopped properly (peers see a disconnect, never a dead endpoint)."""
        with trio.CancelScope(shield=True):
            async with trio.open_nursery() as nursery:
                task_status.started(nursery)
                await done.wait()
                nursery.cancel_scope.cancel()

    async def _offline_task(self, seconds: float) -> None:
        await trio.sleep(seconds)
        log.warning(
            "Going offline after %g s (--offline-after): networking, authoring and voting stop",
            seconds,
        )
        self.offline = True
        if self._consensus_scope is not None:
            self._consensus_scope.cancel()

    def peer_count(self) -> int:
        return len(self.network.peers()) if self.network is not None else 0

    # ------------------------------------------------------------------------ rpc + metrics

    def rpc_context(self) -> RpcContext:
        """What the JSON-RPC methods read from this node."""
        runtime = self.runtime
        metadata_cache: list[bytes] = []

        def metadata() -> bytes:
            if not metadata_cache:
                metadata_cache.append(build_metadata(runtime.runtime, runtime.executive.extensions))
            return metadata_cache[0]

        properties = dict(self.setup.properties) or {
            "ss58Format": 42,
            "tokenDecimals": 12,
            "tokenSymbol": "UNIT",
        }
        return RpcContext(
            chain=self.chain,
            pool=self.pool,
            version=runtime.version,
            metadata=metadata,
            chain_name=self.setup.name,
            chain_type=self.setup.chain_type,
            properties=properties,
            node_name=self.config.name,
            node_version=pychain.__version__,
            roles=[self.role],
            **self._network_context(),
        )

    def _network_context(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        network = self.network
        if network is not None:
            values["peers"] = network.peer_info
            values["is_syncing"] = network.is_syncing
            values["should_have_peers"] = True
            values["local_peer_id"] = network.local_peer_id
            values["broadcast"] = lambda xt: network.broadcast_transactions([xt])
        grandpa = self.grandpa
        if grandpa is not None:

            def round_state() -> dict[str, Any]:
                state = grandpa.round_state()
                if state is None:
                    return {"setId": grandpa.set_id, "best": {}, "background": []}
                return state

            values["grandpa_round_state"] = round_state
        return values

    async def _rpc_task(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        config = self.config
        host = "0.0.0.0" if config.rpc_external else "127.0.0.1"
        methods = config.rpc_methods
        if methods == "auto":
            methods = "safe" if config.rpc_external else "unsafe"
        self.rpc = SubstrateRpc(self.rpc_context())
        server = RpcServer(
            self.rpc.module,
            RpcConfig(
                host=host,
                port=config.rpc_port or 0,
                max_request_size=config.rpc_max_request_size,
                max_connections=config.rpc_max_connections,
                max_subscriptions_per_connection=config.rpc_max_subscriptions_per_connection,
                message_buffer=config.rpc_message_buffer,
                methods=methods,
            ),
        )
        self.rpc_server = server
        async with trio.open_nursery() as inner:
            try:
                port = await inner.start(server.serve)
            except OSError as exc:
                raise NodeConfigError(f"cannot listen for RPC on {host}:{config.rpc_port}: {exc}") from None
            log.info("Running JSON-RPC server: addr=%s:%d, methods=%s", host, port, methods)
            task_status.started(port)

    async def _prometheus_task(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        config = self.config
        host = "0.0.0.0" if config.prometheus_external else "127.0.0.1"
        registry = node_registry(
            best=lambda: self.chain.best()[1],
            finalized=lambda: self.chain.finalized()[1],
            ready_transactions=lambda: self.pool.status().ready,
            peers=self.peer_count,
            rpc_calls=lambda: self.rpc_server.calls if self.rpc_server is not None else 0,
            import_time=self.import_timing,
        )
        async with trio.open_nursery() as inner:
            try:
                port = await inner.start(serve_prometheus, registry, host, config.prometheus_port or 0)
            except OSError as exc:
                raise NodeConfigError(
                    f"cannot listen for Prometheus on {host}:{config.prometheus_port}: {exc}"
                ) from None
            log.info("Prometheus exporter started at %s:%d/metrics", host, port)
            task_status.started(port)

    def _numbers(self) -> tuple[int, int]:
        return self.chain.best()[1], self.chain.finalized()[1]

    def _log_startup(self) -> None:
        genesis = self.chain.store.expect_header(self.chain.genesis_hash)
        log.info("pychain node")
        log.info("Chain specification: %s", self.setup.name)
        log.info("Node name: %s", self.config.name)
        log.info("Role: %s", self.role)
        log.info("Database: LMDB at %s", database_path(self.base_path, self.setup.chain_id))
        log.info(
            "Genesis block: #0 (state: %s, header-hash: 0x%s)",
            short_hash(genesis.state_root),
            self.chain.genesis_hash.hex(),
        )
        best_hash, best_number = self.chain.best()
        if best_number > 0:
            log.info("Resuming at best #%d (%s)", best_number, short_hash(best_hash))
        if self.config.validator and self.author is None:
            log.warning("Validator without an Aura key of the current authority set: not authoring")

    async def _signal_task(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            async for signum in signals:
                log.info("Received %s, stopping", signal.Signals(signum).name)
                self.stop()
                return

    async def _deadline_task(self, seconds: float) -> None:
        await trio.sleep(seconds)
        log.info("Ran for %g s, stopping", seconds)
        self.stop()

    async def _status_task(self) -> None:
        """``sc_informant``: a status line every ``status_interval`` seconds."""
        while True:
            await trio.sleep(self.config.status_interval)
            best_hash, best_number = self.chain.best()
            final_hash, final_number = self.chain.finalized()
            status = self.pool.status()
            log.info(
                "Idle (%d peers), best: #%d (%s), finalized #%d (%s), txpool: %d ready, %d future",
                self.peer_count(),
                best_number,
                short_hash(best_hash),
                final_number,
                short_hash(final_hash),
                status.ready,
                status.future,
            )

    async def _authoring_task(self) -> None:
        """The slot worker: wake at each slot boundary, author if the slot is ours."""
        assert self.author is not None and self.clock is not None
        clock, author, duration = self.clock, self.author, self.slot_duration
        numerator, denominator = PROPOSAL_SLOT_PORTION
        budget = duration * numerator / denominator / 1000
        last_slot = -1
        while True:
            target = max(next_slot_start(clock.now_ms(), duration), (last_slot + 1) * duration)
            await clock.sleep_until_ms(target)
            slot = last_slot = target // duration
            started = time.perf_counter()
            try:
                authored = author.author_slot(slot, should_stop=_deadline(budget))
            except PychainError as exc:
                log.warning("Proposing failed at slot %d: %s: %s", slot, type(exc).__name__, exc)
                continue
            if authored is None:
                continue
            self.import_timing.observe(time.perf_counter() - started)
            self.authored += 1
            if self.network is not None:
                self.network.announce(authored.block.header)
            if self.config.max_blocks is not None and self.authored >= self.config.max_blocks:
                await self._wait_final(authored)
                log.info("Authored %d blocks, stopping", self.authored)
                self.stop()
                return
            await trio.sleep(0)

    async def _wait_final(self, authored: AuthoredBlock) -> None:
        if self.finality is None and self.grandpa is None:
            return
        with trio.move_on_after(FINALITY_WAIT_S):
            while self.chain.finalized()[1] < authored.result.number:
                await trio.sleep(0.005)

    async def _finality_task(self, wakeups: trio.MemoryReceiveChannel[Header]) -> None:
        """The single voter: finalize the best block after every new best block."""
        assert self.finality is not None
        finality = self.finality
        async with wakeups:
            async for _ in wakeups:
                # Skip to the newest notification: finalizing the best covers its ancestors.
                while True:
                    try:
                        wakeups.receive_nowait()
                    except trio.WouldBlock:
                        break
                try:
                    finalized = finality.finalize(self.chain.best_hash())
                    if finalized is not None:
                        self._gossip_commit(finalized)
                except PychainError as exc:
                    log.warning("Finality failed: %s: %s", type(exc).__name__, exc)


    def _gossip_commit(self, finalized: FinalizedBlock) -> None:
        """Single-voter fast path: gossip the commit so observers finalize too."""
        if self.network is None:
            return
        justification = finalized.justification
        message = FullCommitMessage(
            justification.round, finalized.verification.set_id, justification.commit.to_compact()
        )
        self.network.broadcast_grandpa(to_network(message))


def current_voters(node: Node) -> tuple[int, VoterSet]:
    """``(set_id, voters)`` at the node's last finalized block."""
    return set_at(node.chain, node.runtime, node.chain.finalized()[0])


def _deadline(seconds: float) -> Callable[[], bool]:
    """The proposer's ``should_stop``: true once ``seconds`` have passed on trio's clock."""
    deadline = trio.current_time() + seconds
    return lambda: trio.current_time() > deadline


# ----------------------------------------------------------------------------------- logging

#: ``--log`` levels (Substrate's ``RUST_LOG`` names; ``trace`` is Python's ``DEBUG``).
LOG_LEVELS = {
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
}

_HANDLER_NAME = "pychain-node-stderr"


def configure_logging(level: str = "info") -> None:
    """Send ``pychain`` logs to stderr as Substrate does: ``date time LEVEL target: message``."""
    value = LOG_LEVELS.get(level.lower())
    if value is None:
        raise NodeConfigError(
            f"unknown log level {level!r}; expected one of {', '.join(LOG_LEVELS)}"
        )
    logger = logging.getLogger("pychain")
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03d %(levelname)5s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
    )
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    logger.setLevel(value)
    logger.propagate = False


def run_node(config: NodeConfig, setup: ChainSetup | None = None) -> Node:
    """Open, run until stopped, and close a node (the CLI's entry point); returns the closed node."""
    node = Node.open(config, setup)
    try:
        trio.run(node.run)
    finally:
        node.close()
    return node
