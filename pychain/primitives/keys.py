"""Key pairs, signatures and secret URIs for the three signature schemes of ``MultiSignature``.

Mirrors ``sp_core::{ed25519, sr25519, ecdsa}`` and ``sp_core::crypto`` (``SecretUri``,
``DeriveJunction``, ``Pair::from_string_with_seed``), and
``sp_runtime::MultiSigner::into_account``:

* **ed25519** (``MultiSignature`` variant 0) through ``ed25519_zebra`` (ZIP-215 verification, as
  Substrate). A 32-byte seed is the secret. Hard derivation only: the child seed is
  ``blake2_256(SCALE(("Ed25519HDKD", seed, chain_code)))``.
* **sr25519** (variant 1) through the ``sr25519`` bindings of schnorrkel (signing context
  ``"substrate"``; signatures are randomised). The 32-byte "mini secret" is expanded in
  ``ExpansionMode::Ed25519``. Hard junctions use schnorrkel's ``hard_derive_mini_secret_key``
  and soft junctions its ``derived_key_simple``; as in Substrate, the secret seed survives hard
  junctions (it becomes the derived mini secret, computed here with a small Merlin transcript,
  see ``_hard_derive_mini_secret``) and is lost after a soft one.
* **ecdsa** (variant 2) over secp256k1 through ``coincurve``: the message is hashed with
  blake2-256, the signature is 65 bytes ``r ++ s ++ v`` with the recovery id ``v`` (27/28 are
  accepted too when verifying, as ``sp_core::ecdsa``), the public key is 33 bytes compressed
  and the account id is ``blake2_256`` of it. Hard derivation only, tagged ``"Secp256k1HDKD"``.

Secret URIs (``sp_core::crypto::SecretUri``): ``PHRASE//hard/soft///password``, ``0x`` + 32-byte
seed hex followed by junctions, or only junctions (``//Alice``), which derive from the
development phrase ``DEV_PHRASE``. A phrase is turned into a seed with substrate-bip39 (see
``bip39``). A junction's text that parses as a ``u64`` is SCALE-encoded as a u64, otherwise as a
string; the chain code is that encoding zero-padded to 32 bytes, or its blake2-256 when longer.

Differences from Substrate: ``Keypair`` is one class for the three schemes (a ``scheme`` field
instead of three ``Pair`` types), and malformed keys or signatures make ``verify_signature``
return False rather than being unrepresentable. ``Keypair.generate`` uses OS randomness and is
for tools (the CLI), never for consensus code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import coincurve
import ed25519_zebra
import sr25519

from pychain.errors import PychainError
from pychain.primitives import bip39
from pychain.primitives.hashing import blake2_256
from pychain.primitives.scale import U64, FixedBytes, Str, Tuple

__all__ = [
    "SCHEMES",
    "DEV_PHRASE",
    "CryptoError",
    "KeyringError",
    "UnknownSchemeError",
    "InvalidSecretUriError",
    "InvalidPhraseError",
    "InvalidSeedError",
    "DerivationError",
    "DeriveJunction",
    "SecretUri",
    "parse_secret_uri",
    "Keypair",
    "verify_signature",
    "account_id_of",
]

# The schemes of sp_runtime::MultiSignature, in variant order (0 Ed25519, 1 Sr25519, 2 Ecdsa).
SCHEMES: Final = ("ed25519", "sr25519", "ecdsa")
# sp_core::crypto::DEV_PHRASE: the phrase behind //Alice, //Bob, ...
DEV_PHRASE: Final = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
# sp_core::crypto::JUNCTION_ID_LEN
JUNCTION_ID_LEN: Final = 32
SEED_LEN: Final = 32
PUBLIC_KEY_LEN: Final = {"ed25519": 32, "sr25519": 32, "ecdsa": 33}
SIGNATURE_LEN: Final = {"ed25519": 64, "sr25519": 64, "ecdsa": 65}
# Tags of the hard-derivation tuples (sp_core ed25519.rs / ecdsa.rs).
_ED25519_HDKD: Final = "Ed25519HDKD"
_SECP256K1_HDKD: Final = "Secp256k1HDKD"
_BYTES_LIKE: Final = (bytes, bytearray, memoryview)
_HDKD_CODEC = Tuple(Str, FixedBytes(32), FixedBytes(32))

# sp_core::crypto::SecretUri's regular expressions.
_SECRET_URI_RE: Final = re.compile(
    r"(?P<phrase>[\w ]+)?(?P<path>(//?[^/]+)*)(///(?P<password>.*))?"
)
_JUNCTION_RE: Final = re.compile(r"/(/?[^/]+)")
# Rust's u64::from_str: optional '+', ASCII digits only.
_U64_RE: Final = re.compile(r"\+?[0-9]+")
_HEX_RE: Final = re.compile(r"(?:[0-9a-fA-F]{2})*")


class CryptoError(PychainError):
    """Root of the errors of keys, secret URIs, the keyring and the keystore."""


class KeyringError(CryptoError):
    """An unknown development account name (see ``pychain.primitives.keyring``)."""


class UnknownSchemeError(CryptoError):
    """The scheme is not one of ``SCHEMES``."""


class InvalidSecretUriError(CryptoError):
    """The text is not a secret URI (``SecretStringError::InvalidFormat``)."""


class InvalidPhraseError(CryptoError):
    """The phrase is not a valid BIP-39 English mnemonic (``SecretStringError::InvalidPhrase``)."""


class InvalidSeedError(CryptoError):
    """A ``0x`` seed that is not 32 bytes of hex, or not a valid secret for the scheme."""


class DerivationError(CryptoError):
    """A derivation the scheme does not support (soft junctions for ed25519 and ecdsa)."""


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise UnknownSchemeError(f"unknown signature scheme {scheme!r}; expected one of {SCHEMES}")
    return scheme


# ------------------------------------------------------------------------------ secret URIs


@dataclass(frozen=True)
class DeriveJunction:
    """``sp_core::crypto::DeriveJunction``: a 32-byte chain code, hard (``//``) or soft (``/``)."""

    chain_code: bytes
    hard: bool

    @classmethod
    def parse(cls, text: str) -> DeriveJunction:
        """A junction from its text after the first ``/`` (``"/Alice"`` is hard, ``"0"`` soft)."""
        hard = text.startswith("/")
        code = text[1:] if hard else text
        if _U64_RE.fullmatch(code) and int(code) < 2**64:
            encoded = U64.encode(int(code))
        else:
            encoded = Str.encode(code)
        if len(encoded) > JUNCTION_ID_LEN:
            chain_code = blake2_256(encoded)
        else:
            chain_code = encoded.ljust(JUNCTION_ID_LEN, b"\x00")
        return cls(chain_code, hard)


@dataclass(frozen=True)
class SecretUri:
    """A parsed secret URI: phrase or ``0x`` seed, junctions, optional password."""

    phrase: str
    junctions: tuple[DeriveJunction, ...]
    password: str | None


def parse_secret_uri(suri: str) -> SecretUri:
    """Split ``PHRASE//hard/soft///password`` into its parts; the phrase defaults to DEV_PHRASE."""
    if not isinstance(suri, str):
        raise InvalidSecretUriError(f"a secret URI is a str, got {type(suri).__name__}")
    match = _SECRET_URI_RE.fullmatch(suri)
    if match is None:
        raise InvalidSecretUriError("invalid secret URI format")
    junctions = tuple(DeriveJunction.parse(j) for j in _JUNCTION_RE.findall(match["path"] or ""))
    phrase = match["phrase"] if match["phrase"] is not None else DEV_PHRASE
    return SecretUri(phrase, junctions, match["password"])


# ------------------------------------------------------------- Merlin transcript (sr25519 HDKD)
# schnorrkel derives hard sr25519 children with a Merlin transcript (STROBE-128 over
# Keccak-f[1600]); the bindings return only the expanded key pair, so the derived mini secret
# (Substrate's "Secret seed") is recomputed here. Tests check it expands to the bindings' key.


def _keccak_constants() -> tuple[list[int], list[int]]:
    """Round constants and rotation offsets of Keccak-f[1600] (FIPS 202, 3.2), computed."""

    def rc_bit(t: int) -> int:
        if t % 255 == 0:
            return 1
        r = 1
        for _ in range(t % 255):
            r <<= 1
            if r & 0x100:
                r ^= 0x171  # x^8 + x^6 + x^5 + x^4 + 1
        return r & 1

    round_constants = []
    for ir in range(24):
        rc = 0
        for j in range(7):
            rc |= rc_bit(j + 7 * ir) << ((1 << j) - 1)
        round_constants.append(rc)
    rotations = [0] * 25
    x, y = 1, 0
    for t in range(24):
        rotations[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return round_constants, rotations


_KECCAK_RC, _KECCAK_ROT = _keccak_constants()
_MASK64: Final = (1 << 64) - 1


def _keccak_f1600(state: bytearray) -> None:
    """Keccak-f[1600] on a 200-byte state, in place (lanes little-endian, index x + 5y)."""
    lanes = [int.from_bytes(state[8 * i : 8 * i + 8], "little") for i in range(25)]
    for rc in _KECCAK_RC:
        c = [
            lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20]
            for x in range(5)
        ]
        for x in range(5):
            d = c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _MASK64)
            for y in range(0, 25, 5):
                lanes[x + y] ^= d
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                lane, rot = lanes[x + 5 * y], _KECCAK_ROT[x + 5 * y]
                b[y + 5 * ((2 * x + 3 * y) % 5)] = ((lane << rot) | (lane >> (64 - rot))) & _MASK64
        for y in range(0, 25, 5):
            row = b[y : y + 5]
            for x in range(5):
                lanes[x + y] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5])
        lanes[0] ^= rc
    for i, lane in enumerate(lanes):
        state[8 * i : 8 * i + 8] = lane.to_bytes(8, "little")


class _Strobe128:
    """The subset of STROBE v1.0.2 (128-bit security) that Merlin uses."""

    RATE: Final = 166  # 200 - 128/4 - 2
    FLAG_I, FLAG_A, FLAG_C, FLAG_M = 1, 2, 4, 16

    def __init__(self, protocol_label: bytes) -> None:
        self.state = bytearray(200)
        self.state[0:6] = bytes([1, self.RATE + 2, 1, 0, 1, 96])
        self.state[6:18] = b"STROBEv1.0.2"
        _keccak_f1600(self.state)
        self.pos = 0
        self.pos_begin = 0
        self.cur_flags = 0
        self.meta_ad(protocol_label, more=False)

    def _run_f(self) -> None:
        self.state[self.pos] ^= self.pos_begin
        self.state[self.pos + 1] ^= 0x04
        self.state[self.RATE + 1] ^= 0x80
        _keccak_f1600(self.state)
        self.pos = 0
        self.pos_begin = 0

    def _absorb(self, data: bytes) -> None:
        for byte in data:
            self.state[self.pos] ^= byte
            self.pos += 1
            if self.pos == self.RATE:
                self._run_f()

    def _squeeze(self, length: int) -> bytes:
        out = bytearray()
        for _ in range(length):
            out.append(self.state[self.pos])
            self.state[self.pos] = 0
            self.pos += 1
            if self.pos == self.RATE:
                self._run_f()
        return bytes(out)

    def _begin_op(self, flags: int, more: bool) -> None:
        if more:
            return
        old_begin = self.pos_begin
        self.pos_begin = self.pos + 1
        self.cur_flags = flags
        self._absorb(bytes([old_begin, flags]))
        if flags & self.FLAG_C and self.pos != 0:
            self._run_f()

    def meta_ad(self, data: bytes, more: bool) -> None:
        self._begin_op(self.FLAG_M | self.FLAG_A, more)
        self._absorb(data)

    def ad(self, data: bytes, more: bool) -> None:
        self._begin_op(self.FLAG_A, more)
        self._absorb(data)

    def prf(self, length: int, more: bool) -> bytes:
        self._begin_op(self.FLAG_I | self.FLAG_A | self.FLAG_C, more)
        return self._squeeze(length)


class _Transcript:
    """Merlin v1.0 transcript: ``append_message`` and ``challenge_bytes``."""

    def __init__(self, label: bytes) -> None:
        self.strobe = _Strobe128(b"Merlin v1.0")
        self.append_message(b"dom-sep", label)

    def append_message(self, label: bytes, message: bytes) -> None:
        self.strobe.meta_ad(label, more=False)
        self.strobe.meta_ad(len(message).to_bytes(4, "little"), more=True)
        self.strobe.ad(message, more=False)

    def challenge_bytes(self, label: bytes, length: int) -> bytes:
        self.strobe.meta_ad(label, more=False)
        self.strobe.meta_ad(length.to_bytes(4, "little"), more=True)
        return self.strobe.prf(length, more=False)


def _hard_derive_mini_secret(secret_key: bytes, chain_code: bytes) -> bytes:
    """The child mini secret of schnorrkel's ``hard_derive_mini_secret_key(Some(cc), b"")``."""
    transcript = _Transcript(b"SchnorrRistrettoHDKD")
    transcript.append_message(b"sign-bytes", b"")
    transcript.append_message(b"chain-code", chain_code)
    transcript.append_message(b"secret-key", secret_key[:32])
    return transcript.challenge_bytes(b"HDKD-hard", 32)


# ---------------------------------------------------------------------------------- key pairs


def _ecdsa_public(secret: bytes) -> bytes:
    try:
        return coincurve.PrivateKey(secret).public_key.format(compressed=True)
    except (ValueError, TypeError) as exc:
        raise InvalidSeedError(f"not a valid secp256k1 secret key: {exc}") from None


def account_id_of(scheme: str, public_key: bytes) -> bytes:
    """``MultiSigner::into_account``: the public key itself, or blake2-256 of an ecdsa key."""
    _check_scheme(scheme)
    if len(public_key) != PUBLIC_KEY_LEN[scheme]:
        raise CryptoError(f"{scheme} public key must be {PUBLIC_KEY_LEN[scheme]} bytes")
    return blake2_256(public_key) if scheme == "ecdsa" else bytes(public_key)


class Keypair:
    """A secret key of one scheme with its public key; build it with a classmethod.

    Attributes: ``scheme``; ``public_key`` (32 bytes, 33 for ecdsa); ``account_id`` (32 bytes);
    ``seed``, the 32-byte secret seed (sr25519 mini secret) or None after a soft sr25519 junction;
    ``phrase``, the mnemonic when the pair came from ``generate`` (else None); ``secret_uri``, the
    URI it was built from (``from_uri``, ``generate``) or None.
    """

    __slots__ = ("scheme", "public_key", "seed", "phrase", "secret_uri", "_secret")

    def __init__(
        self,
        scheme: str,
        public_key: bytes,
        secret: bytes,
        seed: bytes | None,
        *,
        phrase: str | None = None,
        secret_uri: str | None = None,
    ) -> None:
        self.scheme = _check_scheme(scheme)
        self.public_key = bytes(public_key)
        self._secret = bytes(secret)  # ed25519/ecdsa: the 32-byte seed; sr25519: key ++ nonce
        self.seed = seed
        self.phrase = phrase
        self.secret_uri = secret_uri

    def __repr__(self) -> str:
        return f"Keypair({self.scheme}, 0x{self.public_key.hex()})"

    @property
    def account_id(self) -> bytes:
        return account_id_of(self.scheme, self.public_key)

    # -- construction

    @classmethod
    def from_seed(cls, seed: bytes, scheme: str = "sr25519") -> Keypair:
        """The pair of a 32-byte seed (``Pair::from_seed``); sr25519 takes it as a mini secret."""
        _check_scheme(scheme)
        if not isinstance(seed, bytes | bytearray) or len(seed) != SEED_LEN:
            raise InvalidSeedError(f"a seed is {SEED_LEN} bytes")
        seed = bytes(seed)
        if scheme == "ed25519":
            secret, public = ed25519_zebra.ed_from_seed(seed)
            return cls(scheme, bytes(public), bytes(secret), seed)
        if scheme == "sr25519":
            public, secret = sr25519.pair_from_seed(seed)
            return cls(scheme, bytes(public), bytes(secret), seed)
        return cls(scheme, _ecdsa_public(seed), seed, seed)

    @classmethod
    def from_phrase(
        cls, phrase: str, scheme: str = "sr25519", password: str | None = None
    ) -> Keypair:
        """The pair of a BIP-39 phrase, via substrate-bip39 (``Pair::from_phrase``)."""
        _check_scheme(scheme)
        try:
            entropy = bip39.mnemonic_to_entropy(phrase)
        except bip39.Bip39Error as exc:
            raise InvalidPhraseError(f"invalid secret phrase: {exc}") from None
        return cls.from_seed(bip39.mini_secret_from_entropy(entropy, password or ""), scheme)

    @classmethod
    def from_uri(cls, suri: str, scheme: str = "sr25519", password: str | None = None) -> Keypair:
        """The pair of a secret URI (``Pair::from_string_with_seed``).

        ``password``, when given, overrides the URI's ``///password`` (as Substrate's
        ``password_override``). The password applies to phrases only; a ``0x`` seed ignores it.
        """
        _check_scheme(scheme)
        uri = parse_secret_uri(suri)
        phrase = uri.phrase
        if phrase.startswith("0x"):
            if not _HEX_RE.fullmatch(phrase[2:]):
                raise InvalidSeedError("the 0x seed is not valid hex")
            seed = bytes.fromhex(phrase[2:])
            if len(seed) != SEED_LEN:
                raise InvalidSeedError(f"the 0x seed must be {SEED_LEN} bytes, got {len(seed)}")
            root = cls.from_seed(seed, scheme)
        else:
            root = cls.from_phrase(
                phrase, scheme, password if password is not None else uri.password
            )
        pair = root.derive(uri.junctions)
        pair.secret_uri = suri
        return pair

    @classmethod
    def generate(cls, scheme: str = "sr25519", words: int = 12) -> Keypair:
        """A new pair from a fresh phrase of ``words`` words; the phrase is in ``.phrase``."""
        _check_scheme(scheme)
        try:
            phrase = bip39.generate_mnemonic(words)
        except bip39.Bip39Error as exc:
            raise InvalidPhraseError(str(exc)) from None
        pair = cls.from_phrase(phrase, scheme)
        pair.phrase = phrase
        pair.secret_uri = phrase
        return pair

    # -- derivation

    def derive(self, junctions: tuple[DeriveJunction, ...] | list[DeriveJunction]) -> Keypair:
        """The child pair along ``junctions`` (``Pair::derive``)."""
        pair = self
        for junction in junctions:
            pair = pair._derive_one(junction)
        return pair

    def _derive_one(self, junction: DeriveJunction) -> Keypair:
        if self.scheme == "sr25519":
            if junction.hard:
                child_seed = _hard_derive_mini_secret(self._secret, junction.chain_code)
                child = Keypair.from_seed(child_seed, "sr25519")
                # Keep Substrate's rule: the seed survives a hard junction only if it was known.
                child.seed = child_seed if self.seed is not None else None
                return child
            _, public, secret = sr25519.derive_keypair(
                (junction.chain_code, self.public_key, self._secret), b""
            )
            return Keypair("sr25519", bytes(public), bytes(secret), None)
        # Verify the junction is hard: ed25519 and ecdsa have no soft derivation.
        if not junction.hard:
            raise DerivationError(f"{self.scheme} supports hard derivation (//) only, not soft (/)")
        tag = _ED25519_HDKD if self.scheme == "ed25519" else _SECP256K1_HDKD
        child_seed = blake2_256(_HDKD_CODEC.encode((tag, self._secret, junction.chain_code)))
        return Keypair.from_seed(child_seed, self.scheme)

    # -- signing

    def sign(self, message: bytes) -> bytes:
        """A signature of ``message``: 64 bytes (ed25519, sr25519) or 65 (ecdsa, r ++ s ++ v)."""
        if not isinstance(message, _BYTES_LIKE):
            raise CryptoError(f"a message to sign is bytes, got {type(message).__name__}")
        message = bytes(message)
        if self.scheme == "ed25519":
            return bytes(ed25519_zebra.ed_sign(self._secret, message))
        if self.scheme == "sr25519":
            return bytes(sr25519.sign((self.public_key, self._secret), message))
        return bytes(
            coincurve.PrivateKey(self._secret).sign_recoverable(blake2_256(message), hasher=None)
        )

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``message``."""
        return verify_signature(self.scheme, self.public_key, message, signature)


# ------------------------------------------------------------------------------ verification


def _verify_ecdsa(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(signature) != 65 or len(public_key) not in (32, 33):
        return False
    v = signature[64]
    if v >= 27:  # Ethereum-style recovery ids, accepted by sp_core::ecdsa
        v -= 27
    if v > 3:
        return False
    recovered = coincurve.PublicKey.from_signature_and_message(
        signature[:64] + bytes([v]), blake2_256(message), hasher=None
    ).format(compressed=True)
    if len(public_key) == 32:
        return blake2_256(recovered) == public_key
    return recovered == public_key


def verify_signature(scheme: str, public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` by ``public_key`` over ``message`` is valid under ``scheme``.

    Never raises on a malformed key or signature (it returns False); an unknown scheme is a
    ``UnknownSchemeError``. For ecdsa, ``public_key`` may be the 33-byte compressed key or the
    32-byte account id (blake2-256 of it); the message is blake2-256 hashed before recovery.
    """
    _check_scheme(scheme)
    # Verify the inputs are byte strings (``bytes(32)`` would silently be 32 zero bytes).
    if not all(isinstance(x, _BYTES_LIKE) for x in (public_key, message, signature)):
        return False
    try:
        public_key, message, signature = bytes(public_key), bytes(message), bytes(signature)
        if scheme == "ecdsa":
            return _verify_ecdsa(public_key, message, signature)
        if len(public_key) != 32 or len(signature) != 64:
            return False
        if scheme == "ed25519":
            return bool(ed25519_zebra.ed_verify(signature, message, public_key))
        return bool(sr25519.verify(signature, message, public_key))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # the Rust bindings may raise ValueError or a pyo3 PanicException
        return False
