"""Extrinsic format v4: encode, sign, decode and verify Substrate transactions.

Mirrors ``sp_runtime::generic::UncheckedExtrinsic`` and ``SignedPayload`` (polkadot-sdk
``substrate/primitives/runtime/src/generic/unchecked_extrinsic.rs``) and the data formats of FRAME's
standard signed extensions (``frame_system::{CheckNonZeroSender, CheckSpecVersion, CheckTxVersion,
CheckGenesis, CheckMortality, CheckNonce, CheckWeight}``, ``pallet_transaction_payment::
ChargeTransactionPayment``, ``frame_metadata_hash_extension::CheckMetadataHash``). Specification:
Polkadot specification, section "Extrinsics" (extrinsic format, signed extensions, "Signature").

Wire format, as it appears in a block body (the "opaque" encoding)::

    bare:    compact(len) ++ 0x04 ++ call
    signed:  compact(len) ++ 0x84 ++ MultiAddress ++ MultiSignature ++ extra ++ call

where ``call = pallet_index u8 ++ call_index u8 ++ SCALE args`` is kept here as raw bytes (decoding
the arguments is the runtime's business) and ``extra`` is the concatenation of each signed
extension's *extra* data in the runtime's declared order. The signature covers the
``SignedPayload``::

    payload = call ++ extra ++ additional_signed
    message = blake2b-256(payload) if len(payload) > 256 else payload

where ``additional_signed`` concatenates each extension's *additional signed* data, which is not
transmitted but known to the verifier (spec version, transaction version, genesis hash, birth-block
hash, …). The extrinsic hash is blake2b-256 of the whole encoding, length prefix included.

A runtime declares its signed extensions as a sequence of :class:`SignedExtension` descriptors
(:data:`STANDARD_EXTENSIONS` is FRAME's usual list; :data:`STANDARD_EXTENSIONS_WITH_METADATA_HASH`
adds ``CheckMetadataHash``). Only the data formats live here: the extensions' *validation* (nonce
checks, fee charging, mortality checks against the chain) belongs to the runtime.

Differences from Substrate: the call is raw bytes; the extra data of a signed extrinsic is a mapping
from extension identifier to value (only extensions that carry extra data appear in it); an address
other than ``MultiAddress::Id`` cannot be resolved to a signer here, so its signature never
verifies (FRAME's ``AccountIdLookup`` resolves ``Index`` through pallet-indices, which pychain does
not have).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pychain.errors import PychainError
from pychain.primitives import keys
from pychain.primitives.era import ERA, Era
from pychain.primitives.hashing import blake2_256
from pychain.primitives.multiaddress import (
    MULTI_ADDRESS,
    MULTI_SIGNATURE,
    SIGNATURE_VARIANTS,
    AddressId,
    MultiAddress,
    MultiSignature,
)
from pychain.primitives.scale import (
    H256,
    U32,
    CEnum,
    Codec,
    Compact,
    CompactU32,
    Option,
    ScaleDecodeError,
    ScaleEncodeError,
    decode_compact,
    encode_compact,
)

__all__ = [
    "ExtrinsicError",
    "ExtrinsicDecodeError",
    "UnsupportedExtrinsicVersion",
    "MissingSigningContext",
    "ExtrinsicEncodeError",
    "EXTRINSIC_FORMAT_VERSION",
    "SIGNED_FLAG",
    "MAX_UNHASHED_PAYLOAD",
    "MetadataHashMode",
    "SigningContext",
    "SignedExtension",
    "CHECK_NON_ZERO_SENDER",
    "CHECK_SPEC_VERSION",
    "CHECK_TX_VERSION",
    "CHECK_GENESIS",
    "CHECK_MORTALITY",
    "CHECK_NONCE",
    "CHECK_WEIGHT",
    "CHARGE_TRANSACTION_PAYMENT",
    "CHECK_METADATA_HASH",
    "STANDARD_EXTENSIONS",
    "STANDARD_EXTENSIONS_WITH_METADATA_HASH",
    "Signer",
    "ExtrinsicSignature",
    "UncheckedExtrinsic",
    "encode_extra",
    "encode_additional_signed",
    "signing_payload",
    "signing_message",
    "signer_account_id",
    "sign_extrinsic",
    "decode_extrinsic",
    "verify_signature",
]

#: Extrinsic format version carried in the low 7 bits of the version byte (sp_runtime
#: ``EXTRINSIC_FORMAT_VERSION``; v5 "general" transactions are not supported).
EXTRINSIC_FORMAT_VERSION = 4
#: High bit of the version byte: the extrinsic carries a signature.
SIGNED_FLAG = 0x80
#: ``SignedPayload::using_encoded`` signs blake2b-256 of payloads longer than this many bytes.
MAX_UNHASHED_PAYLOAD = 256
#: A call is at least ``pallet_index u8 ++ call_index u8``.
MIN_CALL_LEN = 2


# ---------------------------------------------------------------------------------------- errors


class ExtrinsicError(PychainError):
    """Root of the errors about extrinsics."""


class ExtrinsicDecodeError(ExtrinsicError, ScaleDecodeError):
    """Bytes that are not a valid v4 extrinsic; ``offset`` is where decoding failed."""


class UnsupportedExtrinsicVersion(ExtrinsicDecodeError):
    """The version byte is not 4 (bare, ``0x04``) or 4 with the signed flag (``0x84``)."""


class ExtrinsicEncodeError(ExtrinsicError, ScaleEncodeError):
    """Values that cannot form an extrinsic (missing extra data, unknown scheme, short call…)."""


class MissingSigningContext(ExtrinsicError):
    """The additional-signed data cannot be computed: e.g. a mortal era without the hash of its
    birth block, or ``CheckMetadataHash`` enabled without a metadata hash."""


# ------------------------------------------------------------------------------ signed extensions


class MetadataHashMode(enum.IntEnum):
    """``frame_metadata_hash_extension::Mode``: whether the metadata hash is signed."""

    DISABLED = 0
    ENABLED = 1


@dataclass(frozen=True)
class SigningContext:
    """What a verifier knows that the extrinsic does not carry (the sources of the
    additional-signed data): runtime versions, genesis hash, the birth block's hash (for a
    mortal era) and the metadata hash (for ``CheckMetadataHash`` in mode ``ENABLED``)."""

    spec_version: int
    transaction_version: int
    genesis_hash: bytes
    birth_hash: bytes | None = None
    metadata_hash: bytes | None = None


#: Computes an extension's additional-signed value from the context and its own extra value.
AdditionalSignedFn = Callable[[SigningContext, Any], Any]


@dataclass(frozen=True)
class SignedExtension:
    """Descriptor of one signed extension: its identifier (as in metadata V14), the codec of its
    *extra* data (``None``: carries nothing) and of its *additional signed* data with the function
    that computes the latter (``None``: signs nothing extra)."""

    identifier: str
    extra: Codec[Any] | None = None
    additional: Codec[Any] | None = None
    additional_signed: AdditionalSignedFn | None = None

    def __post_init__(self) -> None:
        if (self.additional is None) != (self.additional_signed is None):
            raise ExtrinsicError(
                f"{self.identifier}: an additional codec needs an additional_signed function"
            )


def _spec_version(ctx: SigningContext, _extra: Any) -> int:
    return ctx.spec_version


def _tx_version(ctx: SigningContext, _extra: Any) -> int:
    return ctx.transaction_version


def _genesis(ctx: SigningContext, _extra: Any) -> bytes:
    return ctx.genesis_hash


def _mortality(ctx: SigningContext, era: Era) -> bytes:
    # CheckMortality signs the hash of the era's birth block; the genesis hash when immortal.
    if era.is_immortal:
        return ctx.genesis_hash
    if ctx.birth_hash is None:
        raise MissingSigningContext(
            f"mortal era (period {era.period}, phase {era.phase}) signs the hash of its birth "
            "block, which is unknown"
        )
    return ctx.birth_hash


def _metadata_hash(ctx: SigningContext, mode: MetadataHashMode) -> bytes | None:
    if mode == MetadataHashMode.DISABLED:
        return None
    if ctx.metadata_hash is None:
        raise MissingSigningContext("CheckMetadataHash is enabled but the metadata hash is unknown")
    return ctx.metadata_hash


CHECK_NON_ZERO_SENDER = SignedExtension("CheckNonZeroSender")
CHECK_SPEC_VERSION = SignedExtension("CheckSpecVersion", None, U32, _spec_version)
CHECK_TX_VERSION = SignedExtension("CheckTxVersion", None, U32, _tx_version)
CHECK_GENESIS = SignedExtension("CheckGenesis", None, H256, _genesis)
CHECK_MORTALITY = SignedExtension("CheckMortality", ERA, H256, _mortality)
#: ``CheckNonce(#[codec(compact)] Nonce)`` with ``Nonce = u32``.
CHECK_NONCE = SignedExtension("CheckNonce", CompactU32)
CHECK_WEIGHT = SignedExtension("CheckWeight")
#: ``ChargeTransactionPayment(#[codec(compact)] tip: u128)``.
CHARGE_TRANSACTION_PAYMENT = SignedExtension("ChargeTransactionPayment", Compact)
CHECK_METADATA_HASH = SignedExtension(
    "CheckMetadataHash", CEnum(MetadataHashMode), Option(H256), _metadata_hash
)

#: FRAME's usual signed extensions, in order (node template, Polkadot without the optional ones).
STANDARD_EXTENSIONS: tuple[SignedExtension, ...] = (
    CHECK_NON_ZERO_SENDER,
    CHECK_SPEC_VERSION,
    CHECK_TX_VERSION,
    CHECK_GENESIS,
    CHECK_MORTALITY,
    CHECK_NONCE,
    CHECK_WEIGHT,
    CHARGE_TRANSACTION_PAYMENT,
)
#: The standard list followed by ``CheckMetadataHash`` (e.g. Polkadot runtime 1002005).
STANDARD_EXTENSIONS_WITH_METADATA_HASH: tuple[SignedExtension, ...] = STANDARD_EXTENSIONS + (
    CHECK_METADATA_HASH,
)


def _check_extensions(extensions: Sequence[SignedExtension]) -> None:
    seen: set[str] = set()
    for ext in extensions:
        if not isinstance(ext, SignedExtension):
            raise ExtrinsicError(f"not a SignedExtension: {ext!r:.60}")
        if ext.identifier in seen:
            raise ExtrinsicError(f"signed extension {ext.identifier} is declared twice")
        seen.add(ext.identifier)


def encode_extra(extensions: Sequence[SignedExtension], extra: Mapping[str, Any]) -> bytes:
    """The ``extra`` bytes: each extension's extra value, in declaration order."""
    out = bytearray()
    for ext in extensions:
        if ext.extra is None:
            continue
        if ext.identifier not in extra:
            raise ExtrinsicEncodeError(f"no extra value given for {ext.identifier}")
        try:
            ext.extra.encode_into(extra[ext.identifier], out)
        except ScaleEncodeError as exc:
            raise ExtrinsicEncodeError(f"{ext.identifier} extra data: {exc}") from None
    return bytes(out)


def encode_additional_signed(
    extensions: Sequence[SignedExtension], extra: Mapping[str, Any], ctx: SigningContext
) -> bytes:
    """The ``additional_signed`` bytes: each extension's additional data, in declaration order."""
    out = bytearray()
    for ext in extensions:
        if ext.additional is None or ext.additional_signed is None:
            continue
        value = ext.additional_signed(ctx, extra.get(ext.identifier))
        try:
            ext.additional.encode_into(value, out)
        except ScaleEncodeError as exc:
            raise ExtrinsicEncodeError(f"{ext.identifier} additional signed data: {exc}") from None
    return bytes(out)


def signing_payload(
    call: bytes,
    extra: Mapping[str, Any],
    ctx: SigningContext,
    extensions: Sequence[SignedExtension] = STANDARD_EXTENSIONS,
) -> bytes:
    """``SignedPayload`` encoding: ``call ++ extra ++ additional_signed`` (not yet hashed)."""
    return (
        bytes(call)
        + encode_extra(extensions, extra)
        + encode_additional_signed(extensions, extra, ctx)
    )


def signing_message(payload: bytes) -> bytes:
    """The bytes actually signed: the payload, or blake2b-256 of it when over 256 bytes."""
    if len(payload) > MAX_UNHASHED_PAYLOAD:
        return blake2_256(payload)
    return payload


# -------------------------------------------------------------------------------------- extrinsic


class Signer(Protocol):
    """What signing needs from a key pair (``pychain.primitives.keys.Keypair`` fits)."""

    @property
    def scheme(self) -> str: ...

    @property
    def account_id(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class ExtrinsicSignature:
    """The signature part of a signed extrinsic: sender, signature and extra data (keyed by
    extension identifier; only extensions that carry extra data appear)."""

    address: MultiAddress
    signature: MultiSignature
    extra: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class UncheckedExtrinsic:
    """``sp_runtime::generic::UncheckedExtrinsic`` (v4) with the call as raw bytes.

    ``extensions`` is the runtime's signed-extension list that gives ``extra`` its format; it
    takes no part in equality.
    """

    call: bytes
    signature: ExtrinsicSignature | None = None
    extensions: tuple[SignedExtension, ...] = field(
        default=STANDARD_EXTENSIONS, compare=False, repr=False
    )

    # ------------------------------------------------------------------ accessors

    @property
    def is_signed(self) -> bool:
        return self.signature is not None

    def _extra(self, identifier: str) -> Any:
        if self.signature is None:
            return None
        return self.signature.extra.get(identifier)

    @property
    def era(self) -> Era | None:
        """The ``CheckMortality`` era (``None`` for a bare extrinsic)."""
        value: Era | None = self._extra(CHECK_MORTALITY.identifier)
        return value

    @property
    def nonce(self) -> int | None:
        value: int | None = self._extra(CHECK_NONCE.identifier)
        return value

    @property
    def tip(self) -> int | None:
        value: int | None = self._extra(CHARGE_TRANSACTION_PAYMENT.identifier)
        return value

    @property
    def metadata_hash_mode(self) -> MetadataHashMode | None:
        value: MetadataHashMode | None = self._extra(CHECK_METADATA_HASH.identifier)
        return value

    @property
    def signer(self) -> bytes | None:
        """The signer's account id, when the address is ``MultiAddress::Id``."""
        if self.signature is None:
            return None
        return signer_account_id(self.signature.address)

    # ------------------------------------------------------------------ encoding

    def encode_inner(self) -> bytes:
        """The encoding without the compact length prefix."""
        if len(self.call) < MIN_CALL_LEN:
            raise ExtrinsicEncodeError(f"a call is at least {MIN_CALL_LEN} bytes")
        out = bytearray()
        if self.signature is None:
            out.append(EXTRINSIC_FORMAT_VERSION)
        else:
            out.append(EXTRINSIC_FORMAT_VERSION | SIGNED_FLAG)
            MULTI_ADDRESS.encode_into(self.signature.address, out)
            MULTI_SIGNATURE.encode_into(self.signature.signature, out)
            out += encode_extra(self.extensions, self.signature.extra)
        out += self.call
        return bytes(out)

    def encode(self) -> bytes:
        """The opaque encoding (compact length ++ inner), as in a block body."""
        inner = self.encode_inner()
        return encode_compact(len(inner)) + inner

    def hash(self) -> bytes:
        """The extrinsic hash: blake2b-256 of :meth:`encode`."""
        return blake2_256(self.encode())

    def signing_payload(self, ctx: SigningContext) -> bytes:
        """The (unhashed) ``SignedPayload`` this extrinsic's signature should cover."""
        if self.signature is None:
            raise ExtrinsicError("a bare extrinsic has no signing payload")
        return signing_payload(self.call, self.signature.extra, ctx, self.extensions)

    # ------------------------------------------------------------------ decoding

    @classmethod
    def decode_at(
        cls,
        data: bytes,
        pos: int = 0,
        extensions: Sequence[SignedExtension] = STANDARD_EXTENSIONS,
    ) -> tuple[UncheckedExtrinsic, int]:
        """Decode one length-prefixed extrinsic at ``pos``; returns ``(extrinsic, end)``."""
        exts = tuple(extensions)
        _check_extensions(exts)
        try:
            length, start = decode_compact(data, pos, 32)
        except ScaleDecodeError as exc:
            raise ExtrinsicDecodeError(f"extrinsic length: {exc.reason}", exc.offset) from None
        end = start + length
        if end > len(data):
            raise ExtrinsicDecodeError(
                f"extrinsic declares {length} byte(s) but {len(data) - start} remain", pos
            )
        inner = bytes(data[start:end])
        try:
            extrinsic = cls._decode_inner(inner, exts)
        except ExtrinsicDecodeError as exc:
            raise type(exc)(exc.reason, start + exc.offset) from None
        except ScaleDecodeError as exc:
            raise ExtrinsicDecodeError(exc.reason, start + exc.offset) from None
        return extrinsic, end

    @classmethod
    def decode(
        cls,
        data: bytes | bytearray | memoryview,
        extensions: Sequence[SignedExtension] = STANDARD_EXTENSIONS,
    ) -> UncheckedExtrinsic:
        """Decode exactly one length-prefixed extrinsic (trailing bytes are an error)."""
        raw = bytes(data)
        extrinsic, end = cls.decode_at(raw, 0, extensions)
        if end != len(raw):
            raise ExtrinsicDecodeError(f"{len(raw) - end} trailing byte(s) after extrinsic", end)
        return extrinsic

    @classmethod
    def _decode_inner(
        cls, inner: bytes, extensions: tuple[SignedExtension, ...]
    ) -> UncheckedExtrinsic:
        if not inner:
            raise ExtrinsicDecodeError("empty extrinsic (no version byte)", 0)
        version = inner[0]
        # Verify the format version is 4 (signed or bare).
        if version & ~SIGNED_FLAG != EXTRINSIC_FORMAT_VERSION:
            raise UnsupportedExtrinsicVersion(
                f"unsupported extrinsic version byte 0x{version:02x} (expected 0x04 or 0x84)", 0
            )
        pos = 1
        signature: ExtrinsicSignature | None = None
        if version & SIGNED_FLAG:
            address, pos = MULTI_ADDRESS.decode_at(inner, pos)
            multi_signature, pos = MULTI_SIGNATURE.decode_at(inner, pos)
            extra: dict[str, Any] = {}
            for ext in extensions:
                if ext.extra is not None:
                    extra[ext.identifier], pos = ext.extra.decode_at(inner, pos)
            signature = ExtrinsicSignature(address, multi_signature, extra)
        # Verify a call (pallet index and call index at least) follows.
        if len(inner) - pos < MIN_CALL_LEN:
            raise ExtrinsicDecodeError(
                f"call too short: {len(inner) - pos} byte(s), at least {MIN_CALL_LEN} needed", pos
            )
        return cls(inner[pos:], signature, extensions)


def signer_account_id(address: MultiAddress) -> bytes | None:
    """The account id a signature is checked against: only ``MultiAddress::Id`` resolves."""
    if isinstance(address, AddressId):
        return address.account_id
    return None


def decode_extrinsic(
    data: bytes | bytearray | memoryview,
    extensions: Sequence[SignedExtension] = STANDARD_EXTENSIONS,
) -> UncheckedExtrinsic:
    """Decode one length-prefixed v4 extrinsic (see :meth:`UncheckedExtrinsic.decode`)."""
    return UncheckedExtrinsic.decode(data, extensions)


def sign_extrinsic(
    keypair: Signer,
    call: bytes,
    nonce: int,
    era: Era,
    tip: int,
    genesis_hash: bytes,
    spec_version: int,
    tx_version: int,
    birth_hash: bytes | None = None,
    metadata_hash: bytes | None = None,
    extensions: Sequence[SignedExtension] = STANDARD_EXTENSIONS,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """Build and sign a v4 extrinsic; returns its opaque (length-prefixed) encoding.

    The sender is ``MultiAddress::Id(keypair.account_id)`` and the signature variant follows
    ``keypair.scheme``. ``birth_hash`` is the hash of ``era``'s birth block (required for a mortal
    era). When ``extensions`` contains ``CheckMetadataHash`` its mode is ``ENABLED`` if
    ``metadata_hash`` is given and ``DISABLED`` otherwise. ``extra`` supplies the values of any
    further (runtime-specific) extensions that carry extra data.
    """
    exts = tuple(extensions)
    _check_extensions(exts)
    identifiers = {ext.identifier for ext in exts}
    if metadata_hash is not None and CHECK_METADATA_HASH.identifier not in identifiers:
        raise ExtrinsicEncodeError(
            "a metadata hash was given but CheckMetadataHash is not declared"
        )
    variant = SIGNATURE_VARIANTS.get(keypair.scheme)
    if variant is None:
        raise ExtrinsicEncodeError(f"unknown signature scheme {keypair.scheme!r}")
    values: dict[str, Any] = dict(extra or {})
    values[CHECK_MORTALITY.identifier] = era
    values[CHECK_NONCE.identifier] = nonce
    values[CHARGE_TRANSACTION_PAYMENT.identifier] = tip
    values[CHECK_METADATA_HASH.identifier] = (
        MetadataHashMode.DISABLED if metadata_hash is None else MetadataHashMode.ENABLED
    )
    values = {
        ext.identifier: values[ext.identifier]
        for ext in exts
        if ext.extra is not None and ext.identifier in values
    }
    ctx = SigningContext(spec_version, tx_version, genesis_hash, birth_hash, metadata_hash)
    payload = signing_payload(call, values, ctx, exts)
    signature = variant(keypair.sign(signing_message(payload)))
    extrinsic = UncheckedExtrinsic(
        bytes(call), ExtrinsicSignature(AddressId(keypair.account_id), signature, values), exts
    )
    return extrinsic.encode()


def verify_signature(extrinsic: UncheckedExtrinsic, ctx: SigningContext) -> bool:
    """Check a signed extrinsic's signature against the payload built with ``ctx``.

    Returns ``False`` for a wrong signature or an address that does not resolve to an account id
    (anything but ``MultiAddress::Id``). Raises :class:`MissingSigningContext` when ``ctx`` lacks
    what the payload needs (the birth block hash of a mortal era), and :class:`ExtrinsicError` for
    a bare extrinsic. For ecdsa the account id is blake2b-256 of the compressed public key, which
    is recovered from the signature.
    """
    if extrinsic.signature is None:
        raise ExtrinsicError("a bare extrinsic carries no signature to verify")
    account_id = signer_account_id(extrinsic.signature.address)
    message = signing_message(extrinsic.signing_payload(ctx))
    if account_id is None:
        return False
    sig = extrinsic.signature.signature
    try:
        return bool(keys.verify_signature(sig.scheme, account_id, message, sig.signature))
    except PychainError:
        return False
