"""The in-memory twin of :class:`~pychain.network.libp2p_network.Libp2pNetwork` (STYLE §7).

A :class:`MemoryHub` connects any number of :class:`MemoryNetwork` endpoints in one trio run. The
endpoints implement the same :class:`~pychain.network.service.NetworkService` Protocol and share
:class:`~pychain.network.service.NetworkCore` with the libp2p implementation, so the handshake
check, message decoding and limits, reputation and bans, events and request serving behave the
same; only the transport is a function call. Messages cross the hub as *bytes*, so the real
codecs run on both sides.

Gossip is flooded as GossipSub does in a small mesh: each endpoint relays a valid message it sees
for the first time to its other peers (invalid messages are not relayed), keyed by
``(origin, sequence number)``.

Faults for tests and the simulator: a constant one-way ``delay`` (seconds, per hop), a ``drop_rate``
(fraction of messages and requests lost, from a seeded ``random.Random``) and partitions
(:meth:`MemoryHub.partition` / :meth:`MemoryHub.heal`). A lost request never answers, so the
requester sees a :class:`~pychain.network.errors.RequestTimeout`, as over a real network.

Addresses are ``/p2p/<peer id>``; peer ids are derived from the ed25519 node key exactly as libp2p
derives them.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import trio

from pychain.network.errors import (
    HandshakeRefused,
    NetworkError,
    NotStarted,
    PeerBanned,
    RequestFailed,
    RequestTimeout,
    UnknownPeer,
)
from pychain.network.identity import peer_id_of
from pychain.network.messages import (
    BlockAnnounce,
    BlockRequest,
    BlockResponse,
    GrandpaMessageValue,
    Roles,
    Status,
)
from pychain.network.reputation import REQUEST_TIMEOUT
from pychain.network.service import (
    REQUEST_TIMEOUT_S,
    BestBlockProvider,
    NetworkCore,
    PeerId,
)
from pychain.primitives.header import Header

__all__ = ["MemoryHub", "MemoryNetwork", "SEEN_CACHE_SIZE"]

#: Gossip message ids remembered per endpoint (to relay each message once).
SEEN_CACHE_SIZE = 65_536

_Delivery = tuple[float, str, bytes, PeerId, PeerId, tuple[PeerId, int]]


class MemoryHub:
    """The medium between :class:`MemoryNetwork` endpoints, with injectable faults."""

    def __init__(self, delay: float = 0.0, drop_rate: float = 0.0, seed: int = 0) -> None:
        if delay < 0 or not 0.0 <= drop_rate <= 1.0:
            raise NetworkError("delay must be >= 0 and drop_rate within [0, 1]")
        self.delay = delay
        self.drop_rate = drop_rate
        self._rng = random.Random(seed)
        self._endpoints: dict[PeerId, MemoryNetwork] = {}
        self._cut: set[frozenset[PeerId]] = set()

    def endpoint(self, peer: PeerId) -> MemoryNetwork | None:
        return self._endpoints.get(peer)

    def _register(self, endpoint: MemoryNetwork) -> None:
        if endpoint.local_peer_id in self._endpoints:
            raise NetworkError(f"peer {endpoint.local_peer_id} is already on this hub")
        self._endpoints[endpoint.local_peer_id] = endpoint

    def _unregister(self, endpoint: MemoryNetwork) -> None:
        self._endpoints.pop(endpoint.local_peer_id, None)

    def partition(self, group_a: Iterable[PeerId], group_b: Iterable[PeerId]) -> None:
        """Cut every link between ``group_a`` and ``group_b`` (messages are lost both ways)."""
        side_b = list(group_b)
        for a in group_a:
            for b in side_b:
                if a != b:
                    self._cut.add(frozenset((a, b)))

    def heal(self) -> None:
        """Remove every partition."""
        self._cut.clear()

    def reachable(self, a: PeerId, b: PeerId) -> bool:
        return frozenset((a, b)) not in self._cut and b in self._endpoints

    def _lost(self) -> bool:
        return self.drop_rate > 0.0 and self._rng.random() < self.drop_rate


class MemoryNetwork(NetworkCore):
    """One node's endpoint on a :class:`MemoryHub` (a ``NetworkService``)."""

    def __init__(
        self,
        hub: MemoryHub,
        node_key: bytes,
        genesis_hash: bytes,
        roles: Roles = Roles.FULL,
        best: BestBlockProvider | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(genesis_hash, roles, best, clock)
        self.hub = hub
        self._peer_id = peer_id_of(node_key)
        self._seq = 0
        self._seen: OrderedDict[tuple[PeerId, int], None] = OrderedDict()
        self._inbox_send: trio.MemorySendChannel[_Delivery] | None = None
        self._stopped = trio.Event()

    @property
    def local_peer_id(self) -> PeerId:
        return self._peer_id

    # ---------------------------------------------------------------------- lifecycle

    async def start(self, nursery: trio.Nursery, listen_addrs: Sequence[str] = ()) -> None:
        if self._nursery is not None:
            raise NetworkError("already started")
        self.hub._register(self)
        send, recv = trio.open_memory_channel[_Delivery](math.inf)
        self._inbox_send = send
        self._stopped = trio.Event()
        self._nursery = nursery
        nursery.start_soon(self._pump, recv)

    async def stop(self) -> None:
        for peer in self.peers():
            await self._drop_peer(peer, "local node stopped")
        self.hub._unregister(self)
        if self._inbox_send is not None:
            await self._inbox_send.aclose()
        self._inbox_send = None
        self._nursery = None
        self._stopped.set()

    def listen_addrs(self) -> list[str]:
        return [f"/p2p/{self._peer_id}"]

    # ---------------------------------------------------------------------- handshake

    async def connect(self, addr: str) -> PeerId:
        self._require_nursery()
        if "/p2p/" not in addr:
            raise NetworkError(f"address {addr!r} has no /p2p/<peer id> part")
        peer = addr.rsplit("/p2p/", 1)[1]
        if peer == self._peer_id:
            raise NetworkError("cannot connect to ourselves")
        if self.reputation.is_banned(peer):
            raise PeerBanned(f"peer {peer} is banned")
        remote = self.hub.endpoint(peer)
        if remote is None or not self.hub.reachable(self._peer_id, peer):
            raise NetworkError(f"peer {peer} is unreachable")
        if peer in self._peers:
            return peer
        if self.hub.delay:
            await trio.sleep(2 * self.hub.delay)
        remote_status = remote._accept(self._peer_id, self.local_status())
        try:
            self._check_remote_status(peer, remote_status)
        except HandshakeRefused:
            remote._remove_peer(self._peer_id, "handshake refused by remote")
            raise
        self._add_peer(peer, remote_status)
        return peer

    def _accept(self, peer: PeerId, status: Status) -> Status:
        """The listener's half of the handshake; raises HandshakeRefused to refuse."""
        if self._nursery is None:
            raise HandshakeRefused(f"peer {self._peer_id} is not running")
        self._check_remote_status(peer, status)
        self._add_peer(peer, status)
        return self.local_status()

    async def disconnect(self, peer: PeerId) -> None:
        await self._drop_peer(peer, "disconnected by local node")

    async def _drop_peer(self, peer: PeerId, reason: str) -> None:
        self._remove_peer(peer, reason)
        remote = self.hub.endpoint(peer)
        if remote is not None:
            remote._remove_peer(self._peer_id, "closed by remote")

    # ------------------------------------------------------------------------- gossip

    async def announce_block(self, header: Header, is_best: bool = True) -> None:
        data = self._encode_gossip("block-announces", BlockAnnounce(header, is_best))
        await self._publish_raw("block-announces", data)

    async def broadcast_transactions(self, extrinsics: Sequence[bytes]) -> None:
        message = self._transactions_message(extrinsics)
        await self._publish_raw("transactions", self._encode_gossip("transactions", message))

    async def broadcast_grandpa(self, message: GrandpaMessageValue) -> None:
        await self._publish_raw("grandpa", self._encode_gossip("grandpa", message))

    async def _publish_raw(self, kind: str, data: bytes) -> None:
        """Gossip ``data`` as is (no encoding or size check: also a fault-injection hook)."""
        self._require_nursery()
        self._seq += 1
        msg_id = (self._peer_id, self._seq)
        self._mark_seen(msg_id)
        self._relay(kind, data, self._peer_id, msg_id, exclude=())
        await trio.lowlevel.checkpoint()

    def _mark_seen(self, msg_id: tuple[PeerId, int]) -> bool:
        if msg_id in self._seen:
            return False
        self._seen[msg_id] = None
        if len(self._seen) > SEEN_CACHE_SIZE:
            self._seen.popitem(last=False)
        return True

    def _relay(
        self,
        kind: str,
        data: bytes,
        origin: PeerId,
        msg_id: tuple[PeerId, int],
        exclude: Iterable[PeerId],
    ) -> None:
        skip = set(exclude)
        arrival = trio.current_time() + self.hub.delay
        for peer in self.peers():
            if peer in skip or not self.hub.reachable(self._peer_id, peer) or self.hub._lost():
                continue
            remote = self.hub.endpoint(peer)
            if remote is None or remote._inbox_send is None:
                continue
            remote._inbox_send.send_nowait((arrival, kind, data, self._peer_id, origin, msg_id))

    async def _pump(self, inbox: trio.MemoryReceiveChannel[_Delivery]) -> None:
        """Deliver incoming gossip in order, after the hub's delay."""
        async with inbox:
            async for arrival, kind, data, peer, origin, msg_id in inbox:
                if arrival > trio.current_time():
                    await trio.sleep_until(arrival)
                if peer not in self._peers or not self._mark_seen(msg_id):
                    continue
                if origin == self._peer_id:
                    continue
                if self._handle_gossip(kind, data, peer, origin):
                    self._relay(kind, data, origin, msg_id, exclude=(peer, origin))

    # ----------------------------------------------------------------------- requests

    async def request_blocks(
        self, peer: PeerId, request: BlockRequest, timeout: float = REQUEST_TIMEOUT_S
    ) -> BlockResponse:
        if self._nursery is None:
            raise NotStarted("the network service is not running")
        if peer not in self._peers:
            raise UnknownPeer(f"peer {peer} is not connected")
        remote = self.hub.endpoint(peer)
        data = request.encode()
        response: bytes | None = None
        with trio.move_on_after(timeout) as scope:
            if remote is None or not self.hub.reachable(self._peer_id, peer) or self.hub._lost():
                await trio.sleep_forever()  # lost on the way: only the deadline ends the wait
            if self.hub.delay:
                await trio.sleep(self.hub.delay)
            if remote is not None:
                response = remote._serve_block_request(self._peer_id, data)
            if self.hub.delay:
                await trio.sleep(self.hub.delay)
            await trio.lowlevel.checkpoint()
        if scope.cancelled_caught:
            self.report_peer(peer, REQUEST_TIMEOUT)
            raise RequestTimeout(f"block request to {peer} timed out after {timeout} s")
        if response is None:
            raise RequestFailed(f"peer {peer} refused the block request")
        return self._decode_response(peer, response)
