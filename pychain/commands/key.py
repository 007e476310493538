"""``pychain key {generate,inspect,insert}``: key utilities, like Substrate's ``subkey`` / ``key``.

Counterpart: ``sc_cli::commands::{GenerateCmd, InspectKeyCmd, InsertKeyCmd}`` and the output of
``sc_cli::utils::{print_from_uri, print_from_public}``:

* ``key generate [--scheme S] [--words N] [--network NET] [--output-type text|json]`` prints a new
  phrase and its keys.
* ``key inspect URI_OR_ADDRESS [--public] [--scheme S] [--network NET] [--output-type …]``
  prints what a secret URI (phrase, ``0x`` seed, ``//Alice``, …) gives; for a public key (SS58
  address, or ``0x`` hex with ``--public``) only the public fields.
* ``key insert --keystore-path DIR --key-type aura --suri URI [--scheme S]`` stores a key in the
  encrypted keystore (password from ``--password`` or ``--password-filename``).

The JSON keys are Substrate's (``secretPhrase`` / ``secretKeyUri``, ``networkId``, ``secretSeed``,
``publicKey``, ``accountId``, ``ss58PublicKey``, ``ss58Address``). Differences: ``Network ID`` shows
the registry name only for polkadot, kusama and substrate (else the number); an ecdsa key is
inferred from a 33-byte public input when ``--scheme`` is not given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pychain.commands import fail
from pychain.errors import PychainError
from pychain.primitives.bip39 import WORD_COUNTS
from pychain.primitives.keys import SCHEMES, Keypair, account_id_of
from pychain.primitives.keystore import Keystore
from pychain.primitives.ss58 import (
    DEFAULT_PREFIX,
    SS58Error,
    network_name,
    parse_network,
    ss58_decode,
    ss58_encode,
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "key", help="generate and inspect keys, addresses and secret URIs"
    )
    sub = parser.add_subparsers(dest="key_command", metavar="COMMAND", parser_class=type(parser))
    sub.required = True

    generate = sub.add_parser("generate", help="generate a random account")
    _add_common(generate)
    generate.add_argument(
        "--words", type=int, choices=WORD_COUNTS, default=12, help="phrase length (default 12)"
    )
    generate.add_argument("--password", default=None, help="password applied to the phrase")
    generate.set_defaults(func=run_generate)

    inspect = sub.add_parser("inspect", help="show the keys of a secret URI or a public key")
    inspect.add_argument("uri", metavar="URI_OR_ADDRESS", help="secret URI, SS58 address or 0x key")
    _add_common(inspect)
    inspect.add_argument(
        "--public", action="store_true", help="the input is a public key (hex or SS58)"
    )
    inspect.add_argument(
        "--password", default=None, help="password overriding the URI's ///password"
    )
    inspect.set_defaults(func=run_inspect)

    insert = sub.add_parser("insert", help="store a key in an encrypted keystore")
    insert.add_argument("--keystore-path", required=True, help="keystore folder")
    insert.add_argument("--key-type", required=True, help="4-letter key type (aura, gran, acco, …)")
    insert.add_argument("--suri", required=True, help="secret URI of the key")
    insert.add_argument("--scheme", choices=SCHEMES, default="sr25519", help="signature scheme")
    insert.add_argument("--password", default=None, help="keystore password")
    insert.add_argument("--password-filename", default=None, help="file holding the password")
    insert.set_defaults(func=run_insert)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheme", choices=SCHEMES, default=None, help="signature scheme (default sr25519)"
    )
    parser.add_argument("--network", default=None, help="SS58 prefix number or network name")
    parser.add_argument(
        "--output-type", choices=("text", "json"), default="text", help="output format"
    )


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _secret_report(
    pair: Keypair, prefix: int, *, phrase: str | None, uri: str | None
) -> dict[str, str]:
    report: dict[str, str] = {}
    if phrase is not None:
        report["secretPhrase"] = phrase
    else:
        report["secretKeyUri"] = uri or ""
    report["networkId"] = network_name(prefix)
    report["secretSeed"] = _hex(pair.seed) if pair.seed is not None else "n/a"
    report.update(_public_fields(pair.scheme, pair.public_key, prefix))
    return report


def _public_report(scheme: str, public_key: bytes, prefix: int) -> dict[str, str]:
    report = {"networkId": network_name(prefix)}
    report.update(_public_fields(scheme, public_key, prefix))
    return report


def _public_fields(scheme: str, public_key: bytes, prefix: int) -> dict[str, str]:
    account = account_id_of(scheme, public_key)
    return {
        "publicKey": _hex(public_key),
        "accountId": _hex(account),
        "ss58PublicKey": ss58_encode(public_key, prefix),
        "ss58Address": ss58_encode(account, prefix),
    }


def _print_secret(report: dict[str, str], output_type: str) -> None:
    if output_type == "json":
        print(json.dumps(report, indent=2))
        return
    if "secretPhrase" in report:
        first = f"Secret phrase:       {report['secretPhrase']}"
    else:
        first = f"Secret Key URI `{report['secretKeyUri']}` is account:"
    print(
        f"{first}\n"
        f"  Network ID:        {report['networkId']}\n"
        f"  Secret seed:       {report['secretSeed']}\n"
        f"  Public key (hex):  {report['publicKey']}\n"
        f"  Account ID:        {report['accountId']}\n"
        f"  Public key (SS58): {report['ss58PublicKey']}\n"
        f"  SS58 Address:      {report['ss58Address']}"
    )


def _print_public(uri: str, report: dict[str, str], output_type: str) -> None:
    if output_type == "json":
        print(json.dumps(report, indent=2))
        return
    print(
        f"Public Key URI `{uri}` is account:\n"
        f"  Network ID/Version: {report['networkId']}\n"
        f"  Public key (hex):   {report['publicKey']}\n"
        f"  Account ID:         {report['accountId']}\n"
        f"  Public key (SS58):  {report['ss58PublicKey']}\n"
        f"  SS58 Address:       {report['ss58Address']}"
    )


def _network(args: argparse.Namespace) -> int | None:
    return parse_network(args.network) if args.network is not None else None


def run_generate(args: argparse.Namespace) -> int:
    try:
        prefix = _network(args)
        scheme = args.scheme or "sr25519"
        phrase = Keypair.generate(scheme, args.words).phrase
        assert phrase is not None
        pair = Keypair.from_phrase(phrase, scheme, args.password)
    except PychainError as exc:
        return fail(str(exc))
    report = _secret_report(
        pair, DEFAULT_PREFIX if prefix is None else prefix, phrase=phrase, uri=None
    )
    _print_secret(report, args.output_type)
    return 0


def _is_plain_phrase(uri: str) -> bool:
    """Whether the URI is only a phrase (no junctions, no password, not a seed)."""
    return "/" not in uri and not uri.startswith("0x")


def _parse_public(text: str, scheme: str | None) -> tuple[str, bytes, int | None]:
    """``(scheme, public_key, prefix or None)`` of an SS58 address or 0x hex public key."""
    if text.startswith("0x"):
        try:
            public_key = bytes.fromhex(text[2:])
        except ValueError:
            raise SS58Error("the public key is not valid hex") from None
        found_prefix: int | None = None
    else:
        public_key, found_prefix = ss58_decode(text)
    inferred = "ecdsa" if len(public_key) == 33 else "sr25519"
    chosen = scheme or inferred
    expected = 33 if chosen == "ecdsa" else 32
    if len(public_key) != expected:
        raise SS58Error(f"a {chosen} public key is {expected} bytes, got {len(public_key)}")
    return chosen, public_key, found_prefix


def run_inspect(args: argparse.Namespace) -> int:
    uri: str = args.uri
    try:
        override = _network(args)
    except PychainError as exc:
        return fail(str(exc))
    if not args.public:
        try:
            pair = Keypair.from_uri(uri, args.scheme or "sr25519", args.password)
        except PychainError as secret_error:
            looks_secret = " " in uri.strip() or "/" in uri or uri.startswith("0x")
            if looks_secret:
                return fail(str(secret_error))
            try:
                return _inspect_public(uri, args, override)
            except PychainError as public_error:
                return fail(
                    f"not a secret URI ({secret_error}) nor a public address ({public_error})"
                )
        prefix = DEFAULT_PREFIX if override is None else override
        phrase = uri if _is_plain_phrase(uri) else None
        _print_secret(_secret_report(pair, prefix, phrase=phrase, uri=uri), args.output_type)
        return 0
    try:
        return _inspect_public(uri, args, override)
    except PychainError as exc:
        return fail(str(exc))


def _inspect_public(uri: str, args: argparse.Namespace, override: int | None) -> int:
    scheme, public_key, found_prefix = _parse_public(uri, args.scheme)
    if override is not None:
        prefix = override
    elif found_prefix is not None:
        prefix = found_prefix
    else:
        prefix = DEFAULT_PREFIX
    _print_public(uri, _public_report(scheme, public_key, prefix), args.output_type)
    return 0


def run_insert(args: argparse.Namespace) -> int:
    try:
        if args.password_filename is not None:
            try:
                password = Path(args.password_filename).read_text(encoding="utf-8").rstrip("\n")
            except (OSError, UnicodeDecodeError) as exc:
                return fail(f"cannot read password file: {exc}")
        elif args.password is not None:
            password = args.password
        else:
            return fail("give the keystore password with --password or --password-filename")
        keystore = Keystore(args.keystore_path, password)
        pair = keystore.insert(args.key_type, args.suri, args.scheme)
    except PychainError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot write to the keystore: {exc}")
    print(f"Inserted {args.key_type} key {_hex(pair.public_key)}")
    return 0
