"""Metadata V14 generation: pychain's metadata decoded by pychain's decoder and by scalecodec
1.2.12 (py-substrate-interface's codec), with every call, event and storage value type
round-tripped through scalecodec by its type id."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

from pychain.frame.dispatch import DispatchErrorCodec, Origin, ensure_signed
from pychain.frame.ext import TestExternalities
from pychain.frame.externalities import using
from pychain.frame.metadata import (
    MetadataBuildError,
    build_metadata,
    build_metadata_v14,
    metadata_api_response,
)
from pychain.frame.pallet import Constant, Pallet, call
from pychain.frame.runtime import Runtime, RuntimeCall, RuntimeEvent
from pychain.frame.storage import (
    CountedStorageMap,
    StorageDoubleMap,
    StorageMap,
    StorageNMap,
    StorageValue,
)
from pychain.frame.type_info import RegistryBuilder, TypeInfoError
from pychain.frame.weights import Weight
from pychain.pallets.system import AccountData, AccountInfo, System, SystemConfig
from pychain.pallets.system.types import AccountId
from pychain.primitives.era import ERA, Era
from pychain.primitives.extrinsic import (
    STANDARD_EXTENSIONS,
    STANDARD_EXTENSIONS_WITH_METADATA_HASH,
    sign_extrinsic,
)
from pychain.primitives.keys import Keypair
from pychain.primitives.metadata_v14 import (
    RuntimeMetadataV14,
    StorageEntryModifier,
    StorageEntryTypeMap,
    StorageEntryTypePlain,
    StorageHasher,
    decode_metadata,
    decode_opaque_metadata,
)
from pychain.primitives.multiaddress import (
    MULTI_ADDRESS,
    MULTI_SIGNATURE,
    AddressId,
    Sr25519Signature,
)
from pychain.primitives.runtime_version import RuntimeVersion
from pychain.primitives.scale import (
    H256,
    I16,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    U256,
    Array,
    Bool,
    BTreeMap,
    Bytes,
    CEnum,
    Codec,
    Compact,
    CompactOf,
    Enum,
    Err,
    FixedBytes,
    Ok,
    Option,
    Result,
    Str,
    Struct,
    StructCodec,
    Tuple,
    Unit,
    Vec,
)
from pychain.runtime import PychainRuntime, RuntimeGenesisConfig

ALICE = Keypair.from_uri("//Alice", scheme="sr25519")
BOB = Keypair.from_uri("//Bob", scheme="sr25519")
GENESIS = b"\x11" * 32

# ---------------------------------------------------------------------- a kitchen-sink pallet


@dataclass(frozen=True)
class Point(Struct):
    x: Annotated[int, I16]
    y: Annotated[int, I128]


class Color(enum.IntEnum):
    __scale_path__ = ("pallet_kitchen", "types", "Color")

    Red = 0
    Green = 1
    Blue = 5


@dataclass(frozen=True)
class Dish(Struct):
    """A dish (declares its metadata path)."""

    __scale_path__: ClassVar[tuple[str, ...]] = ("pallet_kitchen", "types", "Dish")

    name: Annotated[str, Str]
    spicy: Annotated[bool, Bool]


@dataclass(frozen=True)
class Created(Struct):
    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Moved(Struct):
    point: Point
    color: Annotated[Color, CEnum(Color)]


@dataclass(frozen=True)
class Noted(Struct):
    tags: Annotated[dict[int, str], BTreeMap(U32, Str)]
    flag: Annotated[bool | None, Option(Bool)]


@dataclass(frozen=True)
class Emptied(Struct):
    pass


@dataclass(frozen=True)
class Settled(Struct):
    result: Annotated[Any, Result(Unit, DispatchErrorCodec)]


class KitchenError(enum.IntEnum):
    TooHot = 0
    Burnt = 2


class Kitchen(Pallet):
    """A pallet using every kind of codec and storage item."""

    name = "Kitchen"

    Counter = StorageValue(U64, default=7, docs="How many dishes.\nEver.")
    Owner = StorageValue(AccountId)
    Points = StorageMap("Twox64Concat", U32, Point.codec())
    Grid = StorageDoubleMap(
        "Blake2_128Concat", AccountId, "Identity", U16, Vec(Point.codec()), default=[]
    )
    Cube = StorageNMap(
        [("Blake2_128Concat", U8), ("Twox64Concat", U32), ("Blake2_256", H256)], Tuple(U8, Bytes)
    )
    Members = CountedStorageMap("Blake2_128Concat", AccountId, Str)
    Palette = StorageValue(Array(CEnum(Color), 3))
    Huge = StorageValue(U256, default=1 << 200)
    Flags = StorageValue(Vec(Option(Bool)), default=[])
    Recent = StorageValue(ERA)
    Menu = StorageMap("Blake2_128Concat", U32, Dish.codec(), docs="Dishes by number.")

    Event = Enum("Event", {0: Created, 1: Moved, 3: Noted, 4: Emptied, 5: Settled})
    Error = KitchenError

    def constants(self) -> list[Constant]:
        return [
            Constant("MaxPoints", U32, 100, "The most points."),
            Constant("Origin", Point.codec(), Point(1, -2)),
            Constant("Greeting", Str, "hi"),
        ]

    @call(index=0, weight=Weight(1_000, 0))
    def cook(
        self,
        origin: Origin,
        dest: Annotated[Any, MULTI_ADDRESS],
        amount: Annotated[int, Compact],
        note: Annotated[bytes | None, Option(Bytes)],
    ) -> None:
        """Cook something for ``dest``.

        Second line of docs."""
        ensure_signed(origin)

    @call(index=3, weight=Weight(2_000, 0))
    def plot(
        self,
        origin: Origin,
        points: Annotated[list[Point], Vec(Point.codec())],
        color: Annotated[Color, CEnum(Color)],
        era: Annotated[Era, ERA],
        tag: Annotated[bytes, FixedBytes(4)],
        pair: Annotated[tuple[int, bool], Tuple(CompactOf(32), Bool)],
        table: Annotated[dict[bytes, int], BTreeMap(H256, U8)],
    ) -> None:
        """Plot points."""
        ensure_signed(origin)

    @call(index=4, weight=Weight(3_000, 0))
    def sign(self, origin: Origin, signature: Annotated[Any, MULTI_SIGNATURE]) -> None:
        ensure_signed(origin)


VERSION = RuntimeVersion("kitchen-node", "kitchen-node", 1, 3, 1, [], 1, 1)


def kitchen_runtime() -> Runtime:
    return Runtime([(0, System(SystemConfig(version=VERSION))), (7, Kitchen())])


# ----------------------------------------------------------------------------- sample values


def sample(codec: Any, runtime: Runtime) -> Any:
    return samples(codec, runtime)[0]


def samples(codec: Any, runtime: Runtime) -> list[Any]:
    """Deterministic values of ``codec``: one per variant for enums, multi-byte where possible."""
    if isinstance(codec, type) and issubclass(codec, Struct):
        codec = codec.codec()
    if type(codec).__name__ in ("_FixedInt", "_BigInt"):
        return [codec.lo // 3 if codec.lo < 0 else codec.hi // 3]
    if codec is Bool:
        return [True, False]
    if codec is Str:
        return ["pychain \u2713"]
    if isinstance(codec, CompactOf):
        return [(1 << (codec.bits - 2)) + 3, 5]
    if codec is Bytes:
        return [bytes(range(70))]
    if isinstance(codec, FixedBytes):
        return [bytes((7 * i + 1) % 256 for i in range(codec.size))]
    if isinstance(codec, Vec):
        return [[sample(codec.item, runtime)] * 2, []]
    if isinstance(codec, Array):
        return [[sample(codec.item, runtime)] * codec.length]
    if isinstance(codec, Tuple):
        return [tuple(sample(c, runtime) for c in codec.items)]
    if isinstance(codec, Option):
        return [*samples(codec.item, runtime), None]
    if isinstance(codec, Result):
        return [Ok(sample(codec.ok, runtime)), Err(sample(codec.err, runtime))]
    if isinstance(codec, BTreeMap):
        return [{sample(codec.key, runtime): sample(codec.value, runtime)}]
    if isinstance(codec, StructCodec):
        pairs = zip(codec.field_names, codec.field_codecs, strict=True)
        values = {n: sample(c, runtime) for n, c in pairs}
        return [codec.cls(**values)]
    if isinstance(codec, Enum):
        return [samples(cls, runtime)[0] for cls in codec.variants.values()]
    if isinstance(codec, CEnum):
        return list(codec.enum_cls)
    if codec is ERA:
        return [Era.mortal(64, 100), Era.immortal()]
    if codec is MULTI_ADDRESS:
        return [AddressId(BOB.account_id)]
    if codec is MULTI_SIGNATURE:
        return [Sr25519Signature(bytes(range(64)))]
    if codec.name == "RuntimeCall":
        return [RuntimeCall("System", "remark", (b"nested",))]
    if type(codec).__name__ == "I32Vec":  # the FL pallet's numpy-backed Vec<i32>
        import numpy as np

        return [np.array([7, -(2**31), 2**31 - 1], dtype=np.int32)]
    raise AssertionError(f"no sample value for codec {codec!r}")


# ------------------------------------------------------------------------- scalecodec side


class Client:
    """scalecodec loaded with a metadata, as py-substrate-interface does on connect."""

    def __init__(self, raw: bytes) -> None:
        self.config = RuntimeConfigurationObject()
        self.config.update_type_registry(load_type_registry_preset("core"))
        self.metadata = self.config.create_scale_object("MetadataVersioned", data=ScaleBytes(raw))
        self.metadata.decode()
        self.config.add_portable_registry(self.metadata)

    def decode(self, type_string: str, data: bytes) -> Any:
        obj = self.config.create_scale_object(
            type_string, data=ScaleBytes(data), metadata=self.metadata
        )
        return obj.decode(check_remaining=True)

    def encode(self, type_string: str, value: Any) -> bytes:
        obj = self.config.create_scale_object(type_string, metadata=self.metadata)
        return bytes(obj.encode(value).data)

    def round_trip(self, type_id: int, data: bytes, reencode: bool = True) -> Any:
        """Decode ``data`` as type ``type_id``, re-encode the value and require the same bytes.

        ``reencode=False`` only decodes (strictly: every byte consumed): scalecodec 1.2.12 cannot
        encode a V14 ``BTreeMap`` (its ``Map.process_encode`` has no key type; a client bug).
        """
        value = self.decode(f"scale_info::{type_id}", data)
        if reencode:
            assert self.encode(f"scale_info::{type_id}", value) == data, (type_id, value)
        return value


def has_btreemap(codec: Any) -> bool:
    """Whether ``codec`` contains a ``BTreeMap`` (which scalecodec decodes but cannot encode)."""
    if isinstance(codec, type) and issubclass(codec, Struct):
        codec = codec.codec()
    if isinstance(codec, BTreeMap):
        return True
    if isinstance(codec, StructCodec):
        return any(has_btreemap(c) for c in codec.field_codecs)
    if isinstance(codec, Enum):
        return any(has_btreemap(c) for c in codec.variants.values())
    if isinstance(codec, Tuple):
        return any(has_btreemap(c) for c in codec.items)
    if isinstance(codec, (Vec, Array, Option)):
        return has_btreemap(codec.item)
    if isinstance(codec, Result):
        return has_btreemap(codec.ok) or has_btreemap(codec.err)
    return False


def composed(value: Any) -> Any:
    """A decoded call as ``compose_call`` gives it (scalecodec re-encodes only that form)."""
    if isinstance(value, dict) and "call_module" in value and "call_args" in value:
        return {
            "call_module": value["call_module"],
            "call_function": value["call_function"],
            "call_args": {a["name"]: composed(a["value"]) for a in value["call_args"]},
        }
    return value


def pychain_runtime() -> PychainRuntime:
    return PychainRuntime()


@pytest.fixture(scope="module", params=["kitchen", "pychain"])
def built(request: pytest.FixtureRequest) -> tuple[Runtime, bytes, RuntimeMetadataV14, Client]:
    runtime = kitchen_runtime() if request.param == "kitchen" else pychain_runtime().runtime
    raw = build_metadata(runtime, STANDARD_EXTENSIONS)
    return runtime, raw, decode_metadata(raw), Client(raw)


@pytest.fixture(scope="module")
def kitchen() -> tuple[Runtime, RuntimeMetadataV14]:
    runtime = kitchen_runtime()
    return runtime, build_metadata_v14(runtime, STANDARD_EXTENSIONS)


def _type_id(md: RuntimeMetadataV14, *path: str) -> int:
    ((type_id, _),) = md.types.by_path(*path)
    return type_id


# ------------------------------------------------------------------------ structural facts


def test_build_metadata_has_magic_and_reencodes_identically(built: Any) -> None:
    _, raw, md, _ = built
    assert raw[:5] == b"meta\x0e"
    assert build_metadata_v14(built[0], STANDARD_EXTENSIONS) == md
    from pychain.primitives.metadata_v14 import encode_metadata

    assert encode_metadata(md) == raw


def test_build_metadata_registry_has_no_duplicate_types(built: Any) -> None:
    _, _, md, _ = built
    encodings = [t.ty.encode() for t in md.types.types]
    assert len(set(encodings)) == len(encodings)
    assert [t.id for t in md.types.types] == list(range(len(encodings)))


def test_build_metadata_is_deterministic() -> None:
    assert build_metadata(kitchen_runtime(), STANDARD_EXTENSIONS) == build_metadata(
        kitchen_runtime(), STANDARD_EXTENSIONS
    )


def test_metadata_api_response_is_opaque_vec(kitchen: Any) -> None:
    runtime, md = kitchen
    assert decode_opaque_metadata(metadata_api_response(runtime, STANDARD_EXTENSIONS)) == md


def test_pallets_follow_runtime_indices(built: Any) -> None:
    runtime, _, md, _ = built
    assert [(p.index, p.name) for p in md.pallets] == [
        (p.index, p.name) for p in sorted(runtime.pallets, key=lambda p: p.index)
    ]


def test_storage_entries_mirror_descriptors(kitchen: Any) -> None:
    runtime, md = kitchen
    storage = md.pallet("Kitchen").storage
    assert storage is not None and storage.prefix == "Kitchen"
    entries = {e.name: e for e in storage.entries}
    assert list(entries) == [
        "Counter",
        "Owner",
        "Points",
        "Grid",
        "Cube",
        "Members",
        "CounterForMembers",
        "Palette",
        "Huge",
        "Flags",
        "Recent",
        "Menu",
    ]
    counter = entries["Counter"]
    assert counter.modifier == StorageEntryModifier.Default
    assert counter.default == (7).to_bytes(8, "little")
    assert counter.docs == ["How many dishes.", "Ever."]
    assert entries["Owner"].modifier == StorageEntryModifier.Optional
    assert entries["Owner"].default == b"\x00"
    grid = entries["Grid"].ty
    assert isinstance(grid, StorageEntryTypeMap)
    assert grid.hashers == [StorageHasher.Blake2_128Concat, StorageHasher.Identity]
    key = md.types.get(grid.key).type_def
    assert [md.types.get(k).path for k in key.fields] == [["sp_core", "crypto", "AccountId32"], []]
    cube = entries["Cube"].ty
    assert isinstance(cube, StorageEntryTypeMap)
    assert cube.hashers == [
        StorageHasher.Blake2_128Concat,
        StorageHasher.Twox64Concat,
        StorageHasher.Blake2_256,
    ]
    assert isinstance(entries["CounterForMembers"].ty, StorageEntryTypePlain)
    assert entries["Huge"].default == (1 << 200).to_bytes(32, "little")


def test_calls_events_errors_and_constants_are_described(kitchen: Any) -> None:
    _, md = kitchen
    pallet = md.pallet("Kitchen")
    assert pallet.calls is not None and pallet.event is not None and pallet.error is not None
    calls = md.types.get(pallet.calls.ty)
    assert calls.path == ["pallet_kitchen", "pallet", "Call"]
    variants = {v.name: v for v in calls.type_def.variants}
    assert [(v.index, v.name) for v in calls.type_def.variants] == [
        (0, "cook"),
        (3, "plot"),
        (4, "sign"),
    ]
    assert [f.name for f in variants["plot"].fields] == [
        "points",
        "color",
        "era",
        "tag",
        "pair",
        "table",
    ]
    assert variants["cook"].docs == ["Cook something for ``dest``.", "", "Second line of docs."]
    events = md.types.get(pallet.event.ty)
    assert events.path == ["pallet_kitchen", "pallet", "Event"]
    assert [(v.index, v.name, [f.name for f in v.fields]) for v in events.type_def.variants] == [
        (0, "Created", ["who", "amount"]),
        (1, "Moved", ["point", "color"]),
        (3, "Noted", ["tags", "flag"]),
        (4, "Emptied", []),
        (5, "Settled", ["result"]),
    ]
    errors = md.types.get(pallet.error.ty).type_def
    assert [(v.index, v.name) for v in errors.variants] == [(0, "TooHot"), (2, "Burnt")]
    constants = {c.name: c for c in pallet.constants}
    assert constants["MaxPoints"].value == (100).to_bytes(4, "little")
    assert constants["MaxPoints"].docs == ["The most points."]
    assert constants["Origin"].value == Point(1, -2).encode()
    assert md.types.get(constants["Origin"].ty).path == [
        "tests",
        "frame",
        "test_metadata_build",
        "Point",
    ]


def test_scale_path_class_attribute_names_structs_and_int_enums(kitchen: Any) -> None:
    _, md = kitchen
    ((_, dish),) = md.types.by_path("pallet_kitchen", "types", "Dish")
    assert [f.name for f in dish.type_def.fields] == ["name", "spicy"]
    assert dish.docs == ["A dish (declares its metadata path)."]
    ((_, color),) = md.types.by_path("pallet_kitchen", "types", "Color")
    assert [(v.index, v.name) for v in color.type_def.variants] == [
        (0, "Red"),
        (1, "Green"),
        (5, "Blue"),
    ]


def test_well_known_types_carry_substrate_paths(kitchen: Any) -> None:
    _, md = kitchen
    paths = {"::".join(t.ty.path) for t in md.types.types}
    for path in [
        "sp_core::crypto::AccountId32",
        "primitive_types::H256",
        "sp_runtime::multiaddress::MultiAddress",
        "sp_runtime::MultiSignature",
        "sp_runtime::generic::era::Era",
        "sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic",
        "sp_runtime::DispatchError",
        "sp_runtime::ModuleError",
        "sp_weights::weight_v2::Weight",
        "frame_support::dispatch::DispatchInfo",
        "frame_system::AccountInfo",
        "pallet_balances::types::AccountData",
        "frame_system::EventRecord",
        "frame_system::Phase",
        "kitchen_node_runtime::RuntimeCall",
        "kitchen_node_runtime::RuntimeEvent",
        "kitchen_node_runtime::Runtime",
        "frame_system::pallet::Call",
        "Option",
        "Result",
        "BTreeMap",
    ]:
        assert path in paths, path
    unchecked = md.types.get(md.extrinsic.ty)
    params = {p.name: p.ty for p in unchecked.type_params}
    assert md.types.get(params["Address"]).path[-1] == "MultiAddress"
    assert md.types.get(params["Call"]).path == ["kitchen_node_runtime", "RuntimeCall"]
    assert md.types.get(params["Signature"]).path == ["sp_runtime", "MultiSignature"]
    era = md.types.get(_type_id(md, "sp_runtime", "generic", "era", "Era")).type_def
    assert len(era.variants) == 256 and era.variants[255].name == "Mortal255"


def test_extrinsic_lists_signed_extensions_in_order(kitchen: Any) -> None:
    runtime, _ = kitchen
    md = build_metadata_v14(runtime, STANDARD_EXTENSIONS_WITH_METADATA_HASH)
    assert md.extrinsic.version == 4
    assert [s.identifier for s in md.extrinsic.signed_extensions] == [
        e.identifier for e in STANDARD_EXTENSIONS_WITH_METADATA_HASH
    ]
    by_id = {s.identifier: s for s in md.extrinsic.signed_extensions}
    assert md.types.get(by_id["CheckGenesis"].additional_signed).path == ["primitive_types", "H256"]
    mode = md.types.get(by_id["CheckMetadataHash"].ty)
    assert [f.name for f in mode.type_def.fields] == ["mode"]
    mode_enum = md.types.get(mode.type_def.fields[0].ty).type_def
    assert [v.name for v in mode_enum.variants] == ["Disabled", "Enabled"]
    assert md.types.get(by_id["CheckMetadataHash"].additional_signed).path == ["Option"]


def test_system_events_entry_is_vec_of_event_records(kitchen: Any) -> None:
    _, md = kitchen
    storage = md.pallet("System").storage
    assert storage is not None
    names = [e.name for e in storage.entries]
    assert names.index("Events") == names.index("Digest") + 1
    events = next(e for e in storage.entries if e.name == "Events")
    record = md.types.get(md.types.get(events.ty.value).type_def.ty)
    assert record.path == ["frame_system", "EventRecord"]


def test_undescribable_codec_raises_typed_error() -> None:
    class Opaque(Codec[int]):
        name = "Opaque"

        def encode_into(self, value: int, out: bytearray) -> None:
            out.append(value)

        def decode_at(self, data: bytes, pos: int) -> tuple[int, int]:
            return data[pos], pos + 1

    class Broken(Pallet):
        name = "Broken"
        Thing = StorageValue(Opaque())

    runtime = Runtime([(0, System(SystemConfig(version=VERSION))), (1, Broken())])
    with pytest.raises(MetadataBuildError, match="Opaque"):
        build_metadata(runtime, STANDARD_EXTENSIONS)
    with pytest.raises(TypeInfoError, match="Opaque"):
        RegistryBuilder().type_id(Opaque())


def test_structurally_identical_types_share_one_id() -> None:
    builder = RegistryBuilder()
    first = builder.type_id(Vec(Tuple(U8, Bytes)))
    second = builder.type_id(Vec(Tuple(U8, Vec(U8))))
    third = builder.type_id(FixedBytes(32))
    fourth = builder.type_id(FixedBytes(32))
    account = builder.type_id(AccountId)
    registry, mapping = builder.finish()
    assert mapping[first] == mapping[second]
    assert mapping[third] == mapping[fourth] != mapping[account]
    # u8, Vec<u8>, (u8, Vec<u8>), Vec<(u8, Vec<u8>)>, [u8; 32], AccountId32
    assert len(registry.types) == 6


def test_recursive_call_types_are_described_once() -> None:
    runtime = pychain_runtime().runtime
    md = build_metadata_v14(runtime, STANDARD_EXTENSIONS)
    ((call_id, _),) = md.types.by_path("pychain_runtime", "RuntimeCall")
    sudo = md.pallet("Sudo").calls
    assert sudo is not None
    sudo_call = {v.name: v for v in md.types.get(sudo.ty).type_def.variants}["sudo"]
    assert [f.ty for f in sudo_call.fields] == [call_id]  # Box<RuntimeCall> is the runtime call


def test_error_index_beyond_u8_raises_typed_error() -> None:
    class WideError(enum.IntEnum):
        Wide = 300

    class Wide(Pallet):
        name = "Wide"
        Error = WideError

    runtime = Runtime([(0, System(SystemConfig(version=VERSION))), (1, Wide())])
    with pytest.raises(MetadataBuildError, match="u8"):
        build_metadata(runtime, STANDARD_EXTENSIONS)


# ------------------------------------------------------------------ scalecodec: round trips


def test_scalecodec_reads_pallets_and_calls(built: Any) -> None:
    runtime, _, _, client = built
    names = {p.name: [c.name for c in (p.calls or [])] for p in client.metadata.pallets}
    for pallet in runtime.pallets:
        assert names[pallet.name] == [c.name for c in pallet.get_calls().values()]
    assert client.config.get_decoder_class("AccountId") is not None


def test_every_storage_value_round_trips_through_scalecodec(built: Any) -> None:
    runtime, _, md, client = built
    checked = 0
    for pallet in runtime.pallets:
        storage = md.pallet(pallet.name).storage
        for entry in storage.entries if storage else []:
            item = pallet.storage_items.get(entry.name)
            if item is None:
                continue
            for value in samples(item.value_codec, runtime):
                client.round_trip(
                    entry.ty.value,
                    item.value_codec.encode(value),
                    reencode=not has_btreemap(item.value_codec),
                )
                checked += 1
            if isinstance(entry.ty, StorageEntryTypeMap) and len(item.key_codecs) == 1:
                key = sample(item.key_codecs[0], runtime)
                client.round_trip(entry.ty.key, item.key_codecs[0].encode(key))
    assert checked > 10


def test_every_call_round_trips_through_scalecodec(built: Any) -> None:
    runtime, _, _, client = built
    checked = 0
    for pallet in runtime.pallets:
        for call_def in pallet.get_calls().values():
            args = tuple(sample(c, runtime) for c in call_def.arg_codecs)
            data = runtime.encode_call(RuntimeCall(pallet.name, call_def.name, args))
            value = client.decode("Call", data)
            assert (value["call_module"], value["call_function"]) == (pallet.name, call_def.name)
            assert [a["name"] for a in value["call_args"]] == list(call_def.arg_names)
            if not any(has_btreemap(c) for c in call_def.arg_codecs):
                assert client.encode("Call", composed(value)) == data
            checked += 1
    assert checked >= 4


def test_every_event_round_trips_through_scalecodec(built: Any) -> None:
    runtime, _, md, client = built
    runtime_event = _type_id(md, md.types.get(md.ty).path[0], "RuntimeEvent")
    checked = 0
    for pallet in runtime.pallets:
        if pallet.Event is None:
            continue
        pallet_event = md.pallet(pallet.name).event
        for event in samples(pallet.Event, runtime):
            data = runtime.event_codec.encode(RuntimeEvent(pallet.name, event))
            value = client.decode(f"scale_info::{runtime_event}", data)
            assert value["module_id"] == pallet.name
            assert value["event_id"] == pallet.Event.variant_names[pallet.Event.index_of(event)]
            client.round_trip(pallet_event.ty, data[1:], reencode=not has_btreemap(type(event)))
            checked += 1
    assert checked >= 6


def test_every_constant_round_trips_through_scalecodec(built: Any) -> None:
    _, _, md, client = built
    for pallet in md.pallets:
        for constant in pallet.constants:
            client.round_trip(constant.ty, constant.value)


def test_scalecodec_decodes_option_bool_and_module_error_like_pychain(kitchen: Any) -> None:
    runtime, _ = kitchen
    client = Client(build_metadata(runtime, STANDARD_EXTENSIONS))
    md = decode_metadata(build_metadata(runtime, STANDARD_EXTENSIONS))
    flags = next(e for e in md.pallet("Kitchen").storage.entries if e.name == "Flags")
    data = Vec(Option(Bool)).encode([True, False, None])
    assert data == bytes.fromhex("0c010200")
    assert client.round_trip(flags.ty.value, data) == ["SomeTrue", "SomeFalse", "None"]
    error = _type_id(md, "sp_runtime", "DispatchError")
    value = client.round_trip(error, bytes.fromhex("030702000000"))
    assert value == {"Module": {"index": 7, "error": "0x02000000"}}
    assert client.round_trip(error, bytes.fromhex("0701")) == {"Token": "OnlyProvider"}


@settings(max_examples=60, deadline=None)
@given(
    nonce=st.integers(0, 2**32 - 1),
    free=st.integers(0, 2**128 - 1),
    frozen=st.integers(0, 2**128 - 1),
)
def test_account_info_round_trips_through_scalecodec(nonce: int, free: int, frozen: int) -> None:
    client, type_id = _account_client()
    info = AccountInfo(nonce=nonce, providers=1, data=AccountData(free=free, frozen=frozen))
    value = client.round_trip(type_id, info.encode())
    assert (value["nonce"], value["data"]["free"], value["data"]["frozen"]) == (nonce, free, frozen)


_ACCOUNT_CLIENT: list[tuple[Client, int]] = []


def _account_client() -> tuple[Client, int]:
    if not _ACCOUNT_CLIENT:
        raw = build_metadata(kitchen_runtime(), STANDARD_EXTENSIONS)
        md = decode_metadata(raw)
        _ACCOUNT_CLIENT.append((Client(raw), _type_id(md, "frame_system", "AccountInfo")))
    return _ACCOUNT_CLIENT[0]


# ------------------------------------------------------- scalecodec: a real block of pychain


def test_scalecodec_decodes_pychain_signed_transfer_and_its_events() -> None:
    assembled = pychain_runtime()
    runtime, executive = assembled.runtime, assembled.executive
    client = Client(build_metadata(runtime, STANDARD_EXTENSIONS))
    genesis = RuntimeGenesisConfig()
    genesis.balances.balances.append((ALICE.account_id, 10**18))
    ext = TestExternalities({k: v for k, v in assembled.build_genesis_storage(genesis).items()})
    call = runtime.encode_call(
        runtime.make_call(
            "Balances", "transfer_keep_alive", dest=AddressId(BOB.account_id), value=10**15
        )
    )
    version = assembled.version
    xt = sign_extrinsic(
        ALICE,
        call,
        0,
        Era.mortal(64, 0),
        7,
        GENESIS,
        version.spec_version,
        version.transaction_version,
        birth_hash=GENESIS,
    )
    decoded = client.decode("Extrinsic", xt)
    assert decoded["address"] == "0x" + ALICE.account_id.hex()
    assert (decoded["nonce"], decoded["tip"]) == (0, 7)
    assert decoded["call"]["call_module"] == "Balances"
    assert decoded["call"]["call_args"][1]["value"] == 10**15

    with using(ext):
        executive.initialize_block(GENESIS, 1)
        executive.apply_extrinsic(xt)
        raw_events = ext.storage_get(runtime.system.events_key)
    assert raw_events is not None
    md = decode_metadata(build_metadata(runtime, STANDARD_EXTENSIONS))
    events_entry = next(e for e in md.pallet("System").storage.entries if e.name == "Events")
    records = client.decode(f"scale_info::{events_entry.ty.value}", raw_events)
    seen = [(r["module_id"], r["event_id"]) for r in records]
    assert ("Balances", "Transfer") in seen
    assert seen[-1] == ("System", "ExtrinsicSuccess")
    transfer = next(r for r in records if r["event_id"] == "Transfer")
    assert transfer["extrinsic_idx"] == 0
    assert transfer["attributes"]["to"] == "0x" + BOB.account_id.hex()
    assert transfer["attributes"]["amount"] == 10**15


def test_alias_codec_met_first_stands_for_its_target() -> None:
    class Boxed(Codec[int]):
        name = "Target"

        def encode_into(self, value: int, out: bytearray) -> None:
            U32.encode_into(value, out)

        def decode_at(self, data: bytes, pos: int) -> tuple[int, int]:
            return U32.decode_at(data, pos)

    target = Vec(U32)
    builder = RegistryBuilder()
    builder.alias("Target", target)
    boxed = builder.type_id(Boxed())  # met before the target itself
    assert builder.type_id(target) == boxed
    assert builder.type_id(Boxed()) == boxed


def test_unencodable_constant_raises_typed_error() -> None:
    class BadConstant(Pallet):
        name = "BadConstant"

        def constants(self) -> list[Constant]:
            return [Constant("Limit", U8, 300)]

    runtime = Runtime([(0, System(SystemConfig(version=VERSION))), (1, BadConstant())])
    with pytest.raises(MetadataBuildError, match="BadConstant.Limit"):
        build_metadata(runtime, STANDARD_EXTENSIONS)
