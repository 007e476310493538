"""Network flags (Substrate's NetworkParams / NodeKeyParams) and bootnode dialling."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import trio

from pychain.network.config import (
    DEFAULT_PORT,
    add_network_arguments,
    connect_bootnodes,
    network_config_from_args,
)
from pychain.network.errors import NetworkError, NodeKeyError
from pychain.network.identity import NODE_KEY_FILE
from pychain.network.memory import MemoryHub, MemoryNetwork

from .helpers import GENESIS_A, node_key, run

PEER = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_network_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_listen_on_30333_and_store_node_key(tmp_path: Path) -> None:
    config = network_config_from_args(parse(), tmp_path)
    assert config.listen_addrs == (f"/ip4/0.0.0.0/tcp/{DEFAULT_PORT}",)
    assert config.bootnodes == ()
    assert (tmp_path / NODE_KEY_FILE).read_bytes() == config.node_key


def test_flags_give_listen_addrs_bootnodes_and_key() -> None:
    args = parse(
        "--port",
        "4000",
        "--listen-addr",
        "/ip4/127.0.0.1/tcp/5000",
        "--bootnodes",
        f"/ip4/127.0.0.1/tcp/30333/p2p/{PEER}",
        "--node-key",
        "00" * 31 + "01",
    )
    config = network_config_from_args(args)
    assert config.listen_addrs == ("/ip4/127.0.0.1/tcp/5000",)
    assert config.bootnodes == (f"/ip4/127.0.0.1/tcp/30333/p2p/{PEER}",)
    assert config.node_key == bytes(31) + b"\x01"
    assert network_config_from_args(parse("--port", "4000")).listen_addrs == (
        "/ip4/0.0.0.0/tcp/4000",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ("--port", "70000"),
        ("--listen-addr", "/ip4/not-an-ip/tcp/1"),
        ("--bootnodes", "/ip4/127.0.0.1/tcp/30333"),
        ("--bootnodes", "garbage"),
    ],
)
def test_bad_network_flags_raise_network_error(argv: tuple[str, ...]) -> None:
    with pytest.raises(NetworkError):
        network_config_from_args(parse(*argv))


def test_bad_node_key_flag_raises_node_key_error() -> None:
    with pytest.raises(NodeKeyError):
        network_config_from_args(parse("--node-key", "xyz"))


def test_connect_bootnodes_returns_reached_and_retries_others() -> None:
    async def body() -> None:
        async with trio.open_nursery() as nursery:
            hub = MemoryHub()
            a = MemoryNetwork(hub, node_key(1), GENESIS_A)
            b = MemoryNetwork(hub, node_key(2), GENESIS_A)
            await a.start(nursery)
            await b.start(nursery)
            missing = f"/p2p/{PEER}"
            reached = await connect_bootnodes(
                a, [b.listen_addrs()[0], missing], attempts=3, retry_interval=0.01
            )
            assert reached == [b.local_peer_id]
            assert a.peers() == [b.local_peer_id]
            await a.stop()
            await b.stop()

    run(body)
