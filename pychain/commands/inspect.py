"""``pychain inspect {header,extrinsic,justification} …``: decode and check real chain data.

Each sub-command lives in its own module listed in ``INSPECT_MODULES`` and exposes
``register(subparsers)``; this module only groups them under ``inspect``.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

INSPECT_MODULES: list[str] = [
    "pychain.commands.inspect_extrinsic",
    "pychain.commands.inspect_justification",
    "pychain.commands.inspect_header",
]


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "inspect", help="decode and verify headers, extrinsics and GRANDPA justifications"
    )
    sub = parser.add_subparsers(dest="inspect_what", metavar="WHAT", parser_class=type(parser))
    sub.required = True
    for name in INSPECT_MODULES:
        importlib.import_module(name).register(sub)
