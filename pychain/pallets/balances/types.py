"""Types of the Balances pallet (``pallet_balances::types``): locks, lock reasons, balance status,
the genesis config and the package's typed errors.

Mirrors ``pallet_balances::{BalanceLock, Reasons}`` and ``frame_support::traits::tokens::
BalanceStatus`` (polkadot-sdk ``substrate/frame/balances/src/types.rs``). The account data itself
(``AccountData { free, reserved, frozen, flags }``) lives in ``System.Account`` and is declared in
``pychain.pallets.system.types``, as a FRAME runtime with ``AccountStore = System`` stores it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Annotated

from pychain.errors import PychainError
from pychain.primitives.scale import U128, CEnum, FixedBytes, Struct

#: The largest ``Balance`` (``u128::MAX``); every amount is checked against it.
MAX_BALANCE = (1 << 128) - 1

#: ``LockIdentifier = [u8; 8]``.
LockIdentifier = FixedBytes(8)


class BalancesError(PychainError):
    """Root of the Balances package's errors raised outside dispatch (genesis, configuration)."""


class GenesisConfigError(BalancesError):
    """The genesis balances are invalid (duplicate account, below ED, issuance overflow)."""


class Reasons(enum.IntEnum):
    """``pallet_balances::Reasons``: which withdrawals a lock restricts (``Fee`` = transaction
    payment, ``Misc`` = everything else, ``All`` = both)."""

    Fee = 0
    Misc = 1
    All = 2

    def restricts(self, withdrawal: Reasons) -> bool:
        """Whether a lock with these reasons applies to a withdrawal of kind ``withdrawal``."""
        return self == Reasons.All or withdrawal == Reasons.All or self == withdrawal


class BalanceStatus(enum.IntEnum):
    """``BalanceStatus``: where repatriated funds land at the beneficiary (``Free`` 0, ``Reserved`` 1)."""

    Free = 0
    Reserved = 1


ReasonsCodec = CEnum(Reasons)
BalanceStatusCodec = CEnum(BalanceStatus)


@dataclass(frozen=True)
class BalanceLock(Struct):
    """``BalanceLock { id: [u8; 8], amount: u128, reasons: Reasons }``."""

    id: Annotated[bytes, LockIdentifier]
    amount: Annotated[int, U128]
    reasons: Annotated[Reasons, ReasonsCodec] = Reasons.All


@dataclass(frozen=True)
class BalancesGenesis:
    """``pallet_balances::GenesisConfig { balances: Vec<(AccountId, Balance)> }``."""

    balances: list[tuple[bytes, int]] = field(default_factory=list)
