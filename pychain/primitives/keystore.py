"""An encrypted on-disk keystore: one JSON file per key, found by key type and public key.

Mirrors ``sc_keystore::LocalKeystore`` (``insert``, ``keys``, ``has_keys``, ``key_pair``,
``generate_new``) and its ``KeyTypeId`` tags (``sp_core::crypto::key_types``: ``aura``, ``gran``,
``babe``, ``imon``, ``audi``, ``acco``; plus pychain's ``flcn`` for federated-learning
participants). As in Substrate, a key's file is named ``hex(key_type) ++ hex(public_key)`` and the
secret kept is the secret URI the key came from (so soft-derived sr25519 keys can be stored too).

Where it differs: Substrate writes the secret URI in clear text; here it is sealed with AES-256-GCM
under a key from scrypt(password, salt) (RFC 7914; pycryptodome), with the key type, scheme and
public key as associated data so a file cannot be relabelled. Each file holds::

    {"version": 1, "keyType": "aura", "scheme": "sr25519", "publicKey": "0x…",
     "ss58Address": "5…", "crypto": {"kdf": "scrypt",
     "kdfParams": {"n": 32768, "r": 8, "p": 1, "dkLen": 32, "salt": "0x…"},
     "cipher": "aes-256-gcm", "nonce": "0x…", "ciphertext": "0x…", "tag": "0x…"}}

Files are written atomically with mode 0600 in a folder of mode 0700. A wrong password (or a
tampered file) is a ``WrongPasswordError``. Salts and nonces come from OS randomness.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from Crypto.Cipher import AES
from Crypto.Protocol.KDF import scrypt

from pychain.primitives.keys import SCHEMES, CryptoError, Keypair
from pychain.primitives.ss58 import DEFAULT_PREFIX, ss58_encode

__all__ = [
    "KeystoreError",
    "WrongPasswordError",
    "KeyNotFoundError",
    "CorruptKeyFileError",
    "KEY_TYPES",
    "KeystoreEntry",
    "Keystore",
]

# sp_core::crypto::key_types, and pychain's federated-learning participant key.
KEY_TYPES: Final = {
    "aura": "Aura block authoring",
    "babe": "BABE block authoring",
    "gran": "GRANDPA finality voting",
    "imon": "ImOnline heartbeats",
    "audi": "authority discovery",
    "acco": "account (transaction signing)",
    "flcn": "federated-learning participant (pychain)",
}
FORMAT_VERSION: Final = 1
# scrypt cost (N = 2^15, r = 8, p = 1: about 32 MiB and ~0.1 s); tests may lower N.
SCRYPT_N: Final = 1 << 15
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
# Bounds accepted when reading a file, so a crafted file cannot demand unbounded work.
_SCRYPT_N_MAX: Final = 1 << 20
_SALT_LEN: Final = 32
_NONCE_LEN: Final = 12
_AAD_TAG: Final = b"pychain-keystore-v1"
_KEY_TYPE_RE: Final = re.compile(r"[a-z0-9]{4}")
# A key file's name: hex(key type) ++ hex(public key of 32 or 33 bytes).
_FILE_NAME_RE: Final = re.compile(r"[0-9a-f]{8}(?:[0-9a-f]{64}|[0-9a-f]{66})")


class KeystoreError(CryptoError):
    """Root of keystore errors."""


class WrongPasswordError(KeystoreError):
    """The password does not open the key file (or the file was altered)."""


class KeyNotFoundError(KeystoreError):
    """No key of that type and public key in the keystore."""


class CorruptKeyFileError(KeystoreError):
    """A key file that is not a valid keystore file."""


@dataclass(frozen=True)
class KeystoreEntry:
    """What can be read from a key file without the password."""

    key_type: str
    scheme: str
    public_key: bytes
    ss58_address: str
    path: Path


def _check_key_type(key_type: str) -> str:
    if not isinstance(key_type, str) or not _KEY_TYPE_RE.fullmatch(key_type):
        raise KeystoreError(f"a key type is 4 lowercase ASCII letters or digits, got {key_type!r}")
    return key_type


def _aad(key_type: str, scheme: str, public_key: bytes) -> bytes:
    return b"|".join((_AAD_TAG, key_type.encode(), scheme.encode(), public_key))


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _unhex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise CorruptKeyFileError(f"{what} is not 0x-prefixed hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise CorruptKeyFileError(f"{what} is not valid hex") from None


class Keystore:
    """A folder of encrypted key files, all sealed with one password."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        password: str,
        *,
        scrypt_n: int = SCRYPT_N,
        ss58_prefix: int = DEFAULT_PREFIX,
    ) -> None:
        if not isinstance(password, str):
            raise KeystoreError("the keystore password is a str")
        if scrypt_n < 2 or scrypt_n & (scrypt_n - 1) or scrypt_n > _SCRYPT_N_MAX:
            raise KeystoreError(f"scrypt N must be a power of two in 2..{_SCRYPT_N_MAX}")
        self.path = Path(path)
        self._password = password
        self._scrypt_n = scrypt_n
        self._ss58_prefix = ss58_prefix

    # -- files

    def _file(self, key_type: str, public_key: bytes) -> Path:
        return self.path / (_check_key_type(key_type).encode().hex() + bytes(public_key).hex())

    def _derive_key(self, salt: bytes, n: int, r: int, p: int) -> bytes:
        key = scrypt(self._password, salt, 32, N=n, r=r, p=p)  # type: ignore[arg-type]
        assert isinstance(key, bytes)
        return key

    def _write(self, target: Path, document: dict[str, Any]) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise KeyNotFoundError(f"no key file {path.name}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CorruptKeyFileError(f"cannot read key file {path.name}: {exc}") from None
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            raise CorruptKeyFileError(f"{path.name} is not a version-{FORMAT_VERSION} key file")
        return document

    def _entry(self, path: Path, document: dict[str, Any]) -> KeystoreEntry:
        key_type, scheme = document.get("keyType"), document.get("scheme")
        if not isinstance(key_type, str) or not _KEY_TYPE_RE.fullmatch(key_type):
            raise CorruptKeyFileError(f"{path.name}: bad keyType")
        if scheme not in SCHEMES:
            raise CorruptKeyFileError(f"{path.name}: bad scheme")
        public_key = _unhex(document.get("publicKey"), "publicKey")
        address = document.get("ss58Address")
        return KeystoreEntry(
            key_type, scheme, public_key, address if isinstance(address, str) else "", path
        )

    # -- API

    def insert(self, key_type: str, suri: str, scheme: str = "sr25519") -> Keypair:
        """Store the key of ``suri`` as ``key_type`` (replacing the same key); return its pair."""
        _check_key_type(key_type)
        pair = Keypair.from_uri(suri, scheme)
        self._store(key_type, pair, suri)
        return pair

    def generate(self, key_type: str, scheme: str = "sr25519", words: int = 12) -> Keypair:
        """Create a key from a fresh phrase and store it (``generate_new``)."""
        _check_key_type(key_type)
        pair = Keypair.generate(scheme, words)
        assert pair.phrase is not None
        self._store(key_type, pair, pair.phrase)
        return pair

    def _store(self, key_type: str, pair: Keypair, suri: str) -> None:
        salt = secrets.token_bytes(_SALT_LEN)
        nonce = secrets.token_bytes(_NONCE_LEN)
        cipher = AES.new(
            self._derive_key(salt, self._scrypt_n, SCRYPT_R, SCRYPT_P), AES.MODE_GCM, nonce=nonce
        )
        cipher.update(_aad(key_type, pair.scheme, pair.public_key))
        ciphertext, tag = cipher.encrypt_and_digest(suri.encode("utf-8"))
        document = {
            "version": FORMAT_VERSION,
            "keyType": key_type,
            "scheme": pair.scheme,
            "publicKey": _hex(pair.public_key),
            "ss58Address": ss58_encode(pair.account_id, self._ss58_prefix),
            "crypto": {
                "kdf": "scrypt",
                "kdfParams": {
                    "n": self._scrypt_n,
                    "r": SCRYPT_R,
                    "p": SCRYPT_P,
                    "dkLen": 32,
                    "salt": _hex(salt),
                },
                "cipher": "aes-256-gcm",
                "nonce": _hex(nonce),
                "ciphertext": _hex(ciphertext),
                "tag": _hex(tag),
            },
        }
        self._write(self._file(key_type, pair.public_key), document)

    def _paths(self) -> Iterator[Path]:
        if not self.path.is_dir():
            return iter(())
        return (
            p
            for p in sorted(self.path.iterdir())
            if _FILE_NAME_RE.fullmatch(p.name) and p.is_file()
        )

    def keys(self, key_type: str | None = None) -> list[KeystoreEntry]:
        """The keys stored (of ``key_type`` when given), sorted by file name; needs no password.

        Files whose names are not key-file names are ignored, as Substrate's keystore does.
        """
        prefix = _check_key_type(key_type).encode().hex() if key_type is not None else ""
        entries = []
        for path in self._paths():
            if path.name.startswith(prefix):
                entries.append(self._entry(path, self._read(path)))
        return entries

    def has_key(self, key_type: str, public_key: bytes) -> bool:
        """Whether a key of ``key_type`` with ``public_key`` is stored."""
        return self._file(key_type, public_key).is_file()

    def load(self, key_type: str, public_key: bytes) -> Keypair:
        """Decrypt and rebuild the pair; ``WrongPasswordError`` if the password does not fit."""
        path = self._file(key_type, public_key)
        document = self._read(path)
        entry = self._entry(path, document)
        if entry.key_type != key_type or entry.public_key != bytes(public_key):
            raise CorruptKeyFileError(f"{path.name} holds another key than its name says")
        crypto = document.get("crypto")
        if not isinstance(crypto, dict) or crypto.get("kdf") != "scrypt":
            raise CorruptKeyFileError(f"{path.name}: unsupported kdf")
        if crypto.get("cipher") != "aes-256-gcm":
            raise CorruptKeyFileError(f"{path.name}: unsupported cipher")
        params = crypto.get("kdfParams")
        if not isinstance(params, dict):
            raise CorruptKeyFileError(f"{path.name}: missing kdfParams")
        n, r, p = params.get("n"), params.get("r"), params.get("p")
        # Verify the scrypt cost is sane before paying it.
        if not (
            isinstance(n, int)
            and 2 <= n <= _SCRYPT_N_MAX
            and n & (n - 1) == 0
            and isinstance(r, int)
            and 1 <= r <= 16
            and isinstance(p, int)
            and 1 <= p <= 4
        ):
            raise CorruptKeyFileError(f"{path.name}: scrypt parameters out of bounds")
        salt = _unhex(params.get("salt"), "salt")
        nonce = _unhex(crypto.get("nonce"), "nonce")
        ciphertext = _unhex(crypto.get("ciphertext"), "ciphertext")
        tag = _unhex(crypto.get("tag"), "tag")
        if len(nonce) != _NONCE_LEN or len(tag) != 16:
            raise CorruptKeyFileError(f"{path.name}: bad nonce or tag length")
        cipher = AES.new(self._derive_key(salt, n, r, p), AES.MODE_GCM, nonce=nonce)
        cipher.update(_aad(entry.key_type, entry.scheme, entry.public_key))
        try:
            suri = cipher.decrypt_and_verify(ciphertext, tag).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise WrongPasswordError(f"wrong password for key {path.name}") from None
        pair = Keypair.from_uri(suri, entry.scheme)
        if pair.public_key != entry.public_key:
            raise CorruptKeyFileError(f"{path.name}: the secret does not match the public key")
        return pair

    def remove(self, key_type: str, public_key: bytes) -> None:
        """Delete a stored key; ``KeyNotFoundError`` if there is none."""
        path = self._file(key_type, public_key)
        try:
            path.unlink()
        except FileNotFoundError:
            raise KeyNotFoundError(f"no {key_type} key 0x{bytes(public_key).hex()}") from None
