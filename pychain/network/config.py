"""Network configuration from the command line (node-configuration tier, STYLE §10).

Mirrors ``sc-cli``'s ``NetworkParams`` and ``NodeKeyParams``: ``--port`` (default 30333),
``--listen-addr`` (multiaddrs, override ``--port``), ``--bootnodes`` (multiaddrs ending in
``/p2p/<peer id>``), ``--node-key`` / ``--node-key-file`` (else ``network/secret_ed25519`` under the
chain's base path). :func:`add_network_arguments` adds the flags to a sub-command's parser and
:func:`network_config_from_args` validates them into a :class:`NetworkConfig`; bad values raise
:class:`~pychain.network.errors.NetworkError` (the CLI turns it into a one-line error, exit 2).

:func:`connect_bootnodes` dials the bootnodes with retries, as Substrate keeps redialling them.

Differences: IPv4 only by default (no ``/ip6/::`` listener), no ``--reserved-nodes``, no
``--no-mdns`` (there is no mDNS), no Kademlia.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import multiaddr
import trio

from pychain.network.errors import NetworkError
from pychain.network.identity import load_node_key
from pychain.network.service import NetworkService, PeerId

__all__ = [
    "DEFAULT_PORT",
    "NetworkConfig",
    "add_network_arguments",
    "network_config_from_args",
    "parse_multiaddr",
    "connect_bootnodes",
]

log = logging.getLogger(__name__)

#: Substrate's default p2p port.
DEFAULT_PORT = 30333


@dataclass(frozen=True)
class NetworkConfig:
    """What the network service is started with."""

    node_key: bytes
    listen_addrs: tuple[str, ...] = (f"/ip4/0.0.0.0/tcp/{DEFAULT_PORT}",)
    bootnodes: tuple[str, ...] = field(default=())


def parse_multiaddr(text: str, need_peer_id: bool = False) -> str:
    """Validate a multiaddr (and, for bootnodes, its ``/p2p/<peer id>`` tail)."""
    try:
        addr = multiaddr.Multiaddr(text)
    except Exception as exc:  # the multiaddr package raises several unrelated types
        raise NetworkError(f"invalid multiaddr {text!r}: {exc}") from None
    if need_peer_id and addr.get_peer_id() is None:
        raise NetworkError(f"bootnode {text!r} must end in /p2p/<peer id>")
    return str(addr)


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """Add Substrate's network flags to ``parser``."""
    group = parser.add_argument_group("network")
    group.add_argument(
        "--port", type=int, default=None, help=f"p2p TCP port (default {DEFAULT_PORT})"
    )
    group.add_argument(
        "--listen-addr",
        action="append",
        default=None,
        metavar="MULTIADDR",
        help="listen on this multiaddr (repeatable; overrides --port)",
    )
    group.add_argument(
        "--bootnodes",
        nargs="*",
        default=[],
        metavar="MULTIADDR",
        help="peers to dial at start, e.g. /ip4/127.0.0.1/tcp/30333/p2p/12D3KooW…",
    )
    group.add_argument("--node-key", default=None, metavar="HEX", help="ed25519 node key (hex)")
    group.add_argument(
        "--node-key-file", default=None, metavar="FILE", help="file with the node key"
    )


def network_config_from_args(
    args: argparse.Namespace, chain_base_path: Path | None = None
) -> NetworkConfig:
    """Validate the parsed network flags into a :class:`NetworkConfig`."""
    port = DEFAULT_PORT if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise NetworkError(f"--port {port} is not a TCP port")
    if args.listen_addr:
        listen = tuple(parse_multiaddr(text) for text in args.listen_addr)
    else:
        listen = (f"/ip4/0.0.0.0/tcp/{port}",)
    bootnodes = tuple(parse_multiaddr(text, need_peer_id=True) for text in args.bootnodes or ())
    key_file = Path(args.node_key_file) if args.node_key_file else None
    node_key = load_node_key(args.node_key, key_file, chain_base_path)
    return NetworkConfig(node_key, listen, bootnodes)


async def connect_bootnodes(
    network: NetworkService,
    bootnodes: Sequence[str],
    attempts: int = 10,
    retry_interval: float = 1.0,
) -> list[PeerId]:
    """Dial each bootnode, retrying failures up to ``attempts`` times; returns those reached."""
    reached: list[PeerId] = []
    pending = list(bootnodes)
    for attempt in range(attempts):
        failed = []
        for addr in pending:
            try:
                reached.append(await network.connect(addr))
            except NetworkError as exc:
                log.info("bootnode %s not reached (attempt %d): %s", addr, attempt + 1, exc)
                failed.append(addr)
        pending = failed
        if not pending or attempt == attempts - 1:
            break
        await trio.sleep(retry_interval)
    return reached
