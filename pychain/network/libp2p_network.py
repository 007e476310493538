"""The network service on py-libp2p: TCP + Noise + Yamux, GossipSub, request/response streams.

Counterpart: ``sc-network``'s libp2p swarm (``sc_network::service``) with ``sc-network-sync``'s
block request/response protocol (Polkadot specification, chapter "Networking": transport, Noise,
Yamux, ``/block-announces/1`` handshake, ``/sync/2`` requests).

* Identity: the ed25519 node key (:mod:`pychain.network.identity`); peer ids ``12D3KooW…``.
* Transport: TCP, secured by Noise only (no plaintext/secio/TLS fallbacks), multiplexed by Yamux,
  ``ConnectionConfig(max_connections_per_peer=1)`` (the default of 3 adds a fixed 250 ms dial delay,
  NETWORKING.md).
* Handshake: the dialer opens a ``…/block-announces/1`` stream and both sides exchange one
  :class:`~pychain.network.messages.Status`; another genesis (or a banned peer) is refused and
  disconnected. A node of another chain does not even share the protocol name. The peer becomes
  :class:`~pychain.network.service.PeerConnected` once the handshake is done and its gossip
  subscriptions are known, so a message sent right after ``connect`` reaches it.
* Gossip: one GossipSub topic per channel, named after the protocol id. Our traps from
  NETWORKING.md are handled here: spam protection (10 msg/s per peer, own publishes included) is
  OFF; every message is decoded, rate-counted and queued as an event inside the topic validator,
  synchronously, so the 32-message subscription channels can never lose one (the channels
  themselves are swapped for unbounded ones and drained); messages over 1 MiB are refused before
  publishing; and publishing waits while a peer's outbound RPC queue (32 entries, overflow dropped
  silently) is nearly full.
* Requests: ``…/sync/2``, one stream per request, each message prefixed with its unsigned-varint
  length (as libp2p request-response does); the declared length is checked against the maximum
  before any payload is read; a deadline bounds the whole exchange.

Differences from Substrate: gossip instead of per-peer notification substreams; no Kademlia
discovery (peers come from ``--bootnodes`` and ``connect``); no light-client protocols.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetConn, INetStream, INetwork, INotifee
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, GossipSub
from libp2p.pubsub.pubsub import Pubsub
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from pychain.network.errors import (
    HandshakeRefused,
    MessageDecodeError,
    MessageTooLarge,
    NetworkError,
    NotStarted,
    PeerBanned,
    RequestFailed,
    RequestTimeout,
    UnknownPeer,
)
from pychain.network.identity import node_keypair
from pychain.network.messages import (
    MAX_REQUEST_SIZE,
    MAX_RESPONSE_SIZE,
    STATUS_SIZE,
    BlockAnnounce,
    BlockRequest,
    BlockResponse,
    GrandpaMessageValue,
    Roles,
    Status,
    decode_status,
)
from pychain.network.reputation import BAD_RESPONSE, MALFORMED_MESSAGE, REQUEST_TIMEOUT
from pychain.network.service import (
    GOSSIP_KINDS,
    HANDSHAKE_TIMEOUT_S,
    REQUEST_TIMEOUT_S,
    BestBlockProvider,
    NetworkCore,
    PeerId,
)
from pychain.primitives.header import Header

__all__ = [
    "Libp2pNetwork",
    "DEFAULT_LISTEN_ADDR",
    "read_frame",
    "write_frame",
    "encode_uvarint",
]

log = logging.getLogger(__name__)

#: Substrate's default p2p port is 30333; tests listen on port 0 (a free port).
DEFAULT_LISTEN_ADDR = "/ip4/0.0.0.0/tcp/30333"
#: What ``start`` listens on when given no address: a free port on the loopback interface.
EPHEMERAL_LISTEN_ADDR = "/ip4/127.0.0.1/tcp/0"
#: Outgoing gossip waits while some peer's pubsub RPC queue holds this many entries (of 32).
OUTBOUND_HIGH_WATER = 16
#: Our own queue of gossip waiting to be published (callers wait when it is full).
OUTBOUND_QUEUE_SIZE = 4096
#: Time a peer has to send its request once it opened a sync stream.
REQUEST_READ_TIMEOUT_S = 10.0
#: GossipSub mesh degree (D, D_low, D_high) and heartbeat; small validator networks.
GOSSIP_DEGREE = (8, 6, 12)
GOSSIP_HEARTBEAT_S = 1


# ------------------------------------------------------------------------------ framing


def encode_uvarint(value: int) -> bytes:
    """Unsigned LEB128 (multiformats ``unsigned-varint``)."""
    if value < 0:
        raise ValueError("uvarint of a negative number")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


async def _read_exactly(stream: INetStream, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = await stream.read(size - len(buf))
        if not chunk:
            raise RequestFailed(f"stream closed after {len(buf)} of {size} byte(s)")
        buf += chunk
    return bytes(buf)


async def read_frame(stream: INetStream, limit: int) -> bytes:
    """Read one ``uvarint length ++ payload`` frame; a declared length above ``limit`` raises
    :class:`MessageTooLarge` before any payload byte is read."""
    length = 0
    for shift in range(0, 35, 7):
        byte = (await _read_exactly(stream, 1))[0]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and shift:
                raise MessageDecodeError("non-minimal varint length prefix")
            break
    else:
        raise MessageDecodeError("varint length prefix longer than 5 bytes")
    if length > limit:
        raise MessageTooLarge("frame", length, limit)
    return await _read_exactly(stream, length)


async def write_frame(stream: INetStream, payload: bytes) -> None:
    await stream.write(encode_uvarint(len(payload)) + payload)


async def _close_quietly(stream: INetStream, reset: bool = False) -> None:
    with trio.CancelScope(shield=True), trio.move_on_after(1.0):
        try:
            if reset:
                await stream.reset()
            else:
                await stream.close()
        except Exception as exc:  # the stream may already be gone; nothing left to do
            log.debug("closing stream: %s", exc)


def _peer_of(stream: INetStream) -> ID:
    peer: ID = stream.muxed_conn.peer_id
    return peer


# ----------------------------------------------------------------------------- notifee


class _ConnectionWatcher(INotifee):
    """Turns libp2p connection events into peer bookkeeping and ban enforcement."""

    def __init__(self, network: Libp2pNetwork) -> None:
        self._network = network

    async def connected(self, network: INetwork, conn: INetConn) -> None:
        peer = getattr(conn.muxed_conn, "peer_id", None)
        if peer is not None and self._network.reputation.is_banned(peer.to_base58()):
            self._network._schedule_drop(peer.to_base58(), "banned peer connected")

    async def disconnected(self, network: INetwork, conn: INetConn) -> None:
        peer = getattr(conn.muxed_conn, "peer_id", None)
        if peer is not None:
            self._network._remove_peer(peer.to_base58(), "connection closed")

    async def opened_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def closed_stream(self, network: INetwork, stream: INetStream) -> None:
        return None

    async def listen(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None

    async def listen_close(self, network: INetwork, multiaddr: multiaddr.Multiaddr) -> None:
        return None


# ----------------------------------------------------------------------------- service


class Libp2pNetwork(NetworkCore):
    """A :class:`~pychain.network.service.NetworkService` on a py-libp2p host."""

    def __init__(
        self,
        node_key: bytes,
        genesis_hash: bytes,
        roles: Roles = Roles.FULL,
        best: BestBlockProvider | None = None,
        clock: Callable[[], float] | None = None,
        handshake_timeout: float = HANDSHAKE_TIMEOUT_S,
    ) -> None:
        super().__init__(genesis_hash, roles, best, clock)
        self._keypair = node_keypair(node_key)
        self._id = ID.from_pubkey(self._keypair.public_key)
        self._peer_id = self._id.to_base58()
        self.handshake_timeout = handshake_timeout
        self._host: IHost | None = None
        self._pubsub: Pubsub | None = None
        self._outbound: trio.MemorySendChannel[tuple[str, bytes]] | None = None
        self._stop = trio.Event()
        self._stopped = trio.Event()

    @property
    def local_peer_id(self) -> PeerId:
        return self._peer_id

    def _topic(self, kind: str) -> str:
        return {
            "block-announces": self.protocols.block_announces,
            "transactions": self.protocols.transactions,
            "grandpa": self.protocols.grandpa,
        }[kind]

    # ---------------------------------------------------------------------- lifecycle

    async def start(self, nursery: trio.Nursery, listen_addrs: Sequence[str] = ()) -> None:
        """Listen on ``listen_addrs`` (default: an ephemeral port on 127.0.0.1) and start the
        host, GossipSub and our tasks in ``nursery``; returns once ready."""
        if self._nursery is not None:
            raise NetworkError("already started")
        try:
            addrs = [multiaddr.Multiaddr(addr) for addr in listen_addrs or (EPHEMERAL_LISTEN_ADDR,)]
        except Exception as exc:  # multiaddr raises several unrelated types for bad text
            raise NetworkError(f"bad listen address: {exc}") from None
        self._stop = trio.Event()
        self._stopped = trio.Event()
        await nursery.start(self._run, addrs)

    async def stop(self) -> None:
        """Close every connection and the host; returns when they are closed."""
        if self._host is None:
            return
        self._stop.set()
        await self._stopped.wait()

    def _build(self) -> tuple[IHost, GossipSub, Pubsub]:
        noise = NoiseTransport(self._keypair, noise_privkey=create_x25519_key_pair().private_key)
        host = new_host(
            key_pair=self._keypair,
            sec_opt={NOISE_PROTOCOL_ID: noise},
            muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
            connection_config=ConnectionConfig(max_connections_per_peer=1),
        )
        degree, low, high = GOSSIP_DEGREE
        gossipsub = GossipSub(
            protocols=[PROTOCOL_ID_V11],
            degree=degree,
            degree_low=low,
            degree_high=high,
            heartbeat_interval=GOSSIP_HEARTBEAT_S,
            spam_protection_enabled=False,
        )
        pubsub = Pubsub(host, gossipsub)
        host.set_stream_handler(TProtocol(self.protocols.block_announces), self._on_handshake)
        host.set_stream_handler(TProtocol(self.protocols.sync), self._on_block_request)
        host.get_network().register_notifee(_ConnectionWatcher(self))
        return host, gossipsub, pubsub

    async def _run(
        self, addrs: list[multiaddr.Multiaddr], task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        host, gossipsub, pubsub = self._build()
        outbound_send, outbound_recv = trio.open_memory_channel[tuple[str, bytes]](
            OUTBOUND_QUEUE_SIZE
        )
        try:
            async with (
                host.run(addrs),
                background_trio_service(pubsub),
                background_trio_service(gossipsub),
                trio.open_nursery() as inner,
            ):
                await pubsub.wait_until_ready()
                for kind in GOSSIP_KINDS:
                    topic = self._topic(kind)
                    pubsub.set_topic_validator(topic, self._validator(kind), False)
                    subscription = await pubsub.subscribe(topic)
                    # Swap the 32-slot channel for an unbounded one and drain it: every message
                    # was already handled by the validator.
                    drain_send, drain_recv = trio.open_memory_channel[Any](float("inf"))
                    pubsub.subscribed_topics_send[topic] = drain_send
                    subscription.receive_channel = drain_recv  # type: ignore[attr-defined]
                    inner.start_soon(self._drain, drain_recv)
                self._host, self._pubsub, self._outbound = host, pubsub, outbound_send
                self._nursery = inner
                inner.start_soon(self._publisher, outbound_recv)
                task_status.started()
                await self._stop.wait()
                inner.cancel_scope.cancel()
        finally:
            for peer in self.peers():
                self._remove_peer(peer, "local node stopped")
            self._host = self._pubsub = self._outbound = None
            self._nursery = None
            self._stopped.set()

    @staticmethod
    async def _drain(channel: trio.MemoryReceiveChannel[Any]) -> None:
        async for _ in channel:
            pass

    def listen_addrs(self) -> list[str]:
        if self._host is None:
            return []
        out = []
        for addr in self._host.get_addrs():
            text = str(addr)
            out.append(text if "/p2p/" in text else f"{text}/p2p/{self._peer_id}")
        return out

    # ---------------------------------------------------------------------- handshake

    def _running(self) -> tuple[IHost, Pubsub]:
        if self._host is None or self._pubsub is None:
            raise NotStarted("the network service is not running")
        return self._host, self._pubsub

    async def connect(self, addr: str) -> PeerId:
        host, _ = self._running()
        try:
            info = info_from_p2p_addr(multiaddr.Multiaddr(addr))
        except Exception as exc:  # multiaddr/libp2p raise assorted types for bad text
            raise NetworkError(f"bad peer address {addr!r}: {exc}") from None
        peer = info.peer_id.to_base58()
        if peer == self._peer_id:
            raise NetworkError("cannot connect to ourselves")
        if self.reputation.is_banned(peer):
            raise PeerBanned(f"peer {peer} is banned")
        if peer in self._peers:
            return peer
        try:
            with trio.fail_after(self.handshake_timeout):
                await host.connect(info)
        except (Exception, trio.TooSlowError) as exc:
            raise NetworkError(f"cannot dial {addr}: {exc}") from None
        try:
            with trio.fail_after(self.handshake_timeout):
                status = await self._exchange_status(host, info.peer_id)
        except MessageDecodeError as exc:
            self.report_peer(peer, MALFORMED_MESSAGE)
            await self._drop_peer(peer, "bad handshake")
            raise HandshakeRefused(f"bad Status from {peer}: {exc}") from None
        except Exception as exc:  # protocol not supported (other chain), reset, timeout
            await self._drop_peer(peer, "handshake failed")
            raise HandshakeRefused(f"handshake with {peer} failed: {exc!r}") from None
        try:
            self._check_remote_status(peer, status)
        except HandshakeRefused:
            await self._drop_peer(peer, "handshake refused")
            raise
        await self._await_gossip_ready(info.peer_id)
        self._add_peer(peer, status)
        return peer

    async def _exchange_status(self, host: IHost, peer: ID) -> Status:
        stream = await host.new_stream(peer, [TProtocol(self.protocols.block_announces)])
        try:
            await write_frame(stream, self.local_status().encode())
            data = await read_frame(stream, STATUS_SIZE)
        finally:
            await _close_quietly(stream)
        return decode_status(data)

    async def _on_handshake(self, stream: INetStream) -> None:
        """The listener's half: read the dialer's Status, check it, answer with ours."""
        peer_id = _peer_of(stream)
        peer = peer_id.to_base58()
        try:
            with trio.fail_after(self.handshake_timeout):
                status = decode_status(await read_frame(stream, STATUS_SIZE))
                self._check_remote_status(peer, status)
                await write_frame(stream, self.local_status().encode())
        except MessageDecodeError as exc:
            log.info("bad Status from %s: %s", peer, exc)
            self.report_peer(peer, MALFORMED_MESSAGE)
            await _close_quietly(stream, reset=True)
            self._schedule_drop(peer, "bad handshake")
            return
        except HandshakeRefused as exc:
            log.info("refusing %s: %s", peer, exc)
            await _close_quietly(stream, reset=True)
            self._schedule_drop(peer, "handshake refused")
            return
        except Exception as exc:  # stream reset or timeout: the dialer gave up
            log.info("handshake with %s failed: %r", peer, exc)
            await _close_quietly(stream, reset=True)
            return
        await _close_quietly(stream)
        await self._await_gossip_ready(peer_id)
        self._add_peer(peer, status)

    async def _await_gossip_ready(self, peer: ID) -> None:
        """Wait until the peer's gossip subscriptions are known (so gossip reaches it)."""
        _, pubsub = self._running()
        for kind in GOSSIP_KINDS:
            try:
                await pubsub.wait_for_subscription(
                    peer, self._topic(kind), timeout=self.handshake_timeout
                )
            except trio.TooSlowError:
                log.warning("peer %s did not subscribe to %s in time", peer, kind)
                return

    async def disconnect(self, peer: PeerId) -> None:
        await self._drop_peer(peer, "disconnected by local node")

    async def _drop_peer(self, peer: PeerId, reason: str) -> None:
        self._remove_peer(peer, reason)
        host = self._host
        if host is None:
            return
        try:
            await host.disconnect(ID.from_base58(peer))
        except Exception as exc:  # already gone
            log.debug("disconnect %s: %s", peer, exc)

    # ------------------------------------------------------------------------- gossip

    def _validator(self, kind: str) -> Callable[[ID, Any], bool]:
        def validate(forwarder: ID, message: Any) -> bool:
            if forwarder == self._id:
                return True  # our own publish
            try:
                origin = ID(message.from_id).to_base58()
            except Exception:  # a garbled origin field
                origin = forwarder.to_base58()
            return self._handle_gossip(kind, bytes(message.data), forwarder.to_base58(), origin)

        return validate

    async def _publish(self, kind: str, data: bytes) -> None:
        if self._outbound is None:
            raise NotStarted("the network service is not running")
        await self._outbound.send((self._topic(kind), data))

    async def _publish_raw(self, kind: str, data: bytes) -> None:
        """Gossip ``data`` as is, without encoding or size checks (a fault-injection hook)."""
        await self._publish(kind, data)

    async def _publisher(self, queue: trio.MemoryReceiveChannel[tuple[str, bytes]]) -> None:
        async for topic, data in queue:
            pubsub = self._pubsub
            if pubsub is None:
                return
            # Verify every peer's outbound RPC queue has room (overflow is dropped silently).
            while any(len(q) >= OUTBOUND_HIGH_WATER for q in list(pubsub.peer_queues.values())):
                await trio.sleep(0.001)
            try:
                await pubsub.publish(topic, data)
            except Exception as exc:  # a broken peer stream must not stop gossip
                log.warning("publishing on %s failed: %r", topic, exc)

    async def announce_block(self, header: Header, is_best: bool = True) -> None:
        data = self._encode_gossip("block-announces", BlockAnnounce(header, is_best))
        await self._publish("block-announces", data)

    async def broadcast_transactions(self, extrinsics: Sequence[bytes]) -> None:
        data = self._encode_gossip("transactions", self._transactions_message(extrinsics))
        await self._publish("transactions", data)

    async def broadcast_grandpa(self, message: GrandpaMessageValue) -> None:
        await self._publish("grandpa", self._encode_gossip("grandpa", message))

    # ----------------------------------------------------------------------- requests

    async def request_blocks(
        self, peer: PeerId, request: BlockRequest, timeout: float = REQUEST_TIMEOUT_S
    ) -> BlockResponse:
        host, _ = self._running()
        if peer not in self._peers:
            raise UnknownPeer(f"peer {peer} is not connected")
        data = request.encode()
        response = b""
        with trio.move_on_after(timeout) as scope:
            try:
                stream = await host.new_stream(
                    ID.from_base58(peer), [TProtocol(self.protocols.sync)]
                )
            except Exception as exc:
                raise RequestFailed(f"cannot open a sync stream to {peer}: {exc!r}") from None
            try:
                await write_frame(stream, data)
                response = await read_frame(stream, MAX_RESPONSE_SIZE)
            except MessageDecodeError as exc:
                self.report_peer(peer, BAD_RESPONSE)
                raise RequestFailed(f"bad response frame from {peer}: {exc}") from None
            except RequestFailed:
                raise
            except Exception as exc:  # reset / closed by the peer (e.g. it refused)
                raise RequestFailed(f"block request to {peer} failed: {exc!r}") from None
            finally:
                await _close_quietly(stream)
        if scope.cancelled_caught:
            self.report_peer(peer, REQUEST_TIMEOUT)
            raise RequestTimeout(f"block request to {peer} timed out after {timeout} s")
        return self._decode_response(peer, response)

    async def _on_block_request(self, stream: INetStream) -> None:
        peer = _peer_of(stream).to_base58()
        try:
            with trio.fail_after(REQUEST_READ_TIMEOUT_S):
                data = await read_frame(stream, MAX_REQUEST_SIZE)
        except MessageDecodeError as exc:
            log.info("bad request frame from %s: %s", peer, exc)
            self.report_peer(peer, MALFORMED_MESSAGE)
            await _close_quietly(stream, reset=True)
            return
        except Exception as exc:  # the requester went away
            log.debug("reading request from %s: %r", peer, exc)
            await _close_quietly(stream, reset=True)
            return
        response = self._serve_block_request(peer, data)
        if response is None:
            await _close_quietly(stream, reset=True)
            return
        try:
            await write_frame(stream, response)
        except Exception as exc:  # the requester went away
            log.debug("answering %s: %r", peer, exc)
            await _close_quietly(stream, reset=True)
            return
        await _close_quietly(stream)
