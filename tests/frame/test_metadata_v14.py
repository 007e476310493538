"""The V14 metadata decoder against real metadata: the node template's and Polkadot 1002005's."""

from __future__ import annotations

from pathlib import Path

import pytest
from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

from pychain.primitives.extrinsic import STANDARD_EXTENSIONS_WITH_METADATA_HASH
from pychain.primitives.metadata_v14 import (
    MetadataDecodeError,
    MetadataError,
    Primitive,
    RuntimeMetadataV14,
    StorageEntryModifier,
    StorageEntryTypeMap,
    StorageEntryTypePlain,
    StorageHasher,
    Type,
    TypeDefArray,
    TypeDefCompact,
    TypeDefComposite,
    TypeDefPrimitive,
    TypeDefVariant,
    UnsupportedMetadataVersion,
    decode_metadata,
    decode_opaque_metadata,
    encode_metadata,
    opaque_metadata,
)

NODE_TEMPLATE = "substrate-node-template-v14.hex"
POLKADOT = "polkadot-1002005-v14.hex"


def _raw(vectors: Path, name: str) -> bytes:
    text = (vectors / "metadata" / name).read_text().strip()
    assert text.startswith("0x")
    return bytes.fromhex(text[2:])


@pytest.fixture(scope="module")
def node_template_raw(vectors: Path) -> bytes:
    return _raw(vectors, NODE_TEMPLATE)


@pytest.fixture(scope="module")
def polkadot_raw(vectors: Path) -> bytes:
    return _raw(vectors, POLKADOT)


@pytest.fixture(scope="module")
def node_template(node_template_raw: bytes) -> RuntimeMetadataV14:
    return decode_metadata(node_template_raw)


@pytest.fixture(scope="module")
def polkadot(polkadot_raw: bytes) -> RuntimeMetadataV14:
    return decode_metadata(polkadot_raw)


def _call_fields(md: RuntimeMetadataV14, pallet: str) -> dict[str, tuple[int, list[str | None]]]:
    calls = md.pallet(pallet).calls
    assert calls is not None
    type_def = md.types.get(calls.ty).type_def
    assert isinstance(type_def, TypeDefVariant)
    return {v.name: (v.index, [f.name for f in v.fields]) for v in type_def.variants}


def _path(md: RuntimeMetadataV14, type_id: int) -> str:
    return "::".join(md.types.get(type_id).path)


# ------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("name", [NODE_TEMPLATE, POLKADOT])
def test_real_metadata_reencodes_identical_bytes(vectors: Path, name: str) -> None:
    raw = _raw(vectors, name)
    assert encode_metadata(decode_metadata(raw)) == raw


@pytest.mark.parametrize("name", [NODE_TEMPLATE, POLKADOT])
def test_real_metadata_type_ids_are_dense(vectors: Path, name: str) -> None:
    md = decode_metadata(_raw(vectors, name))
    assert [t.id for t in md.types.types] == list(range(len(md.types.types)))
    assert md.ty == md.types.types[-1].id  # the Runtime type is registered last


def test_opaque_metadata_wraps_in_a_length_prefix(node_template_raw: bytes) -> None:
    opaque = opaque_metadata(node_template_raw)
    # 35 449 bytes: a length of 2^14 or more takes the four-byte compact mode
    assert len(node_template_raw) >= 1 << 14
    assert opaque[:4] == ((len(node_template_raw) << 2) | 2).to_bytes(4, "little")
    assert decode_opaque_metadata(opaque) == decode_metadata(node_template_raw)


# ------------------------------------------------------------------- facts: node template


def test_node_template_pallets_are_in_index_order(node_template: RuntimeMetadataV14) -> None:
    assert [(p.index, p.name) for p in node_template.pallets] == [
        (0, "System"),
        (1, "RandomnessCollectiveFlip"),
        (2, "Timestamp"),
        (3, "Aura"),
        (4, "Grandpa"),
        (5, "Balances"),
        (6, "TransactionPayment"),
        (7, "Sudo"),
        (8, "TemplateModule"),
    ]


def test_node_template_system_account_is_blake2_128_concat_map(
    node_template: RuntimeMetadataV14,
) -> None:
    storage = node_template.pallet("System").storage
    assert storage is not None and storage.prefix == "System"
    account = next(e for e in storage.entries if e.name == "Account")
    assert account.modifier == StorageEntryModifier.Default
    assert isinstance(account.ty, StorageEntryTypeMap)
    assert account.ty.hashers == [StorageHasher.Blake2_128Concat]
    assert _path(node_template, account.ty.key) == "sp_core::crypto::AccountId32"
    info = node_template.types.get(account.ty.value)
    assert info.path == ["frame_system", "AccountInfo"]
    assert isinstance(info.type_def, TypeDefComposite)
    assert [f.name for f in info.type_def.fields] == [
        "nonce",
        "consumers",
        "providers",
        "sufficients",
        "data",
    ]
    # AccountInfo<Index = u32, AccountData>: default is 4×u32 + 4×u128 of zeros.
    assert account.default == bytes(16 + 64)


def test_node_template_account_id_is_newtype_of_32_bytes(
    node_template: RuntimeMetadataV14,
) -> None:
    ((type_id, account_id),) = node_template.types.by_path("sp_core", "crypto", "AccountId32")
    assert type_id == 0
    assert isinstance(account_id.type_def, TypeDefComposite)
    (inner,) = account_id.type_def.fields
    array = node_template.types.get(inner.ty).type_def
    assert isinstance(array, TypeDefArray) and array.len == 32
    assert node_template.types.get(array.ty).type_def == TypeDefPrimitive(Primitive.U8)


def test_node_template_balances_transfer_has_dest_and_value(
    node_template: RuntimeMetadataV14,
) -> None:
    calls = _call_fields(node_template, "Balances")
    assert calls["transfer"] == (0, ["dest", "value"])
    assert calls["transfer_keep_alive"] == (3, ["dest", "value"])
    calls_ty = node_template.pallet("Balances").calls
    assert calls_ty is not None
    variant = node_template.types.get(calls_ty.ty).type_def.variants[0]
    assert _path(node_template, variant.fields[0].ty) == "sp_runtime::multiaddress::MultiAddress"
    value = node_template.types.get(variant.fields[1].ty).type_def
    assert isinstance(value, TypeDefCompact)
    assert node_template.types.get(value.ty).type_def == TypeDefPrimitive(Primitive.U128)


def test_node_template_extrinsic_is_v4_with_standard_extensions(
    node_template: RuntimeMetadataV14,
) -> None:
    ext = node_template.extrinsic
    assert ext.version == 4
    assert [s.identifier for s in ext.signed_extensions] == [
        "CheckSpecVersion",
        "CheckTxVersion",
        "CheckGenesis",
        "CheckMortality",
        "CheckNonce",
        "CheckWeight",
        "ChargeTransactionPayment",
    ]
    unchecked = node_template.types.get(ext.ty)
    assert unchecked.path == ["sp_runtime", "generic", "unchecked_extrinsic", "UncheckedExtrinsic"]
    assert [p.name for p in unchecked.type_params] == ["Address", "Call", "Signature", "Extra"]


def test_node_template_constants_decode_to_known_values(
    node_template: RuntimeMetadataV14,
) -> None:
    system = {c.name: c.value for c in node_template.pallet("System").constants}
    assert int.from_bytes(system["BlockHashCount"], "little") == 2400
    assert int.from_bytes(system["SS58Prefix"], "little") == 42
    balances = {c.name: c.value for c in node_template.pallet("Balances").constants}
    assert int.from_bytes(balances["ExistentialDeposit"], "little") == 500


# ------------------------------------------------------------------------ facts: Polkadot


def test_polkadot_balances_call_is_transfer_allow_death(polkadot: RuntimeMetadataV14) -> None:
    calls = _call_fields(polkadot, "Balances")
    assert calls["transfer_allow_death"] == (0, ["dest", "value"])
    assert "transfer" not in calls


def test_polkadot_signed_extensions_contain_pychains_in_order(
    polkadot: RuntimeMetadataV14,
) -> None:
    identifiers = [s.identifier for s in polkadot.extrinsic.signed_extensions]
    ours = [e.identifier for e in STANDARD_EXTENSIONS_WITH_METADATA_HASH]
    assert [i for i in identifiers if i in ours] == ours
    assert identifiers[-1] == "CheckMetadataHash"
    mode = polkadot.types.get(polkadot.extrinsic.signed_extensions[-1].ty)
    assert isinstance(mode.type_def, TypeDefComposite)
    assert [f.name for f in mode.type_def.fields] == ["mode"]


def test_polkadot_era_is_immortal_plus_255_mortal_variants(polkadot: RuntimeMetadataV14) -> None:
    ((_, era),) = polkadot.types.by_path("sp_runtime", "generic", "era", "Era")
    assert isinstance(era.type_def, TypeDefVariant)
    variants = era.type_def.variants
    assert len(variants) == 256
    assert (variants[0].name, variants[0].index, variants[0].fields) == ("Immortal", 0, [])
    assert [(v.name, v.index) for v in variants[1:3]] == [("Mortal1", 1), ("Mortal2", 2)]
    assert variants[255].name == "Mortal255" and len(variants[255].fields) == 1


def test_polkadot_system_events_is_vec_of_event_records(polkadot: RuntimeMetadataV14) -> None:
    storage = polkadot.pallet("System").storage
    assert storage is not None
    events = next(e for e in storage.entries if e.name == "Events")
    assert isinstance(events.ty, StorageEntryTypePlain)
    seq = polkadot.types.get(events.ty.value).type_def
    record: Type = polkadot.types.get(seq.ty)
    assert record.path == ["frame_system", "EventRecord"]
    assert [p.name for p in record.type_params] == ["E", "T"]
    event_ty = record.type_params[0].ty
    assert event_ty is not None
    assert _path(polkadot, event_ty) == "polkadot_runtime::RuntimeEvent"


# ---------------------------------------------------------------------- cross-check


def test_decoder_agrees_with_scalecodec_on_node_template(
    node_template_raw: bytes, node_template: RuntimeMetadataV14
) -> None:
    config = RuntimeConfigurationObject()
    config.update_type_registry(load_type_registry_preset("core"))
    theirs = config.create_scale_object("MetadataVersioned", data=ScaleBytes(node_template_raw))
    theirs.decode()
    v14 = theirs.value[1]["V14"]
    assert len(v14["types"]["types"]) == len(node_template.types.types)
    for their_type, our_type in zip(v14["types"]["types"], node_template.types.types, strict=True):
        assert their_type["id"] == our_type.id
        assert their_type["type"]["path"] == our_type.ty.path
    assert [p["name"] for p in v14["pallets"]] == [p.name for p in node_template.pallets]
    assert [p["index"] for p in v14["pallets"]] == [p.index for p in node_template.pallets]


# ------------------------------------------------------------------------------ bad input


def test_decode_metadata_with_wrong_magic_is_refused(node_template_raw: bytes) -> None:
    with pytest.raises(MetadataDecodeError) as info:
        decode_metadata(b"mexa" + node_template_raw[4:])
    assert info.value.offset == 0


def test_decode_metadata_of_version_15_is_refused(node_template_raw: bytes) -> None:
    with pytest.raises(UnsupportedMetadataVersion) as info:
        decode_metadata(node_template_raw[:4] + b"\x0f" + node_template_raw[5:])
    assert info.value.offset == 4


def test_decode_metadata_with_trailing_byte_is_refused(node_template_raw: bytes) -> None:
    with pytest.raises(MetadataDecodeError) as info:
        decode_metadata(node_template_raw + b"\x00")
    assert info.value.offset == len(node_template_raw)


@pytest.mark.parametrize("cut", [3, 5, 6, 1000, -1])
def test_decode_truncated_metadata_is_refused(node_template_raw: bytes, cut: int) -> None:
    with pytest.raises(MetadataDecodeError):
        decode_metadata(node_template_raw[:cut])


def test_decode_opaque_metadata_with_bad_length_is_refused(node_template_raw: bytes) -> None:
    with pytest.raises(MetadataDecodeError):
        decode_opaque_metadata(opaque_metadata(node_template_raw)[:-1])


def test_registry_lookup_of_unknown_id_is_refused(node_template: RuntimeMetadataV14) -> None:
    with pytest.raises(MetadataError):
        node_template.types.get(len(node_template.types.types))
    with pytest.raises(MetadataError):
        node_template.pallet("Nope")
