"""Wire messages of pychain's network protocols, SCALE-encoded and versioned by protocol id.

Counterparts in ``sc-network`` / ``sc-network-sync`` / ``sc-network-transactions`` /
``sc-consensus-grandpa`` (Polkadot specification, chapter "Networking", sections "Protocol
Messages": ``BlockAnnounceHandshake``, ``BlockAnnounce``, ``BlockRequest``/``BlockResponse``,
``Transactions``, GRANDPA ``GossipMessage``):

* ``…/block-announces/1``: :class:`Status` (the handshake) and :class:`BlockAnnounce`
  (Substrate: ``/<genesis>/block-announces/1``, ``BlockAnnouncesHandshake``, ``BlockAnnounce``);
* ``…/sync/2``: :class:`BlockRequest` -> :class:`BlockResponse` (``/<genesis>/sync/2``);
* ``…/transactions/1``: :class:`Transactions` (``/<genesis>/transactions/1``);
* ``…/grandpa/1``: :data:`GrandpaMessage` (``/<genesis>/grandpa/1``, GRANDPA ``GossipMessage``);

where ``…`` is ``/pychain/<first 8 bytes of the genesis hash, hex>``: nodes of another chain do not
even share a protocol name with us, and the :class:`Status` handshake checks the full genesis hash.

Strict decoding (STYLE §9): every message is decoded by :func:`decode_message`, which first checks
the total size against the protocol's maximum, then decodes with the strict SCALE codec, whose
:class:`BoundedBytes` / :class:`BoundedVec` refuse a declared length above their maximum *before*
allocating anything, and finally refuses trailing bytes. Failures are
:class:`~pychain.network.errors.MessageDecodeError` (or :class:`MessageTooLarge`).

Differences from Substrate: the block request/response messages are SCALE structs (Substrate's
``sync/2`` uses protobuf); a block announce carries ``is_best`` as a bool instead of
``Option<BlockState>`` and has no extra ``data``; GRANDPA messages are opaque payloads inside the
tagged enum (their inner encoding belongs to ``consensus/grandpa``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pychain.network.errors import MessageDecodeError, MessageTooLarge
from pychain.primitives.block import Block, decode_body_at, encode_body
from pychain.primitives.header import Header
from pychain.primitives.scale import (
    H256,
    U8,
    U32,
    Bool,
    Bytes,
    CEnum,
    Codec,
    Enum,
    FixedBytes,
    Option,
    ScaleDecodeError,
    ScaleEncodeError,
    Struct,
    Tuple,
    decode_compact,
    encode_compact,
)

__all__ = [
    "ProtocolIds",
    "protocol_ids",
    "Roles",
    "Status",
    "BlockAnnounce",
    "FromHash",
    "FromNumber",
    "FromBlock",
    "Direction",
    "BlockAttributes",
    "BlockRequest",
    "BlockData",
    "BlockResponse",
    "Transactions",
    "Vote",
    "Commit",
    "Neighbor",
    "CatchUpRequest",
    "CatchUp",
    "GrandpaMessage",
    "GrandpaMessageValue",
    "BoundedBytes",
    "BoundedVec",
    "decode_message",
    "decode_status",
    "decode_announce",
    "decode_block_request",
    "decode_block_response",
    "decode_transactions",
    "decode_grandpa",
    "MAX_GOSSIP_SIZE",
    "MAX_REQUEST_SIZE",
    "MAX_RESPONSE_SIZE",
    "MAX_BLOCKS_PER_REQUEST",
    "MAX_TRANSACTION_SIZE",
    "MAX_TRANSACTIONS_PER_MESSAGE",
    "MAX_JUSTIFICATION_SIZE",
    "MAX_GRANDPA_SIZE",
    "STATUS_SIZE",
]

M = TypeVar("M")

# ------------------------------------------------------------------------------ limits

#: GossipSub drops messages over 1 MiB silently (NETWORKING.md, trap 3); we refuse to send or
#: accept anything that large on gossip. Bigger payloads travel over request/response streams.
MAX_GOSSIP_SIZE = 1024 * 1024 - 4096
#: ``sc-network-sync``: a block request is tiny; 1 KiB is generous for our SCALE form.
MAX_REQUEST_SIZE = 1024
#: ``sc-network-sync``'s ``MAX_RESPONSE_SIZE`` for block responses (16 MiB).
MAX_RESPONSE_SIZE = 16 * 1024 * 1024
#: ``sc-network-sync``'s ``MAX_BLOCKS_IN_RESPONSE`` (128).
MAX_BLOCKS_PER_REQUEST = 128
#: One extrinsic in a ``Transactions`` message (Substrate's pool default max is 5 MiB per
#: transaction; gossip caps it below 1 MiB here).
MAX_TRANSACTION_SIZE = MAX_GOSSIP_SIZE
#: Extrinsics in one ``Transactions`` message (``sc-network-transactions``' MAX_PENDING is 8192).
MAX_TRANSACTIONS_PER_MESSAGE = 8192
#: One encoded justification (a GRANDPA commit of ~1,000 voters is ~150 KiB).
MAX_JUSTIFICATION_SIZE = 4 * 1024 * 1024
#: One GRANDPA gossip payload.
MAX_GRANDPA_SIZE = MAX_GOSSIP_SIZE
#: Exact size of an encoded :class:`Status`: roles u8 + best u32 + two hashes.
STATUS_SIZE = 1 + 4 + 32 + 32

#: How many leading bytes of the genesis hash go into protocol names.
GENESIS_PREFIX_BYTES = 8


# ----------------------------------------------------------------------- protocol ids


@dataclass(frozen=True)
class ProtocolIds:
    """The protocol names of one chain (Substrate prefixes them with the genesis hash)."""

    block_announces: str
    sync: str
    transactions: str
    grandpa: str


def protocol_ids(genesis_hash: bytes) -> ProtocolIds:
    """``/pychain/<genesis prefix>/<name>/<version>`` for each of our protocols."""
    if len(genesis_hash) != 32:
        raise ValueError(f"genesis hash must be 32 bytes, got {len(genesis_hash)}")
    base = f"/pychain/{genesis_hash[:GENESIS_PREFIX_BYTES].hex()}"
    return ProtocolIds(
        block_announces=f"{base}/block-announces/1",
        sync=f"{base}/sync/2",
        transactions=f"{base}/transactions/1",
        grandpa=f"{base}/grandpa/1",
    )


# -------------------------------------------------------------------- bounded codecs


class BoundedBytes(Codec[bytes]):
    """``BoundedVec<u8, N>``: ``Vec<u8>`` whose declared length is checked against ``limit``
    before the bytes are sliced (``sp_runtime::BoundedVec`` decoding)."""

    min_size = 1

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.name = f"BoundedVec<u8, {limit}>"

    def encode_into(self, value: bytes, out: bytearray) -> None:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise ScaleEncodeError(f"{self.name} expects bytes, got {type(value).__name__}")
        if len(value) > self.limit:
            raise ScaleEncodeError(f"{self.name}: {len(value)} bytes exceed the limit")
        Bytes.encode_into(bytes(value), out)

    def decode_at(self, data: bytes, pos: int) -> tuple[bytes, int]:
        length, start = decode_compact(data, pos, 32)
        if length > self.limit:
            raise ScaleDecodeError(f"declared length {length} exceeds {self.name}", pos)
        end = start + length
        if end > len(data):
            raise ScaleDecodeError(
                f"declared length {length} exceeds the remaining {len(data) - start} byte(s)", pos
            )
        return data[start:end], end


class BoundedVec(Codec[list[M]]):
    """``BoundedVec<T, N>``: the declared item count is checked against ``limit`` and against the
    remaining input (each item takes at least ``item.min_size`` bytes) before decoding items."""

    min_size = 1

    def __init__(self, item: Codec[M], limit: int) -> None:
        self.item = item
        self.limit = limit
        self.name = f"BoundedVec<{item.name}, {limit}>"

    def encode_into(self, value: list[M], out: bytearray) -> None:
        if not isinstance(value, list | tuple):
            raise ScaleEncodeError(f"{self.name} expects a sequence, got {type(value).__name__}")
        if len(value) > self.limit:
            raise ScaleEncodeError(f"{self.name}: {len(value)} items exceed the limit")
        out += encode_compact(len(value))
        for item in value:
            self.item.encode_into(item, out)

    def decode_at(self, data: bytes, pos: int) -> tuple[list[M], int]:
        count, cursor = decode_compact(data, pos, 32)
        if count > self.limit:
            raise ScaleDecodeError(f"declared count {count} exceeds {self.name}", pos)
        if count * max(self.item.min_size, 1) > len(data) - cursor:
            raise ScaleDecodeError(
                f"declared count {count} exceeds the remaining {len(data) - cursor} byte(s)", pos
            )
        items: list[M] = []
        for _ in range(count):
            value, cursor = self.item.decode_at(data, cursor)
            items.append(value)
        return items, cursor


class _Body(Codec[tuple[bytes, ...]]):
    """A block body: ``Vec<OpaqueExtrinsic>``; each item keeps its own length prefix."""

    name = "Vec<OpaqueExtrinsic>"
    min_size = 1

    def encode_into(self, value: tuple[bytes, ...], out: bytearray) -> None:
        out += encode_body(tuple(value))

    def decode_at(self, data: bytes, pos: int) -> tuple[tuple[bytes, ...], int]:
        items, end = decode_body_at(data, pos)
        return tuple(items), end


Body: Codec[tuple[bytes, ...]] = _Body()

#: ``(ConsensusEngineId, EncodedJustification)``, as ``sp_runtime::Justification``.
JustificationCodec: Codec[tuple[Any, ...]] = Tuple(
    FixedBytes(4), BoundedBytes(MAX_JUSTIFICATION_SIZE)
)


# ------------------------------------------------------------------------------ roles


class Roles(enum.IntFlag):
    """``sc_network::Roles`` bit flags (FULL, LIGHT, AUTHORITY)."""

    NONE = 0
    FULL = 0b0001
    LIGHT = 0b0010
    AUTHORITY = 0b0100


# ------------------------------------------------------------------ block announces


@dataclass(frozen=True)
class Status(Struct):
    """The handshake of ``block-announces/1`` (``BlockAnnouncesHandshake``): our roles, best
    block and genesis. A peer whose ``genesis_hash`` differs from ours is refused."""

    roles: Annotated[int, U8]
    best_number: Annotated[int, U32]
    best_hash: Annotated[bytes, H256]
    genesis_hash: Annotated[bytes, H256]


@dataclass(frozen=True)
class BlockAnnounce(Struct):
    """``BlockAnnounce``: a new block's header, and whether it is the sender's new best."""

    header: Header
    is_best: Annotated[bool, Bool] = True


# ----------------------------------------------------------------------- block sync


@dataclass(frozen=True)
class FromHash(Struct):
    """``FromBlock::Hash``: start at the block with this hash."""

    hash: Annotated[bytes, H256]


@dataclass(frozen=True)
class FromNumber(Struct):
    """``FromBlock::Number``: start at the canonical block with this number."""

    number: Annotated[int, U32]


#: ``FromBlock`` with Substrate's variant order (Hash = 0, Number = 1).
FromBlock: Enum = Enum("FromBlock", {0: FromHash, 1: FromNumber})


class Direction(enum.IntEnum):
    """``Direction``: ascending (towards the head) or descending (towards genesis)."""

    ASCENDING = 0
    DESCENDING = 1


DirectionCodec: Codec[Any] = CEnum(Direction)


class BlockAttributes(enum.IntFlag):
    """``BlockAttributes`` bit flags: which parts of each block the response carries."""

    HEADER = 0b0000_0001
    BODY = 0b0000_0010
    JUSTIFICATION = 0b0001_0000
    ALL = HEADER | BODY | JUSTIFICATION


@dataclass(frozen=True)
class BlockRequest(Struct):
    """``BlockRequest``: up to ``max_blocks`` blocks from ``from_block`` in ``direction``."""

    fields: Annotated[int, U8]
    from_block: Annotated[FromHash | FromNumber, FromBlock]
    direction: Annotated[Direction, DirectionCodec] = Direction.ASCENDING
    max_blocks: Annotated[int, U32] = MAX_BLOCKS_PER_REQUEST


@dataclass(frozen=True)
class BlockData(Struct):
    """``BlockData``: one block of a response; parts not asked for are ``None``."""

    hash: Annotated[bytes, H256]
    header: Annotated[Header | None, Option(Header.codec())] = None
    body: Annotated[tuple[bytes, ...] | None, Option(Body)] = None
    justifications: Annotated[
        list[tuple[bytes, bytes]] | None, Option(BoundedVec(JustificationCodec, 16))
    ] = None

    def block(self) -> Block | None:
        """The block (header and body), or ``None`` if either is missing."""
        if self.header is None or self.body is None:
            return None
        return Block(self.header, tuple(self.body))


@dataclass(frozen=True)
class BlockResponse(Struct):
    """``BlockResponse``: the blocks found, in the requested direction (may be empty)."""

    blocks: Annotated[list[BlockData], BoundedVec(BlockData.codec(), MAX_BLOCKS_PER_REQUEST)]


# ---------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class Transactions(Struct):
    """``Transactions``: a batch of encoded extrinsics for the pool."""

    extrinsics: Annotated[
        list[bytes],
        BoundedVec(BoundedBytes(MAX_TRANSACTION_SIZE), MAX_TRANSACTIONS_PER_MESSAGE),
    ]


# --------------------------------------------------------------------------- GRANDPA

_GrandpaPayload = BoundedBytes(MAX_GRANDPA_SIZE)


@dataclass(frozen=True)
class Vote(Struct):
    """``GossipMessage::Vote`` (0): a signed prevote/precommit (``consensus/grandpa`` encodes it)."""

    data: Annotated[bytes, _GrandpaPayload]


@dataclass(frozen=True)
class Commit(Struct):
    """``GossipMessage::Commit`` (1): a full commit message."""

    data: Annotated[bytes, _GrandpaPayload]


@dataclass(frozen=True)
class Neighbor(Struct):
    """``GossipMessage::Neighbor`` (2): the sender's round, set id and last finalized block."""

    data: Annotated[bytes, _GrandpaPayload]


@dataclass(frozen=True)
class CatchUpRequest(Struct):
    """``GossipMessage::CatchUpRequest`` (3)."""

    data: Annotated[bytes, _GrandpaPayload]


@dataclass(frozen=True)
class CatchUp(Struct):
    """``GossipMessage::CatchUp`` (4)."""

    data: Annotated[bytes, _GrandpaPayload]


GrandpaMessageValue = Vote | Commit | Neighbor | CatchUpRequest | CatchUp

#: ``sc_consensus_grandpa::communication::gossip::GossipMessage`` indices.
GrandpaMessage: Enum = Enum(
    "GrandpaMessage", {0: Vote, 1: Commit, 2: Neighbor, 3: CatchUpRequest, 4: CatchUp}
)


# -------------------------------------------------------------------------- decoding


def decode_message(decode: Callable[[bytes], M], data: bytes, limit: int, what: str) -> M:
    """Decode ``data`` with ``decode`` after checking its size against ``limit``.

    Any SCALE error becomes :class:`MessageDecodeError`; a size above ``limit`` is
    :class:`MessageTooLarge` (nothing is decoded).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MessageDecodeError(f"{what}: expected bytes, got {type(data).__name__}")
    if len(data) > limit:
        raise MessageTooLarge(what, len(data), limit)
    try:
        return decode(bytes(data))
    except ScaleDecodeError as exc:
        raise MessageDecodeError(f"malformed {what}: {exc}") from None


def decode_status(data: bytes) -> Status:
    return decode_message(Status.decode, data, STATUS_SIZE, "Status")


def decode_announce(data: bytes) -> BlockAnnounce:
    return decode_message(BlockAnnounce.decode, data, MAX_GOSSIP_SIZE, "BlockAnnounce")


def decode_block_request(data: bytes) -> BlockRequest:
    request = decode_message(BlockRequest.decode, data, MAX_REQUEST_SIZE, "BlockRequest")
    if request.fields & ~int(BlockAttributes.ALL):
        raise MessageDecodeError(f"BlockRequest has unknown field bits 0x{request.fields:02x}")
    return request


def decode_block_response(data: bytes) -> BlockResponse:
    return decode_message(BlockResponse.decode, data, MAX_RESPONSE_SIZE, "BlockResponse")


def decode_transactions(data: bytes) -> Transactions:
    return decode_message(Transactions.decode, data, MAX_GOSSIP_SIZE, "Transactions")


def decode_grandpa(data: bytes) -> GrandpaMessageValue:
    value: GrandpaMessageValue = decode_message(
        GrandpaMessage.decode, data, MAX_GOSSIP_SIZE, "GrandpaMessage"
    )
    return value
