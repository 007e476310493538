"""The Timestamp pallet: the block's wall-clock time, set once per block by an inherent.

Mirrors ``pallet_timestamp`` (polkadot-sdk ``substrate/frame/timestamp``): storage ``Now`` (u64 ms)
and ``DidUpdate``; call ``set(now: Compact<u64>)`` (index 0, origin None, ``DispatchClass::
Mandatory``, an inherent); constant ``MinimumPeriod``; ``on_finalize`` requires that ``set`` ran.
``OnTimestampSet`` hooks (Aura's slot check) run inside ``set``.

Differences from FRAME: FRAME *panics* on a second ``set``, a too-early timestamp or a block without
the inherent. Here ``set`` fails with the pallet errors ``AlreadyUpdated`` / ``TooEarly`` (the
executive turns a failed inherent into ``InvalidTransaction::BadMandatory``, so the block is
invalid all the same), and ``on_finalize`` raises :class:`TimestampNotSetError`, a
``BlockExecutionError``. The node-side inherent check (timestamp at most 30 s ahead of the local
clock, ``MAX_TIMESTAMP_DRIFT_MILLIS``) belongs to block import, not to the runtime.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pychain.frame.dispatch import FrameError, Origin, ensure_none
from pychain.frame.executive import BlockExecutionError
from pychain.frame.pallet import Constant, Pallet, TryStateError, call
from pychain.frame.storage import StorageValue
from pychain.frame.weights import DispatchClass, Pays, Weight
from pychain.pallets.timestamp.types import Moment, TimestampConfig
from pychain.pallets.timestamp.weights import on_finalize_weight, set_weight
from pychain.primitives.scale import Bool, CompactOf


class TimestampNotSetError(BlockExecutionError):
    """A block finished without its ``Timestamp.set`` inherent (FRAME: "Timestamp must be updated
    once in the block")."""


class TimestampConfigError(FrameError):
    """Invalid Timestamp constants (FRAME: an ``integrity_test`` panic)."""


class TimestampError(enum.IntEnum):
    """Errors of ``set`` (pychain names for FRAME's assertions)."""

    #: ``set`` was already called in this block.
    AlreadyUpdated = 0
    #: ``now`` is earlier than the previous timestamp plus ``MinimumPeriod``.
    TooEarly = 1


class Timestamp(Pallet):
    """``pallet_timestamp``."""

    name = "Timestamp"

    # Storage.
    Now = StorageValue(Moment, default=0, docs="The current time for the current block (ms).")
    DidUpdate = StorageValue(Bool, default=False, docs="Whether `Now` was updated in this block.")

    Error = TimestampError

    def __init__(self, config: TimestampConfig) -> None:
        super().__init__(config)
        self.config: TimestampConfig = config

    def constants(self) -> list[Constant]:
        return [
            Constant(
                "MinimumPeriod",
                Moment,
                self.config.minimum_period,
                "The minimum period between blocks (ms).",
            )
        ]

    def integrity_test(self) -> None:
        if self.config.minimum_period <= 0:
            raise TimestampConfigError("Timestamp: MinimumPeriod must be positive")

    # ---------------------------------------------------------------------------------- hooks

    def on_initialize(self, n: int) -> Weight:
        # ``on_finalize`` always runs: charge it at initialisation, as FRAME does.
        return on_finalize_weight()

    def on_finalize(self, n: int) -> None:
        """Require the inherent and clear ``DidUpdate`` for the next block."""
        # Verify the timestamp inherent was included in this block.
        if not self.DidUpdate.take():
            raise TimestampNotSetError(f"block {n}: Timestamp must be updated once in the block")

    def is_inherent(self, call: Any) -> bool:
        return bool(call.pallet == self.name and call.name == "set")

    # ---------------------------------------------------------------------------------- calls

    @call(
        index=0,
        weight=lambda now: set_weight(),
        dispatch_class=DispatchClass.Mandatory,
        pays_fee=Pays.No,
    )
    def set(self, origin: Origin, now: Annotated[int, CompactOf(64)]) -> None:
        """Set the current time (inherent, once per block, origin None)."""
        # Verify the origin is None (an inherent).
        ensure_none(origin)
        # Verify the timestamp was not set already in this block.
        if self.DidUpdate.get():
            raise self.error(TimestampError.AlreadyUpdated, "Timestamp must be updated only once")
        previous = self.Now.get()
        # Verify it moved forward by at least MinimumPeriod.
        if previous != 0 and now < previous + self.config.minimum_period:
            raise self.error(
                TimestampError.TooEarly,
                f"timestamp {now} < previous {previous} + MinimumPeriod "
                f"{self.config.minimum_period}",
            )
        self.Now.put(now)
        self.DidUpdate.put(True)
        for hook in self.config.on_timestamp_set:
            hook.on_timestamp_set(now)

    # ------------------------------------------------------------------------------ interface

    def now(self) -> int:
        """``Pallet::now()`` / ``UnixTime::now``: the current block's time in ms."""
        moment: int = self.Now.get()
        return moment

    def do_set_timestamp(self, now: int) -> None:
        """Set ``Now`` directly, without the checks (FRAME's ``set_timestamp``, for tests and
        benchmarks)."""
        self.Now.put(now)

    # ----------------------------------------------------------------------------- invariants

    def try_state(self, n: int) -> None:
        # ``DidUpdate`` implies a timestamp was written.
        if self.DidUpdate.get() and self.Now.get() == 0:
            raise TryStateError("Timestamp.DidUpdate is set but Now is zero")
