"""The TransactionPayment pallet (``pallet_transaction_payment``) and the
``ChargeTransactionPayment`` signed-extension logic."""

from pychain.pallets.transaction_payment.pallet import (
    MAX_PRIORITY,
    ChargeTransactionPayment,
    FeeCurrency,
    FeePaymentPre,
    TransactionFeePaid,
    TransactionPayment,
    TransactionPaymentConfig,
)
from pychain.pallets.transaction_payment.types import (
    FIXED_U128_ONE,
    ConfigError,
    FeeDetails,
    FeeQueryError,
    InclusionFee,
    TransactionPaymentError,
    TransactionPaymentGenesis,
)

__all__ = [
    "FIXED_U128_ONE",
    "MAX_PRIORITY",
    "ChargeTransactionPayment",
    "ConfigError",
    "FeeCurrency",
    "FeeDetails",
    "FeePaymentPre",
    "FeeQueryError",
    "InclusionFee",
    "TransactionFeePaid",
    "TransactionPayment",
    "TransactionPaymentConfig",
    "TransactionPaymentError",
    "TransactionPaymentGenesis",
]
