"""The runtime table: an ordered, indexed list of pallets, and the runtime-wide call and event types.

Mirrors ``construct_runtime!``: each pallet gets a frozen index; ``RuntimeCall`` is
``pallet_index u8 ++ call_index u8 ++ SCALE(args)`` and ``RuntimeEvent`` is
``pallet_index u8 ++ SCALE(pallet event)``. ``EventRecord { phase, event, topics }`` is the element
of ``System.Events`` (Polkadot spec, "Runtime events").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pychain.frame.dispatch import DispatchError, FrameError, Origin
from pychain.frame.externalities import with_transaction
from pychain.frame.pallet import CallDef, Pallet, dispatch_call
from pychain.frame.weights import DispatchInfo
from pychain.primitives.scale import (
    H256,
    U32,
    Codec,
    Enum,
    ScaleDecodeError,
    ScaleEncodeError,
    Struct,
    Vec,
)


class RuntimeError_(FrameError):
    """Bad runtime construction or a call/event that does not belong to the runtime."""


class CallDecodeError(ScaleDecodeError):
    """Call bytes do not decode as a call of this runtime."""


@dataclass(frozen=True)
class RuntimeCall:
    """A decoded call: pallet name, call name and positional arguments."""

    pallet: str
    name: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class RuntimeEvent:
    """An event of some pallet: the pallet's name and the event variant instance."""

    pallet: str
    event: Struct


# ------------------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class ApplyExtrinsic(Struct):
    """``Phase::ApplyExtrinsic(u32)``: during the i-th extrinsic."""

    index: Annotated[int, U32]


@dataclass(frozen=True)
class Finalization(Struct):
    """``Phase::Finalization``."""


@dataclass(frozen=True)
class Initialization(Struct):
    """``Phase::Initialization``."""


Phase = Enum(
    "Phase",
    {0: ApplyExtrinsic, 1: Finalization, 2: Initialization},
)


class RuntimeCallCodec(Codec[RuntimeCall]):
    """``RuntimeCall`` of a given runtime."""

    name = "RuntimeCall"
    min_size = 2

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def encode_into(self, value: RuntimeCall, out: bytearray) -> None:
        pallet = self.runtime.pallet(value.pallet)
        call_def = pallet.calls_by_name.get(value.name)
        if call_def is None:
            raise ScaleEncodeError(f"{value.pallet} has no call {value.name!r}")
        if len(value.args) != len(call_def.arg_codecs):
            raise ScaleEncodeError(
                f"{value.pallet}.{value.name} takes {len(call_def.arg_codecs)} argument(s)"
            )
        out.append(pallet.index)
        out.append(call_def.index)
        for codec, arg in zip(call_def.arg_codecs, value.args, strict=True):
            codec.encode_into(arg, out)

    def decode_at(self, data: bytes, pos: int) -> tuple[RuntimeCall, int]:
        if pos + 2 > len(data):
            raise CallDecodeError("input too short for a call", pos)
        pallet = self.runtime.pallets_by_index.get(data[pos])
        if pallet is None:
            raise CallDecodeError(f"no pallet with index {data[pos]}", pos)
        call_def = pallet.get_calls().get(data[pos + 1])
        if call_def is None:
            raise CallDecodeError(f"{pallet.name} has no call with index {data[pos + 1]}", pos + 1)
        pos += 2
        args = []
        for codec in call_def.arg_codecs:
            arg, pos = codec.decode_at(data, pos)
            args.append(arg)
        return RuntimeCall(pallet.name, call_def.name, tuple(args)), pos


class RuntimeEventCodec(Codec[RuntimeEvent]):
    """``RuntimeEvent`` of a given runtime."""

    name = "RuntimeEvent"
    min_size = 1

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def encode_into(self, value: RuntimeEvent, out: bytearray) -> None:
        pallet = self.runtime.pallet(value.pallet)
        if pallet.Event is None:
            raise ScaleEncodeError(f"{pallet.name} has no events")
        out.append(pallet.index)
        pallet.Event.encode_into(value.event, out)

    def decode_at(self, data: bytes, pos: int) -> tuple[RuntimeEvent, int]:
        if pos >= len(data):
            raise ScaleDecodeError("input too short for an event", pos)
        pallet = self.runtime.pallets_by_index.get(data[pos])
        if pallet is None or pallet.Event is None:
            raise ScaleDecodeError(f"no pallet with events at index {data[pos]}", pos)
        event, end = pallet.Event.decode_at(data, pos + 1)
        return RuntimeEvent(pallet.name, event), end


@dataclass(frozen=True)
class EventRecord:
    """``frame_system::EventRecord { phase, event, topics: Vec<H256> }``."""

    phase: Struct
    event: RuntimeEvent
    topics: list[bytes] = field(default_factory=list)


class EventRecordCodec(Codec[EventRecord]):
    name = "EventRecord"
    min_size = 3

    def __init__(self, event_codec: RuntimeEventCodec) -> None:
        self.event_codec = event_codec
        self._topics = Vec(H256)

    def encode_into(self, value: EventRecord, out: bytearray) -> None:
        Phase.encode_into(value.phase, out)
        self.event_codec.encode_into(value.event, out)
        self._topics.encode_into(value.topics, out)

    def decode_at(self, data: bytes, pos: int) -> tuple[EventRecord, int]:
        phase, pos = Phase.decode_at(data, pos)
        event, pos = self.event_codec.decode_at(data, pos)
        topics, pos = self._topics.decode_at(data, pos)
        return EventRecord(phase, event, topics), pos


class Runtime:
    """An ordered table of pallets with frozen indices (``construct_runtime!``).

    ``System`` must be present; it records events. Pallets are given their index and a reference
    to the runtime here, and ``integrity_test`` runs for each.
    """

    def __init__(self, pallets: Sequence[tuple[int, Pallet]]) -> None:
        self.pallets: list[Pallet] = []
        self.pallets_by_index: dict[int, Pallet] = {}
        self.pallets_by_name: dict[str, Pallet] = {}
        for index, pallet in pallets:
            if not 0 <= index <= 255:
                raise RuntimeError_(f"pallet index {index} is not a u8")
            if index in self.pallets_by_index:
                raise RuntimeError_(f"pallet index {index} is used twice")
            if pallet.name in self.pallets_by_name:
                raise RuntimeError_(f"pallet name {pallet.name} is used twice")
            pallet.index = index
            pallet.runtime = self
            self.pallets.append(pallet)
            self.pallets_by_index[index] = pallet
            self.pallets_by_name[pallet.name] = pallet
        if "System" not in self.pallets_by_name:
            raise RuntimeError_("a runtime needs the System pallet")
        self.call_codec = RuntimeCallCodec(self)
        self.event_codec = RuntimeEventCodec(self)
        self.event_record_codec = EventRecordCodec(self.event_codec)
        for pallet in self.pallets:
            pallet.integrity_test()

    # ------------------------------------------------------------------------------ lookups

    def pallet(self, name: str) -> Any:
        try:
            return self.pallets_by_name[name]
        except KeyError:
            raise RuntimeError_(f"no pallet named {name!r} in this runtime") from None

    @property
    def system(self) -> Any:
        return self.pallets_by_name["System"]

    def call_def(self, call: RuntimeCall) -> CallDef:
        pallet = self.pallet(call.pallet)
        call_def: CallDef | None = pallet.calls_by_name.get(call.name)
        if call_def is None:
            raise RuntimeError_(f"{call.pallet} has no call {call.name!r}")
        return call_def

    # -------------------------------------------------------------------------------- calls

    def encode_call(self, call: RuntimeCall) -> bytes:
        return self.call_codec.encode(call)

    def decode_call(self, data: bytes) -> RuntimeCall:
        return self.call_codec.decode(data)

    def make_call(self, pallet: str, name: str, **kwargs: Any) -> RuntimeCall:
        """Build a call with named arguments: ``make_call("Balances", "transfer_keep_alive", …)``."""
        call_def = self.call_def(RuntimeCall(pallet, name))
        missing = [a for a in call_def.arg_names if a not in kwargs]
        extra = [k for k in kwargs if k not in call_def.arg_names]
        if missing or extra:
            raise RuntimeError_(
                f"{pallet}.{name}({', '.join(call_def.arg_names)}): "
                f"missing {missing or '-'}, unexpected {extra or '-'}"
            )
        return RuntimeCall(pallet, name, tuple(kwargs[a] for a in call_def.arg_names))

    def dispatch_info(self, call: RuntimeCall) -> DispatchInfo:
        return self.call_def(call).info(call.args)

    def dispatch(self, call: RuntimeCall, origin: Origin) -> Any:
        """Dispatch in a storage layer that rolls back if the call raises ``DispatchError``."""
        pallet = self.pallet(call.pallet)
        call_def = self.call_def(call)
        return with_transaction(lambda: dispatch_call(pallet, call_def, origin, call.args))

    # ------------------------------------------------------------------------------- events

    def deposit_event(self, pallet: Pallet, event: Struct, topics: Sequence[bytes] = ()) -> None:
        if pallet.Event is None:
            raise RuntimeError_(f"{pallet.name} declares no events")
        pallet.Event.index_of(event)  # raises for a foreign event type
        self.system.deposit_event_record(RuntimeEvent(pallet.name, event), list(topics))

    # -------------------------------------------------------------------------------- hooks

    def try_state(self, n: int) -> None:
        for pallet in self.pallets:
            pallet.try_state(n)


__all__ = [
    "Runtime",
    "RuntimeCall",
    "RuntimeEvent",
    "EventRecord",
    "Phase",
    "ApplyExtrinsic",
    "Finalization",
    "Initialization",
    "CallDecodeError",
    "DispatchError",
]
