"""The Sudo pallet: one key account that may dispatch any call as Root (development chains only).

Mirrors ``pallet_sudo`` (polkadot-sdk ``substrate/frame/sudo``): storage ``Key``
(``Option<AccountId>``); calls ``sudo`` (0), ``sudo_unchecked_weight`` (1), ``set_key`` (2),
``sudo_as`` (3), ``remove_key`` (4); events ``Sudid`` (0), ``KeyChanged`` (1), ``KeyRemoved`` (2),
``SudoAsDone`` (3); error ``RequireSudo`` (0). The wrapped call is dispatched in its own storage
layer: when it fails its changes are rolled back but the ``sudo`` call itself succeeds and reports
the error in ``Sudid { sudo_result: Err(..) }``, as FRAME.

Differences from FRAME: the dispatch class of ``sudo`` is ``Normal`` whatever the wrapped call's
class (pychain's call metadata is static), and the sudo key pays the fee (FRAME returns
``Pays::No`` after a successful sudo); the ``CheckOnlySudoAccount`` extension is not provided.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any

from pychain.frame.dispatch import (
    DispatchError,
    DispatchErrorCodec,
    Origin,
    ensure_signed,
)
from pychain.frame.pallet import Pallet, TryStateError, call
from pychain.frame.runtime import RuntimeCall
from pychain.frame.storage import StorageValue
from pychain.frame.weights import Weight
from pychain.pallets.sudo import weights
from pychain.pallets.sudo.types import BOXED_CALL, SudoGenesisConfig, lookup
from pychain.pallets.system.types import AccountId
from pychain.primitives.multiaddress import MULTI_ADDRESS, MultiAddress
from pychain.primitives.scale import Enum, Err, Ok, Option, Result, Struct, Unit

#: ``DispatchResult = Result<(), DispatchError>``.
DispatchResultCodec = Result(Unit, DispatchErrorCodec)


class SudoError(enum.IntEnum):
    """``pallet_sudo::Error``."""

    #: Sender must be the Sudo account.
    RequireSudo = 0


@dataclass(frozen=True)
class Sudid(Struct):
    """A sudo call just took place."""

    sudo_result: Annotated[Any, DispatchResultCodec]


@dataclass(frozen=True)
class KeyChanged(Struct):
    """The sudo key has been updated."""

    old: Annotated[bytes | None, Option(AccountId)]
    new: Annotated[bytes, AccountId]


@dataclass(frozen=True)
class KeyRemoved(Struct):
    """The key was permanently removed."""


@dataclass(frozen=True)
class SudoAsDone(Struct):
    """A ``sudo_as`` call just took place."""

    sudo_result: Annotated[Any, DispatchResultCodec]


#: ``pallet_sudo::Event``.
SudoEvent = Enum("Event", {0: Sudid, 1: KeyChanged, 2: KeyRemoved, 3: SudoAsDone})


def _wrapped_weight(call: RuntimeCall) -> Weight:
    return BOXED_CALL.dispatch_info(call).weight


class Sudo(Pallet):
    """``pallet_sudo``."""

    name = "Sudo"

    # Storage.
    Key = StorageValue(AccountId, docs="The `AccountId` of the sudo key.")

    Event = SudoEvent
    Error = SudoError

    def integrity_test(self) -> None:
        # ``construct_runtime`` makes ``Box<RuntimeCall>`` concrete: bind it to this runtime.
        assert self.runtime is not None
        BOXED_CALL.bind(self.runtime)

    # -------------------------------------------------------------------------------- genesis

    def genesis_build(self, genesis: SudoGenesisConfig | None) -> None:
        if genesis is not None and genesis.key is not None:
            self.Key.put(genesis.key)

    # ---------------------------------------------------------------------------------- calls

    @call(index=0, weight=lambda call: weights.sudo() + _wrapped_weight(call))
    def sudo(self, origin: Origin, call: Annotated[RuntimeCall, BOXED_CALL]) -> None:
        """Dispatch ``call`` with Root origin (sudo key only)."""
        # Verify the sender is the sudo key.
        self.ensure_sudo_key(origin)
        self.deposit_event(Sudid(self._dispatch(call, Origin.root())))

    @call(index=1, weight=lambda call, weight: weight)
    def sudo_unchecked_weight(
        self, origin: Origin, call: Annotated[RuntimeCall, BOXED_CALL], weight: Weight
    ) -> None:
        """Dispatch ``call`` with Root origin, declaring ``weight`` instead of the call's own."""
        # Verify the sender is the sudo key.
        self.ensure_sudo_key(origin)
        self.deposit_event(Sudid(self._dispatch(call, Origin.root())))

    @call(index=2, weight=weights.set_key())
    def set_key(self, origin: Origin, new: Annotated[MultiAddress, MULTI_ADDRESS]) -> None:
        """Make ``new`` the sudo key (sudo key or Root)."""
        # Verify the sender is the sudo key or Root.
        self.ensure_sudo(origin)
        new_key = lookup(new)
        old = self.Key.get()
        self.Key.put(new_key)
        self.deposit_event(KeyChanged(old, new_key))

    @call(index=3, weight=lambda who, call: weights.sudo() + _wrapped_weight(call))
    def sudo_as(
        self,
        origin: Origin,
        who: Annotated[MultiAddress, MULTI_ADDRESS],
        call: Annotated[RuntimeCall, BOXED_CALL],
    ) -> None:
        """Dispatch ``call`` with ``Signed(who)`` origin (sudo key only)."""
        # Verify the sender is the sudo key.
        self.ensure_sudo_key(origin)
        target = lookup(who)
        self.deposit_event(SudoAsDone(self._dispatch(call, Origin.signed(target))))

    @call(index=4, weight=weights.set_key())
    def remove_key(self, origin: Origin) -> None:
        """Remove the sudo key for good (sudo key or Root)."""
        # Verify the sender is the sudo key or Root.
        self.ensure_sudo(origin)
        self.Key.kill()
        self.deposit_event(KeyRemoved())

    # ---------------------------------------------------------------------- internal functions

    def ensure_sudo_key(self, origin: Origin) -> bytes:
        """The signer, which must be the sudo key (``RequireSudo`` otherwise)."""
        sender = ensure_signed(origin)
        if self.Key.get() != sender:
            raise self.error(SudoError.RequireSudo)
        return sender

    def ensure_sudo(self, origin: Origin) -> None:
        """``Pallet::ensure_sudo``: Root, or signed by the sudo key."""
        if origin.kind == "root":
            return
        self.ensure_sudo_key(origin)

    def _dispatch(self, call: RuntimeCall, origin: Origin) -> Ok[Any] | Err[Any]:
        """Dispatch in a layer of its own; the outcome as a ``DispatchResult`` value."""
        assert self.runtime is not None
        try:
            self.runtime.dispatch(call, origin)
        except DispatchError as exc:
            return Err(exc.value)
        return Ok(())

    def key(self) -> bytes | None:
        key: bytes | None = self.Key.get()
        return key

    # ----------------------------------------------------------------------------- invariants

    def try_state(self, n: int) -> None:
        raw_key = self.Key.get()
        if raw_key is not None and len(raw_key) != 32:
            raise TryStateError("Sudo.Key is not a 32-byte account id")
