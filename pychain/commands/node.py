"""``pychain node`` (run a node) and ``pychain purge-chain`` (delete its database).

Counterparts: a Substrate node's default command (``sc_cli::RunCmd``: ``--dev``, ``--chain``,
``--base-path``, ``--tmp``, ``--name``, ``--validator``, ``--alice`` … ``--ferdie``, ``--log``) and
``purge-chain`` (``sc_cli::PurgeChainCmd``: ``--base-path``, ``--chain``, ``-y``). pychain-only:
``--slot-duration MS`` (rebuilds the chain with another slot duration), ``--blocks N`` and
``--duration S`` (stop after N authored blocks or S seconds), ``--password`` for the keystore.

Networking (``sc_cli::NetworkParams`` / ``NodeKeyParams``): ``--port P`` (default 30333; 0 = any
free port; when the default port is taken and ``--port`` was not given, another free port is used
and a warning logged; a given ``--port`` that is taken is an error), ``--listen-addr MULTIADDR`` (repeatable, overrides ``--port``),
``--bootnodes MULTIADDR…``, ``--node-key HEX`` / ``--node-key-file PATH`` (else
``BASE/chains/<id>/network/secret_ed25519``), ``--no-network`` (pychain-only: a lone node).
At start the node logs ``Local node identity is: <peer id>`` and ``Listening on <multiaddr>``.
Test/research flags: ``--equivocate`` (sign two GRANDPA votes per round: a Byzantine validator)
and ``--offline-after S`` (stop networking, authoring and voting after S seconds; the process
and its RPC server keep running).

``--dev`` means ``--chain dev --validator --alice`` and, without ``--base-path``, ``--tmp`` (as in
Substrate). Logs go to stderr; Ctrl-C or SIGTERM stops the node cleanly. Bad input is one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from genesis.build_spec import load_chain
from pychain.commands import fail
from pychain.errors import PychainError
from pychain.network.config import DEFAULT_PORT, add_network_arguments, parse_multiaddr
from pychain.network.identity import parse_node_key
from pychain.node.config import NodeConfig, database_path
from pychain.node.service import LOG_LEVELS, configure_logging, run_node
from pychain.primitives.keyring import DEV_ACCOUNTS


def register(subparsers: Any) -> None:
    node: argparse.ArgumentParser = subparsers.add_parser(
        "node", help="run a node (a single-node dev chain with --dev)"
    )
    node.add_argument(
        "--dev", action="store_true", help="--chain dev --validator --alice (and --tmp)"
    )
    node.add_argument(
        "--chain", default=None, metavar="CHAIN", help="dev, local or a chain spec file"
    )
    node.add_argument("--base-path", default=None, metavar="DIR", help="node data folder")
    node.add_argument(
        "--tmp", action="store_true", help="use a temporary base path, removed at exit"
    )
    node.add_argument("--name", default="pychain-node", help="node name for the logs")
    node.add_argument("--validator", action="store_true", help="author and finalize blocks")
    for account in DEV_ACCOUNTS:
        node.add_argument(
            f"--{account.lower()}",
            dest="dev_key",
            action="store_const",
            const=account,
            help=f"use {account}'s dev keys (implies --validator)",
        )
    node.add_argument("--slot-duration", type=int, default=None, metavar="MS")
    node.add_argument("--blocks", type=int, default=None, metavar="N", help="stop after N blocks")
    node.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S s")
    node.add_argument("--keystore-path", default=None, metavar="DIR")
    node.add_argument("--password", default="", help="keystore password (default: empty)")
    node.add_argument("--log", default="info", metavar="LEVEL", help=", ".join(LOG_LEVELS))
    rpc = node.add_argument_group("JSON-RPC and metrics (Substrate's flags)")
    rpc.add_argument("--rpc-port", type=int, default=9944, metavar="PORT", help="default 9944; 0 = any free port")
    rpc.add_argument("--no-rpc", action="store_true", help="do not start the JSON-RPC server")
    rpc.add_argument("--rpc-external", action="store_true", help="listen on all interfaces, not only loopback")
    rpc.add_argument("--rpc-methods", choices=("auto", "safe", "unsafe"), default="auto",
                     help="auto (default): unsafe methods on loopback only")
    rpc.add_argument("--rpc-max-request-size", type=int, default=15, metavar="MB")
    rpc.add_argument("--rpc-max-connections", type=int, default=100, metavar="N")
    rpc.add_argument("--rpc-max-subscriptions-per-connection", type=int, default=1024, metavar="N")
    rpc.add_argument("--rpc-message-buffer-capacity-per-connection", type=int, default=64, metavar="N")
    rpc.add_argument("--prometheus-port", type=int, default=9615, metavar="PORT", help="default 9615; 0 = any")
    rpc.add_argument("--no-prometheus", action="store_true", help="do not expose Prometheus metrics")
    rpc.add_argument("--prometheus-external", action="store_true")
    add_network_arguments(node)
    node.add_argument("--no-network", action="store_true", help="run without networking")
    research = node.add_argument_group("test/research flags")
    research.add_argument(
        "--equivocate",
        action="store_true",
        help="Byzantine test hook: sign two different GRANDPA votes in every round",
    )
    research.add_argument(
        "--offline-after",
        type=float,
        default=None,
        metavar="S",
        help="stop networking, authoring and voting after S seconds (the process stays up)",
    )
    node.set_defaults(func=run, dev_key=None)

    purge: argparse.ArgumentParser = subparsers.add_parser(
        "purge-chain", help="delete a node's chain database"
    )
    purge.add_argument("--base-path", required=True, metavar="DIR")
    purge.add_argument("--chain", default="dev", metavar="CHAIN")
    purge.add_argument("--dev", action="store_true", help="same as --chain dev")
    purge.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(func=purge_chain)


def node_config(args: argparse.Namespace) -> NodeConfig:
    """The :class:`NodeConfig` the flags describe (raises ``NodeConfigError`` on bad values)."""
    chain = args.chain if args.chain is not None else "dev" if args.dev else None
    if chain is None:
        chain = "dev"
    dev_key = args.dev_key if args.dev_key is not None else "Alice" if args.dev else None
    base_path = Path(args.base_path) if args.base_path is not None else None
    tmp = args.tmp or (args.dev and base_path is None)
    if args.tmp and base_path is not None:
        raise _Conflict("--tmp and --base-path cannot be used together")
    return NodeConfig(
        chain=chain,
        base_path=None if tmp else base_path,
        tmp=tmp,
        name=args.name,
        validator=args.validator or args.dev or dev_key is not None,
        dev_key=dev_key,
        slot_duration=args.slot_duration,
        max_blocks=args.blocks,
        duration=args.duration,
        keystore_path=Path(args.keystore_path) if args.keystore_path else None,
        password=args.password,
        handle_signals=True,
        rpc_port=None if args.no_rpc else args.rpc_port,
        rpc_external=args.rpc_external,
        rpc_methods=args.rpc_methods,
        rpc_max_request_size=args.rpc_max_request_size * 1024 * 1024,
        rpc_max_connections=args.rpc_max_connections,
        rpc_max_subscriptions_per_connection=args.rpc_max_subscriptions_per_connection,
        rpc_message_buffer=args.rpc_message_buffer_capacity_per_connection,
        prometheus_port=None if args.no_prometheus else args.prometheus_port,
        prometheus_external=args.prometheus_external,
        network=not args.no_network,
        listen_addrs=_listen_addrs(args),
        bootnodes=tuple(parse_multiaddr(text, need_peer_id=True) for text in args.bootnodes or ()),
        node_key=_node_key(args.node_key),
        node_key_file=Path(args.node_key_file) if args.node_key_file else None,
        equivocate=args.equivocate,
        offline_after=args.offline_after,
    )


def _node_key(text: str | None) -> str | None:
    if text is not None:
        parse_node_key(text)  # Verify it now: bad input is a one-line error.
    return text


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _listen_addrs(args: argparse.Namespace) -> tuple[str, ...]:
    """``--listen-addr`` values, else ``/ip4/0.0.0.0/tcp/<--port>``."""
    if args.listen_addr:
        return tuple(parse_multiaddr(text) for text in args.listen_addr)
    port = args.port
    if port is None:
        port = DEFAULT_PORT
        if not args.no_network and not _port_free(port):
            logging.getLogger("pychain.network").warning(
                "p2p port %d is in use (no --port given): listening on another free port", port
            )
            port = 0
    elif not 0 <= port <= 65535:
        raise _Conflict(f"--port {port} is not a TCP port")
    elif port and not args.no_network and not _port_free(port):
        # py-libp2p listens with SO_REUSEPORT: without this check two nodes would share a port.
        raise _Conflict(f"--port {port}: the p2p port is already in use")
    return (f"/ip4/0.0.0.0/tcp/{port}",)


class _Conflict(PychainError):
    """Two flags that exclude each other."""


def run(args: argparse.Namespace) -> int:
    try:
        configure_logging(args.log)
        config = node_config(args)
        run_node(config)
    except PychainError as exc:
        return fail(str(exc))
    except BaseExceptionGroup as group:
        # A typed error raised inside the node's nursery (e.g. the p2p listener) arrives grouped.
        matched, rest = group.split(PychainError)
        if matched is None or rest is not None:
            raise
        leaf: BaseException = matched
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        return fail(str(leaf))
    except KeyboardInterrupt:
        return 0
    return 0


def purge_chain(args: argparse.Namespace) -> int:
    """``purge-chain``: remove ``BASE/chains/<id>/db`` after confirmation."""
    try:
        chain_id = str(load_chain("dev" if args.dev else args.chain).metadata.get("id", ""))
    except PychainError as exc:
        return fail(str(exc))
    if not chain_id or "/" in chain_id or chain_id in (".", ".."):
        return fail(f"chain id {chain_id!r} cannot name a folder")
    db = database_path(Path(args.base_path), chain_id).parent
    if not db.exists():
        print(f'"{db}" did not exist.', file=sys.stderr)
        return 0
    if not args.yes:
        print(f'Are you sure to remove "{db}"? [y/N]: ', end="", file=sys.stderr, flush=True)
        try:
            answer = sys.stdin.readline() if sys.stdin is not None else ""
        except (OSError, ValueError):
            answer = ""
        if not answer:
            return fail("no confirmation on stdin; pass -y to purge without asking")
        if answer.strip().lower() not in ("y", "yes"):
            print("Aborted", file=sys.stderr)
            return 0
    try:
        shutil.rmtree(db)
    except OSError as exc:
        return fail(f"cannot remove {db}: {exc.strerror}")
    print(f'"{db}" removed.', file=sys.stderr)
    return 0
