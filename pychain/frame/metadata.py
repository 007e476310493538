"""Runtime metadata V14 generation: what ``state_getMetadata`` and ``Metadata_metadata`` return.

Mirrors ``frame_support``'s metadata expansion of ``construct_runtime!`` (``Runtime::metadata()``,
frame-metadata ``RuntimeMetadataV14``; Polkadot specification, appendix "Runtime metadata").
:func:`build_metadata` walks a :class:`~pychain.frame.runtime.Runtime` (pallets in index order,
with their storage items, calls, events, errors and constants) and the runtime's signed
extensions, builds the portable type registry from pychain's codec objects (see
:mod:`pychain.frame.type_info`) and returns ``"meta" ++ 0x0e ++ SCALE(RuntimeMetadataV14)``;
:func:`metadata_api_response` wraps it as the runtime API's ``OpaqueMetadata`` (``Vec<u8>``).

Types carry the Substrate paths that clients map to their own types:
``sp_core::crypto::AccountId32``, ``sp_runtime::multiaddress::MultiAddress``,
``sp_runtime::MultiSignature``, ``sp_runtime::generic::era::Era`` (a variant enum
``Immortal | Mortal1(u8) … Mortal255(u8)``, as scale-info describes it), ``<crate>::RuntimeCall``
and ``RuntimeEvent``, ``frame_system::EventRecord``, the extrinsic type
``sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic<Address, Call, Signature, Extra>``
and per-pallet ``<pallet crate>::pallet::{Call, Event, Error}``. This module registers the type
information of the framework, the System pallet and the primitives; other pallets declare theirs
with :func:`pychain.frame.type_info.register_type_info` or a ``__scale_path__`` class attribute
(and should use ``pychain.pallets.system.types.AccountId`` for account ids, which is described as
``AccountId32``).

Differences from FRAME: ``MultiAddress`` declares ``AccountIndex = u32`` (pychain decodes
``Index`` as ``Compact<u32>``, as scalecodec does); ``System.Events`` is added to System's storage
entries (pychain's System appends to that key without a declared item); a pallet's crate name
comes from its ``metadata_crate`` class attribute, else :data:`KNOWN_PALLET_CRATES`, else
``pallet_<snake_case name>``; docs are those of the Python code (call docstrings, storage docs).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from pychain.frame.dispatch import (
    ArithmeticError as SpArithmeticError,
)
from pychain.frame.dispatch import (
    DEArithmetic,
    DEToken,
    DETransactional,
    DispatchErrorCodec,
    ModuleError,
    TokenError,
    TransactionalError,
)
from pychain.frame.pallet import CallDef, Constant, Pallet
from pychain.frame.runtime import ApplyExtrinsic, Phase, Runtime
from pychain.frame.storage import CountedStorageMap, StorageItem, StorageNMap
from pychain.frame.type_info import (
    RegistryBuilder,
    TypeInfo,
    TypeInfoError,
    register_type_info,
    rust_type_name,
)
from pychain.frame.weights import (
    DispatchClass,
    DispatchInfo,
    Pays,
    RuntimeDispatchInfo,
    Weight,
)
from pychain.pallets.system.types import AccountData, AccountId, AccountInfo, PerDispatchClassWeight
from pychain.primitives.era import ERA
from pychain.primitives.extrinsic import (
    EXTRINSIC_FORMAT_VERSION,
    MetadataHashMode,
    SignedExtension,
)
from pychain.primitives.header import (
    Consensus,
    Digest,
    DigestItem,
    Header,
    Other,
    PreRuntime,
    Seal,
)
from pychain.primitives.metadata_v14 import (
    ExtrinsicMetadata,
    Field,
    PalletCallMetadata,
    PalletConstantMetadata,
    PalletErrorMetadata,
    PalletEventMetadata,
    PalletMetadata,
    PalletStorageMetadata,
    RuntimeMetadataV14,
    SignedExtensionMetadata,
    StorageEntryMetadata,
    StorageEntryModifier,
    StorageEntryTypeMap,
    StorageEntryTypePlain,
    StorageHasher,
    Type,
    TypeDefComposite,
    TypeDefTuple,
    TypeDefVariant,
    TypeParameter,
    Variant,
    encode_metadata,
    opaque_metadata,
)
from pychain.primitives.multiaddress import MULTI_ADDRESS, MULTI_SIGNATURE
from pychain.primitives.scale import (
    H256,
    H512,
    U8,
    U32,
    U128,
    Bytes,
    CompactU32,
    FixedBytes,
    ScaleEncodeError,
    Tuple,
    Vec,
)

__all__ = [
    "MetadataBuildError",
    "KNOWN_PALLET_CRATES",
    "EXTENSION_PATHS",
    "build_metadata",
    "build_metadata_v14",
    "metadata_api_response",
    "pallet_crate",
    "runtime_crate",
]


class MetadataBuildError(TypeInfoError):
    """The runtime cannot be described as V14 metadata (an undescribable codec, a bad name…)."""


#: Crate names of FRAME pallets, by pallet name (their metadata paths start with these).
KNOWN_PALLET_CRATES = {
    "System": "frame_system",
    "Timestamp": "pallet_timestamp",
    "Aura": "pallet_aura",
    "Babe": "pallet_babe",
    "Grandpa": "pallet_grandpa",
    "Balances": "pallet_balances",
    "TransactionPayment": "pallet_transaction_payment",
    "Sudo": "pallet_sudo",
    "Session": "pallet_session",
    "Staking": "pallet_staking",
    "Utility": "pallet_utility",
    "Collective": "pallet_collective",
    "Council": "pallet_collective",
    "Treasury": "pallet_treasury",
    "Authorship": "pallet_authorship",
}

#: Metadata paths of the standard signed extensions, by identifier.
EXTENSION_PATHS = {
    "CheckNonZeroSender": (
        "frame_system",
        "extensions",
        "check_non_zero_sender",
        "CheckNonZeroSender",
    ),
    "CheckSpecVersion": ("frame_system", "extensions", "check_spec_version", "CheckSpecVersion"),
    "CheckTxVersion": ("frame_system", "extensions", "check_tx_version", "CheckTxVersion"),
    "CheckGenesis": ("frame_system", "extensions", "check_genesis", "CheckGenesis"),
    "CheckMortality": ("frame_system", "extensions", "check_mortality", "CheckMortality"),
    "CheckNonce": ("frame_system", "extensions", "check_nonce", "CheckNonce"),
    "CheckWeight": ("frame_system", "extensions", "check_weight", "CheckWeight"),
    "ChargeTransactionPayment": ("pallet_transaction_payment", "ChargeTransactionPayment"),
    "CheckMetadataHash": ("frame_metadata_hash_extension", "CheckMetadataHash"),
}

_ERASED_T = (("T", None),)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def pallet_crate(pallet: Pallet) -> str:
    """The crate name of ``pallet``'s metadata paths (``frame_system``, ``pallet_balances`` …)."""
    explicit = getattr(type(pallet), "metadata_crate", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    return KNOWN_PALLET_CRATES.get(pallet.name, f"pallet_{_snake(pallet.name)}")


def runtime_crate(runtime: Runtime) -> str:
    """``<spec_name>_runtime`` (``node_template_runtime``…), from System's runtime version."""
    version = getattr(runtime.system.config, "version", None)
    spec_name = getattr(version, "spec_name", "") or "pychain"
    crate = re.sub(r"[^0-9A-Za-z_]", "_", str(spec_name)).lower()
    return crate if crate.endswith("_runtime") else f"{crate}_runtime"


# ------------------------------------------------------------------ well-known types (scale-info)

#: ``sp_core::crypto::AccountId32``: a newtype of ``[u8; 32]``.
_ACCOUNT_ID32 = ("sp_core", "crypto", "AccountId32")


def _newtype(path: tuple[str, ...], inner: Any, type_name: str) -> Any:
    def build(b: RegistryBuilder) -> Type:
        return Type(list(path), [], TypeDefComposite([Field(None, b.type_id(inner), type_name)]))

    return build


def _era_type(b: RegistryBuilder) -> Type:
    """``Era`` as scale-info derives it: ``Immortal`` then ``MortalN(u8)`` for N in 1..=255
    (the first byte selects the variant, the second is its field)."""
    u8 = b.type_id(U8)
    variants = [Variant("Immortal", [], 0)]
    variants += [Variant(f"Mortal{i}", [Field(None, u8, None)], i) for i in range(1, 256)]
    return Type(["sp_runtime", "generic", "era", "Era"], [], TypeDefVariant(variants))


_ED25519_SIGNATURE = ("sp_core", "ed25519", "Signature")
_SR25519_SIGNATURE = ("sp_core", "sr25519", "Signature")
_ECDSA_SIGNATURE = ("sp_core", "ecdsa", "Signature")
_ED25519_SIG_CODEC = FixedBytes(64)
_SR25519_SIG_CODEC = FixedBytes(64)
_ECDSA_SIG_CODEC = FixedBytes(65)


def _multi_signature_type(b: RegistryBuilder) -> Type:
    variants = [
        Variant("Ed25519", [Field(None, b.type_id(_ED25519_SIG_CODEC), "ed25519::Signature")], 0),
        Variant("Sr25519", [Field(None, b.type_id(_SR25519_SIG_CODEC), "sr25519::Signature")], 1),
        Variant("Ecdsa", [Field(None, b.type_id(_ECDSA_SIG_CODEC), "ecdsa::Signature")], 2),
    ]
    return Type(["sp_runtime", "MultiSignature"], [], TypeDefVariant(variants))


def _multi_address_type(b: RegistryBuilder) -> Type:
    account = b.type_id(AccountId)
    index = b.type_id(U32)
    variants = [
        Variant("Id", [Field(None, account, "AccountId")], 0),
        Variant("Index", [Field(None, b.type_id(CompactU32), "AccountIndex")], 1),
        Variant("Raw", [Field(None, b.type_id(Bytes), "Vec<u8>")], 2),
        Variant("Address32", [Field(None, b.type_id(FixedBytes(32)), "[u8; 32]")], 3),
        Variant("Address20", [Field(None, b.type_id(FixedBytes(20)), "[u8; 20]")], 4),
    ]
    return Type(
        ["sp_runtime", "multiaddress", "MultiAddress"],
        [TypeParameter("AccountId", account), TypeParameter("AccountIndex", index)],
        TypeDefVariant(variants),
    )


def _digest_type(b: RegistryBuilder) -> Type:
    logs = b.type_id(Vec(DigestItem))
    return Type(
        ["sp_runtime", "generic", "digest", "Digest"],
        [],
        TypeDefComposite([Field("logs", logs, "Vec<DigestItem>")]),
    )


def _register_well_known() -> None:
    """Type information of the framework's, System's and the primitives' types."""
    reg = register_type_info
    reg(AccountId, TypeInfo(path=_ACCOUNT_ID32))
    reg(H256, TypeInfo(path=("primitive_types", "H256")))
    reg(
        Weight,
        TypeInfo(
            path=("sp_weights", "weight_v2", "Weight"),
            type_names={"ref_time": "u64", "proof_size": "u64"},
        ),
    )
    reg(DispatchClass, TypeInfo(path=("frame_support", "dispatch", "DispatchClass")))
    reg(Pays, TypeInfo(path=("frame_support", "dispatch", "Pays")))
    reg(
        DispatchInfo,
        TypeInfo(
            path=("frame_support", "dispatch", "DispatchInfo"),
            field_names={"dispatch_class": "class"},
            type_names={"weight": "Weight", "dispatch_class": "DispatchClass", "pays_fee": "Pays"},
        ),
    )
    reg(
        RuntimeDispatchInfo,
        TypeInfo(
            path=("pallet_transaction_payment", "types", "RuntimeDispatchInfo"),
            type_params=(("Balance", U128), ("Weight", Weight)),
            field_names={"dispatch_class": "class"},
            type_names={
                "weight": "Weight",
                "dispatch_class": "DispatchClass",
                "partial_fee": "Balance",
            },
        ),
    )
    reg(
        PerDispatchClassWeight,
        TypeInfo(
            path=("frame_support", "dispatch", "PerDispatchClass"),
            type_params=(("T", Weight),),
            type_names={"normal": "T", "operational": "T", "mandatory": "T"},
        ),
    )
    reg(
        AccountData,
        TypeInfo(
            path=("pallet_balances", "types", "AccountData"),
            type_params=(("Balance", U128),),
            type_names={
                "free": "Balance",
                "reserved": "Balance",
                "frozen": "Balance",
                "flags": "ExtraFlags",
            },
        ),
    )
    reg(
        AccountInfo,
        TypeInfo(
            path=("frame_system", "AccountInfo"),
            type_params=(("Nonce", U32), ("AccountData", AccountData)),
            type_names={
                "nonce": "Nonce",
                "consumers": "RefCount",
                "providers": "RefCount",
                "sufficients": "RefCount",
                "data": "AccountData",
            },
        ),
    )
    reg(Phase, TypeInfo(path=("frame_system", "Phase")))
    reg(ApplyExtrinsic, TypeInfo(tuple_fields=True, type_names={"index": "u32"}))
    reg(DispatchErrorCodec, TypeInfo(path=("sp_runtime", "DispatchError")))
    reg(
        ModuleError,
        TypeInfo(
            path=("sp_runtime", "ModuleError"),
            as_variant="wrap",
            type_names={"index": "u8", "error": "[u8; MAX_MODULE_ERROR_ENCODED_SIZE]"},
        ),
    )
    reg(TokenError, TypeInfo(path=("sp_runtime", "TokenError")))
    reg(SpArithmeticError, TypeInfo(path=("sp_arithmetic", "ArithmeticError")))
    reg(TransactionalError, TypeInfo(path=("sp_runtime", "TransactionalError")))
    reg(DEToken, TypeInfo(tuple_fields=True, type_names={"error": "TokenError"}))
    reg(DEArithmetic, TypeInfo(tuple_fields=True, type_names={"error": "ArithmeticError"}))
    reg(DETransactional, TypeInfo(tuple_fields=True, type_names={"error": "TransactionalError"}))
    reg(DigestItem, TypeInfo(path=("sp_runtime", "generic", "digest", "DigestItem")))
    for item in (Other, Consensus, Seal, PreRuntime):
        reg(
            item,
            TypeInfo(
                tuple_fields=True, type_names={"engine": "ConsensusEngineId", "data": "Vec<u8>"}
            ),
        )
    reg(
        Header,
        TypeInfo(
            path=("sp_runtime", "generic", "header", "Header"),
            type_params=(("Number", U32), ("Hash", None)),
            type_names={
                "parent_hash": "Hash::Output",
                "number": "Number",
                "state_root": "Hash::Output",
                "extrinsics_root": "Hash::Output",
                "digest": "Digest",
            },
        ),
    )
    reg(
        MetadataHashMode,
        TypeInfo(
            path=("frame_metadata_hash_extension", "Mode"),
            variant_names={0: "Disabled", 1: "Enabled"},
        ),
    )


_register_well_known()


def _shared_builders(b: RegistryBuilder) -> None:
    """Builders of codecs whose encoding is not a plain struct or enum."""
    b.define(ERA, _era_type)
    b.define(MULTI_SIGNATURE, _multi_signature_type)
    b.define(MULTI_ADDRESS, _multi_address_type)
    b.define(Digest, _digest_type)
    b.define(_ED25519_SIG_CODEC, _newtype(_ED25519_SIGNATURE, H512, "[u8; 64]"))
    b.define(_SR25519_SIG_CODEC, _newtype(_SR25519_SIGNATURE, H512, "[u8; 64]"))
    b.define(_ECDSA_SIG_CODEC, _newtype(_ECDSA_SIGNATURE, FixedBytes(65), "[u8; 65]"))
    b.define(AccountId, _newtype(_ACCOUNT_ID32, FixedBytes(32), "[u8; 32]"))
    b.define(H256, _newtype(("primitive_types", "H256"), FixedBytes(32), "[u8; 32]"))


# --------------------------------------------------------------------------------- pallet types


def _lines(doc: str) -> list[str]:
    return inspect.cleandoc(doc).splitlines() if doc else []


def _call_type(b: RegistryBuilder, pallet: Pallet, calls: Sequence[CallDef]) -> Type:
    variants = []
    for call_def in calls:
        fields = [
            Field(name, b.type_id(codec), rust_type_name(codec))
            for name, codec in zip(call_def.arg_names, call_def.arg_codecs, strict=True)
        ]
        variants.append(Variant(call_def.name, fields, call_def.index, _lines(call_def.docs)))
    return Type(
        [pallet_crate(pallet), "pallet", "Call"],
        b.params(_ERASED_T),
        TypeDefVariant(variants),
        ["Contains a variant per dispatchable extrinsic that this pallet has."],
    )


def _event_type(b: RegistryBuilder, pallet: Pallet) -> Type:
    codec = pallet.Event
    assert codec is not None
    variants = [
        b.variant_of(index, codec.variant_names[index], cls)
        for index, cls in codec.variants.items()
    ]
    return Type(
        [pallet_crate(pallet), "pallet", "Event"],
        b.params(_ERASED_T),
        TypeDefVariant(variants),
        ["The `Event` enum of this pallet"],
    )


def _error_type(b: RegistryBuilder, pallet: Pallet) -> Type:
    error_cls = pallet.Error
    assert error_cls is not None
    members = sorted(error_cls, key=int)
    if any(not 0 <= int(m) <= 255 for m in members):
        raise MetadataBuildError(f"{pallet.name}.Error: error indices must be u8")
    variants = [Variant(m.name, [], int(m)) for m in members]
    return Type(
        [pallet_crate(pallet), "pallet", "Error"],
        b.params(_ERASED_T),
        TypeDefVariant(variants),
        ["The `Error` enum of this pallet."],
    )


def _storage_entries(
    b: RegistryBuilder, pallet: Pallet, runtime: Runtime
) -> list[StorageEntryMetadata]:
    entries = []
    for item in pallet.storage_items.values():
        entries.append(_storage_entry(b, item))
        if (
            pallet is runtime.system
            and item.name == "Digest"
            and "Events" not in pallet.storage_items
        ):
            entries.append(_system_events_entry(b, runtime))
        if isinstance(item, CountedStorageMap):
            entries.append(
                StorageEntryMetadata(
                    f"CounterFor{item.name}",
                    StorageEntryModifier.Default,
                    StorageEntryTypePlain(b.type_id(U32)),
                    U32.encode(0),
                    ["Counter for the related counted storage map"],
                )
            )
    return entries


def _system_events_entry(b: RegistryBuilder, runtime: Runtime) -> StorageEntryMetadata:
    """``System.Events: Vec<EventRecord>`` (ValueQuery). pychain's System appends to this key
    directly (``storage_append``) rather than through a declared item, so it is added here,
    after ``Digest`` as in FRAME, for clients that read events through metadata."""
    return StorageEntryMetadata(
        "Events",
        StorageEntryModifier.Default,
        StorageEntryTypePlain(b.type_id(Vec(runtime.event_record_codec))),
        b"\x00",
        ["Events deposited for the current block."],
    )


def _storage_entry(b: RegistryBuilder, item: StorageItem) -> StorageEntryMetadata:
    modifier = StorageEntryModifier.Optional if item.is_optional else StorageEntryModifier.Default
    value = b.type_id(item.value_codec)
    entry_type: Any
    if isinstance(item, StorageNMap):
        try:
            hashers = [StorageHasher[name] for name in item.hasher_names]
        except KeyError as exc:
            raise MetadataBuildError(f"{item.name}: unknown hasher {exc}") from None
        keys = item.key_codecs
        key = b.type_id(keys[0]) if len(keys) == 1 else b.type_id(Tuple(*keys))
        entry_type = StorageEntryTypeMap(hashers, key, value)
    else:
        entry_type = StorageEntryTypePlain(value)
    return StorageEntryMetadata(
        item.name, modifier, entry_type, item.default_bytes(), _lines(item.docs)
    )


# ---------------------------------------------------------------------------------- the build


def _callable_call_for(pallet: Pallet) -> str:
    # The type name construct_runtime! gives a pallet's call in RuntimeCall (as in FRAME).
    return (
        "self::sp_api_hidden_includes_construct_runtime::hidden_include::dispatch\n"
        f"::CallableCallFor<{pallet.name}, Runtime>"
    )


def _pallet_call_id(b: RegistryBuilder, pallet: Pallet) -> int:
    def build(bb: RegistryBuilder) -> Type:
        return _call_type(bb, pallet, list(pallet.get_calls().values()))

    return b.add_type(("call", pallet.name), build)


def _pallet_event_id(b: RegistryBuilder, pallet: Pallet) -> int:
    def build(bb: RegistryBuilder) -> Type:
        return _event_type(bb, pallet)

    return b.add_type(("event", pallet.name), build)


def _pallet_error_id(b: RegistryBuilder, pallet: Pallet) -> int:
    def build(bb: RegistryBuilder) -> Type:
        return _error_type(bb, pallet)

    return b.add_type(("error", pallet.name), build)


def _extension_id(b: RegistryBuilder, ext: SignedExtension) -> int:
    def build(bb: RegistryBuilder) -> Type:
        return _extension_type(bb, ext)

    return b.add_type(("extension", ext.identifier), build)


def _constant(b: RegistryBuilder, pallet: Pallet, constant: Constant) -> PalletConstantMetadata:
    try:
        value = constant.codec.encode(constant.value)
    except ScaleEncodeError as exc:
        raise MetadataBuildError(f"{pallet.name}.{constant.name}: {exc}") from exc
    return PalletConstantMetadata(
        constant.name, b.type_id(constant.codec), value, _lines(constant.docs)
    )


def build_metadata_v14(
    runtime: Runtime, extensions: Sequence[SignedExtension], crate: str | None = None
) -> RuntimeMetadataV14:
    """The ``RuntimeMetadataV14`` of ``runtime`` with its signed extensions (in their order).

    ``crate`` names the runtime's crate in the paths of ``RuntimeCall``, ``RuntimeEvent`` and
    ``Runtime`` (default: :func:`runtime_crate`). Raises :class:`MetadataBuildError` when a
    codec cannot be described or a constant cannot be encoded.
    """
    try:
        return _build(runtime, extensions, crate or runtime_crate(runtime))
    except MetadataBuildError:
        raise
    except TypeInfoError as exc:
        raise MetadataBuildError(f"cannot build the runtime's metadata: {exc}") from exc


def _build(
    runtime: Runtime, extensions: Sequence[SignedExtension], crate: str
) -> RuntimeMetadataV14:
    b = RegistryBuilder()
    _shared_builders(b)
    pallets = sorted(runtime.pallets, key=lambda p: p.index)

    def runtime_call(bb: RegistryBuilder) -> Type:
        variants = [
            Variant(
                pallet.name,
                [Field(None, _pallet_call_id(bb, pallet), _callable_call_for(pallet))],
                pallet.index,
            )
            for pallet in pallets
            if pallet.get_calls()
        ]
        return Type([crate, "RuntimeCall"], [], TypeDefVariant(variants))

    def runtime_event(bb: RegistryBuilder) -> Type:
        variants = [
            Variant(
                pallet.name,
                [
                    Field(
                        None,
                        _pallet_event_id(bb, pallet),
                        f"{pallet_crate(pallet)}::Event<Runtime>",
                    )
                ],
                pallet.index,
            )
            for pallet in pallets
            if pallet.Event is not None
        ]
        return Type([crate, "RuntimeEvent"], [], TypeDefVariant(variants))

    def event_record(bb: RegistryBuilder) -> Type:
        event = bb.type_id(runtime.event_codec)
        return Type(
            ["frame_system", "EventRecord"],
            [TypeParameter("E", event), TypeParameter("T", bb.type_id(H256))],
            TypeDefComposite(
                [
                    Field("phase", bb.type_id(Phase), "Phase"),
                    Field("event", event, "E"),
                    Field("topics", bb.type_id(Vec(H256)), "Vec<T>"),
                ]
            ),
        )

    b.define(runtime.call_codec, runtime_call)
    b.define(runtime.event_codec, runtime_event)
    b.define(runtime.event_record_codec, event_record)
    # A pallet's own codec standing for ``Box<RuntimeCall>`` (e.g. Sudo's) is the runtime's.
    b.alias(runtime.call_codec.name, runtime.call_codec)
    b.alias(runtime.event_codec.name, runtime.event_codec)

    # Pallets, in index order (types are registered as they are met, as scale-info does).
    provisional = []
    for pallet in pallets:
        storage = None
        if pallet.storage_items:
            storage = PalletStorageMetadata(pallet.name, _storage_entries(b, pallet, runtime))
        calls = None
        if pallet.get_calls():
            b.type_id(runtime.call_codec)
            calls = PalletCallMetadata(_pallet_call_id(b, pallet))
        event = None
        if pallet.Event is not None:
            b.type_id(runtime.event_codec)
            event = PalletEventMetadata(_pallet_event_id(b, pallet))
        constants = [_constant(b, pallet, constant) for constant in pallet.constants()]
        error = None
        if pallet.Error is not None:
            error = PalletErrorMetadata(_pallet_error_id(b, pallet))
        provisional.append(
            PalletMetadata(pallet.name, storage, calls, event, constants, error, pallet.index)
        )

    # The extrinsic: UncheckedExtrinsic<Address, Call, Signature, Extra>.
    ext_ids = [
        (
            ext.identifier,
            _extension_id(b, ext),
            b.type_id(ext.additional if ext.additional is not None else Tuple()),
        )
        for ext in extensions
    ]
    extra_ids = [type_id for _, type_id, _ in ext_ids]

    def extra_tuple(bb: RegistryBuilder) -> Type:
        return Type([], [], TypeDefTuple(extra_ids))

    extra = b.add_type(("extra", *extra_ids), extra_tuple)
    params = [
        TypeParameter("Address", b.type_id(MULTI_ADDRESS)),
        TypeParameter("Call", b.type_id(runtime.call_codec)),
        TypeParameter("Signature", b.type_id(MULTI_SIGNATURE)),
        TypeParameter("Extra", extra),
    ]
    b.type_id(runtime.event_record_codec)  # System.Events' element type, for clients

    def unchecked_extrinsic(bb: RegistryBuilder) -> Type:
        return Type(
            ["sp_runtime", "generic", "unchecked_extrinsic", "UncheckedExtrinsic"],
            params,
            TypeDefComposite([Field(None, bb.type_id(Bytes), None)]),
        )

    def runtime_type(bb: RegistryBuilder) -> Type:
        return Type([crate, "Runtime"], [], TypeDefComposite([]))

    extrinsic_ty = b.add_type(("extrinsic",), unchecked_extrinsic)
    runtime_ty = b.add_type(("runtime",), runtime_type)

    registry, mapping = b.finish()
    pallets_md = [_remap_pallet(p, mapping) for p in provisional]
    extrinsic = ExtrinsicMetadata(
        mapping[extrinsic_ty],
        EXTRINSIC_FORMAT_VERSION,
        [SignedExtensionMetadata(ident, mapping[t], mapping[a]) for ident, t, a in ext_ids],
    )
    return RuntimeMetadataV14(registry, pallets_md, extrinsic, mapping[runtime_ty])


def _extension_type(b: RegistryBuilder, ext: SignedExtension) -> Type:
    path = EXTENSION_PATHS.get(ext.identifier, ("pychain", "extensions", ext.identifier))
    fields = []
    if ext.extra is not None:
        name = "mode" if ext.identifier == "CheckMetadataHash" else None
        type_name = {
            "CheckMortality": "Era",
            "CheckNonce": "T::Nonce",
            "ChargeTransactionPayment": "BalanceOf<T>",
            "CheckMetadataHash": "Mode",
        }.get(ext.identifier, rust_type_name(ext.extra))
        fields.append(Field(name, b.type_id(ext.extra), type_name))
    return Type(list(path), b.params(_ERASED_T), TypeDefComposite(fields))


def _remap_pallet(p: PalletMetadata, m: list[int]) -> PalletMetadata:
    storage = None
    if p.storage is not None:
        entries = []
        for e in p.storage.entries:
            ty: Any
            if isinstance(e.ty, StorageEntryTypeMap):
                ty = StorageEntryTypeMap(e.ty.hashers, m[e.ty.key], m[e.ty.value])
            else:
                ty = StorageEntryTypePlain(m[e.ty.value])
            entries.append(StorageEntryMetadata(e.name, e.modifier, ty, e.default, e.docs))
        storage = PalletStorageMetadata(p.storage.prefix, entries)
    return PalletMetadata(
        p.name,
        storage,
        None if p.calls is None else PalletCallMetadata(m[p.calls.ty]),
        None if p.event is None else PalletEventMetadata(m[p.event.ty]),
        [PalletConstantMetadata(c.name, m[c.ty], c.value, c.docs) for c in p.constants],
        None if p.error is None else PalletErrorMetadata(m[p.error.ty]),
        p.index,
    )


def build_metadata(
    runtime: Runtime, extensions: Sequence[SignedExtension], crate: str | None = None
) -> bytes:
    """``"meta" ++ 0x0e ++ SCALE(RuntimeMetadataV14)``: the bytes of ``state_getMetadata``."""
    return encode_metadata(build_metadata_v14(runtime, extensions, crate))


def metadata_api_response(
    runtime: Runtime, extensions: Sequence[SignedExtension], crate: str | None = None
) -> bytes:
    """The answer of the ``Metadata_metadata`` runtime API: ``OpaqueMetadata`` (``Vec<u8>``)."""
    return opaque_metadata(build_metadata(runtime, extensions, crate))
