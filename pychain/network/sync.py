"""Block sync: catch up with peers that know a better chain, and answer their block requests.

Counterpart: ``sc-network-sync``'s ``ChainSync`` (full sync mode) and its
``BlockRequestHandler`` (Polkadot specification, "Networking" → "Block Requests" and "Block
Sync"):

1. A peer's best block comes from its :class:`~pychain.network.messages.Status` handshake and from
   its block announces (:meth:`ChainSync.on_event`).
2. When a peer's best is higher than ours (or it announces a block we do not have), we find the
   **common ancestor** (:meth:`ChainSync.find_common_ancestor`): request headers *descending*
   from ``min(our best, its best)`` in batches until a returned header is a block we have.
   Genesis is always shared (the handshake checked it), so this ends. When we are simply behind on
   the same chain, the first header answered is our best: one round trip.
3. We then **download ascending** from the ancestor (header, body and justifications) in batches
   of :data:`~pychain.network.messages.MAX_BLOCKS_PER_REQUEST`, check that the response is a
   chain (hashes match headers, each parent is the previous block), and import the blocks in order.
   A justification is passed to ``import_block`` only if the node's verifier accepts it; a block
   the chain refuses costs the peer :data:`~pychain.network.reputation.INVALID_BLOCK` (a ban), a
   malformed or inconsistent response :data:`~pychain.network.reputation.BAD_RESPONSE`.
4. A fresh node syncs from genesis by the same path.

:func:`answer_block_request` is the serving side, a pure function over the chain: ascending
requests follow the canonical chain from the start block (stopping where the start block is not
canonical), descending requests follow parent hashes; responses are bounded in blocks and bytes.

The logic is sequential ``async`` code over two small interfaces (:class:`SyncChain`, and the
network's ``request_blocks``), tested with an in-memory chain and with :class:`pychain.chain.Chain`.

Differences from Substrate: one sync at a time with one peer (no parallel block downloads from
several peers, no state/warp sync), linear (batched) ancestry search instead of a binary search.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import trio

from pychain.errors import PychainError
from pychain.network.errors import NetworkError, SyncError
from pychain.network.messages import (
    MAX_BLOCKS_PER_REQUEST,
    MAX_RESPONSE_SIZE,
    BlockAttributes,
    BlockData,
    BlockRequest,
    BlockResponse,
    Direction,
    FromHash,
    FromNumber,
    Status,
)
from pychain.network.reputation import (
    BAD_JUSTIFICATION,
    BAD_RESPONSE,
    INVALID_BLOCK,
)
from pychain.network.service import (
    REQUEST_TIMEOUT_S,
    BlockAnnounced,
    NetworkEvent,
    NetworkService,
    PeerConnected,
    PeerDisconnected,
    PeerId,
)
from pychain.primitives.block import Block
from pychain.primitives.header import Header

__all__ = [
    "BlockSource",
    "SyncChain",
    "JustificationVerifier",
    "ChainSync",
    "answer_block_request",
    "ANCESTRY_BATCH",
    "GRANDPA_ENGINE_ID",
]

log = logging.getLogger(__name__)

#: Headers asked for per ancestry-search request.
ANCESTRY_BATCH = 64
#: ``*b"FRNK"``: GRANDPA's consensus engine id in ``Justifications``.
GRANDPA_ENGINE_ID = b"FRNK"
#: Serving side: stop adding blocks once the response reaches this size (bytes).
RESPONSE_SOFT_LIMIT = MAX_RESPONSE_SIZE // 2

Justification = tuple[bytes, bytes]
#: The node's check of a justification for a header; True accepts it.
JustificationVerifier = Callable[[Header, Justification], bool]


class BlockSource(Protocol):
    """What serving block requests reads (satisfied by :class:`pychain.chain.Chain`)."""

    def header(self, block_hash: bytes) -> Header | None: ...

    def block(self, block_hash: bytes) -> Block | None: ...

    def hash_at(self, number: int) -> bytes | None: ...

    def justifications(self, block_hash: bytes) -> list[Justification]: ...


class SyncChain(BlockSource, Protocol):
    """What sync needs of the chain (satisfied by :class:`pychain.chain.Chain`)."""

    def best(self) -> tuple[bytes, int]: ...

    def import_block(self, block: Block, justification: Justification | None = None) -> object:
        """Verify, execute and store; raises a :class:`~pychain.errors.PychainError` to refuse."""


# ----------------------------------------------------------------------------- serving


def answer_block_request(chain: BlockSource, request: BlockRequest) -> BlockResponse:
    """``BlockRequestHandler``: the blocks a peer asked for, as far as we have them."""
    wanted = min(request.max_blocks, MAX_BLOCKS_PER_REQUEST)
    start = request.from_block
    if isinstance(start, FromHash):
        current = chain.header(start.hash)
    else:
        start_hash = chain.hash_at(start.number)
        current = chain.header(start_hash) if start_hash is not None else None
    blocks: list[BlockData] = []
    size = 0
    while current is not None and len(blocks) < wanted:
        data = _block_data(chain, current, request.fields)
        if data is None:
            break
        encoded_size = len(data.encode())
        if blocks and size + encoded_size > RESPONSE_SOFT_LIMIT:
            break
        blocks.append(data)
        size += encoded_size
        current = _next_header(chain, current, request.direction)
    return BlockResponse(blocks)


def _block_data(chain: BlockSource, header: Header, fields: int) -> BlockData | None:
    block_hash = header.hash()
    body: tuple[bytes, ...] | None = None
    if fields & BlockAttributes.BODY:
        block = chain.block(block_hash)
        if block is None:
            return None
        body = tuple(block.extrinsics)
    justifications = None
    if fields & BlockAttributes.JUSTIFICATION:
        found = chain.justifications(block_hash)
        justifications = [(bytes(e), bytes(j)) for e, j in found] if found else None
    return BlockData(
        block_hash,
        header if fields & BlockAttributes.HEADER else None,
        body,
        justifications,
    )


def _next_header(chain: BlockSource, header: Header, direction: Direction) -> Header | None:
    if direction == Direction.DESCENDING:
        if header.number == 0:
            return None
        return chain.header(header.parent_hash)
    next_hash = chain.hash_at(header.number + 1)
    if next_hash is None:
        return None
    child = chain.header(next_hash)
    # Verify we stay on one chain (the start block may not be canonical).
    if child is None or child.parent_hash != header.hash():
        return None
    return child


# ------------------------------------------------------------------------------- sync


class ChainSync:
    """Keeps our chain up to date with better chains of our peers."""

    def __init__(
        self,
        chain: SyncChain,
        network: NetworkService,
        verify_justification: JustificationVerifier | None = None,
        request_timeout: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.chain = chain
        self.network = network
        self.verify_justification = verify_justification
        self.request_timeout = request_timeout
        #: Best ``(hash, number)`` each peer told us about.
        self.peer_best: dict[PeerId, tuple[bytes, int]] = {}
        self._lock = trio.Lock()
        self.imported = 0

    def serve(self) -> None:
        """Register :func:`answer_block_request` over our chain as the network's handler."""
        self.network.set_block_request_handler(
            lambda _peer, request: answer_block_request(self.chain, request)
        )

    # ------------------------------------------------------------------------ events

    def note_status(self, peer: PeerId, status: Status) -> None:
        self.peer_best[peer] = (status.best_hash, status.best_number)

    def note_announce(self, peer: PeerId, header: Header, is_best: bool) -> None:
        _, known = self.peer_best.get(peer, (b"", -1))
        if is_best and header.number >= known:
            self.peer_best[peer] = (header.hash(), header.number)

    def needs_sync(self, peer: PeerId) -> bool:
        """Whether ``peer`` knows a block we lack that is at least as high as our best."""
        if peer not in self.peer_best:
            return False
        best_hash, best_number = self.peer_best[peer]
        _, our_number = self.chain.best()
        return best_number > our_number or (
            best_number == our_number and self.chain.header(best_hash) is None
        )

    async def on_event(self, event: NetworkEvent) -> int:
        """Feed one network event; returns the number of blocks it made us import."""
        if isinstance(event, PeerConnected):
            self.note_status(event.peer, event.status)
            return await self.sync_with(event.peer) if self.needs_sync(event.peer) else 0
        if isinstance(event, BlockAnnounced):
            header = event.announce.header
            source = self._source_of(event)
            if source is None:
                return 0
            self.note_announce(source, header, event.announce.is_best)
            if self.chain.header(header.hash()) is not None:
                return 0
            return await self.sync_with(source, announced=header)
        if isinstance(event, PeerDisconnected):
            self.peer_best.pop(event.peer, None)
        return 0

    def _source_of(self, event: BlockAnnounced) -> PeerId | None:
        peers = set(self.network.peers())
        if event.origin in peers:
            return event.origin
        return event.peer if event.peer in peers else None

    # -------------------------------------------------------------------------- sync

    async def sync_with(self, peer: PeerId, announced: Header | None = None) -> int:
        """Import what ``peer`` has beyond our chain; returns the number of blocks imported.

        Network failures and bad responses end the attempt (logged; the peer is reported for
        bad data); they do not raise.
        """
        async with self._lock:
            try:
                if announced is not None and self.chain.header(announced.parent_hash) is not None:
                    return await self._fetch_one(peer, announced)
                return await self._catch_up(peer)
            except (NetworkError, SyncError) as exc:
                log.info("sync with %s stopped: %s", peer, exc)
                return 0

    async def _request(self, peer: PeerId, request: BlockRequest) -> BlockResponse:
        return await self.network.request_blocks(peer, request, self.request_timeout)

    async def _fetch_one(self, peer: PeerId, header: Header) -> int:
        """The announced block's parent is known: fetch just that block."""
        request = BlockRequest(int(BlockAttributes.ALL), FromHash(header.hash()), max_blocks=1)
        response = await self._request(peer, request)
        return self._import_chain(peer, response.blocks, header.parent_hash)

    async def find_common_ancestor(self, peer: PeerId) -> tuple[bytes, int]:
        """The highest block both we and ``peer`` have (on its canonical chain)."""
        _, our_number = self.chain.best()
        _, peer_number = self.peer_best.get(peer, (b"", our_number))
        start = min(our_number, peer_number)
        while start >= 0:
            count = min(ANCESTRY_BATCH, start + 1)
            request = BlockRequest(
                int(BlockAttributes.HEADER), FromNumber(start), Direction.DESCENDING, count
            )
            response = await self._request(peer, request)
            expected = start
            for data in response.blocks:
                header = data.header
                # Verify the peer answered the headers we asked for, in order.
                if header is None or header.number != expected or header.hash() != data.hash:
                    self.network.report_peer(peer, BAD_RESPONSE)
                    raise SyncError(f"peer {peer} answered an inconsistent header list")
                if self.chain.header(data.hash) is not None:
                    return data.hash, header.number
                expected -= 1
            if len(response.blocks) < count:
                raise SyncError(f"peer {peer} lacks blocks below #{start} it should have")
            start -= count
        raise SyncError(f"no common block with {peer}")

    async def _catch_up(self, peer: PeerId) -> int:
        ancestor_hash, _ = await self.find_common_ancestor(peer)
        total = 0
        while True:
            request = BlockRequest(
                int(BlockAttributes.ALL), FromHash(ancestor_hash), Direction.ASCENDING
            )
            response = await self._request(peer, request)
            imported = self._import_chain(peer, response.blocks, None)
            total += imported
            if imported == 0:
                return total
            ancestor_hash = response.blocks[-1].hash
            if not self.needs_sync(peer):
                return total

    def _import_chain(self, peer: PeerId, blocks: Sequence[BlockData], parent: bytes | None) -> int:
        """Import a response's blocks in order; known ones are skipped. Returns how many were new."""
        imported = 0
        for data in blocks:
            block = data.block()
            # Verify the block is complete, matches its hash and extends the previous one.
            if block is None or block.hash() != data.hash:
                self.network.report_peer(peer, BAD_RESPONSE)
                raise SyncError(f"peer {peer} sent an incomplete or mislabelled block")
            if parent is not None and block.header.parent_hash != parent:
                self.network.report_peer(peer, BAD_RESPONSE)
                raise SyncError(f"peer {peer} sent blocks that do not form a chain")
            parent = data.hash
            if self.chain.header(data.hash) is not None:
                continue
            justification = self._accepted_justification(peer, block.header, data)
            try:
                self.chain.import_block(block, justification)
            except PychainError as exc:
                self.network.report_peer(peer, INVALID_BLOCK)
                raise SyncError(
                    f"block #{block.header.number} from {peer} refused: {exc}"
                ) from None
            imported += 1
            self.imported += 1
        return imported

    def _accepted_justification(
        self, peer: PeerId, header: Header, data: BlockData
    ) -> Justification | None:
        if self.verify_justification is None or not data.justifications:
            return None
        for engine, encoded in data.justifications:
            if engine != GRANDPA_ENGINE_ID:
                continue
            if self.verify_justification(header, (engine, encoded)):
                return (engine, encoded)
            self.network.report_peer(peer, BAD_JUSTIFICATION)
        return None
