"""pychain command line, in the spirit of a Substrate node's CLI.

This file is a thin entry point: each sub-command lives in a module of ``pychain.commands`` that
exposes ``register(subparsers)``. Bad arguments print a one-line error and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Sub-command modules, in the order they appear in ``--help``.
COMMAND_MODULES = [
    "pychain.commands.build_spec",
    "pychain.commands.chain_spec",
    "ml_engine.demo_command",
    "pychain.commands.inspect",
    "pychain.commands.key",
    "pychain.commands.node",
    "pychain.commands.testnet",
    "pychain.commands.tx",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pychain", description="A Substrate-style chain for federated learning.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
