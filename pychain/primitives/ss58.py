"""SS58 addresses: base58 text for account ids and public keys, tagged with a network prefix.

Mirrors ``sp_core::crypto::Ss58Codec`` (``to_ss58check_with_version`` /
``from_ss58check_with_version``) and the "SS58 address format" page of the Substrate docs:

    address = base58(prefix_bytes ++ payload ++ checksum)
    checksum = blake2b-512(b"SS58PRE" ++ prefix_bytes ++ payload)[:2]

* A prefix below 64 is one byte. A prefix in 64..16383 takes two bytes: with ``p`` the 14-bit
  prefix, ``first = 0b01000000 | ((p & 0xFC) >> 2)`` and ``second = (p >> 8) | ((p & 0x03) << 6)``.
* The payload is a 32-byte account id / public key or a 33-byte compressed ecdsa key; both use a
  2-byte checksum (the only lengths ``Ss58Codec`` accepts).

Differences from Substrate: a two-byte prefix that encodes a value below 64 (a non-canonical form
that Substrate would read as the one-byte prefix) is rejected, so an address and its
``(payload, prefix)`` correspond one to one. The network names known to ``network_name`` are a small
subset of the ss58-registry.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

import base58

from pychain.errors import PychainError

__all__ = [
    "SS58Error",
    "SS58_PREFIX_MAX",
    "DEFAULT_PREFIX",
    "NETWORKS",
    "ss58_encode",
    "ss58_decode",
    "parse_network",
    "network_name",
]

# sp_core::crypto: the checksum preimage prefix and the largest prefix (14 bits).
_SS58_PRE: Final = b"SS58PRE"
SS58_PREFIX_MAX: Final = 16383
CHECKSUM_LEN: Final = 2
PAYLOAD_LENGTHS: Final = (32, 33)
# "substrate", the generic prefix (ss58-registry).
DEFAULT_PREFIX: Final = 42
# A few well-known entries of the ss58-registry: name -> prefix.
NETWORKS: Final = {"polkadot": 0, "kusama": 2, "substrate": 42}


class SS58Error(PychainError):
    """An SS58 address that cannot be decoded, or a prefix/payload that cannot be encoded."""


def _prefix_bytes(prefix: int) -> bytes:
    if (
        isinstance(prefix, bool)
        or not isinstance(prefix, int)
        or not 0 <= prefix <= SS58_PREFIX_MAX
    ):
        raise SS58Error(f"SS58 prefix must be an integer in 0..{SS58_PREFIX_MAX}, got {prefix!r}")
    if prefix < 64:
        return bytes([prefix])
    first = 0b0100_0000 | ((prefix & 0b1111_1100) >> 2)
    second = (prefix >> 8) | ((prefix & 0b11) << 6)
    return bytes([first, second])


def _checksum(data: bytes) -> bytes:
    return hashlib.blake2b(_SS58_PRE + data, digest_size=64).digest()[:CHECKSUM_LEN]


def ss58_encode(account_id: bytes, prefix: int = DEFAULT_PREFIX) -> str:
    """The SS58 address of a 32-byte account id (or 33-byte ecdsa public key) under ``prefix``."""
    if not isinstance(account_id, bytes | bytearray) or len(account_id) not in PAYLOAD_LENGTHS:
        raise SS58Error(f"SS58 payload must be 32 or 33 bytes, got {_describe(account_id)}")
    body = _prefix_bytes(prefix) + bytes(account_id)
    return base58.b58encode(body + _checksum(body)).decode("ascii")


def _describe(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    return type(value).__name__


def ss58_decode(address: str, expected_prefix: int | None = None) -> tuple[bytes, int]:
    """``(payload, prefix)`` of an address; checks base58, prefix form, length and checksum.

    With ``expected_prefix`` set, an address of another network is an ``SS58Error``.
    """
    if not isinstance(address, str):
        raise SS58Error(f"an SS58 address is a str, got {type(address).__name__}")
    try:
        data = base58.b58decode(address.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SS58Error(f"invalid base58 in SS58 address {address!r}") from None
    if len(data) < 2:
        raise SS58Error("SS58 address too short")
    # Verify the prefix form (one byte < 64, or two bytes with the 0b01 tag).
    if data[0] < 64:
        prefix, prefix_len = data[0], 1
    elif data[0] < 128:
        lower = ((data[0] << 2) | (data[1] >> 6)) & 0xFF
        upper = data[1] & 0b0011_1111
        prefix, prefix_len = lower | (upper << 8), 2
        if prefix < 64:
            raise SS58Error(f"non-canonical two-byte SS58 prefix for {prefix}")
    else:
        raise SS58Error(f"invalid SS58 prefix byte 0x{data[0]:02x}")
    # Verify the payload length.
    payload_len = len(data) - prefix_len - CHECKSUM_LEN
    if payload_len not in PAYLOAD_LENGTHS:
        raise SS58Error(f"SS58 payload must be 32 or 33 bytes, got {max(payload_len, 0)}")
    body, checksum = data[:-CHECKSUM_LEN], data[-CHECKSUM_LEN:]
    # Verify the checksum.
    if _checksum(body) != checksum:
        raise SS58Error("invalid SS58 checksum")
    # Verify the network, when one is expected.
    if expected_prefix is not None and prefix != expected_prefix:
        raise SS58Error(f"SS58 address has prefix {prefix}, expected {expected_prefix}")
    return bytes(body[prefix_len:]), prefix


def parse_network(text: str) -> int:
    """A ``--network`` value: a known name (``polkadot``, ``kusama``, ``substrate``) or a number."""
    name = text.strip().lower()
    if name in NETWORKS:
        return NETWORKS[name]
    if re.fullmatch(r"[0-9]{1,5}", name) and int(name) <= SS58_PREFIX_MAX:
        return int(name)
    raise SS58Error(
        f"unknown network {text!r}: give a prefix 0..{SS58_PREFIX_MAX} or one of {sorted(NETWORKS)}"
    )


def network_name(prefix: int) -> str:
    """The registry name of ``prefix`` when known, else the number as text."""
    for name, value in NETWORKS.items():
        if value == prefix:
            return name
    return str(prefix)
