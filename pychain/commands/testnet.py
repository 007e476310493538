"""``pychain testnet``: run N validators (and M FL contributors) on loopback, with a live table.

Counterparts: ``zombienet spawn network.toml`` (native provider) and the Substrate tutorial's
``--chain local --alice/--bob`` two-terminal recipe, in one command. Each node is its own process
with its own LMDB database, keystore and ports (node *i*: ``--port BASE+i``, ``--rpc-port
BASE+i``, ``--prometheus-port BASE+i``), connected through ``--bootnodes``. A ``rich`` table
refreshed every second shows each node's peers, best and finalized blocks and GRANDPA round.
Ctrl-C or SIGTERM stops every node (SIGTERM, wait, SIGKILL after a timeout). ``BASE/nodes.json``
lists the nodes for scripts. Bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from pychain.commands import fail
from pychain.errors import PychainError
from pychain.testnet.config import (
    DEFAULT_PORT,
    DEFAULT_PROMETHEUS_PORT,
    DEFAULT_RPC_PORT,
    TestnetConfig,
    default_config,
    load_config,
)
from pychain.testnet.errors import TestnetConfigError
from pychain.testnet.network import Testnet

#: Seconds between two refreshes of the table.
REFRESH_S = 1.0


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "testnet", help="run a local multi-validator testnet (N nodes on 127.0.0.1)"
    )
    parser.add_argument("--validators", type=int, default=None, metavar="N", help="default 4")
    parser.add_argument("--contributors", type=int, default=None, metavar="M",
                        help="FL participant processes (ml_engine.participant), default 0")
    parser.add_argument("--base-dir", default=None, metavar="DIR",
                        help="folder for the spec, nodes.json and node data (default: a temp dir)")
    parser.add_argument("--slot-duration", type=int, default=None, metavar="MS",
                        help="Aura slot duration, default 1000")
    parser.add_argument("--port", type=int, default=None, metavar="BASE",
                        help=f"p2p port of node 0 (node i: BASE+i), default {DEFAULT_PORT}")
    parser.add_argument("--rpc-port", type=int, default=None, metavar="BASE",
                        help=f"JSON-RPC port of node 0, default {DEFAULT_RPC_PORT}")
    parser.add_argument("--prometheus-port", type=int, default=None, metavar="BASE",
                        help=f"Prometheus port of node 0, default {DEFAULT_PROMETHEUS_PORT}")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (scripted runs)")
    parser.add_argument("--config", default=None, metavar="NETWORK.toml",
                        help="network file (see examples/testnet.toml)")
    parser.add_argument("--stop-timeout", type=float, default=10.0, metavar="S",
                        help="seconds between SIGTERM and SIGKILL when stopping, default 10")
    parser.add_argument("--no-table", action="store_true",
                        help="print one status line per node every 5 s instead of a live table")
    parser.set_defaults(func=run)


def testnet_config(args: argparse.Namespace) -> TestnetConfig:
    """The :class:`TestnetConfig` the flags (and ``--config``) describe."""
    overrides = {
        key: getattr(args, key)
        for key in ("slot_duration", "port", "rpc_port", "prometheus_port")
        if getattr(args, key) is not None
    }
    if args.config is not None:
        if args.validators is not None or args.contributors is not None:
            raise TestnetConfigError(
                "--validators/--contributors cannot be combined with --config (the network "
                "file lists them)"
            )
        config = load_config(args.config)
        return dataclasses.replace(config, **overrides) if overrides else config
    return default_config(
        validators=4 if args.validators is None else args.validators,
        contributors=0 if args.contributors is None else args.contributors,
        **overrides,
    )


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave the refresh loop."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def run(args: argparse.Namespace) -> int:
    if args.duration is not None and not args.duration > 0:
        return fail("--duration must be > 0 seconds")
    if not args.stop_timeout >= 0:
        return fail("--stop-timeout must be >= 0")
    try:
        config = testnet_config(args)
    except PychainError as exc:
        return fail(str(exc))
    if args.base_dir is None:
        base_dir = Path(tempfile.mkdtemp(prefix="pychain-testnet-"))
    else:
        base_dir = Path(args.base_dir)
        if base_dir.exists() and not base_dir.is_dir():
            return fail(f"--base-dir {base_dir} is not a folder")
    print(f"testnet base dir: {base_dir}", flush=True)
    testnet = Testnet(config, base_dir, stop_timeout=args.stop_timeout)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        testnet.start(wait=True)
        print(f"nodes: {base_dir / 'nodes.json'}", flush=True)
        started = testnet.start_contributors()
        if testnet.contributor_note:
            print(testnet.contributor_note, flush=True)
        elif started:
            print(f"contributors: {started} ml_engine.participant processes", flush=True)
        _watch(testnet, args.duration, table=not args.no_table and sys.stdout.isatty())
    except (KeyboardInterrupt, _Stop):
        pass
    except PychainError as exc:
        testnet.stop()
        return fail(str(exc))
    finally:
        signal.signal(signal.SIGTERM, previous)
        testnet.stop()
    _print_summary(testnet)
    return 0


def _watch(testnet: Testnet, duration: float | None, table: bool) -> None:
    """Refresh the table every second until ``duration`` runs out (or forever)."""
    from rich.live import Live

    from pychain.testnet.table import status_table

    end = None if duration is None else time.monotonic() + duration
    if table:
        with Live(status_table(testnet.statuses()), refresh_per_second=4) as live:
            while end is None or time.monotonic() < end:
                time.sleep(REFRESH_S)
                live.update(status_table(testnet.statuses()))
        return
    last_print = 0.0
    while end is None or time.monotonic() < end:
        now = time.monotonic()
        if now - last_print >= 5.0:
            _print_lines(testnet)
            last_print = now
        time.sleep(min(REFRESH_S, max(0.0, end - now)) if end is not None else REFRESH_S)


def _print_lines(testnet: Testnet) -> None:
    for row in testnet.statuses():
        print(
            f"{row.name}: pid={row.pid} status={row.status} peers={row.peers} best={row.best} "
            f"finalized={row.finalized} round={row.round} set={row.set_id}",
            flush=True,
        )


def _print_summary(testnet: Testnet) -> None:
    for index, node in enumerate(testnet.nodes):
        print(f"{node.name}: exit status {testnet.exit_code(index)}, log {node.log_file}")
    for name, outcome in testnet.contributor_outcomes():
        print(f"{name}: {outcome}")
