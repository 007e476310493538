"""The network service, run on both implementations: the in-memory twin is tested against the
real py-libp2p one (TCP + Noise + Yamux + GossipSub on 127.0.0.1, random free ports)."""

from __future__ import annotations

import inspect

import pytest
import trio
import trio.testing

from pychain.network.errors import (
    HandshakeRefused,
    MessageTooLarge,
    NetworkError,
    RequestTimeout,
    UnknownPeer,
)
from pychain.network.libp2p_network import Libp2pNetwork, encode_uvarint
from pychain.network.memory import MemoryHub, MemoryNetwork
from pychain.network.messages import (
    MAX_GOSSIP_SIZE,
    BlockAttributes,
    BlockData,
    BlockRequest,
    BlockResponse,
    Commit,
    FromNumber,
    Vote,
)
from pychain.network.reputation import INVALID_BLOCK, MALFORMED_MESSAGE
from pychain.network.service import (
    BlockAnnounced,
    GrandpaReceived,
    NetworkService,
    PeerConnected,
    PeerDisconnected,
    TransactionsReceived,
)
from pychain.primitives.scale import encode_compact

from .helpers import GENESIS_A, GENESIS_B, IMPLS, Factory, make_header, next_event, node_key, run

pytestmark = pytest.mark.timeout(60)


def test_both_implementations_satisfy_network_service_protocol() -> None:
    implementations: list[NetworkService] = [
        MemoryNetwork(MemoryHub(), node_key(1), GENESIS_A),
        Libp2pNetwork(node_key(1), GENESIS_A),
    ]
    members = [m for m in vars(NetworkService) if not m.startswith("_")]
    assert "request_blocks" in members and "events" in members
    for net in implementations:
        assert net.local_peer_id == implementations[0].local_peer_id
        for name in members:
            if name in ("reputation", "local_peer_id"):
                continue
            assert inspect.signature(getattr(type(net), name)).parameters.keys() == (
                inspect.signature(getattr(NetworkService, name)).parameters.keys()
            ), name


async def collect_transactions(net: object, count: int) -> list[bytes]:
    got: list[bytes] = []
    while len(got) < count:
        event = await next_event(net, TransactionsReceived)  # type: ignore[arg-type]
        got.extend(event.extrinsics)
    return got


@pytest.mark.parametrize("impl", IMPLS)
def test_connect_exchanges_status_and_emits_peer_connected(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            best = make_header(make_header(None))
            a = await f.make(1)
            b = await f.make(2, best=lambda: (best.hash(), best.number))
            peer = await a.connect(b.listen_addrs()[0])
            assert peer == b.local_peer_id
            on_a = await next_event(a, PeerConnected)
            on_b = await next_event(b, PeerConnected)
            assert on_a.peer == b.local_peer_id and on_b.peer == a.local_peer_id
            assert (on_a.status.best_number, on_a.status.best_hash) == (1, best.hash())
            assert on_b.status.best_number == 0 and on_b.status.genesis_hash == GENESIS_A
            assert a.peers() == [b.local_peer_id] and b.peers() == [a.local_peer_id]
            # Connecting again is a no-op.
            assert await a.connect(b.listen_addrs()[0]) == peer
            await a.disconnect(peer)
            assert (await next_event(b, PeerDisconnected)).peer == a.local_peer_id
            assert a.peers() == []
            await f.stop_all(a, b)

    run(body)


@pytest.mark.parametrize("impl", IMPLS)
def test_gossip_announce_grandpa_and_burst_of_100_transactions_all_delivered(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a, b, c = await f.make(1), await f.make(2), await f.make(3)
            await b.connect(a.listen_addrs()[0])
            await c.connect(a.listen_addrs()[0])
            header = make_header(make_header(None), b"x")
            await a.announce_block(header)
            sent = [b"tx-%03d" % i for i in range(100)]
            for xt in sent:
                await a.broadcast_transactions([xt])
            await a.broadcast_grandpa(Commit(b"commit"))
            for receiver in (b, c):
                announced = await next_event(receiver, BlockAnnounced)
                assert announced.announce.header == header and announced.announce.is_best
                assert announced.origin == a.local_peer_id
                assert sorted(await collect_transactions(receiver, 100)) == sent
                grandpa = await next_event(receiver, GrandpaReceived)
                assert grandpa.message == Commit(b"commit")
            assert receiver.dropped_events == 0
            await f.stop_all(a, b, c)

    run(body)


@pytest.mark.parametrize("impl", IMPLS)
def test_gossip_crosses_two_hops_with_origin(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a, b, c = await f.make(1), await f.make(2), await f.make(3)
            await a.connect(b.listen_addrs()[0])
            await c.connect(b.listen_addrs()[0])
            await next_event(c, PeerConnected)
            await a.broadcast_grandpa(Vote(b"v1"))
            event = await next_event(c, GrandpaReceived)
            assert event.message == Vote(b"v1")
            assert (event.peer, event.origin) == (b.local_peer_id, a.local_peer_id)
            await f.stop_all(a, b, c)

    run(body)


@pytest.mark.parametrize("impl", IMPLS)
def test_block_request_round_trip_of_300_kib(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a, b = await f.make(1), await f.make(2)
            header = make_header(None)
            body_xts = tuple(encode_compact(1024) + bytes([i]) * 1024 for i in range(100))
            seen: list[BlockRequest] = []

            def handler(peer: str, request: BlockRequest) -> BlockResponse:
                seen.append(request)
                return BlockResponse([BlockData(header.hash(), header, body_xts)] * 3)

            b.set_block_request_handler(handler)
            peer = await a.connect(b.listen_addrs()[0])
            request = BlockRequest(int(BlockAttributes.ALL), FromNumber(0), max_blocks=3)
            response = await a.request_blocks(peer, request, timeout=10)
            assert seen == [request]
            assert len(response.blocks) == 3 and response.blocks[2].body == body_xts
            assert len(response.encode()) > 300 * 1024
            # max_blocks is honoured even if the handler returns more.
            small = await a.request_blocks(peer, BlockRequest(1, FromNumber(0), max_blocks=1))
            assert len(small.blocks) == 1
            await f.stop_all(a, b)

    run(body)


@pytest.mark.parametrize("impl", IMPLS)
def test_wrong_genesis_handshake_refused(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a, b = await f.make(1, GENESIS_A), await f.make(2, GENESIS_B)
            with pytest.raises(HandshakeRefused):
                await a.connect(b.listen_addrs()[0])
            assert a.peers() == [] and b.peers() == []
            assert a.events().statistics().current_buffer_used == 0
            assert b.events().statistics().current_buffer_used == 0
            await f.stop_all(a, b)

    run(body)


@pytest.mark.parametrize("impl", IMPLS)
def test_garbage_sender_is_lowered_then_banned_while_node_keeps_serving(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a, bad, good = await f.make(1), await f.make(2), await f.make(3)
            header = make_header(None)
            a.set_block_request_handler(
                lambda p, r: BlockResponse([BlockData(header.hash(), header)])
            )
            await bad.connect(a.listen_addrs()[0])
            await good.connect(a.listen_addrs()[0])
            # One garbage message (then a valid one, so we know the garbage was processed).
            await bad._publish_raw("transactions", b"\xff\xff garbage")
            await bad.broadcast_transactions([b"ok"])
            assert await collect_transactions(a, 1) == [b"ok"]
            assert a.reputation.score(bad.local_peer_id) == MALFORMED_MESSAGE.value
            assert bad.local_peer_id in a.peers()
            # Two more: below the ban threshold, disconnected and refused.
            await bad._publish_raw("grandpa", b"\x63")
            await bad._publish_raw("block-announces", b"")
            dropped = await next_event(a, PeerDisconnected)
            assert dropped.peer == bad.local_peer_id and "banned" in dropped.reason
            assert a.reputation.is_banned(bad.local_peer_id)
            assert a.peers() == [good.local_peer_id]
            assert (await next_event(bad, PeerDisconnected)).peer == a.local_peer_id
            with pytest.raises(HandshakeRefused):
                await bad.connect(a.listen_addrs()[0])
            # The node keeps serving the good peer: gossip and requests.
            await good.broadcast_transactions([b"still here"])
            assert await collect_transactions(a, 1) == [b"still here"]
            response = await good.request_blocks(a.local_peer_id, BlockRequest(1, FromNumber(0)))
            assert response.blocks[0].header == header
            await f.stop_all(a, bad, good)

    run(body)


@pytest.mark.parametrize("impl", IMPLS)
def test_report_peer_below_threshold_disconnects(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a, b = await f.make(1), await f.make(2)
            peer = await a.connect(b.listen_addrs()[0])
            a.report_peer(peer, INVALID_BLOCK)
            assert (await next_event(a, PeerDisconnected)).peer == peer
            assert (await next_event(b, PeerDisconnected)).peer == a.local_peer_id
            with pytest.raises(UnknownPeer):
                await a.request_blocks(peer, BlockRequest(1, FromNumber(0)))
            await f.stop_all(a, b)

    run(body)


@pytest.mark.parametrize("impl", IMPLS)
def test_oversized_gossip_refused_before_sending(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a = await f.make(1)
            with pytest.raises(MessageTooLarge):
                await a.broadcast_transactions([bytes(MAX_GOSSIP_SIZE)])
            with pytest.raises(NetworkError):
                await a.broadcast_transactions([])
            with pytest.raises(NetworkError):
                await a.connect("not a multiaddr")
            await f.stop_all(a)

    run(body)


def test_libp2p_oversized_request_frame_costs_reputation() -> None:
    """A peer declaring a 1 GiB request on the sync stream is refused before reading it."""

    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory("libp2p", nursery)
            a, b = await f.make(1), await f.make(2)
            assert isinstance(a, Libp2pNetwork) and isinstance(b, Libp2pNetwork)
            await b.connect(a.listen_addrs()[0])
            from libp2p.custom_types import TProtocol
            from libp2p.peer.id import ID

            assert b._host is not None
            stream = await b._host.new_stream(
                ID.from_base58(a.local_peer_id), [TProtocol(a.protocols.sync)]
            )
            await stream.write(encode_uvarint(1 << 30) + b"xx")
            with trio.fail_after(5):
                while a.reputation.score(b.local_peer_id) == 0:
                    await trio.sleep(0.01)
            assert a.reputation.score(b.local_peer_id) == MALFORMED_MESSAGE.value
            await f.stop_all(a, b)

    run(body)


def test_memory_partition_times_out_requests_and_loses_gossip_until_healed() -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            hub = MemoryHub(delay=0.01)
            a = MemoryNetwork(hub, node_key(1), GENESIS_A)
            b = MemoryNetwork(hub, node_key(2), GENESIS_A)
            await a.start(nursery)
            await b.start(nursery)
            await a.connect(b.listen_addrs()[0])
            hub.partition([a.local_peer_id], [b.local_peer_id])
            with pytest.raises(RequestTimeout):
                await a.request_blocks(b.local_peer_id, BlockRequest(1, FromNumber(0)), timeout=0.2)
            await a.broadcast_transactions([b"lost"])
            hub.heal()
            await a.broadcast_transactions([b"delivered"])
            assert await collect_transactions(b, 1) == [b"delivered"]
            response = await a.request_blocks(b.local_peer_id, BlockRequest(1, FromNumber(0)))
            assert response.blocks == []
            await a.stop()
            await b.stop()

    run(body)


def test_memory_drop_rate_one_loses_everything() -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            hub = MemoryHub(drop_rate=1.0, seed=7)
            a = MemoryNetwork(hub, node_key(1), GENESIS_A)
            b = MemoryNetwork(hub, node_key(2), GENESIS_A)
            await a.start(nursery)
            await b.start(nursery)
            await a.connect(b.listen_addrs()[0])
            await a.broadcast_transactions([b"lost"])
            with pytest.raises(RequestTimeout):
                await a.request_blocks(b.local_peer_id, BlockRequest(1, FromNumber(0)), timeout=0.1)
            await trio.testing.wait_all_tasks_blocked()
            kinds = []
            while True:
                try:
                    kinds.append(type(b.events().receive_nowait()))
                except trio.WouldBlock:
                    break
            assert TransactionsReceived not in kinds
            await a.stop()
            await b.stop()

    run(body)


def test_memory_hub_rejects_bad_fault_settings() -> None:
    with pytest.raises(NetworkError):
        MemoryHub(drop_rate=1.5)
    with pytest.raises(NetworkError):
        MemoryHub(delay=-1.0)


@pytest.mark.parametrize("impl", IMPLS)
def test_spamming_peer_pays_rate_cost_and_is_banned(impl: str) -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            f = Factory(impl, nursery)
            a, spammer = await f.make(1), await f.make(2)
            a.reputation.spam_limit = 20
            await spammer.connect(a.listen_addrs()[0])
            for i in range(200):
                await spammer.broadcast_transactions([b"spam %d" % i])
            dropped = await next_event(a, PeerDisconnected)
            assert dropped.peer == spammer.local_peer_id and "banned" in dropped.reason
            assert a.reputation.is_banned(spammer.local_peer_id)
            await f.stop_all(a, spammer)

    run(body)
