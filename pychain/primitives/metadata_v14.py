"""Runtime metadata V14: the data structures, declared with pychain's SCALE codec.

Mirrors ``frame-metadata`` 16 ``RuntimeMetadataV14`` (``frame-metadata/src/v14.rs``) and the
portable type registry of ``scale-info`` 2 (``scale-info/src/{portable,ty/mod,ty/fields,
ty/variant}.rs``); the Polkadot specification describes the format in its appendix "Runtime
metadata" (``Metadata_metadata``). What ``state_getMetadata`` returns is a *prefixed* metadata::

    0x6d657461 ("meta")  ++  version u8 (14 = 0x0e)  ++  SCALE(RuntimeMetadataV14)

and the runtime API ``Metadata_metadata`` returns the same bytes wrapped once more as an
``OpaqueMetadata`` (``Vec<u8>``: compact length prefix). :func:`decode_metadata` reads the former,
:func:`encode_metadata` writes it, and every accepted input re-encodes to identical bytes.

Differences from frame-metadata: only version 14 is decoded (other versions raise
:class:`UnsupportedMetadataVersion`); the types are frozen dataclasses whose field names follow
the Rust ones (``type`` is spelled ``ty`` where Python needs it, as frame-metadata does).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Annotated, Any

from pychain.errors import PychainError
from pychain.primitives.scale import (
    U8,
    U32,
    Bytes,
    CEnum,
    CompactU32,
    Enum,
    Option,
    ScaleDecodeError,
    Str,
    Struct,
    Vec,
)

__all__ = [
    "METADATA_MAGIC",
    "METADATA_VERSION_V14",
    "MetadataError",
    "MetadataDecodeError",
    "UnsupportedMetadataVersion",
    "TypeParameter",
    "Field",
    "Variant",
    "TypeDefComposite",
    "TypeDefVariant",
    "TypeDefSequence",
    "TypeDefArray",
    "TypeDefTuple",
    "TypeDefPrimitive",
    "TypeDefCompact",
    "TypeDefBitSequence",
    "TypeDef",
    "Primitive",
    "PortableTypeDef",
    "Type",
    "TypeId",
    "PortableType",
    "PortableRegistry",
    "StorageEntryModifier",
    "StorageHasher",
    "StorageEntryTypePlain",
    "StorageEntryTypeMap",
    "StorageEntryType",
    "StorageEntryMetadata",
    "PalletStorageMetadata",
    "PalletCallMetadata",
    "PalletEventMetadata",
    "PalletConstantMetadata",
    "PalletErrorMetadata",
    "PalletMetadata",
    "SignedExtensionMetadata",
    "ExtrinsicMetadata",
    "RuntimeMetadataV14",
    "decode_metadata",
    "encode_metadata",
    "opaque_metadata",
    "decode_opaque_metadata",
]

#: ``META_RESERVED``: the four bytes "meta" that open every prefixed metadata (frame-metadata).
METADATA_MAGIC = b"meta"
#: The version byte of ``RuntimeMetadata::V14``.
METADATA_VERSION_V14 = 14


class MetadataError(PychainError):
    """Root of the errors about runtime metadata."""


class MetadataDecodeError(MetadataError, ScaleDecodeError):
    """Bytes that are not a prefixed V14 metadata (bad magic, truncated, trailing bytes…)."""


class UnsupportedMetadataVersion(MetadataDecodeError):
    """The magic is right but the version byte is not 14."""


# ----------------------------------------------------------------------------- type registry

#: ``Compact<u32>`` type id, as every reference to another type in the registry is encoded.
TypeId = CompactU32
Docs = Vec(Str)


@dataclass(frozen=True)
class TypeParameter(Struct):
    """``TypeParameter { name, ty: Option<TypeId> }`` (``None``: the parameter is erased)."""

    name: Annotated[str, Str]
    ty: Annotated[int | None, Option(TypeId)]


@dataclass(frozen=True)
class Field(Struct):
    """``Field { name: Option<String>, ty, type_name: Option<String>, docs }``."""

    name: Annotated[str | None, Option(Str)]
    ty: Annotated[int, TypeId]
    type_name: Annotated[str | None, Option(Str)]
    docs: Annotated[list[str], Docs] = field(default_factory=list)


Fields = Vec(Field.codec())


@dataclass(frozen=True)
class Variant(Struct):
    """``Variant { name, fields, index: u8, docs }``."""

    name: Annotated[str, Str]
    fields: Annotated[list[Field], Fields]
    index: Annotated[int, U8]
    docs: Annotated[list[str], Docs] = field(default_factory=list)


class Primitive(enum.IntEnum):
    """``TypeDefPrimitive`` (index order of scale-info)."""

    Bool = 0
    Char = 1
    Str = 2
    U8 = 3
    U16 = 4
    U32 = 5
    U64 = 6
    U128 = 7
    U256 = 8
    I8 = 9
    I16 = 10
    I32 = 11
    I64 = 12
    I128 = 13
    I256 = 14


@dataclass(frozen=True)
class TypeDefComposite(Struct):
    """A struct (named fields) or tuple struct (unnamed fields)."""

    fields: Annotated[list[Field], Fields]


@dataclass(frozen=True)
class TypeDefVariant(Struct):
    """An enum."""

    variants: Annotated[list[Variant], Vec(Variant.codec())]


@dataclass(frozen=True)
class TypeDefSequence(Struct):
    """``Vec<T>`` (and any compact-length-prefixed sequence)."""

    ty: Annotated[int, TypeId]


@dataclass(frozen=True)
class TypeDefArray(Struct):
    """``[T; len]``."""

    len: Annotated[int, U32]
    ty: Annotated[int, TypeId]


@dataclass(frozen=True)
class TypeDefTuple(Struct):
    """``(A, B, …)``; the empty tuple is ``()``."""

    fields: Annotated[list[int], Vec(TypeId)]


@dataclass(frozen=True)
class TypeDefPrimitive(Struct):
    """A primitive type."""

    primitive: Annotated[Primitive, CEnum(Primitive)]


@dataclass(frozen=True)
class TypeDefCompact(Struct):
    """``Compact<T>``."""

    ty: Annotated[int, TypeId]


@dataclass(frozen=True)
class TypeDefBitSequence(Struct):
    """``BitVec<Store, Order>``."""

    bit_store_type: Annotated[int, TypeId]
    bit_order_type: Annotated[int, TypeId]


#: ``TypeDef``: the shape of a type.
PortableTypeDef = Enum(
    "TypeDef",
    {
        0: TypeDefComposite,
        1: TypeDefVariant,
        2: TypeDefSequence,
        3: TypeDefArray,
        4: TypeDefTuple,
        5: TypeDefPrimitive,
        6: TypeDefCompact,
        7: TypeDefBitSequence,
    },
    names={
        0: "Composite",
        1: "Variant",
        2: "Sequence",
        3: "Array",
        4: "Tuple",
        5: "Primitive",
        6: "Compact",
        7: "BitSequence",
    },
)

TypeDef = (
    TypeDefComposite
    | TypeDefVariant
    | TypeDefSequence
    | TypeDefArray
    | TypeDefTuple
    | TypeDefPrimitive
    | TypeDefCompact
    | TypeDefBitSequence
)


@dataclass(frozen=True)
class Type(Struct):
    """``Type { path: Path (Vec<String>), type_params, type_def, docs }``."""

    path: Annotated[list[str], Vec(Str)]
    type_params: Annotated[list[TypeParameter], Vec(TypeParameter.codec())]
    type_def: Annotated[Any, PortableTypeDef]
    docs: Annotated[list[str], Docs] = field(default_factory=list)


@dataclass(frozen=True)
class PortableType(Struct):
    """``PortableType { id: Compact<u32>, ty: Type }``."""

    id: Annotated[int, TypeId]
    ty: Type


@dataclass(frozen=True)
class PortableRegistry(Struct):
    """``PortableRegistry { types: Vec<PortableType> }`` (ids are 0, 1, 2 … in order)."""

    types: Annotated[list[PortableType], Vec(PortableType.codec())]

    def get(self, type_id: int) -> Type:
        """The type with id ``type_id`` (:class:`MetadataError` if absent)."""
        if 0 <= type_id < len(self.types) and self.types[type_id].id == type_id:
            return self.types[type_id].ty
        for portable in self.types:
            if portable.id == type_id:
                return portable.ty
        raise MetadataError(f"no type with id {type_id} in the registry")

    def by_path(self, *path: str) -> list[tuple[int, Type]]:
        """Every ``(id, type)`` whose path is exactly ``path`` (``"a::b::C"`` parts)."""
        wanted = list(path)
        return [(p.id, p.ty) for p in self.types if p.ty.path == wanted]


# ----------------------------------------------------------------------------------- pallets


class StorageEntryModifier(enum.IntEnum):
    """``Optional``: an absent value reads as ``None``; ``Default``: as the entry's default."""

    Optional = 0
    Default = 1


class StorageHasher(enum.IntEnum):
    """``StorageHasher`` (the names match :data:`pychain.primitives.hashing.HASHERS`)."""

    Blake2_128 = 0
    Blake2_256 = 1
    Blake2_128Concat = 2
    Twox128 = 3
    Twox256 = 4
    Twox64Concat = 5
    Identity = 6


@dataclass(frozen=True)
class StorageEntryTypePlain(Struct):
    """``StorageEntryType::Plain(TypeId)``: a ``StorageValue``."""

    value: Annotated[int, TypeId]


@dataclass(frozen=True)
class StorageEntryTypeMap(Struct):
    """``StorageEntryType::Map { hashers, key, value }``; ``key`` is a tuple for n > 1 keys."""

    hashers: Annotated[list[StorageHasher], Vec(CEnum(StorageHasher))]
    key: Annotated[int, TypeId]
    value: Annotated[int, TypeId]


StorageEntryType = Enum(
    "StorageEntryType",
    {0: StorageEntryTypePlain, 1: StorageEntryTypeMap},
    names={0: "Plain", 1: "Map"},
)


@dataclass(frozen=True)
class StorageEntryMetadata(Struct):
    """``StorageEntryMetadata { name, modifier, ty, default: Vec<u8>, docs }``."""

    name: Annotated[str, Str]
    modifier: Annotated[StorageEntryModifier, CEnum(StorageEntryModifier)]
    ty: Annotated[Any, StorageEntryType]
    default: Annotated[bytes, Bytes]
    docs: Annotated[list[str], Docs] = field(default_factory=list)


@dataclass(frozen=True)
class PalletStorageMetadata(Struct):
    """``PalletStorageMetadata { prefix, entries }``."""

    prefix: Annotated[str, Str]
    entries: Annotated[list[StorageEntryMetadata], Vec(StorageEntryMetadata.codec())]


@dataclass(frozen=True)
class PalletCallMetadata(Struct):
    """The pallet's ``Call`` enum type."""

    ty: Annotated[int, TypeId]


@dataclass(frozen=True)
class PalletEventMetadata(Struct):
    """The pallet's ``Event`` enum type."""

    ty: Annotated[int, TypeId]


@dataclass(frozen=True)
class PalletConstantMetadata(Struct):
    """``PalletConstantMetadata { name, ty, value: Vec<u8>, docs }``."""

    name: Annotated[str, Str]
    ty: Annotated[int, TypeId]
    value: Annotated[bytes, Bytes]
    docs: Annotated[list[str], Docs] = field(default_factory=list)


@dataclass(frozen=True)
class PalletErrorMetadata(Struct):
    """The pallet's ``Error`` enum type."""

    ty: Annotated[int, TypeId]


@dataclass(frozen=True)
class PalletMetadata(Struct):
    """``PalletMetadata { name, storage, calls, event, constants, error, index }``."""

    name: Annotated[str, Str]
    storage: Annotated[PalletStorageMetadata | None, Option(PalletStorageMetadata.codec())]
    calls: Annotated[PalletCallMetadata | None, Option(PalletCallMetadata.codec())]
    event: Annotated[PalletEventMetadata | None, Option(PalletEventMetadata.codec())]
    constants: Annotated[list[PalletConstantMetadata], Vec(PalletConstantMetadata.codec())]
    error: Annotated[PalletErrorMetadata | None, Option(PalletErrorMetadata.codec())]
    index: Annotated[int, U8]


# --------------------------------------------------------------------------------- extrinsic


@dataclass(frozen=True)
class SignedExtensionMetadata(Struct):
    """``SignedExtensionMetadata { identifier, ty (extra), additional_signed }``."""

    identifier: Annotated[str, Str]
    ty: Annotated[int, TypeId]
    additional_signed: Annotated[int, TypeId]


@dataclass(frozen=True)
class ExtrinsicMetadata(Struct):
    """``ExtrinsicMetadata { ty (UncheckedExtrinsic), version: u8, signed_extensions }``."""

    ty: Annotated[int, TypeId]
    version: Annotated[int, U8]
    signed_extensions: Annotated[
        list[SignedExtensionMetadata], Vec(SignedExtensionMetadata.codec())
    ]


@dataclass(frozen=True)
class RuntimeMetadataV14(Struct):
    """``RuntimeMetadataV14 { types, pallets, extrinsic, ty (the Runtime type) }``."""

    types: PortableRegistry
    pallets: Annotated[list[PalletMetadata], Vec(PalletMetadata.codec())]
    extrinsic: ExtrinsicMetadata
    ty: Annotated[int, TypeId]

    def pallet(self, name: str) -> PalletMetadata:
        """The pallet called ``name`` (:class:`MetadataError` if absent)."""
        for pallet in self.pallets:
            if pallet.name == name:
                return pallet
        raise MetadataError(f"no pallet named {name!r} in the metadata")


# ------------------------------------------------------------------------------ entry points


def decode_metadata(data: bytes | bytearray | memoryview) -> RuntimeMetadataV14:
    """Decode a prefixed metadata (``"meta" ++ 0x0e ++ V14``), as ``state_getMetadata`` returns.

    Strict: the whole input must be consumed. Raises :class:`MetadataDecodeError` (bad magic,
    malformed body, trailing bytes) or :class:`UnsupportedMetadataVersion`.
    """
    raw = bytes(data)
    if len(raw) < len(METADATA_MAGIC) + 1 or raw[:4] != METADATA_MAGIC:
        raise MetadataDecodeError("metadata does not start with the magic 0x6d657461 ('meta')", 0)
    if raw[4] != METADATA_VERSION_V14:
        raise UnsupportedMetadataVersion(
            f"metadata version {raw[4]} is not supported (only V14)", 4
        )
    try:
        return RuntimeMetadataV14.codec().decode(raw[5:])
    except MetadataDecodeError:
        raise
    except ScaleDecodeError as exc:
        raise MetadataDecodeError(f"malformed V14 metadata: {exc.reason}", exc.offset + 5) from None


def encode_metadata(metadata: RuntimeMetadataV14) -> bytes:
    """The prefixed encoding ``"meta" ++ 0x0e ++ SCALE(metadata)``."""
    return METADATA_MAGIC + bytes([METADATA_VERSION_V14]) + metadata.encode()


def opaque_metadata(prefixed: bytes) -> bytes:
    """``OpaqueMetadata``: what the ``Metadata_metadata`` runtime API returns (``Vec<u8>``)."""
    return Bytes.encode(prefixed)


def decode_opaque_metadata(data: bytes | bytearray | memoryview) -> RuntimeMetadataV14:
    """Decode the answer of ``Metadata_metadata`` (a ``Vec<u8>`` holding a prefixed metadata)."""
    try:
        inner = Bytes.decode(data)
    except ScaleDecodeError as exc:
        raise MetadataDecodeError(f"malformed OpaqueMetadata: {exc.reason}", exc.offset) from None
    return decode_metadata(inner)
