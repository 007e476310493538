"""Weights of the TransactionPayment pallet (``pallet_transaction_payment``).

The pallet has no calls. Its one hook in FRAME, ``on_finalize``, reads and writes
``NextFeeMultiplier`` to apply ``FeeMultiplierUpdate``; here the multiplier is constant (1.0, the
``ConstFeeMultiplier`` of the node template), so the hook does nothing and costs nothing.
The fee *charged* for an extrinsic is computed from the call's own weight (see ``FeeModel``).
"""

from __future__ import annotations

from pychain.frame.weights import ZERO_WEIGHT, Weight


def on_finalize() -> Weight:
    """Constant multiplier: no storage access."""
    return ZERO_WEIGHT
