"""The Timestamp pallet (``pallet_timestamp``): the block time, set by an inherent."""

from pychain.pallets.timestamp.pallet import (
    Timestamp,
    TimestampConfigError,
    TimestampError,
    TimestampNotSetError,
)
from pychain.pallets.timestamp.types import Moment, OnTimestampSet, TimestampConfig

__all__ = [
    "Moment",
    "OnTimestampSet",
    "Timestamp",
    "TimestampConfig",
    "TimestampConfigError",
    "TimestampError",
    "TimestampNotSetError",
]
