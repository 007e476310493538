"""``pychain inspect header HEX_OR_FILE``: decode a SCALE block header and print it as JSON.

Counterpart: what ``chain_getHeader`` shows plus the block hash and the decoded digest: each log
with its type, engine and data, GRANDPA (``FRNK``) consensus logs decoded (authority changes,
disabled authority, pause, resume) and the Aura slot of an ``aura`` pre-runtime digest. The input
is ``0x`` hex on the command line, or a file holding the raw bytes or hex text.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from pychain.commands import CommandError, fail
from pychain.errors import PychainError
from pychain.primitives.consensus_logs import describe_digest_item
from pychain.primitives.header import Header

_HEX_DIGITS = re.compile(rb"(?:[0-9a-fA-F]{2})*")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "header", help="decode a SCALE block header (hex or file) and print it as JSON"
    )
    parser.add_argument(
        "source", metavar="HEX_OR_FILE", help="0x-prefixed hex, or a file of raw bytes or hex"
    )
    parser.set_defaults(func=run)


def read_header_bytes(source: str) -> bytes:
    """The header bytes named by ``source``: ``0x`` hex, or a file of raw bytes or hex text."""
    if source.startswith("0x"):
        body = source[2:].encode("utf-8", "replace")
        if _HEX_DIGITS.fullmatch(body) is None:
            raise CommandError("the argument starts with 0x but is not even-length hex")
        return bytes.fromhex(body.decode("ascii"))
    path = Path(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"{source!r} is neither 0x-prefixed hex nor an existing file") from None
    except OSError as exc:
        raise CommandError(f"cannot read {source}: {exc.strerror}") from None
    text = data.strip()
    if text.startswith(b"0x"):
        text = text[2:]
    if text and _HEX_DIGITS.fullmatch(text) is not None:
        return bytes.fromhex(text.decode("ascii"))
    return data


def header_to_json(header: Header, encoded_length: int) -> dict[str, Any]:
    """The JSON view printed by the command."""
    return {
        "number": header.number,
        "hash": "0x" + header.hash().hex(),
        "parent_hash": "0x" + header.parent_hash.hex(),
        "state_root": "0x" + header.state_root.hex(),
        "extrinsics_root": "0x" + header.extrinsics_root.hex(),
        "encoded_length": encoded_length,
        "digest": [describe_digest_item(item) for item in header.digest],
    }


def run(args: argparse.Namespace) -> int:
    try:
        data = read_header_bytes(args.source)
        header = Header.decode(data)
    except PychainError as exc:
        return fail(f"invalid header: {exc}" if not isinstance(exc, CommandError) else str(exc))
    print(json.dumps(header_to_json(header, len(data)), indent=2))
    return 0
