"""``pychain build-spec --chain dev|local|FILE [--raw]``: write a chain spec as JSON to stdout.

Counterpart: a Substrate node's ``build-spec`` sub-command. ``--chain`` names a preset
(:mod:`genesis.presets`) or a plain/raw spec file; ``--raw`` writes the genesis storage
(``genesis.raw.top``) instead of the genesis config. See :mod:`genesis.build_spec`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from genesis.build_spec import chain_spec_document, load_chain
from pychain.commands import fail
from pychain.errors import PychainError


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "build-spec", help="write the chain spec of a preset or spec file as JSON"
    )
    parser.add_argument(
        "--chain",
        default="dev",
        metavar="CHAIN",
        help="preset name (dev, local) or path of a chain spec file (default: dev)",
    )
    parser.add_argument(
        "--raw", action="store_true", help="write the genesis storage (raw) instead of the config"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        definition = load_chain(args.chain)
        document = chain_spec_document(definition, raw=args.raw)
    except PychainError as exc:
        return fail(str(exc))
    print(json.dumps(document, indent=2))
    return 0
