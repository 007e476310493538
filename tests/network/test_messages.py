"""Wire messages: round trips, real headers and justifications, strict and bounded decoding."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.network.errors import MessageDecodeError, MessageTooLarge
from pychain.network.messages import (
    MAX_GOSSIP_SIZE,
    MAX_TRANSACTIONS_PER_MESSAGE,
    BlockAnnounce,
    BlockAttributes,
    BlockData,
    BlockRequest,
    BlockResponse,
    CatchUp,
    CatchUpRequest,
    Commit,
    Direction,
    FromHash,
    FromNumber,
    GrandpaMessage,
    Roles,
    Status,
    Transactions,
    Vote,
    decode_announce,
    decode_block_request,
    decode_block_response,
    decode_grandpa,
    decode_status,
    decode_transactions,
    protocol_ids,
)
from pychain.primitives.header import Header
from pychain.primitives.scale import encode_compact

from .helpers import make_header

hashes = st.binary(min_size=32, max_size=32)


def real_header(vectors: Path, name: str) -> tuple[Header, dict[str, object]]:
    meta = json.loads((vectors / "headers" / "headers_decoded.json").read_text())
    entry = next(h for h in meta["headers"] if name in h["file"])
    raw = (vectors / "headers" / Path(entry["file"]).name).read_bytes()
    return Header.decode(raw), entry


# ------------------------------------------------------------------------ round trips


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 255), st.integers(0, 2**32 - 1), hashes, hashes)
def test_status_round_trip_is_69_bytes(
    roles: int, best: int, best_hash: bytes, genesis: bytes
) -> None:
    status = Status(roles, best, best_hash, genesis)
    encoded = status.encode()
    assert len(encoded) == 69
    assert decode_status(encoded) == status


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 0x13),
    st.one_of(hashes.map(FromHash), st.integers(0, 2**32 - 1).map(FromNumber)),
    st.sampled_from(list(Direction)),
    st.integers(0, 2**32 - 1),
)
def test_block_request_round_trip(
    fields: int, start: object, direction: Direction, count: int
) -> None:
    request = BlockRequest(fields & int(BlockAttributes.ALL), start, direction, count)  # type: ignore[arg-type]
    assert decode_block_request(request.encode()) == request


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=20))
def test_transactions_round_trip(xts: list[bytes]) -> None:
    message = Transactions(xts)
    assert decode_transactions(message.encode()) == message


@pytest.mark.parametrize("variant", [Vote, Commit, CatchUpRequest, CatchUp])
def test_grandpa_message_round_trip_keeps_variant(variant: type) -> None:
    message = variant(b"\x01\x02payload")
    encoded = GrandpaMessage.encode(message)
    assert encoded[0] == GrandpaMessage.index_of(message)
    assert decode_grandpa(encoded) == message


def test_block_announce_of_real_polkadot_header_round_trips(vectors: Path) -> None:
    header, entry = real_header(vectors, "polkadot-512271")
    announce = BlockAnnounce(header, True)
    decoded = decode_announce(announce.encode())
    assert decoded.header.hash().hex() == str(entry["blake2_256"])[2:]
    assert decoded.header.number == 512271 and decoded.is_best


def test_block_response_carries_real_grandpa_justification(vectors: Path) -> None:
    data = json.loads((vectors / "grandpa" / "polkadot_block302592_justification.json").read_text())
    justification = bytes.fromhex(data["encoded_justification"][2:])
    header, _ = real_header(vectors, "kusama-7472481")
    block = BlockData(
        header.hash(), header, (encode_compact(3) + b"abc",), [(b"FRNK", justification)]
    )
    response = decode_block_response(BlockResponse([block, BlockData(bytes(32))]).encode())
    assert response.blocks[0].justifications == [(b"FRNK", justification)]
    assert response.blocks[0].block() is not None
    assert response.blocks[1].block() is None  # header and body not asked for


def test_protocol_ids_use_genesis_prefix_of_real_chain(vectors: Path) -> None:
    expected = json.loads((vectors / "chainspecs" / "expected.json").read_text())
    genesis = bytes.fromhex(expected["chains"][0]["genesis_hash"][2:])
    ids = protocol_ids(genesis)
    prefix = f"/pychain/{genesis[:8].hex()}"
    assert ids.block_announces == prefix + "/block-announces/1"
    assert ids.sync == prefix + "/sync/2"
    assert ids.transactions == prefix + "/transactions/1"
    assert ids.grandpa == prefix + "/grandpa/1"
    assert protocol_ids(bytes(32)).sync != ids.sync


def test_roles_flags_match_substrate_bits() -> None:
    assert (int(Roles.FULL), int(Roles.LIGHT), int(Roles.AUTHORITY)) == (1, 2, 4)


# -------------------------------------------------------------------- strict decoding


def test_decode_status_with_trailing_byte_raises() -> None:
    encoded = Status(1, 0, bytes(32), bytes(32)).encode()
    with pytest.raises(MessageDecodeError):
        decode_status(encoded + b"\x00")
    with pytest.raises(MessageDecodeError):
        decode_status(encoded[:-1])


def test_decode_block_request_with_unknown_field_bits_raises() -> None:
    encoded = BlockRequest(0x80, FromNumber(1)).encode()
    with pytest.raises(MessageDecodeError, match="unknown field bits"):
        decode_block_request(encoded)


def test_decode_block_request_with_unknown_from_variant_raises() -> None:
    encoded = bytearray(BlockRequest(1, FromNumber(1)).encode())
    encoded[1] = 7  # FromBlock variant index
    with pytest.raises(MessageDecodeError, match="variant"):
        decode_block_request(bytes(encoded))


def test_decode_grandpa_with_unknown_variant_raises() -> None:
    with pytest.raises(MessageDecodeError):
        decode_grandpa(b"\x09\x00")


def test_decode_transactions_with_non_canonical_compact_raises() -> None:
    # 0x0d00 is a two-byte compact for 3: canonical form is one byte.
    with pytest.raises(MessageDecodeError):
        decode_transactions(b"\x04\x0d\x00abc")


def test_oversized_gossip_message_raises_message_too_large() -> None:
    with pytest.raises(MessageTooLarge):
        decode_transactions(b"\x00" * (MAX_GOSSIP_SIZE + 1))


def test_declared_transaction_count_over_maximum_rejected_before_allocating() -> None:
    # Declares 2^30 transactions in a 5-byte message.
    data = encode_compact(2**30)
    started = time.perf_counter()
    with pytest.raises(MessageDecodeError, match="exceeds"):
        decode_transactions(data)
    assert time.perf_counter() - started < 0.05
    over = encode_compact(MAX_TRANSACTIONS_PER_MESSAGE + 1) + b"\x00" * (
        MAX_TRANSACTIONS_PER_MESSAGE + 1
    )
    with pytest.raises(MessageDecodeError, match="BoundedVec"):
        decode_transactions(over)


def test_declared_justification_length_over_maximum_rejected() -> None:
    header = make_header(None)
    encoded = bytearray(
        BlockResponse([BlockData(header.hash(), None, None, [(b"FRNK", b"j")])]).encode()
    )
    # Replace the justification's length byte (compact 1 = 0x04) by compact 2^29 (four bytes).
    tail = encode_compact(1) + b"j"
    assert encoded.endswith(tail)
    forged = bytes(encoded[: -len(tail)]) + encode_compact(2**29) + b"j"
    with pytest.raises(MessageDecodeError, match="exceeds"):
        decode_block_response(forged)


def test_declared_block_count_over_128_rejected() -> None:
    data = encode_compact(129) + bytes(129 * 40)
    with pytest.raises(MessageDecodeError, match="BoundedVec"):
        decode_block_response(data)


def test_truncated_block_response_raises() -> None:
    header = make_header(None)
    encoded = BlockResponse([BlockData(header.hash(), header, (), None)]).encode()
    for cut in (1, 10, len(encoded) - 1):
        with pytest.raises(MessageDecodeError):
            decode_block_response(encoded[:cut])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_typed_error(data: bytes) -> None:
    for decode in (
        decode_status,
        decode_announce,
        decode_block_request,
        decode_block_response,
        decode_transactions,
        decode_grandpa,
    ):
        try:
            value = decode(data)
        except MessageDecodeError:
            continue
        # Whatever decodes re-encodes to the same bytes (canonical encoding).
        encoded = GrandpaMessage.encode(value) if decode is decode_grandpa else value.encode()
        assert encoded == data
