"""Hash functions and FRAME storage-key hashers.

Mirrors ``sp_core::hashing`` (blake2 and twox) and ``frame_support::StorageHasher``
(Polkadot spec, "Storage keys"; FRAME docs, "Hashing algorithms"):

* ``blake2_128``, ``blake2_256``, ``blake2_512``: BLAKE2b with the given digest size, no key.
* ``twox_64``, ``twox_128``, ``twox_256``: xxHash64 with seeds 0, 1, 2, 3, each little-endian,
  concatenated (``twox_128 = xxh64(x, 0) ++ xxh64(x, 1)``).
* Storage hashers ``blake2_128_concat`` (hash ++ key), ``twox64_concat`` (hash ++ key),
  ``identity`` and the non-concat ``blake2_128``, ``blake2_256``, ``twox_64``, ``twox_128``,
  ``twox_256``; the FRAME key of an item is ``twox_128(pallet) ++ twox_128(item) ++ hasher(key)…``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import xxhash

__all__ = [
    "blake2_128",
    "blake2_256",
    "blake2_512",
    "blake2_64",
    "twox_64",
    "twox_128",
    "twox_256",
    "blake2_128_concat",
    "twox64_concat",
    "identity",
    "HASHERS",
    "storage_prefix",
    "storage_key",
]


def blake2_64(data: bytes) -> bytes:
    """BLAKE2b-64 (used for runtime API ids)."""
    return hashlib.blake2b(data, digest_size=8).digest()


def blake2_128(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def blake2_512(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=64).digest()


def _xxh64_le(data: bytes, seed: int) -> bytes:
    return xxhash.xxh64_intdigest(data, seed).to_bytes(8, "little")


def twox_64(data: bytes) -> bytes:
    return _xxh64_le(data, 0)


def twox_128(data: bytes) -> bytes:
    return _xxh64_le(data, 0) + _xxh64_le(data, 1)


def twox_256(data: bytes) -> bytes:
    return _xxh64_le(data, 0) + _xxh64_le(data, 1) + _xxh64_le(data, 2) + _xxh64_le(data, 3)


def blake2_128_concat(key: bytes) -> bytes:
    """``blake2_128(key) ++ key``: a transparent hasher (the key can be read back)."""
    return blake2_128(key) + key


def twox64_concat(key: bytes) -> bytes:
    """``twox_64(key) ++ key``: transparent but not safe for user-chosen keys."""
    return _xxh64_le(key, 0) + key


def identity(key: bytes) -> bytes:
    return bytes(key)


#: FRAME ``StorageHasher`` by metadata name (the V14 variant order: Blake2_128 = 0 … Identity = 6).
HASHERS: dict[str, Callable[[bytes], bytes]] = {
    "Blake2_128": blake2_128,
    "Blake2_256": blake2_256,
    "Blake2_128Concat": blake2_128_concat,
    "Twox128": twox_128,
    "Twox256": twox_256,
    "Twox64Concat": twox64_concat,
    "Identity": identity,
}


def storage_prefix(pallet: str, item: str) -> bytes:
    """``twox_128(pallet) ++ twox_128(item)``: the 32-byte prefix of a FRAME storage item."""
    return twox_128(pallet.encode()) + twox_128(item.encode())


def storage_key(
    pallet: str, item: str, *keys: tuple[Callable[[bytes], bytes], bytes]
) -> bytes:
    """Full FRAME storage key: the prefix then each ``hasher(encoded_key)`` in order."""
    out = storage_prefix(pallet, item)
    for hasher, encoded in keys:
        out += hasher(encoded)
    return out
