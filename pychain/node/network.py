"""The node's networking: block announces, sync, transaction and GRANDPA gossip over a
:class:`~pychain.network.service.NetworkService`.

Counterparts: the parts of ``sc_service::build_network`` that wire ``sc_network`` to the client —
``sc_network_sync``'s block announce validation and ``ChainSync`` (import of announced blocks
through the import queue: Aura seal check, then justification check), the transaction protocol
(``sc_network_transactions``: pool submissions are gossiped, received ones go to the pool) and the
GRANDPA gossip engine feeding the voter (Polkadot specification, "Networking").

:class:`NodeNetwork` owns one network service (libp2p for ``cli.py node``, the in-memory twin in
tests) and runs, in the node's nursery:

* the event loop: ``PeerConnected`` / ``BlockAnnounced`` / ``PeerDisconnected`` go to the sync task,
  ``TransactionsReceived`` to the pool, ``GrandpaReceived`` to the voter;
* the sync task (:class:`~pychain.network.sync.ChainSync`), which imports through the node's
  verified import (:meth:`pychain.node.service.Node.import_block`) and also wakes every second to
  catch up with any peer whose best block is above ours (announces can be lost);
* the announcer: every block this node authors is announced;
* the sender of outgoing gossip (transactions, GRANDPA), fed by synchronous callers;
* the bootnode dialler: bootnodes are dialled at start and redialled while disconnected.

A block whose slot is in the future (more than one slot of drift) is refused by the Aura check;
the peer that sent it loses reputation (``INVALID_BLOCK``, a ban) — Substrate defers such blocks
instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import trio

from pychain.chain import Justification
from pychain.chain.errors import AlreadyImported, PoolError
from pychain.errors import PychainError
from pychain.network.errors import NetworkError
from pychain.network.messages import GrandpaMessageValue
from pychain.network.reputation import MALFORMED_MESSAGE, ReputationChange
from pychain.network.service import (
    BlockAnnounced,
    GrandpaReceived,
    NetworkEvent,
    NetworkService,
    PeerConnected,
    PeerDisconnected,
    PeerId,
    TransactionsReceived,
)
from pychain.network.sync import ChainSync
from pychain.node.errors import NodeError
from pychain.primitives.block import Block
from pychain.primitives.header import Header

if TYPE_CHECKING:
    from pychain.node.service import Node

__all__ = [
    "BOOTNODE_REDIAL_S",
    "NodeNetwork",
    "SYNC_POLL_S",
    "dialable",
]

log = logging.getLogger("pychain.network")

#: How often disconnected bootnodes are dialled again.
BOOTNODE_REDIAL_S = 2.0
#: How often the sync task looks for peers ahead of us without an announce.
SYNC_POLL_S = 1.0
#: Block requests of the node's sync time out after this many seconds.
SYNC_REQUEST_TIMEOUT_S = 5.0
#: Transactions received by gossip that the pool refused as invalid cost the sender this much.
BAD_TRANSACTION = ReputationChange(-20, "invalid transaction")
#: Behind the best peer by more than this many blocks counts as "syncing" (``system_health``).
SYNCING_DISTANCE = 5


def dialable(addr: str) -> str:
    """``addr`` with an unspecified IPv4 host (``0.0.0.0``) replaced by loopback, for logs and
    for peers on this machine."""
    return addr.replace("/ip4/0.0.0.0/", "/ip4/127.0.0.1/", 1)


class _SyncChain:
    """The :class:`~pychain.network.sync.SyncChain` view of a node: reads from its chain, imports
    through its verified import."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.chain = node.chain

    def header(self, block_hash: bytes) -> Header | None:
        return self.chain.header(block_hash)

    def block(self, block_hash: bytes) -> Block | None:
        return self.chain.block(block_hash)

    def hash_at(self, number: int) -> bytes | None:
        return self.chain.hash_at(number)

    def justifications(self, block_hash: bytes) -> list[Justification]:
        return self.chain.justifications(block_hash)

    def best(self) -> tuple[bytes, int]:
        return self.chain.best()

    def import_block(self, block: Block, justification: Justification | None = None) -> object:
        return self.node.import_block(block, justification)


class NodeNetwork:
    """Connects a :class:`~pychain.node.service.Node` to a network service."""

    def __init__(
        self,
        node: Node,
        service: NetworkService,
        listen_addrs: Sequence[str] = (),
        bootnodes: Sequence[str] = (),
    ) -> None:
        self.node = node
        self.service = service
        self.listen = tuple(listen_addrs)
        self.bootnodes = tuple(bootnodes)
        self.sync = ChainSync(
            _SyncChain(node),
            service,
            verify_justification=self._verify_justification,
            request_timeout=SYNC_REQUEST_TIMEOUT_S,
        )
        self.on_grandpa: Callable[[PeerId, GrandpaMessageValue], None] | None = None
        self.transactions_received = 0
        self.announced = 0
        self._sync_send, self._sync_recv = trio.open_memory_channel[NetworkEvent | PeerId](
            math.inf
        )
        self._out_send, self._out_recv = trio.open_memory_channel[tuple[str, Any]](math.inf)
        self._running = False

    # -------------------------------------------------------------------- node-facing

    @property
    def local_peer_id(self) -> PeerId:
        return self.service.local_peer_id

    def peers(self) -> list[PeerId]:
        return self.service.peers() if self._running else []

    def peer_info(self) -> list[dict[str, Any]]:
        """``system_peers``: ``peerId``, ``roles``, ``bestHash``, ``bestNumber`` per peer."""
        out = []
        for peer in self.peers():
            status = self.service.peer_status(peer)
            if status is None:
                continue
            out.append(
                {
                    "peerId": peer,
                    "roles": "AUTHORITY" if status.roles & 0b0100 else "FULL",
                    "bestHash": "0x" + status.best_hash.hex(),
                    "bestNumber": status.best_number,
                }
            )
        return out

    def is_syncing(self) -> bool:
        """Whether some peer's best block is well above ours (``system_health.isSyncing``)."""
        _, ours = self.node.chain.best()
        best_seen = max((n for _, n in self.sync.peer_best.values()), default=0)
        return best_seen > ours + SYNCING_DISTANCE

    def announce(self, header: Header) -> None:
        """Queue an announce of ``header`` (a block this node authored)."""
        self._queue("announce", header)

    def broadcast_transactions(self, extrinsics: Sequence[bytes]) -> None:
        if extrinsics:
            self._queue("transactions", list(extrinsics))

    def broadcast_grandpa(self, message: GrandpaMessageValue) -> None:
        self._queue("grandpa", message)

    def request_sync(self, peer: PeerId) -> None:
        """Catch up with ``peer`` (e.g. it voted on a block we lack)."""
        if self._running:
            self._sync_send.send_nowait(peer)

    def _queue(self, kind: str, payload: Any) -> None:
        if self._running:
            self._out_send.send_nowait((kind, payload))

    def _verify_justification(self, header: Header, justification: Justification) -> bool:
        try:
            self.node.verify_justification(header, justification)
        except PychainError as exc:
            log.info("Refused justification of #%d: %s", header.number, exc)
            return False
        return True

    # ---------------------------------------------------------------------------- run

    async def start(
        self, nursery: trio.Nursery, service_nursery: trio.Nursery | None = None
    ) -> None:
        """Start the node's network tasks in ``nursery`` and the service's own tasks in
        ``service_nursery`` (default: the same). A separate, shielded service nursery lets the
        node stop the service cleanly (peers told, endpoint closed) after its tasks end."""
        try:
            await self.service.start(service_nursery or nursery, self.listen)
        except OSError as exc:
            raise NodeError(f"cannot listen on {', '.join(self.listen)}: {exc}") from None
        if not self.service.listen_addrs():
            # Verify some listener started (py-libp2p only logs a failed one).
            with trio.move_on_after(5):
                await self.service.stop()
            raise NodeError(f"cannot listen on {', '.join(self.listen)}")
        self._running = True
        self.sync.serve()
        log.info("Local node identity is: %s", self.service.local_peer_id)
        for addr in self.service.listen_addrs():
            log.info("Listening on %s", dialable(addr))
        nursery.start_soon(self._event_loop)
        nursery.start_soon(self._sync_task)
        nursery.start_soon(self._sender)
        if self.bootnodes:
            nursery.start_soon(self._bootnode_task)

    async def stop(self) -> None:
        """Stop the service (peers see us disconnect); idempotent."""
        if not self._running:
            return
        self._running = False
        with trio.move_on_after(5):
            await self.service.stop()

    async def _bootnode_task(self) -> None:
        while self._running:
            connected = set(self.service.peers())
            for addr in self.bootnodes:
                peer = addr.rsplit("/p2p/", 1)[-1]
                if peer in connected or peer == self.service.local_peer_id:
                    continue
                try:
                    await self.service.connect(addr)
                    log.info("Connected to bootnode %s", addr)
                except NetworkError as exc:
                    log.debug("bootnode %s not reached: %s", addr, exc)
            await trio.sleep(BOOTNODE_REDIAL_S)

    async def _event_loop(self) -> None:
        events = self.service.events()
        async for event in events:
            if isinstance(event, PeerConnected | PeerDisconnected | BlockAnnounced):
                if isinstance(event, PeerConnected):
                    log.info("Peer connected: %s (best #%d)", event.peer, event.status.best_number)
                elif isinstance(event, PeerDisconnected):
                    log.info("Peer disconnected: %s (%s)", event.peer, event.reason)
                self._sync_send.send_nowait(event)
            elif isinstance(event, TransactionsReceived):
                self._on_transactions(event)
            elif isinstance(event, GrandpaReceived):
                if self.on_grandpa is not None:
                    peer = event.origin if event.origin in self.service.peers() else event.peer
                    self.on_grandpa(peer, event.message)

    def _on_transactions(self, event: TransactionsReceived) -> None:
        for xt in event.extrinsics:
            self.transactions_received += 1
            try:
                self.node.pool.submit(xt, source="External")
            except AlreadyImported:
                continue
            except PoolError as exc:
                log.debug("gossiped transaction refused: %s", exc)
            except PychainError as exc:
                log.debug("gossiped transaction refused: %s", exc)
                self.service.report_peer(event.peer, BAD_TRANSACTION)

    async def _sync_task(self) -> None:
        receive = self._sync_recv
        while True:
            item: NetworkEvent | PeerId | None = None
            with trio.move_on_after(SYNC_POLL_S):
                item = await receive.receive()
            try:
                if item is None:
                    for peer in list(self.sync.peer_best):
                        if peer in self.service.peers() and self.sync.needs_sync(peer):
                            await self.sync.sync_with(peer)
                elif isinstance(item, str):
                    if item in self.service.peers():
                        await self.sync.sync_with(item)
                else:
                    await self.sync.on_event(item)
            except PychainError as exc:
                log.info("sync step failed: %s: %s", type(exc).__name__, exc)

    async def _sender(self) -> None:
        async for kind, payload in self._out_recv:
            if not self._running:
                continue
            try:
                if kind == "announce":
                    await self.service.announce_block(payload, True)
                    self.announced += 1
                elif kind == "transactions":
                    await self.service.broadcast_transactions(payload)
                else:
                    await self.service.broadcast_grandpa(payload)
            except (NetworkError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                log.debug("gossip %s not sent: %s", kind, exc)

    def report_malformed(self, peer: PeerId) -> None:
        """A peer sent a message that decoded at the network layer but not inside."""
        self.service.report_peer(peer, MALFORMED_MESSAGE)
