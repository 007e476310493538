"""The development keyring: Alice, Bob, Charlie, Dave, Eve, Ferdie and their ``//stash`` accounts.

Mirrors ``sp_keyring::{Sr25519Keyring, Ed25519Keyring}`` (and the ecdsa keys the same URIs give):
each account is the development phrase ``DEV_PHRASE`` hard-derived with ``//Name`` (and
``//Name//stash`` for a stash). Names are matched case-insensitively; ``"alice//stash"`` and
``"AliceStash"`` (sp_keyring's variant name) both name Alice's stash.

These keys are public knowledge: use them for development chains and tests only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from pychain.primitives.keys import CryptoError, Keypair, KeyringError

__all__ = ["CryptoError", "KeyringError", "DEV_ACCOUNTS", "dev_keypair", "dev_uri", "dev_names"]

# sp_keyring's well-known accounts, in order.
DEV_ACCOUNTS: Final = ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")


def dev_uri(name: str) -> str:
    """The secret URI of a development account: ``//Alice`` or ``//Alice//stash``."""
    if not isinstance(name, str):
        raise KeyringError(f"a development account name is a str, got {type(name).__name__}")
    text = name.strip().lower().lstrip("/")
    stash = False
    for suffix in ("//stash", "stash"):
        if text.endswith(suffix) and text[: -len(suffix)] in _LOWER:
            text, stash = text[: -len(suffix)], True
            break
    if text not in _LOWER:
        raise KeyringError(
            f"unknown development account {name!r}; expected one of {', '.join(DEV_ACCOUNTS)}"
            " (optionally with //stash)"
        )
    uri = "//" + _LOWER[text]
    return uri + "//stash" if stash else uri


_LOWER: Final = {account.lower(): account for account in DEV_ACCOUNTS}


@lru_cache(maxsize=64)
def _cached(uri: str, scheme: str) -> Keypair:
    return Keypair.from_uri(uri, scheme)


def dev_keypair(name: str, scheme: str = "sr25519") -> Keypair:
    """The key pair of a development account (``Sr25519Keyring::Alice.pair()`` and the like)."""
    return _cached(dev_uri(name), scheme)


def dev_names(include_stash: bool = False) -> list[str]:
    """The development account names, optionally followed by their ``//stash`` names."""
    names = list(DEV_ACCOUNTS)
    if include_stash:
        names += [f"{account}//stash" for account in DEV_ACCOUNTS]
    return names
