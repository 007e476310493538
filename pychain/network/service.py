"""What the node uses of the network: the :class:`NetworkService` Protocol, its events, and the
protocol logic shared by both implementations (:class:`NetworkCore`).

Counterpart: ``sc_network::NetworkService`` + ``sc_network_sync`` / ``sc_network_transactions`` /
GRANDPA's gossip engine, seen from the node (Polkadot specification, chapter "Networking").
The node

* starts the service in its nursery (:meth:`NetworkService.start`), dials bootnodes
  (:meth:`~NetworkService.connect`), lists :meth:`~NetworkService.peers`;
* gossips block announces, transactions and GRANDPA messages;
* asks peers for blocks (:meth:`~NetworkService.request_blocks`, request/response with a
  timeout) and answers their requests through a handler it registers
  (:meth:`~NetworkService.set_block_request_handler`);
* reads one event channel (:meth:`~NetworkService.events`): :class:`PeerConnected`,
  :class:`PeerDisconnected`, :class:`BlockAnnounced`, :class:`TransactionsReceived`,
  :class:`GrandpaReceived`;
* reports misbehaving peers (:meth:`~NetworkService.report_peer`): below the ban threshold the
  peer is disconnected and refused for a while (:mod:`pychain.network.reputation`).

Implementations: :class:`pychain.network.libp2p_network.Libp2pNetwork` (py-libp2p: TCP, Noise,
Yamux, GossipSub) and its in-memory twin :class:`pychain.network.memory.MemoryNetwork`
(STYLE §7). Both inherit :class:`NetworkCore`, so decoding, size limits, reputation and the
handshake check are one code path; only the transport differs.

Differences from Substrate: gossip goes through GossipSub topics instead of per-peer notification
substreams, so a message can reach us through a peer that did not originate it (events carry both
``peer``, the neighbour that delivered it, and ``origin``).
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import trio

from pychain.network.errors import (
    HandshakeRefused,
    MessageDecodeError,
    MessageTooLarge,
    NetworkError,
    NotStarted,
    RequestFailed,
)
from pychain.network.messages import (
    MAX_BLOCKS_PER_REQUEST,
    MAX_GOSSIP_SIZE,
    MAX_RESPONSE_SIZE,
    BlockAnnounce,
    BlockRequest,
    BlockResponse,
    GrandpaMessage,
    GrandpaMessageValue,
    Roles,
    Status,
    Transactions,
    decode_announce,
    decode_block_request,
    decode_block_response,
    decode_grandpa,
    decode_transactions,
    protocol_ids,
)
from pychain.network.reputation import (
    BAD_RESPONSE,
    GENESIS_MISMATCH,
    MALFORMED_MESSAGE,
    PeerReputation,
    ReputationChange,
)
from pychain.primitives.header import Header

__all__ = [
    "PeerId",
    "PeerConnected",
    "PeerDisconnected",
    "BlockAnnounced",
    "TransactionsReceived",
    "GrandpaReceived",
    "NetworkEvent",
    "BlockRequestHandler",
    "BestBlockProvider",
    "NetworkService",
    "NetworkCore",
    "GOSSIP_KINDS",
    "MAX_QUEUED_EVENTS",
    "REQUEST_TIMEOUT_S",
    "HANDSHAKE_TIMEOUT_S",
]

log = logging.getLogger(__name__)

#: Peer ids are base58 libp2p ids (``12D3KooW…``).
PeerId = str

#: The gossip channels: announces, transactions, GRANDPA.
GOSSIP_KINDS = ("block-announces", "transactions", "grandpa")
#: Our event queue is unbounded in type but capped here; past the cap events are counted in
#: :attr:`NetworkCore.dropped_events` and logged, never silently lost.
MAX_QUEUED_EVENTS = 100_000
#: ``sc-network-sync``: block requests time out after 20 s; tests pass shorter ones.
REQUEST_TIMEOUT_S = 20.0
#: Time allowed for the ``Status`` exchange and gossip subscriptions of a new peer.
HANDSHAKE_TIMEOUT_S = 10.0


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class PeerConnected:
    """A peer completed the handshake; ``status`` is what it told us."""

    peer: PeerId
    status: Status


@dataclass(frozen=True)
class PeerDisconnected:
    peer: PeerId
    reason: str = "closed"


@dataclass(frozen=True)
class BlockAnnounced:
    """A block announce, delivered by neighbour ``peer``, first sent by ``origin``."""

    peer: PeerId
    announce: BlockAnnounce
    origin: PeerId


@dataclass(frozen=True)
class TransactionsReceived:
    peer: PeerId
    extrinsics: tuple[bytes, ...]
    origin: PeerId


@dataclass(frozen=True)
class GrandpaReceived:
    peer: PeerId
    message: GrandpaMessageValue
    origin: PeerId


NetworkEvent = (
    PeerConnected | PeerDisconnected | BlockAnnounced | TransactionsReceived | GrandpaReceived
)

#: The node's answer to a peer's block request.
BlockRequestHandler = Callable[[PeerId, BlockRequest], BlockResponse]
#: Our best block as ``(hash, number)`` (for the handshake).
BestBlockProvider = Callable[[], tuple[bytes, int]]


# ---------------------------------------------------------------------------- protocol


class NetworkService(Protocol):
    """The network as the node sees it (implemented by ``Libp2pNetwork`` and ``MemoryNetwork``)."""

    reputation: PeerReputation

    @property
    def local_peer_id(self) -> PeerId: ...

    async def start(self, nursery: trio.Nursery, listen_addrs: Sequence[str] = ()) -> None:
        """Start listening and the background tasks in ``nursery``; returns once ready."""

    async def stop(self) -> None: ...

    def listen_addrs(self) -> list[str]:
        """Our dialable addresses, each ending in ``/p2p/<local peer id>``."""

    def peers(self) -> list[PeerId]:
        """Peers with a completed handshake, sorted."""

    def peer_status(self, peer: PeerId) -> Status | None: ...

    async def connect(self, addr: str) -> PeerId:
        """Dial ``addr`` (``…/p2p/<peer id>``) and run the handshake; returns the peer id."""

    async def disconnect(self, peer: PeerId) -> None: ...

    async def announce_block(self, header: Header, is_best: bool = True) -> None: ...

    async def broadcast_transactions(self, extrinsics: Sequence[bytes]) -> None: ...

    async def broadcast_grandpa(self, message: GrandpaMessageValue) -> None: ...

    async def request_blocks(
        self, peer: PeerId, request: BlockRequest, timeout: float = REQUEST_TIMEOUT_S
    ) -> BlockResponse: ...

    def events(self) -> trio.MemoryReceiveChannel[NetworkEvent]: ...

    def set_block_request_handler(self, handler: BlockRequestHandler) -> None: ...

    def report_peer(self, peer: PeerId, change: ReputationChange) -> None: ...


# ------------------------------------------------------------------------------ core


class NetworkCore(ABC):
    """Transport-independent protocol logic: handshake check, decoding with limits, reputation,
    the event queue and request serving. Subclasses provide the transport."""

    def __init__(
        self,
        genesis_hash: bytes,
        roles: Roles = Roles.FULL,
        best: BestBlockProvider | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.genesis_hash = genesis_hash
        self.protocols = protocol_ids(genesis_hash)
        self.roles = roles
        self._best = best if best is not None else (lambda: (genesis_hash, 0))
        self.reputation = PeerReputation(clock if clock is not None else trio.current_time)
        self._events_send, self._events_recv = trio.open_memory_channel[NetworkEvent](math.inf)
        self.dropped_events = 0
        self._peers: dict[PeerId, Status] = {}
        self._handler: BlockRequestHandler | None = None
        self._nursery: trio.Nursery | None = None

    # ---------------------------------------------------------------------- node-facing

    def peers(self) -> list[PeerId]:
        return sorted(self._peers)

    def peer_status(self, peer: PeerId) -> Status | None:
        return self._peers.get(peer)

    def events(self) -> trio.MemoryReceiveChannel[NetworkEvent]:
        return self._events_recv

    def set_block_request_handler(self, handler: BlockRequestHandler) -> None:
        self._handler = handler

    def report_peer(self, peer: PeerId, change: ReputationChange) -> None:
        """Apply a reputation change; a peer that falls below the threshold is dropped."""
        if self.reputation.report(peer, change):
            log.info("banning peer %s: %s", peer, change.reason)
            self._schedule_drop(peer, f"banned: {change.reason}")

    def local_status(self) -> Status:
        best_hash, best_number = self._best()
        return Status(int(self.roles), best_number, best_hash, self.genesis_hash)

    # -------------------------------------------------------------------------- shared

    def _require_nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise NotStarted("the network service is not running")
        return self._nursery

    def _schedule_drop(self, peer: PeerId, reason: str) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(self._drop_peer, peer, reason)

    @abstractmethod
    async def _drop_peer(self, peer: PeerId, reason: str) -> None:
        """Close the transport connection to ``peer`` and forget it (the transport's job)."""

    def _emit(self, event: NetworkEvent) -> None:
        if self._events_send.statistics().current_buffer_used >= MAX_QUEUED_EVENTS:
            self.dropped_events += 1
            log.warning("network event queue full; dropped %s", type(event).__name__)
            return
        self._events_send.send_nowait(event)

    def _check_remote_status(self, peer: PeerId, status: Status) -> None:
        """Verify a peer's handshake: not banned, same genesis (else ban and refuse)."""
        if self.reputation.is_banned(peer):
            raise HandshakeRefused(f"peer {peer} is banned")
        if status.genesis_hash != self.genesis_hash:
            self.reputation.report(peer, GENESIS_MISMATCH)
            raise HandshakeRefused(
                f"peer {peer} is on genesis 0x{status.genesis_hash.hex()}, "
                f"ours is 0x{self.genesis_hash.hex()}"
            )

    def _add_peer(self, peer: PeerId, status: Status) -> None:
        if peer in self._peers:
            self._peers[peer] = status
            return
        self._peers[peer] = status
        self._emit(PeerConnected(peer, status))

    def _remove_peer(self, peer: PeerId, reason: str) -> None:
        if self._peers.pop(peer, None) is not None:
            self._emit(PeerDisconnected(peer, reason))

    @staticmethod
    def _encode_gossip(kind: str, message: object) -> bytes:
        if kind == "grandpa":
            data = GrandpaMessage.encode(message)
        else:
            data = message.encode()  # type: ignore[attr-defined]
        if len(data) > MAX_GOSSIP_SIZE:
            raise MessageTooLarge(f"{kind} gossip message", len(data), MAX_GOSSIP_SIZE)
        return data

    def _handle_gossip(self, kind: str, data: bytes, peer: PeerId, origin: PeerId) -> bool:
        """Decode one gossip message from neighbour ``peer``; emit its event. Returns whether it
        is valid (invalid messages are not relayed and cost the neighbour reputation)."""
        if self.reputation.is_banned(peer) or self.reputation.is_banned(origin):
            return False
        if self.reputation.on_message(peer):
            self._schedule_drop(peer, "banned: spam")
            return False
        try:
            if kind == "block-announces":
                announce = decode_announce(data)
                self._note_announce(peer, announce)
                self._emit(BlockAnnounced(peer, announce, origin))
            elif kind == "transactions":
                txs = decode_transactions(data)
                self._emit(TransactionsReceived(peer, tuple(txs.extrinsics), origin))
            elif kind == "grandpa":
                self._emit(GrandpaReceived(peer, decode_grandpa(data), origin))
            else:
                raise MessageDecodeError(f"unknown gossip kind {kind!r}")
        except MessageDecodeError as exc:
            log.info("malformed %s gossip from %s: %s", kind, peer, exc)
            self.report_peer(peer, MALFORMED_MESSAGE)
            return False
        return True

    def _note_announce(self, peer: PeerId, announce: BlockAnnounce) -> None:
        """Keep a neighbour's best block up to date from its announces."""
        status = self._peers.get(peer)
        header = announce.header
        if status is not None and announce.is_best and header.number > status.best_number:
            self._peers[peer] = Status(
                status.roles, header.number, header.hash(), status.genesis_hash
            )

    def _serve_block_request(self, peer: PeerId, data: bytes) -> bytes | None:
        """Answer an encoded block request with an encoded response; ``None`` when the request
        is refused (malformed, or the peer is banned)."""
        if self.reputation.is_banned(peer):
            return None
        if self.reputation.on_message(peer):
            self._schedule_drop(peer, "banned: spam")
            return None
        try:
            request = decode_block_request(data)
        except MessageDecodeError as exc:
            log.info("malformed block request from %s: %s", peer, exc)
            self.report_peer(peer, MALFORMED_MESSAGE)
            return None
        if self._handler is None:
            return BlockResponse([]).encode()
        response = self._handler(peer, request)
        blocks = list(response.blocks[: min(request.max_blocks, MAX_BLOCKS_PER_REQUEST)])
        encoded = BlockResponse(blocks).encode()
        # Verify the answer fits the response limit (drop blocks from the end if not).
        while len(encoded) > MAX_RESPONSE_SIZE and blocks:
            blocks.pop()
            encoded = BlockResponse(blocks).encode()
        return encoded

    @staticmethod
    def _transactions_message(extrinsics: Sequence[bytes]) -> Transactions:
        if not extrinsics:
            raise NetworkError("broadcast_transactions needs at least one extrinsic")
        return Transactions([bytes(xt) for xt in extrinsics])

    def _decode_response(self, peer: PeerId, data: bytes) -> BlockResponse:
        """Decode a peer's block response; a malformed one costs it and raises RequestFailed."""
        try:
            return decode_block_response(data)
        except MessageDecodeError as exc:
            self.report_peer(peer, BAD_RESPONSE)
            raise RequestFailed(f"bad block response from {peer}: {exc}") from None
