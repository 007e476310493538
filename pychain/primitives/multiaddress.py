"""``MultiAddress`` and ``MultiSignature``: the sender and signature of a signed extrinsic.

Mirrors ``sp_runtime::MultiAddress<AccountId32, AccountIndex>`` (``multiaddress.rs``) and
``sp_runtime::MultiSignature`` (polkadot-sdk ``substrate/primitives/runtime/src/lib.rs``; Polkadot
specification, section "Extrinsics"). Both are SCALE enums with frozen variant indices:

=====  =====================  ==========================================
index  MultiAddress           MultiSignature
=====  =====================  ==========================================
0      ``Id([u8; 32])``       ``Ed25519([u8; 64])``
1      ``Index(Compact<u32>)`` ``Sr25519([u8; 64])``
2      ``Raw(Vec<u8>)``       ``Ecdsa([u8; 65])`` (r, s, recovery id)
3      ``Address32([u8; 32])``
4      ``Address20([u8; 20])``
=====  =====================  ==========================================

All five address variants decode; signing and signature verification use ``Id`` (FRAME's
``AccountIdLookup`` resolves only ``Id`` without an indices pallet). ``Index`` is decoded as
``Compact<u32>``, the account-index type of the Polkadot relay chain (runtimes that use
``AccountIndex = ()`` never emit that variant).

Differences from Substrate: each variant is a small frozen dataclass (a :class:`Struct`), the enum
codecs are :data:`MULTI_ADDRESS` and :data:`MULTI_SIGNATURE`, and the type aliases
:data:`MultiAddress` / :data:`MultiSignature` name the union of the variants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from pychain.primitives.scale import H256, H512, Bytes, CompactU32, Enum, FixedBytes, Struct

__all__ = [
    "AddressId",
    "AddressIndex",
    "AddressRaw",
    "Address32",
    "Address20",
    "MultiAddress",
    "MULTI_ADDRESS",
    "Ed25519Signature",
    "Sr25519Signature",
    "EcdsaSignature",
    "MultiSignature",
    "MULTI_SIGNATURE",
    "SIGNATURE_VARIANTS",
]


# ----------------------------------------------------------------------------------- addresses


@dataclass(frozen=True)
class AddressId(Struct):
    """``MultiAddress::Id``: a 32-byte account id (the one variant used for signing)."""

    account_id: Annotated[bytes, H256]


@dataclass(frozen=True)
class AddressIndex(Struct):
    """``MultiAddress::Index``: an account index (pallet-indices), ``Compact<u32>``."""

    index: Annotated[int, CompactU32]


@dataclass(frozen=True)
class AddressRaw(Struct):
    """``MultiAddress::Raw``: arbitrary address bytes."""

    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class Address32(Struct):
    """``MultiAddress::Address32``: a 32-byte address that is not (necessarily) an account id."""

    data: Annotated[bytes, H256]


@dataclass(frozen=True)
class Address20(Struct):
    """``MultiAddress::Address20``: a 20-byte (Ethereum-style) address."""

    data: Annotated[bytes, FixedBytes(20)]


MultiAddress = AddressId | AddressIndex | AddressRaw | Address32 | Address20

#: SCALE codec of ``MultiAddress<AccountId32, Compact<u32>>``.
MULTI_ADDRESS = Enum(
    "MultiAddress",
    {0: AddressId, 1: AddressIndex, 2: AddressRaw, 3: Address32, 4: Address20},
    names={0: "Id", 1: "Index", 2: "Raw", 3: "Address32", 4: "Address20"},
)


# ---------------------------------------------------------------------------------- signatures


@dataclass(frozen=True)
class Ed25519Signature(Struct):
    """``MultiSignature::Ed25519``: a 64-byte ed25519 signature."""

    scheme: ClassVar[str] = "ed25519"
    signature: Annotated[bytes, H512]


@dataclass(frozen=True)
class Sr25519Signature(Struct):
    """``MultiSignature::Sr25519``: a 64-byte schnorrkel signature."""

    scheme: ClassVar[str] = "sr25519"
    signature: Annotated[bytes, H512]


@dataclass(frozen=True)
class EcdsaSignature(Struct):
    """``MultiSignature::Ecdsa``: a 65-byte secp256k1 signature (r ++ s ++ recovery id) over
    blake2b-256 of the message."""

    scheme: ClassVar[str] = "ecdsa"
    signature: Annotated[bytes, FixedBytes(65)]


MultiSignature = Ed25519Signature | Sr25519Signature | EcdsaSignature

#: SCALE codec of ``MultiSignature``.
MULTI_SIGNATURE = Enum(
    "MultiSignature",
    {0: Ed25519Signature, 1: Sr25519Signature, 2: EcdsaSignature},
    names={0: "Ed25519", 1: "Sr25519", 2: "Ecdsa"},
)

#: The ``MultiSignature`` variant of each signature scheme name.
SIGNATURE_VARIANTS: dict[
    str, type[Ed25519Signature] | type[Sr25519Signature] | type[EcdsaSignature]
] = {
    "ed25519": Ed25519Signature,
    "sr25519": Sr25519Signature,
    "ecdsa": EcdsaSignature,
}
