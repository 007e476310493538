"""``pychain chain-spec hash FILE [--state-version 0|1] [--json]``: genesis hash of a chain spec.

Counterpart: what a Substrate node computes at start-up from ``--chain FILE`` (its genesis block
hash), without running the runtime. The trie layout is read from the runtime's embedded
``RuntimeVersion`` unless ``--state-version`` forces it; see :mod:`genesis.genesis_block`.
Prints the hash as ``0x`` hex, or with ``--json`` an object with ``genesis_hash``, ``state_root``,
``extrinsics_root`` and ``state_version`` (``null`` for a light spec).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from genesis.chain_spec import load_chain_spec
from genesis.genesis_block import STATE_VERSIONS, build_genesis
from pychain.commands import fail
from pychain.errors import PychainError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "chain-spec", help="work with Substrate JSON chain specs"
    )
    sub = parser.add_subparsers(
        dest="chain_spec_command", metavar="COMMAND", parser_class=type(parser)
    )
    sub.required = True
    hash_parser = sub.add_parser("hash", help="print the genesis block hash of a chain spec")
    hash_parser.add_argument("file", metavar="FILE", help="raw or light JSON chain spec")
    hash_parser.add_argument(
        "--state-version",
        type=int,
        choices=STATE_VERSIONS,
        default=None,
        help="trie layout of the genesis state (default: read from the runtime in :code)",
    )
    hash_parser.add_argument(
        "--json", action="store_true", help="print roots and state version as a JSON object"
    )
    hash_parser.set_defaults(func=run_hash)


def run_hash(args: argparse.Namespace) -> int:
    try:
        spec = load_chain_spec(args.file)
        block = build_genesis(spec, args.state_version)
    except PychainError as exc:
        return fail(str(exc))
    if args.json:
        report = {
            "genesis_hash": "0x" + block.hash.hex(),
            "state_root": "0x" + block.state_root.hex(),
            "extrinsics_root": "0x" + block.extrinsics_root.hex(),
            "state_version": block.state_version,
        }
        print(json.dumps(report, indent=2))
    else:
        print("0x" + block.hash.hex())
    return 0
