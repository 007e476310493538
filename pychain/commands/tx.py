"""``pychain tx``: sign and submit transactions to a node over its JSON-RPC, with pychain's client.

Counterparts: polkadot.js ``api.tx.balances.transferKeepAlive(...).signAndSend(pair)`` and the
``subxt tx`` tooling; the RPC methods are Substrate's (``system_accountNextIndex``,
``author_submitAndWatchExtrinsic``, ``state_getStorage`` of ``System.Events``), used through
:mod:`pychain.rpc.client`.

* ``tx balances transfer --from SURI --to ADDRESS --amount AMOUNT [--tip T]
  [--wait none|inBlock|finalized] [--url ws://127.0.0.1:9944] [--scheme sr25519|ed25519|ecdsa]
  [--keep-alive | --allow-death]`` sends ``Balances.transfer_keep_alive`` (the default) or
  ``Balances.transfer_allow_death``.
* ``tx call PALLET CALL --args JSON --from SURI [...]`` sends any call, with its arguments as a
  JSON object by argument name (or a JSON array in order); see
  :func:`pychain.rpc.client.value_from_json` for how JSON maps onto argument types.

``--to`` is an SS58 address (any network prefix) or a ``0x`` 32-byte account id. ``AMOUNT`` and
``--tip`` are integers in planck, or a decimal number of tokens followed by ``UNIT``
(``"1.5 UNIT"`` = 1.5 × 10^12 planck: ``tokenDecimals`` is 12, as the node's
``system_properties`` say); at most 12 decimals, never negative, at most ``u128::MAX`` planck.
Transactions are mortal (``--era-period``, 64 blocks by default; 0 means immortal).

Output: one JSON object on stdout (extrinsic hash, block hash, status, success, dispatch error,
fee paid, events). Exit codes: 0 included and succeeded (or accepted by the pool with
``--wait none``); 1 included but the dispatch failed (one line naming the error, e.g.
``Balances.InsufficientBalance``); 2 bad input: a bad address, amount or secret URI, an
unreachable node, a runtime this client does not implement, or a transaction the pool refused
(with the pool's reason, e.g. "Inability to pay some fees").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from pychain.commands import CommandError, fail
from pychain.errors import PychainError
from pychain.primitives.keys import SCHEMES, Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.primitives.ss58 import SS58Error, ss58_decode
from pychain.rpc.client import (
    DEFAULT_ERA_PERIOD,
    DEFAULT_URL,
    CallArgsError,
    ExtrinsicReceipt,
    PychainClient,
    RpcClientError,
    RpcConnectionError,
    RuntimeMismatchError,
    TransactionNotIncluded,
    call_args_from_json,
)

#: ``tokenDecimals`` of pychain chains (``system_properties``; ``pychain.runtime.UNIT``).
TOKEN_DECIMALS = 12
#: The token symbol accepted after a decimal amount.
TOKEN_SYMBOL = "UNIT"
#: ``u128::MAX``: the largest balance.
MAX_BALANCE = (1 << 128) - 1
#: ``--wait`` choices.
WAIT_CHOICES = ("none", "inBlock", "finalized")
#: Exit code of an included extrinsic whose dispatch failed.
EXIT_DISPATCH_FAILED = 1

_PLANCK = re.compile(r"[0-9]+")
_TOKENS = re.compile(r"([0-9]+)(?:\.([0-9]+))?\s*" + TOKEN_SYMBOL, re.IGNORECASE)


def register(subparsers: Any) -> None:
    tx: argparse.ArgumentParser = subparsers.add_parser(
        "tx", help="sign and submit a transaction to a node over RPC"
    )
    what = tx.add_subparsers(dest="tx_what", metavar="PALLET", parser_class=type(tx))
    what.required = True

    balances = what.add_parser("balances", help="Balances pallet transactions")
    balances_calls = balances.add_subparsers(dest="tx_call", metavar="CALL", parser_class=type(tx))
    balances_calls.required = True
    transfer = balances_calls.add_parser("transfer", help="transfer tokens to an account")
    _common_arguments(transfer)
    transfer.add_argument("--to", required=True, metavar="ADDRESS", help="SS58 or 0x account id")
    transfer.add_argument(
        "--amount", required=True, metavar="AMOUNT", help="planck, or e.g. '1.5 UNIT'"
    )
    death = transfer.add_mutually_exclusive_group()
    death.add_argument(
        "--keep-alive",
        dest="keep_alive",
        action="store_true",
        default=True,
        help="transfer_keep_alive: refuse to reap the sender (default)",
    )
    death.add_argument(
        "--allow-death",
        dest="keep_alive",
        action="store_false",
        help="transfer_allow_death: the sender may fall below the existential deposit",
    )
    transfer.set_defaults(func=run_transfer)

    generic = what.add_parser("call", help="any call: PALLET CALL --args JSON")
    generic.add_argument("pallet", metavar="PALLET", help="pallet name, e.g. Balances")
    generic.add_argument("call", metavar="CALL", help="call name, e.g. transfer_keep_alive")
    generic.add_argument(
        "--args", default="{}", metavar="JSON", help="arguments: a JSON object (or array)"
    )
    _common_arguments(generic)
    generic.set_defaults(func=run_call)


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="sender", required=True, metavar="SURI", help="//Alice…")
    parser.add_argument("--password", default=None, help="password of the secret URI")
    parser.add_argument("--scheme", default="sr25519", choices=SCHEMES)
    parser.add_argument("--tip", default="0", metavar="AMOUNT", help="tip (planck or 'N UNIT')")
    parser.add_argument("--wait", default="inBlock", choices=WAIT_CHOICES)
    parser.add_argument("--url", default=DEFAULT_URL, help=f"node RPC (default {DEFAULT_URL})")
    parser.add_argument(
        "--era-period",
        type=int,
        default=DEFAULT_ERA_PERIOD,
        metavar="BLOCKS",
        help=f"mortality in blocks (default {DEFAULT_ERA_PERIOD}; 0: immortal)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S", help="RPC timeout")


# ------------------------------------------------------------------------------------- parsing


def parse_amount(text: str, what: str = "amount") -> int:
    """``"1000"`` (planck) or ``"1.5 UNIT"`` → planck; a typed error for anything else."""
    value = text.strip()
    if _PLANCK.fullmatch(value):
        planck = int(value)
    else:
        match = _TOKENS.fullmatch(value)
        if match is None:
            raise CommandError(
                f"bad {what} {text!r}: expected a non-negative integer (planck) or e.g. "
                f"'1.5 {TOKEN_SYMBOL}'"
            )
        whole, fraction = match.group(1), match.group(2) or ""
        # Verify the fraction fits the token's decimals (no silent rounding).
        if len(fraction) > TOKEN_DECIMALS:
            raise CommandError(f"bad {what} {text!r}: at most {TOKEN_DECIMALS} decimals")
        planck = int(whole) * 10**TOKEN_DECIMALS + int(fraction.ljust(TOKEN_DECIMALS, "0"))
    # Verify it is a balance (u128).
    if planck > MAX_BALANCE:
        raise CommandError(f"bad {what} {text!r}: over u128::MAX planck")
    return planck


def parse_account(text: str) -> bytes:
    """An SS58 address or ``0x`` account id → the 32-byte account id."""
    if text.startswith("0x"):
        try:
            account = bytes.fromhex(text[2:])
        except ValueError:
            raise CommandError(f"bad address {text!r}: not valid hex") from None
    else:
        try:
            account, _ = ss58_decode(text)
        except SS58Error as exc:
            raise CommandError(f"bad address {text!r}: {exc}") from None
    if len(account) != 32:
        raise CommandError(f"bad address {text!r}: an account id is 32 bytes, got {len(account)}")
    return account


def parse_keypair(args: argparse.Namespace) -> Keypair:
    try:
        return Keypair.from_uri(args.sender, args.scheme, args.password)
    except PychainError as exc:
        raise CommandError(f"bad --from secret URI: {exc}") from None


def _era_period(args: argparse.Namespace) -> int | None:
    if args.era_period < 0:
        raise CommandError(f"bad --era-period {args.era_period}: must not be negative")
    return None if args.era_period == 0 else args.era_period


def _timeout(args: argparse.Namespace) -> float:
    if not args.timeout > 0:
        raise CommandError(f"bad --timeout {args.timeout}: must be positive")
    return float(args.timeout)


# ------------------------------------------------------------------------------------ commands


def run_transfer(args: argparse.Namespace) -> int:
    try:
        dest = parse_account(args.to)
        amount = parse_amount(args.amount)
        tip = parse_amount(args.tip, "tip")
        pair = parse_keypair(args)
        era_period = _era_period(args)
        timeout = _timeout(args)
    except CommandError as exc:
        return fail(str(exc))
    call = "transfer_keep_alive" if args.keep_alive else "transfer_allow_death"
    call_args = {"dest": AddressId(dest), "value": amount}
    return _submit(
        args, pair, "Balances", call, lambda _client: call_args, tip, era_period, timeout
    )


def run_call(args: argparse.Namespace) -> int:
    try:
        raw_args = json.loads(args.args)
    except json.JSONDecodeError as exc:
        return fail(f"bad --args: not JSON ({exc.msg} at column {exc.colno})")
    try:
        tip = parse_amount(args.tip, "tip")
        pair = parse_keypair(args)
        era_period = _era_period(args)
        timeout = _timeout(args)
    except CommandError as exc:
        return fail(str(exc))

    def build(client: PychainClient) -> dict[str, Any]:
        return call_args_from_json(client.runtime, args.pallet, args.call, raw_args)

    return _submit(args, pair, args.pallet, args.call, build, tip, era_period, timeout)


def _submit(
    args: argparse.Namespace,
    pair: Keypair,
    pallet: str,
    call: str,
    build_args: Callable[[PychainClient], dict[str, Any]],
    tip: int,
    era_period: int | None,
    timeout: float,
) -> int:
    wait = None if args.wait == "none" else args.wait
    try:
        with PychainClient(args.url, timeout) as client:
            named = build_args(client)
            receipt = client.sign_and_submit(
                pair, pallet, call, named, tip=tip, era_period=era_period, wait=wait
            )
    except CallArgsError as exc:
        return fail(f"bad call arguments: {exc.message}")
    except RpcConnectionError as exc:
        return fail(f"cannot reach the node: {exc}")
    except RuntimeMismatchError as exc:
        return fail(f"runtime mismatch: {exc.message}")
    except TransactionNotIncluded as exc:
        return fail(f"transaction not included: {exc.message}")
    except RpcClientError as exc:
        if exc.code is not None and 1010 <= exc.code <= 1020:
            reason = f": {exc.data}" if exc.data is not None else ""
            return fail(f"transaction refused by the pool: {exc.message}{reason}")
        return fail(f"RPC error: {exc}")
    return _report(receipt, pair)


def _report(receipt: ExtrinsicReceipt, pair: Keypair) -> int:
    out = receipt.to_json()
    out["sender"] = "0x" + pair.account_id.hex()
    if receipt.success is False:
        where = "" if receipt.block_hash is None else f" in block 0x{receipt.block_hash.hex()}"
        print(
            f"error: dispatch failed: {receipt.error} (extrinsic "
            f"0x{receipt.extrinsic_hash.hex()}{where})",
            file=sys.stderr,
        )
        return EXIT_DISPATCH_FAILED
    print(json.dumps(out))
    return 0
