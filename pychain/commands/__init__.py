"""CLI sub-commands. Each module exposes ``register(subparsers)`` and sets ``func`` on its parser.

Protocol logic lives in the library; these modules only parse arguments, call it and print.
A command returns its exit code: 0 on success, 2 on bad input (with a one-line ``error: …``).
"""

from __future__ import annotations

import sys

from pychain.errors import PychainError


class CommandError(PychainError):
    """Bad input to a CLI command; printed as one line, exit code 2."""


def fail(message: str) -> int:
    """Print a one-line error to stderr and return exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2
