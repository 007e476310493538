"""Types of the Sudo pallet (``pallet_sudo``): the boxed-call codec, the genesis config and the
address lookup.

``Box<RuntimeCall>``: a call argument that is itself a call of the runtime (``pallet u8 ++ call u8
++ args``). Its codec is the runtime's ``RuntimeCall`` codec, which exists only once the runtime is
built; :class:`BoxedCallCodec` is a lazy codec that the Sudo pallet *binds* to its runtime when
``construct_runtime`` (``Runtime(...)``) runs the pallets' ``integrity_test``. This is the Python
counterpart of ``<T as Config>::RuntimeCall``: a pallet call type made concrete by the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pychain.frame.dispatch import DECannotLookup, DispatchError, FrameError
from pychain.frame.runtime import Runtime, RuntimeCall
from pychain.frame.weights import DispatchInfo
from pychain.primitives.multiaddress import AddressId
from pychain.primitives.scale import Codec, ScaleDecodeError, ScaleEncodeError


class UnboundCallCodecError(FrameError):
    """A boxed call was encoded or decoded before any runtime bound the codec."""


class BoxedCallCodec(Codec[RuntimeCall]):
    """``Box<RuntimeCall>``: encodes and decodes with the bound runtime's call codec.

    The codec is shared by the pallet class (call argument codecs are declared on the class);
    the most recently built runtime that contains the pallet is the one bound. Processes that keep
    runtimes with *different* pallet tables alive at the same time must ``bind`` the one they use.
    """

    name = "RuntimeCall"
    min_size = 2

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    def bind(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise UnboundCallCodecError("Box<RuntimeCall> used before a runtime was built")
        return self._runtime

    def encode_into(self, value: RuntimeCall, out: bytearray) -> None:
        if self._runtime is None:
            raise ScaleEncodeError("Box<RuntimeCall>: no runtime is bound")
        self._runtime.call_codec.encode_into(value, out)

    def decode_at(self, data: bytes, pos: int) -> tuple[RuntimeCall, int]:
        if self._runtime is None:
            raise ScaleDecodeError("Box<RuntimeCall>: no runtime is bound", pos)
        return self._runtime.call_codec.decode_at(data, pos)

    def dispatch_info(self, call: RuntimeCall) -> DispatchInfo:
        """``GetDispatchInfo`` of the boxed call."""
        return self.runtime.dispatch_info(call)


#: The codec of Sudo's ``call: Box<RuntimeCall>`` arguments.
BOXED_CALL = BoxedCallCodec()


def lookup(address: Any) -> bytes:
    """``AccountIdLookup::lookup``: only ``MultiAddress::Id`` resolves (no indices pallet)."""
    if isinstance(address, AddressId):
        return bytes(address.account_id)
    raise DispatchError(DECannotLookup(), f"cannot look up {type(address).__name__}")


@dataclass(frozen=True)
class SudoGenesisConfig:
    """``pallet_sudo::GenesisConfig { key: Option<AccountId> }``."""

    key: bytes | None = None
