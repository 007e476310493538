"""Types of the Timestamp pallet (``pallet_timestamp``): the moment type, the config and the
``OnTimestampSet`` interface through which the timestamp drives other pallets (Aura)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pychain.primitives.scale import U64

#: ``Moment = u64``: milliseconds since the Unix epoch.
Moment = U64


class OnTimestampSet(Protocol):
    """``OnTimestampSet<Moment>``: told the new timestamp once per block (Aura checks its slot)."""

    def on_timestamp_set(self, moment: int) -> None: ...


@dataclass(frozen=True)
class TimestampConfig:
    """``pallet_timestamp::Config``.

    ``minimum_period`` (``MinimumPeriod``, ms) is the least gap between two blocks' timestamps;
    with Aura it is half the slot duration. ``on_timestamp_set`` lists the hooks run by ``set``.
    """

    minimum_period: int
    on_timestamp_set: Sequence[OnTimestampSet] = field(default_factory=tuple)
