"""BIP-39 mnemonics and Substrate's "mini secret" derivation from them.

Mirrors the two Rust crates Substrate uses for secret phrases:

* ``tiny-bip39`` (BIP-0039, "Generating the mnemonic" and "Wordlist"): a phrase of 12, 15, 18, 21 or
  24 English words encodes 128..256 bits of entropy followed by a checksum of ``bits / 32`` bits
  taken from SHA-256 of the entropy; each word carries 11 bits. The English word list ships with
  this package as ``bip39_english.txt`` (the official list, SHA-256
  ``2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda``).
* ``substrate-bip39`` (``mini_secret_from_entropy`` / ``seed_from_entropy``): the 64-byte seed is
  ``PBKDF2-HMAC-SHA512(password=entropy, salt="mnemonic" ++ password, 2048 rounds)`` and the first
  32 bytes are the mini secret (sr25519) or secret seed (ed25519, ecdsa).

Where it differs from standard BIP-39: standard BIP-39 feeds the *phrase text* (NFKD-normalised) to
PBKDF2; Substrate feeds the *entropy bytes*. This module implements Substrate's rule only, so a
Substrate phrase gives the same keys here as in ``subkey``. Only the English list is supported.

Randomness: ``generate_mnemonic`` draws entropy from the OS (``secrets``); it is meant for key
generation by the CLI, never for anything that must be deterministic.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from importlib import resources

from pychain.errors import PychainError

__all__ = [
    "Bip39Error",
    "WORD_COUNTS",
    "wordlist",
    "mnemonic_to_entropy",
    "entropy_to_mnemonic",
    "generate_mnemonic",
    "seed_from_entropy",
    "mini_secret_from_entropy",
]

# BIP-0039: the allowed phrase lengths (entropy 128, 160, 192, 224, 256 bits).
WORD_COUNTS = (12, 15, 18, 21, 24)
# substrate-bip39: PBKDF2 rounds and salt prefix.
PBKDF2_ROUNDS = 2048
SALT_PREFIX = "mnemonic"
_WORDLIST_FILE = "bip39_english.txt"
_WORDLIST_SHA256 = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"


class Bip39Error(PychainError):
    """An invalid mnemonic phrase or entropy (wrong word, word count, checksum or length)."""


@lru_cache(maxsize=1)
def wordlist() -> tuple[str, ...]:
    """The 2048 English BIP-39 words, in order; checked against the official list's SHA-256."""
    raw = resources.files("pychain.primitives").joinpath(_WORDLIST_FILE).read_bytes()
    if hashlib.sha256(raw).hexdigest() != _WORDLIST_SHA256:
        raise Bip39Error(f"{_WORDLIST_FILE} is not the official BIP-39 English word list")
    words = tuple(raw.decode("ascii").split())
    if len(words) != 2048:
        raise Bip39Error(f"{_WORDLIST_FILE} has {len(words)} words, expected 2048")
    return words


@lru_cache(maxsize=1)
def _word_index() -> dict[str, int]:
    return {word: i for i, word in enumerate(wordlist())}


def mnemonic_to_entropy(phrase: str) -> bytes:
    """Decode a phrase to its entropy, checking every word and the checksum (BIP-0039)."""
    words = phrase.split()
    # Verify the word count is one BIP-39 allows.
    if len(words) not in WORD_COUNTS:
        raise Bip39Error(f"a phrase has 12, 15, 18, 21 or 24 words, got {len(words)}")
    index = _word_index()
    bits = 0
    for position, word in enumerate(words, start=1):
        # Verify each word is in the English list.
        value = index.get(word)
        if value is None:
            raise Bip39Error(f"word {position} ({word!r}) is not in the BIP-39 English list")
        bits = (bits << 11) | value
    total_bits = 11 * len(words)
    checksum_bits = total_bits // 33
    entropy_bits = total_bits - checksum_bits
    entropy = (bits >> checksum_bits).to_bytes(entropy_bits // 8, "big")
    checksum = bits & ((1 << checksum_bits) - 1)
    # Verify the checksum: the first ENT/32 bits of SHA-256(entropy).
    expected = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    if checksum != expected:
        raise Bip39Error("invalid phrase checksum")
    return entropy


def _check_entropy(entropy: bytes) -> None:
    if not isinstance(entropy, bytes | bytearray) or len(entropy) not in (16, 20, 24, 28, 32):
        raise Bip39Error("entropy must be 16, 20, 24, 28 or 32 bytes")


def entropy_to_mnemonic(entropy: bytes) -> str:
    """Encode entropy (16..32 bytes, a multiple of 4) as an English phrase (BIP-0039)."""
    _check_entropy(entropy)
    checksum_bits = len(entropy) * 8 // 32
    checksum = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    bits = (int.from_bytes(entropy, "big") << checksum_bits) | checksum
    count = (len(entropy) * 8 + checksum_bits) // 11
    words = wordlist()
    return " ".join(words[(bits >> (11 * (count - 1 - i))) & 0x7FF] for i in range(count))


def generate_mnemonic(words: int = 12) -> str:
    """A new phrase of ``words`` words from OS randomness."""
    if words not in WORD_COUNTS:
        raise Bip39Error(f"word count must be one of {WORD_COUNTS}, got {words}")
    return entropy_to_mnemonic(secrets.token_bytes(words * 4 // 3))


def seed_from_entropy(entropy: bytes, password: str = "") -> bytes:
    """substrate-bip39 ``seed_from_entropy``: 64 bytes of PBKDF2-HMAC-SHA512 over the entropy."""
    _check_entropy(entropy)
    salt = (SALT_PREFIX + password).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha512", bytes(entropy), salt, PBKDF2_ROUNDS, dklen=64)


def mini_secret_from_entropy(entropy: bytes, password: str = "") -> bytes:
    """substrate-bip39 ``mini_secret_from_entropy``: the first 32 bytes of the seed."""
    return seed_from_entropy(entropy, password)[:32]
