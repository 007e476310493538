"""The System pallet (``frame_system``): accounts, nonces, block number and hashes, events."""

from pychain.pallets.system.pallet import (
    GENESIS_BLOCK_HASH_PLACEHOLDER,
    ExtrinsicFailed,
    ExtrinsicSuccess,
    KilledAccount,
    NewAccount,
    Remarked,
    System,
    SystemConfig,
)
from pychain.pallets.system.types import AccountData, AccountId, AccountInfo

__all__ = [
    "GENESIS_BLOCK_HASH_PLACEHOLDER",
    "AccountData",
    "AccountId",
    "AccountInfo",
    "ExtrinsicFailed",
    "ExtrinsicSuccess",
    "KilledAccount",
    "NewAccount",
    "Remarked",
    "System",
    "SystemConfig",
]
