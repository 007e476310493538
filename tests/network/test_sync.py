"""Block sync and block-request serving: toy chain first, then the real ``Chain``; in memory and
over libp2p."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from pychain.network.messages import (
    BlockAttributes,
    BlockRequest,
    Direction,
    FromHash,
    FromNumber,
)
from pychain.network.reputation import BAD_JUSTIFICATION
from pychain.network.service import NetworkCore, PeerDisconnected
from pychain.network.sync import ChainSync, answer_block_request
from pychain.primitives.block import Block
from pychain.primitives.scale import encode_compact
from pychain.storage import MemoryStore

from ..chain.conftest import open_chain
from .helpers import IMPLS, Factory, ToyChain, make_header, run

pytestmark = pytest.mark.timeout(60)

ALL = int(BlockAttributes.ALL)
XT = encode_compact(4) + b"xt!!"


def toy(blocks: int = 0, salt: bytes = b"") -> ToyChain:
    chain = ToyChain(make_header(None))
    chain.extend(blocks, salt, (XT,))
    return chain


# ----------------------------------------------------------------------------- serving


def test_answer_ascending_from_number_follows_canonical_chain() -> None:
    chain = toy(10)
    response = answer_block_request(chain, BlockRequest(ALL, FromNumber(3), max_blocks=4))
    assert [b.header.number for b in response.blocks if b.header] == [3, 4, 5, 6]
    assert all(b.body == (XT,) for b in response.blocks)
    assert response.blocks[0].hash == chain.hash_at(3)


def test_answer_descending_headers_only_from_hash() -> None:
    chain = toy(10)
    start = chain.hash_at(10)
    assert start is not None
    request = BlockRequest(int(BlockAttributes.HEADER), FromHash(start), Direction.DESCENDING, 200)
    response = answer_block_request(chain, request)
    assert [b.header.number for b in response.blocks if b.header] == list(range(10, -1, -1))
    assert all(b.body is None and b.justifications is None for b in response.blocks)


def test_answer_from_fork_block_stops_at_it_and_unknown_start_is_empty() -> None:
    chain = toy(5)
    parent = chain.header(chain.hash_at(2) or b"")
    fork = Block(make_header(parent, b"fork"), ())
    chain.import_block(fork)
    response = answer_block_request(chain, BlockRequest(ALL, FromHash(fork.hash())))
    assert [b.hash for b in response.blocks] == [fork.hash()]
    assert answer_block_request(chain, BlockRequest(ALL, FromHash(bytes(32)))).blocks == []
    assert answer_block_request(chain, BlockRequest(ALL, FromNumber(99))).blocks == []


def test_answer_includes_justifications_when_asked() -> None:
    chain = toy(3)
    target = chain.hash_at(2) or b""
    chain.justified[target] = [(b"FRNK", b"proof")]
    request = BlockRequest(int(BlockAttributes.JUSTIFICATION), FromNumber(2), max_blocks=2)
    response = answer_block_request(chain, request)
    assert response.blocks[0].justifications == [(b"FRNK", b"proof")]
    assert response.blocks[1].justifications is None
    assert response.blocks[0].header is None


# -------------------------------------------------------------------------------- sync


async def pump(net: NetworkCore, sync: ChainSync, done: Any, timeout: float = 20.0) -> None:
    """Feed ``net``'s events to ``sync`` until ``done()``."""
    with trio.fail_after(timeout):
        while not done():
            await sync.on_event(await net.events().receive())


async def pair(f: Factory, source: Any, target: Any, **kw: Any) -> tuple[Any, Any, ChainSync]:
    a = await f.make(1, best=source.best)
    b = await f.make(2, best=target.best)
    ChainSync(source, a).serve()
    sync = ChainSync(target, b, request_timeout=5.0, **kw)
    await b.connect(a.listen_addrs()[0])
    return a, b, sync


@pytest.mark.parametrize("impl", IMPLS)
def test_fresh_node_syncs_50_blocks_from_genesis_with_justifications(impl: str) -> None:
    source, target = toy(50), toy(0)
    last, tenth = source.hash_at(50) or b"", source.hash_at(10) or b""
    source.justified[last] = [(b"FRNK", b"good")]
    source.justified[tenth] = [(b"FRNK", b"forged")]

    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            verify = lambda header, j: j[1] == b"good"  # noqa: E731
            a, b, sync = await pair(f, source, target, verify_justification=verify)
            await pump(b, sync, lambda: target.best()[1] == 50)
            assert target.best() == source.best()
            assert target.blocks[last] == source.blocks[last]
            assert target.justifications(last) == [(b"FRNK", b"good")]
            assert target.justifications(tenth) == []
            assert b.reputation.score(a.local_peer_id) == BAD_JUSTIFICATION.value
            assert sync.imported == 50
            # A new block announced by the source is fetched alone.
            (new,) = source.extend(1, body=(XT,))
            await a.announce_block(new.header)
            await pump(b, sync, lambda: target.best()[0] == new.hash())
            assert sync.imported == 51
            await f.stop_all(a, b)

    run(body)


def test_forked_node_finds_common_ancestor_over_two_batches_and_reorgs() -> None:
    source = toy(10)
    target = ToyChain(source.blocks[source.hash_at(0) or b""].header)
    for n in range(1, 11):
        target.import_block(source.blocks[source.hash_at(n) or b""])
    source.extend(100, b"source")
    target.extend(70, b"target")

    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory("memory", nursery)
            a, b, sync = await pair(f, source, target)
            assert sync.needs_sync(a.local_peer_id) is False  # status not seen yet
            await pump(b, sync, lambda: target.best()[1] == 110)
            assert await sync.find_common_ancestor(a.local_peer_id) == source.best()
            assert target.best() == source.best()
            assert target.hash_at(11) == source.hash_at(11)
            await f.stop_all(a, b)

    run(body)


def test_invalid_block_from_peer_bans_it_and_keeps_valid_prefix() -> None:
    source, target = toy(10), toy(0)
    target.bad.add(source.hash_at(5) or b"")

    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory("memory", nursery)
            a, b, sync = await pair(f, source, target)
            disconnected: list[str] = []

            async def drive() -> None:
                while not disconnected:
                    event = await b.events().receive()
                    if isinstance(event, PeerDisconnected):
                        disconnected.append(event.peer)
                    await sync.on_event(event)

            with trio.fail_after(10):
                await drive()
            assert disconnected == [a.local_peer_id]
            assert b.reputation.is_banned(a.local_peer_id)
            assert target.best()[1] == 4
            await f.stop_all(a, b)

    run(body)


@pytest.mark.parametrize("impl", IMPLS)
def test_real_chain_syncs_50_blocks_from_genesis(impl: str) -> None:
    source = open_chain(MemoryStore())
    target = open_chain(MemoryStore())
    parent = source.genesis_hash
    for _ in range(50):
        built = source.build_block(parent, (), [])
        source.import_block(built.block, origin="own")
        parent = built.block.hash()
    source.finalize(parent, (b"FRNK", b"justification of #50"))

    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a, b, sync = await pair(f, source, target, verify_justification=lambda h, j: True)
            await pump(b, sync, lambda: target.best()[1] == 50)
            assert target.best() == source.best()
            assert target.finalized() == (parent, 50)
            assert target.state_at().root == source.state_at().root
            await f.stop_all(a, b)

    run(body)
