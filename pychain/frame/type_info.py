"""Type information for metadata: a portable type registry built from pychain's codec objects.

Mirrors ``scale-info`` (``TypeInfo`` derive and ``Registry``/``PortableRegistry``): every codec that
appears in a runtime's metadata is given a type id and described as a ``Type { path, type_params,
type_def, docs }``. The mapping from pychain codecs::

    U8 … U256, I8 … I128, Bool, Str     Primitive
    CompactOf(bits)                     Compact<u{bits}>
    Bytes / FixedBytes(n)               Sequence(u8) / Array(n, u8)
    Vec / Array / Tuple                 Sequence / Array / Tuple
    Option(T), Result(T, E)             Variant, path ["Option"] / ["Result"] (None 0 | Some 1,
                                        Ok 0 | Err 1), type parameters T (and E)
    BTreeMap(K, V)                      Composite, path ["BTreeMap"], one field Vec<(K, V)>
    Struct dataclass                    Composite with named fields
    Enum                                Variant (a variant's fields are its Struct's fields)
    CEnum(IntEnum)                      Variant without fields

A type's Substrate path and type parameters (which clients rely on:
``sp_core::crypto::AccountId32``, ``sp_runtime::multiaddress::MultiAddress`` …) come from a
:class:`TypeInfo` registered with :func:`register_type_info`, keyed by the Struct class, the IntEnum
class or the codec object itself, or from a ``__scale_path__`` class attribute of a Struct subclass
(a tuple of path segments). Codecs with their own encoding (``Era``, ``MultiAddress``, ``Digest`` …)
are described by *builders* (functions of the registry builder returning a ``Type``); a custom
``Codec`` subclass may instead define ``scale_type_info(builder) -> Type``. A Struct class or enum
without type information gets its Python module as path (``pychain::pallets::x::types::Name``).

Identical types are deduplicated: anonymous types (sequences, arrays, tuples, options…) by
structure, named types (structs, enums) by identity, and at the end every group of structurally
identical types (recursive ones included) is merged, as scale-info's interning does.

Differences from scale-info: type ids are assigned in first-use order and then compacted after
the merge; ``Option<bool>``, which pychain encodes as one byte (parity-scale-codec's
``OptionBool``: 0 None, 1 Some(true), 2 Some(false)), is described by a variant type
``OptionBool`` with those three unit variants, so that clients decode the bytes pychain writes.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pychain.frame.dispatch import FrameError
from pychain.primitives.metadata_v14 import (
    Field,
    PortableRegistry,
    PortableType,
    Primitive,
    Type,
    TypeDefArray,
    TypeDefCompact,
    TypeDefComposite,
    TypeDefPrimitive,
    TypeDefSequence,
    TypeDefTuple,
    TypeDefVariant,
    TypeParameter,
    Variant,
)
from pychain.primitives.scale import (
    U8,
    Array,
    Bool,
    BTreeMap,
    Bytes,
    CEnum,
    Codec,
    CompactOf,
    Enum,
    FixedBytes,
    Option,
    Result,
    Str,
    Struct,
    StructCodec,
    Tuple,
    Vec,
)

__all__ = [
    "TypeInfoError",
    "TypeInfo",
    "register_type_info",
    "type_info_of",
    "TypeBuilder",
    "RegistryBuilder",
    "rust_type_name",
]


class TypeInfoError(FrameError):
    """A codec cannot be described in the type registry (no type information for it)."""


#: A type parameter: its name and the codec it stands for (``None``: erased, as ``T: Config``).
TypeParam = tuple[str, "Codec[Any] | type | None"]


@dataclass(frozen=True)
class TypeInfo:
    """How a Struct class, IntEnum class or codec presents itself in metadata.

    ``field_names`` renames dataclass fields (``None``: the field is unnamed, as in a tuple
    struct); ``tuple_fields`` makes every field unnamed; ``type_names`` gives a field's
    ``type_name`` (default: :func:`rust_type_name` of its codec). ``as_variant`` says how a Struct
    class appears as a variant of an :class:`Enum`: ``"fields"`` (its fields are the variant's,
    the default), or ``"wrap"`` (one unnamed field whose type is the struct itself, as
    ``DispatchError::Module(ModuleError)``). ``variant_names`` renames IntEnum members.
    """

    path: tuple[str, ...] = ()
    type_params: tuple[TypeParam, ...] = ()
    field_names: Mapping[str, str | None] = field(default_factory=dict)
    tuple_fields: bool = False
    type_names: Mapping[str, str] = field(default_factory=dict)
    as_variant: str = "fields"
    variant_names: Mapping[int, str] = field(default_factory=dict)
    docs: tuple[str, ...] = ()


_TYPE_INFO: dict[int, tuple[Any, TypeInfo]] = {}


def register_type_info(obj: Any, info: TypeInfo) -> None:
    """Declare how ``obj`` (a Struct class, IntEnum class or codec object) appears in metadata."""
    if info.as_variant not in ("fields", "wrap"):
        raise TypeInfoError(f"as_variant must be 'fields' or 'wrap', got {info.as_variant!r}")
    _TYPE_INFO[id(obj)] = (obj, info)


def type_info_of(obj: Any) -> TypeInfo | None:
    """The registered :class:`TypeInfo` of ``obj`` (a Struct's ``__scale_path__`` counts too)."""
    entry = _TYPE_INFO.get(id(obj))
    if entry is not None and entry[0] is obj:
        return entry[1]
    if isinstance(obj, StructCodec):
        return type_info_of(obj.cls)
    if isinstance(obj, CEnum):
        return type_info_of(obj.enum_cls)
    path = obj.__dict__.get("__scale_path__") if isinstance(obj, type) else None
    if path:
        return TypeInfo(path=tuple(path))
    return None


#: Builds the ``Type`` of a codec, given the registry builder (to obtain ids of inner types).
TypeBuilder = Callable[["RegistryBuilder"], Type]

_PRIMITIVES = {p.name.lower(): p for p in Primitive}


def _struct_class(obj: Any) -> type[Struct] | None:
    if isinstance(obj, StructCodec):
        return obj.cls  # type: ignore[no-any-return]
    if isinstance(obj, type) and issubclass(obj, Struct):
        return obj
    return None


def rust_type_name(obj: Any) -> str:
    """A Rust-like spelling of a codec's type, used as a field's ``type_name``."""
    info = type_info_of(obj)
    if info is not None and info.path:
        return info.path[-1]
    cls = _struct_class(obj)
    if cls is not None:
        return cls.__name__
    if isinstance(obj, CompactOf):
        return f"Compact<u{obj.bits}>"
    if isinstance(obj, Option):
        return f"Option<{rust_type_name(obj.item)}>"
    if isinstance(obj, Vec):
        return f"Vec<{rust_type_name(obj.item)}>"
    if isinstance(obj, Array):
        return f"[{rust_type_name(obj.item)}; {obj.length}]"
    if isinstance(obj, Tuple):
        return "(" + ", ".join(rust_type_name(c) for c in obj.items) + ")"
    if isinstance(obj, Result):
        return f"Result<{rust_type_name(obj.ok)}, {rust_type_name(obj.err)}>"
    if isinstance(obj, BTreeMap):
        return f"BTreeMap<{rust_type_name(obj.key)}, {rust_type_name(obj.value)}>"
    if isinstance(obj, CEnum):
        return str(obj.enum_cls.__name__)
    if isinstance(obj, Codec):
        return obj.name
    return getattr(obj, "__name__", repr(obj))


def class_docs(cls: type) -> list[str]:
    """A class's own docstring as lines (none for dataclasses' generated signature text)."""
    doc = cls.__dict__.get("__doc__")
    if not doc or doc.startswith(f"{cls.__name__}("):
        return []
    return (inspect.cleandoc(doc)).splitlines()


class RegistryBuilder:
    """Collects types and hands out ids (``scale_info::Registry``); :meth:`finish` compacts.

    ``type_id(obj)`` accepts a codec object, a Struct class or an IntEnum class. Recursive types
    work: an id is reserved before the type's contents are described.
    """

    def __init__(self) -> None:
        self._types: list[Type | None] = []
        self._memo: dict[Any, int] = {}
        self._keep: list[Any] = []  # objects whose id() is part of a memo key
        self._builders: dict[int, tuple[Any, TypeBuilder]] = {}
        self._aliases: dict[str, Any] = {}

    # ------------------------------------------------------------------ registration

    def define(self, obj: Any, builder: TypeBuilder) -> None:
        """Describe ``obj`` (usually a codec of this runtime) with ``builder``."""
        self._builders[id(obj)] = (obj, builder)
        self._keep.append(obj)

    def alias(self, name: str, target: Any) -> None:
        """Let any otherwise undescribed codec whose ``name`` is ``name`` stand for ``target``.

        Used for codecs that delegate to a runtime type, e.g. a pallet's lazily bound
        ``Box<RuntimeCall>`` codec (``name == "RuntimeCall"``) is the runtime's call type.
        """
        self._aliases[name] = target
        self._keep.append(target)

    def add_type(self, key: Any, builder: TypeBuilder) -> int:
        """The id of the type under ``key``, built with ``builder`` the first time."""
        type_id = self._memo.get(key)
        if type_id is not None:
            return type_id
        type_id = len(self._types)
        self._memo[key] = type_id
        self._types.append(None)
        self._types[type_id] = builder(self)
        return type_id

    def type_id(self, obj: Any) -> int:
        """The id of the type of ``obj`` (codec object, Struct class or IntEnum class)."""
        obj = self._resolve_alias(obj)
        key = self._key(obj)
        return self.add_type(key, lambda b: b._describe(obj))

    def _resolve_alias(self, obj: Any) -> Any:
        """The codec that ``obj`` stands for (see :meth:`alias`), or ``obj`` itself."""
        if not isinstance(obj, Codec) or id(obj) in self._builders:
            return obj
        target = self._aliases.get(obj.name)
        if target is None or target is obj or callable(getattr(obj, "scale_type_info", None)):
            return obj
        if type_info_of(obj) is not None or _struct_class(obj) is not None:
            return obj
        if isinstance(obj, (Enum, CEnum, CompactOf, FixedBytes, Vec, Array, Tuple, Option)):
            return obj
        if isinstance(obj, (Result, BTreeMap)) or obj is Bytes or self._primitive(obj):
            return obj
        return target

    def _named_key(self, obj: Any) -> tuple[str, int]:
        self._keep.append(obj)
        return ("named", id(obj))

    def _key(self, obj: Any) -> Any:
        """A memo key: structural for anonymous types, identity for named ones."""
        if id(obj) in self._builders or type_info_of(obj) is not None:
            base = obj.cls if isinstance(obj, StructCodec) else obj
            base = obj.enum_cls if isinstance(obj, CEnum) else base
            return self._named_key(base)
        cls = _struct_class(obj)
        if cls is not None:
            return self._named_key(cls)
        if isinstance(obj, CEnum):
            return self._named_key(obj.enum_cls)
        if isinstance(obj, type) and issubclass(obj, enum.IntEnum):
            return self._named_key(obj)
        if isinstance(obj, Codec):
            prim = self._primitive(obj)
            if prim is not None:
                return ("prim", prim)
            if isinstance(obj, CompactOf):
                return ("compact", obj.bits)
            if obj is Bytes:
                return ("seq", ("prim", Primitive.U8))
            if isinstance(obj, FixedBytes):
                return ("array", obj.size, ("prim", Primitive.U8))
            if isinstance(obj, Vec):
                return ("seq", self._key(obj.item))
            if isinstance(obj, Array):
                return ("array", obj.length, self._key(obj.item))
            if isinstance(obj, Tuple):
                return ("tuple",) + tuple(self._key(c) for c in obj.items)
            if isinstance(obj, Option):
                return ("option", self._key(obj.item))
            if isinstance(obj, Result):
                return ("result", self._key(obj.ok), self._key(obj.err))
            if isinstance(obj, BTreeMap):
                return ("btreemap", self._key(obj.key), self._key(obj.value))
            target = self._resolve_alias(obj)
            return self._key(target) if target is not obj else self._named_key(obj)
        raise TypeInfoError(f"cannot describe {obj!r:.60} in metadata: not a codec")

    @staticmethod
    def _primitive(obj: Any) -> Primitive | None:
        if obj is Bool:
            return Primitive.Bool
        if obj is Str:
            return Primitive.Str
        if type(obj).__name__ in ("_FixedInt", "_BigInt"):
            return _PRIMITIVES.get(obj.name)
        return None

    # ------------------------------------------------------------------ descriptions

    def _describe(self, obj: Any) -> Type:
        entry = self._builders.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1](self)
        hook = getattr(obj, "scale_type_info", None)
        if isinstance(obj, Codec) and callable(hook):
            result = hook(self)
            if not isinstance(result, Type):
                raise TypeInfoError(f"{obj.name}.scale_type_info did not return a Type")
            return result
        info = type_info_of(obj)
        cls = _struct_class(obj)
        if cls is not None:
            return self._struct_type(cls, info)
        if isinstance(obj, CEnum):
            return self._c_enum_type(obj.enum_cls, info)
        if isinstance(obj, type) and issubclass(obj, enum.IntEnum):
            return self._c_enum_type(obj, info)
        if isinstance(obj, Enum):
            return self._enum_type(obj, info)
        prim = self._primitive(obj)
        if prim is not None:
            return self.plain(TypeDefPrimitive(prim))
        if isinstance(obj, CompactOf):
            bits = obj.bits
            if f"u{bits}" not in _PRIMITIVES:
                raise TypeInfoError(f"Compact<u{bits}> has no unsigned primitive of that width")
            inner = self.add_type(("prim", _PRIMITIVES[f"u{bits}"]), self._primitive_builder(bits))
            return self.plain(TypeDefCompact(inner), info)
        if obj is Bytes:
            return self.plain(TypeDefSequence(self.type_id(U8)), info)
        if isinstance(obj, FixedBytes):
            return self.plain(TypeDefArray(obj.size, self.type_id(U8)), info)
        if isinstance(obj, Vec):
            return self.plain(TypeDefSequence(self.type_id(obj.item)), info)
        if isinstance(obj, Array):
            return self.plain(TypeDefArray(obj.length, self.type_id(obj.item)), info)
        if isinstance(obj, Tuple):
            return self.plain(TypeDefTuple([self.type_id(c) for c in obj.items]), info)
        if isinstance(obj, Option):
            if obj.item is Bool:
                return self._option_bool_type()
            item = self.type_id(obj.item)
            return Type(
                ["Option"],
                [TypeParameter("T", item)],
                TypeDefVariant(
                    [Variant("None", [], 0), Variant("Some", [Field(None, item, None)], 1)]
                ),
            )
        if isinstance(obj, Result):
            ok, err = self.type_id(obj.ok), self.type_id(obj.err)
            return Type(
                ["Result"],
                [TypeParameter("T", ok), TypeParameter("E", err)],
                TypeDefVariant(
                    [
                        Variant("Ok", [Field(None, ok, None)], 0),
                        Variant("Err", [Field(None, err, None)], 1),
                    ]
                ),
            )
        if isinstance(obj, BTreeMap):
            key, value = self.type_id(obj.key), self.type_id(obj.value)
            pairs = self.type_id(Vec(Tuple(obj.key, obj.value)))
            return Type(
                ["BTreeMap"],
                [TypeParameter("K", key), TypeParameter("V", value)],
                TypeDefComposite([Field(None, pairs, None)]),
            )
        raise TypeInfoError(
            f"no type information for codec {getattr(obj, 'name', obj)!r}: register a builder "
            "or give the codec a scale_type_info method"
        )

    @staticmethod
    def _primitive_builder(bits: int) -> TypeBuilder:
        return lambda b: b.plain(TypeDefPrimitive(_PRIMITIVES[f"u{bits}"]))

    def _option_bool_type(self) -> Type:
        return Type(
            ["OptionBool"],
            [],
            TypeDefVariant(
                [Variant("None", [], 0), Variant("SomeTrue", [], 1), Variant("SomeFalse", [], 2)]
            ),
            ["Option<bool> in one byte (parity-scale-codec's OptionBool)."],
        )

    def plain(self, type_def: Any, info: TypeInfo | None = None) -> Type:
        """A ``Type`` with the path and parameters of ``info`` (none when ``info`` is None)."""
        if info is None:
            return Type([], [], type_def)
        return Type(list(info.path), self.params(info.type_params), type_def, list(info.docs))

    def params(self, type_params: Sequence[TypeParam]) -> list[TypeParameter]:
        return [
            TypeParameter(name, None if codec is None else self.type_id(codec))
            for name, codec in type_params
        ]

    def struct_fields(self, cls: type[Struct], info: TypeInfo | None) -> list[Field]:
        """The fields of a Struct class as metadata ``Field`` s (names, types, type names)."""
        codec = cls.codec()
        renames = info.field_names if info else {}
        type_names = info.type_names if info else {}
        out = []
        for name, field_codec in zip(codec.field_names, codec.field_codecs, strict=True):
            rust_name: str | None = renames.get(name, _rust_field_name(name))
            if info is not None and info.tuple_fields:
                rust_name = None
            out.append(
                Field(
                    rust_name,
                    self.type_id(field_codec),
                    type_names.get(name, rust_type_name(field_codec)),
                )
            )
        return out

    def _struct_type(self, cls: type[Struct], info: TypeInfo | None) -> Type:
        docs = list(info.docs) if info and info.docs else class_docs(cls)
        path = list(info.path) if info else []
        if not path:
            path = [*cls.__module__.split("."), cls.__name__]
        params = self.params(info.type_params) if info else []
        return Type(path, params, TypeDefComposite(self.struct_fields(cls, info)), docs)

    def variant_of(self, index: int, name: str, cls: type[Struct]) -> Variant:
        """An :class:`Enum` variant: its Struct's fields, or one field of the struct (``wrap``)."""
        info = type_info_of(cls)
        docs = class_docs(cls)
        if info is not None and info.as_variant == "wrap":
            fields = [Field(None, self.type_id(cls), rust_type_name(cls))]
        else:
            fields = self.struct_fields(cls, info)
        return Variant(name, fields, index, docs)

    def _enum_type(self, codec: Enum, info: TypeInfo | None) -> Type:
        variants = [
            self.variant_of(index, codec.variant_names[index], cls)
            for index, cls in codec.variants.items()
        ]
        path = (
            list(info.path)
            if info and info.path
            else _default_path(codec.name, list(codec.variants.values()))
        )
        params = self.params(info.type_params) if info else []
        return Type(path, params, TypeDefVariant(variants), list(info.docs) if info else [])

    def _c_enum_type(self, enum_cls: type[enum.IntEnum], info: TypeInfo | None) -> Type:
        names = info.variant_names if info else {}
        variants = [
            Variant(names.get(int(m), m.name), [], int(m), _member_docs(m))
            for m in sorted(enum_cls, key=int)
        ]
        path = (
            list(info.path) if info and info.path else _default_path(enum_cls.__name__, [enum_cls])
        )
        params = self.params(info.type_params) if info else []
        return Type(path, params, TypeDefVariant(variants), list(info.docs) if info else [])

    # ------------------------------------------------------------------ result

    def finish(self) -> tuple[PortableRegistry, list[int]]:
        """The compacted registry and the map from provisional ids to final ids.

        Structurally identical types (same path, parameters, definition and docs, with references
        compared through the same merge) are merged; ids keep first-use order.
        """
        types = [t for t in self._types if t is not None]
        if len(types) != len(self._types):
            raise TypeInfoError("a type was still being described when the registry was finished")
        classes = _merge_identical(types)
        final: dict[int, int] = {}
        mapping = []
        for cls_id in classes:
            if cls_id not in final:
                final[cls_id] = len(final)
            mapping.append(final[cls_id])
        kept: dict[int, Type] = {}
        for old, new in enumerate(mapping):
            if new not in kept:
                kept[new] = remap_type(types[old], mapping)
        registry = PortableRegistry([PortableType(i, kept[i]) for i in range(len(kept))])
        return registry, mapping


def _member_docs(member: enum.IntEnum) -> list[str]:
    return []


def _rust_field_name(name: str) -> str:
    """A dataclass field name as Rust spells it: ``from_`` (a Python keyword dodge) is ``from``."""
    stripped = name.rstrip("_")
    return stripped if stripped and name.endswith("_") else name


def _default_path(name: str, classes: Sequence[type]) -> list[str]:
    """Path of an enum without declared type info: its variants' module (if they share one)."""
    modules = {cls.__module__ for cls in classes}
    if len(modules) == 1:
        return [*modules.pop().split("."), name]
    return ["pychain", name]


# ---------------------------------------------------------------------------- remapping ids


def remap_type(ty: Type, mapping: Sequence[int]) -> Type:
    """``ty`` with every type reference ``r`` replaced by ``mapping[r]``."""

    def f(fields: list[Field]) -> list[Field]:
        return [dataclasses.replace(x, ty=mapping[x.ty]) for x in fields]

    td = ty.type_def
    new_def: Any
    if isinstance(td, TypeDefComposite):
        new_def = TypeDefComposite(f(td.fields))
    elif isinstance(td, TypeDefVariant):
        new_def = TypeDefVariant([dataclasses.replace(v, fields=f(v.fields)) for v in td.variants])
    elif isinstance(td, (TypeDefSequence, TypeDefCompact)):
        new_def = type(td)(mapping[td.ty])
    elif isinstance(td, TypeDefArray):
        new_def = TypeDefArray(td.len, mapping[td.ty])
    elif isinstance(td, TypeDefTuple):
        new_def = TypeDefTuple([mapping[t] for t in td.fields])
    elif isinstance(td, TypeDefPrimitive):
        new_def = td
    else:  # bit sequence
        new_def = type(td)(mapping[td.bit_store_type], mapping[td.bit_order_type])
    params = [
        dataclasses.replace(p, ty=None if p.ty is None else mapping[p.ty]) for p in ty.type_params
    ]
    return Type(list(ty.path), params, new_def, list(ty.docs))


def _merge_identical(types: list[Type]) -> list[int]:
    """Partition refinement: the class of each type; equal classes mean identical types.

    Starts with every type in one class and splits each class by "previous class and encoding
    with references replaced by their current class" until no class splits (Moore's algorithm;
    recursive types merge too). A class is named by the index of its first member.
    """
    classes = [0] * len(types)
    count = 1
    while True:
        signatures: dict[bytes, int] = {}
        new_classes = []
        for index, ty in enumerate(types):
            sig = classes[index].to_bytes(4, "little") + remap_type(ty, classes).encode()
            new_classes.append(signatures.setdefault(sig, index))
        classes = new_classes
        if len(signatures) == count:
            return classes
        count = len(signatures)
