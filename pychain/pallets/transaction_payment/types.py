"""Types of the TransactionPayment pallet (``pallet_transaction_payment::types``): fee details as
the ``TransactionPaymentApi_query_fee_details`` runtime API returns them, the fixed-point
multiplier unit and the package's typed errors.

Mirrors ``pallet_transaction_payment::{InclusionFee, FeeDetails}`` (polkadot-sdk
``substrate/frame/transaction-payment/src/types.rs``) and ``sp_arithmetic::FixedU128``
(``Multiplier``: an integer scaled by 10^18).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pychain.errors import PychainError
from pychain.primitives.scale import U128, Option, Struct

#: ``FixedU128::DIV``: the integer that stands for 1.0 in a ``Multiplier``.
FIXED_U128_ONE = 10**18


class TransactionPaymentError(PychainError):
    """Root of the TransactionPayment package's errors raised outside dispatch."""


class FeeQueryError(TransactionPaymentError):
    """``query_info`` / ``query_fee_details`` got bytes that are not an extrinsic of the runtime."""


class ConfigError(TransactionPaymentError):
    """A constant of the pallet's configuration is out of range."""


@dataclass(frozen=True)
class InclusionFee(Struct):
    """``InclusionFee { base_fee, len_fee, adjusted_weight_fee }``: the fee without the tip."""

    base_fee: Annotated[int, U128]
    len_fee: Annotated[int, U128]
    adjusted_weight_fee: Annotated[int, U128]

    @property
    def total(self) -> int:
        return self.base_fee + self.len_fee + self.adjusted_weight_fee


@dataclass(frozen=True)
class FeeDetails(Struct):
    """``FeeDetails { inclusion_fee: Option<InclusionFee>, tip }`` (no inclusion fee for
    ``Pays::No`` calls and unsigned extrinsics)."""

    inclusion_fee: Annotated[InclusionFee | None, Option(InclusionFee.codec())]
    tip: Annotated[int, U128] = 0

    def final_fee(self) -> int:
        """``FeeDetails::final_fee``: inclusion fee plus tip."""
        inclusion = self.inclusion_fee.total if self.inclusion_fee is not None else 0
        return inclusion + self.tip


@dataclass(frozen=True)
class TransactionPaymentGenesis:
    """``pallet_transaction_payment::GenesisConfig { multiplier }`` (FixedU128, 1.0 by default)."""

    multiplier: int = FIXED_U128_ONE
