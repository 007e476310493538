"""Pallet declarations: the ``Pallet`` base class, the ``@call`` decorator, hooks, events and errors.

Mirrors ``#[frame_support::pallet]``. A pallet is a class whose body declares, in FRAME's order::

    class Pallet(frame.Pallet):
        name = "Balances"                    # the name used in storage keys and metadata
        Config = BalancesConfig              # a dataclass of constants and interfaces
        TotalIssuance = StorageValue(U128, default=0)            # storage
        Event = Enum("Event", {0: Endowed, 2: Transfer, ...})    # events, explicit indices
        class Error(IntEnum): InsufficientBalance = 2 ...        # errors, explicit indices
        GenesisConfig = BalancesGenesis                           # genesis config (dataclass)
        def on_initialize(self, n): ...                           # hooks
        @call(index=0, weight=...)                                # calls, explicit indices
        def transfer_allow_death(self, origin, dest: Annotated[..., codec], value: ...): ...

The decorator only records metadata (index, weight, class, fee policy) on the function; dispatch is
done by the runtime, which decodes ``pallet_index ++ call_index ++ args`` and calls the method. The
pallet's index in the runtime is given by the runtime table (``construct_runtime!``), not here.
Differences from FRAME: a call's arguments take their SCALE codec from ``Annotated`` hints; pallets
reach each other through interfaces in their ``Config`` (set by the runtime), never through each
other's storage.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pychain.frame.dispatch import DispatchError, FrameError, Origin
from pychain.frame.storage import StorageItem
from pychain.frame.weights import ZERO_WEIGHT, DispatchClass, DispatchInfo, Pays, Weight
from pychain.primitives.scale import Codec, Enum, Struct

if typing.TYPE_CHECKING:
    from pychain.frame.runtime import Runtime


@dataclass(frozen=True)
class CallMeta:
    """What ``@call`` records: index, weight (or a function of the args), class, fee policy."""

    index: int
    weight: Weight | Callable[..., Weight]
    dispatch_class: DispatchClass = DispatchClass.Normal
    pays_fee: Pays = Pays.Yes


def call(
    index: int,
    weight: Weight | Callable[..., Weight],
    dispatch_class: DispatchClass = DispatchClass.Normal,
    pays_fee: Pays = Pays.Yes,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a pallet method as a dispatchable call with a frozen ``index`` (``#[pallet::call_index]``).

    ``weight`` is a :class:`Weight` or a function taking the call's arguments by name
    (``#[pallet::weight(...)]``).
    """
    if not 0 <= index <= 255:
        raise FrameError(f"call index {index} is not a u8")

    def record(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__pallet_call__ = CallMeta(index, weight, dispatch_class, pays_fee)  # type: ignore[attr-defined]
        return fn

    return record


@dataclass(frozen=True)
class CallDef:
    """A pallet call as the runtime sees it (also the source of its metadata)."""

    name: str
    index: int
    arg_names: tuple[str, ...]
    arg_codecs: tuple[Codec[Any], ...]
    meta: CallMeta
    docs: str

    def weight(self, args: tuple[Any, ...]) -> Weight:
        w = self.meta.weight
        if isinstance(w, Weight):
            return w
        return w(**dict(zip(self.arg_names, args, strict=True)))

    def info(self, args: tuple[Any, ...]) -> DispatchInfo:
        return DispatchInfo(self.weight(args), self.meta.dispatch_class, self.meta.pays_fee)


def _collect_calls(cls: type) -> dict[int, CallDef]:
    calls: dict[int, CallDef] = {}
    for attr_name, fn in inspect.getmembers(cls, predicate=inspect.isfunction):
        meta: CallMeta | None = getattr(fn, "__pallet_call__", None)
        if meta is None:
            continue
        hints = typing.get_type_hints(fn, include_extras=True)
        params = list(inspect.signature(fn).parameters)[2:]  # skip self, origin
        codecs = []
        for param in params:
            hint = hints.get(param)
            codec = _codec_of(hint)
            if codec is None:
                raise FrameError(
                    f"{cls.__name__}.{attr_name}: argument {param!r} needs Annotated[T, codec]"
                )
            codecs.append(codec)
        if meta.index in calls:
            raise FrameError(
                f"{cls.__name__}: call index {meta.index} used by {calls[meta.index].name} "
                f"and {attr_name}"
            )
        calls[meta.index] = CallDef(
            attr_name, meta.index, tuple(params), tuple(codecs), meta, inspect.getdoc(fn) or ""
        )
    return dict(sorted(calls.items()))


def _codec_of(hint: Any) -> Codec[Any] | None:
    if typing.get_origin(hint) is typing.Annotated:
        for meta in hint.__metadata__:
            if isinstance(meta, Codec):
                return meta
            if isinstance(meta, type) and issubclass(meta, Struct):
                return meta.codec()
    if isinstance(hint, type) and issubclass(hint, Struct):
        return hint.codec()
    return None


@dataclass(frozen=True)
class Constant:
    """A pallet constant exposed in metadata (``#[pallet::constant]``)."""

    name: str
    codec: Codec[Any]
    value: Any
    docs: str = ""


class Pallet:
    """Base class of pallets. Subclasses declare storage, ``Event``, ``Error``, calls and hooks."""

    #: Pallet name: storage prefix and metadata name (``Balances``, ``System``…).
    name: ClassVar[str] = ""
    #: The pallet's event enum (``Enum`` codec whose variants are ``Struct`` classes), if any.
    Event: ClassVar[Enum | None] = None
    #: The pallet's error enum (an ``IntEnum`` with explicit values), if any.
    Error: ClassVar[type[enum.IntEnum] | None] = None
    #: Calls by index, collected when the class is created.
    calls: ClassVar[dict[int, CallDef]] = {}
    #: Storage descriptors by name, in declaration order.
    storage_items: ClassVar[dict[str, StorageItem]] = {}
    _calls_resolved: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.storage_items = {
            name: value for name, value in vars(cls).items() if isinstance(value, StorageItem)
        }
        cls.calls = {}  # resolved lazily: annotations may refer to names defined later
        cls._calls_resolved = False

    def __init__(self, config: Any = None) -> None:
        self.config = config
        self.index = -1
        self.runtime: Runtime | None = None
        self.calls_by_name = {c.name: c for c in self.get_calls().values()}

    @classmethod
    def get_calls(cls) -> dict[int, CallDef]:
        if not cls.__dict__.get("_calls_resolved", False):
            cls.calls = _collect_calls(cls)
            cls._calls_resolved = True
        return cls.calls

    # ------------------------------------------------------------------------------ helpers

    def error(self, error: enum.IntEnum, message: str = "") -> DispatchError:
        """``Error::<T>::X.into()``: a ``DispatchError::Module`` for this pallet."""
        return DispatchError.module(self.index, int(error), message or error.name)

    def deposit_event(self, event: Struct) -> None:
        """Record an event of this pallet in ``System.Events`` with the current phase."""
        if self.runtime is None:
            raise FrameError(f"{self.name}: pallet is not part of a runtime")
        self.runtime.deposit_event(self, event)

    def constants(self) -> list[Constant]:
        """Constants exposed in metadata; pallets override."""
        return []

    # -------------------------------------------------------------------------------- hooks

    def on_initialize(self, n: int) -> Weight:
        return ZERO_WEIGHT

    def on_finalize(self, n: int) -> None:
        return None

    def on_idle(self, n: int, remaining: Weight) -> Weight:
        return ZERO_WEIGHT

    def integrity_test(self) -> None:
        """Checks of the pallet's constants, run once when the runtime is built."""
        return None

    def try_state(self, n: int) -> None:
        """Invariants of the pallet's storage; raise :class:`TryStateError` when broken."""
        return None

    def is_inherent(self, call: Any) -> bool:
        """Whether ``call`` (a ``RuntimeCall`` of this pallet) is an inherent (``ProvideInherent``)."""
        return False

    def genesis_build(self, genesis: Any) -> None:
        """Write the pallet's genesis storage from its genesis config."""
        return None


class TryStateError(FrameError):
    """A pallet invariant (``try_state``) does not hold."""


def dispatch_call(pallet: Pallet, call_def: CallDef, origin: Origin, args: tuple[Any, ...]) -> Any:
    """Invoke the pallet method for ``call_def`` (no storage layer: the caller adds one)."""
    method = getattr(pallet, call_def.name)
    return method(origin, *args)


def field_names(struct_cls: type) -> list[str]:
    """Names of a Struct dataclass's fields (events' metadata)."""
    return [f.name for f in dataclasses.fields(struct_cls)]
