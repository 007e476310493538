"""``pychain inspect extrinsic HEX …``: decode a v4 extrinsic and check its signature.

The counterpart of pasting an extrinsic into polkadot.js apps' "Extrinsics → Decode" (or
``subxt``/``substrate-interface`` decoding), limited to the v4 envelope: signer, signature scheme
and validity, era, nonce, tip and the raw call. The signature check needs what the extrinsic does
not carry (spec and transaction version, genesis hash and, for a mortal era, the hash of its birth
block); without ``--block-hash`` a mortal extrinsic's signature cannot be checked and
``signature_valid`` is ``null`` with a ``reason``.

Output is one JSON object on stdout. Bad input gives a one-line ``error: …`` and exit code 2.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pychain.commands import fail
from pychain.primitives.extrinsic import (
    STANDARD_EXTENSIONS,
    STANDARD_EXTENSIONS_WITH_METADATA_HASH,
    ExtrinsicError,
    MissingSigningContext,
    SigningContext,
    UncheckedExtrinsic,
    verify_signature,
)
from pychain.primitives.multiaddress import MULTI_ADDRESS
from pychain.primitives.scale import ScaleDecodeError
from pychain.primitives.ss58 import ss58_encode

#: Generic Substrate SS58 prefix, the default for printed addresses.
DEFAULT_SS58_PREFIX = 42


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "extrinsic",
        help="decode a v4 extrinsic (length-prefixed hex) and verify its signature",
    )
    parser.add_argument("hex", metavar="HEX", help="the extrinsic as in a block body, 0x-prefixed")
    parser.add_argument("--genesis-hash", required=True, help="genesis hash (32 bytes hex)")
    parser.add_argument("--spec-version", required=True, type=_u32, help="runtime spec_version")
    parser.add_argument("--tx-version", required=True, type=_u32, help="transaction_version")
    parser.add_argument(
        "--block-hash", help="hash of the mortal era's birth block (needed for mortal eras)"
    )
    parser.add_argument(
        "--metadata-hash-extension",
        action="store_true",
        help="the runtime declares CheckMetadataHash after the standard signed extensions",
    )
    parser.add_argument(
        "--metadata-hash", help="metadata hash signed when CheckMetadataHash mode is enabled"
    )
    parser.add_argument(
        "--ss58-prefix", type=int, default=DEFAULT_SS58_PREFIX, help="SS58 prefix for the signer"
    )
    parser.set_defaults(func=run)


def _u32(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value <= 0xFFFF_FFFF:
        raise argparse.ArgumentTypeError(f"not a u32: {text}")
    return value


def _parse_hex(text: str, what: str, size: int | None = None) -> bytes:
    body = text[2:] if text[:2].lower() == "0x" else text
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise ValueError(f"{what} is not valid hex") from None
    if size is not None and len(raw) != size:
        raise ValueError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def run(args: argparse.Namespace) -> int:
    try:
        raw = _parse_hex(args.hex, "extrinsic")
        genesis_hash = _parse_hex(args.genesis_hash, "--genesis-hash", 32)
        block_hash = (
            None if args.block_hash is None else _parse_hex(args.block_hash, "--block-hash", 32)
        )
        metadata_hash = (
            None
            if args.metadata_hash is None
            else _parse_hex(args.metadata_hash, "--metadata-hash", 32)
        )
    except ValueError as exc:
        return fail(str(exc))
    if not 0 <= args.ss58_prefix <= 16383:
        return fail(f"--ss58-prefix {args.ss58_prefix} is not in [0, 16383]")
    extensions = (
        STANDARD_EXTENSIONS_WITH_METADATA_HASH
        if args.metadata_hash_extension
        else STANDARD_EXTENSIONS
    )
    try:
        extrinsic = UncheckedExtrinsic.decode(raw, extensions)
    except (ExtrinsicError, ScaleDecodeError) as exc:
        return fail(f"malformed extrinsic: {exc}")
    ctx = SigningContext(
        args.spec_version, args.tx_version, genesis_hash, block_hash, metadata_hash
    )
    print(json.dumps(describe(extrinsic, ctx, args.ss58_prefix), indent=2))
    return 0


def describe(
    extrinsic: UncheckedExtrinsic, ctx: SigningContext, ss58_prefix: int
) -> dict[str, Any]:
    """The JSON object printed for ``extrinsic`` (checked against ``ctx``)."""
    out: dict[str, Any] = {"version": 4, "signed": extrinsic.is_signed}
    sig = extrinsic.signature
    if sig is not None:
        account_id = extrinsic.signer
        address_kind = MULTI_ADDRESS.variant_names[MULTI_ADDRESS.index_of(sig.address)]
        out["address_type"] = address_kind
        out["signer"] = None if account_id is None else _hex(account_id)
        out["signer_ss58"] = (
            None if account_id is None else ss58_encode(account_id, prefix=ss58_prefix)
        )
        out["scheme"] = sig.signature.scheme
        out["signature"] = _hex(sig.signature.signature)
        valid: bool | None
        reason: str | None = None
        try:
            valid = verify_signature(extrinsic, ctx)
            if account_id is None:
                reason = f"address {address_kind} does not resolve to an account id"
            elif not valid:
                reason = "signature does not match the payload built from the given context"
        except MissingSigningContext as exc:
            valid = None
            era = extrinsic.era
            needs_block = era is not None and not era.is_immortal and ctx.birth_hash is None
            flag = "--block-hash" if needs_block else "--metadata-hash"
            reason = f"cannot check the signature: {exc}; pass {flag}"
        out["signature_valid"] = valid
        out["reason"] = reason
        era = extrinsic.era
        out["era"] = None if era is None else era.to_json()
        out["nonce"] = extrinsic.nonce
        out["tip"] = extrinsic.tip
        mode = extrinsic.metadata_hash_mode
        if mode is not None:
            out["metadata_hash_mode"] = mode.name.lower()
    out["call"] = _hex(extrinsic.call)
    out["pallet_index"] = extrinsic.call[0]
    out["call_index"] = extrinsic.call[1]
    out["hash"] = _hex(extrinsic.hash())
    return out
