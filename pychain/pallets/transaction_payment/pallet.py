"""The TransactionPayment pallet and the ``ChargeTransactionPayment`` signed-extension logic.

Mirrors ``pallet_transaction_payment`` (polkadot-sdk ``substrate/frame/transaction-payment``):

* the fee of a signed extrinsic is ``base_fee + len_fee + adjusted_weight_fee + tip`` with
  ``adjusted_weight_fee = NextFeeMultiplier × weight_to_fee(weight)`` (``compute_fee``;
  ``Pays::No`` calls pay only the tip); the parameters are a :class:`FeeModel`;
* ``ChargeTransactionPayment::validate`` checks that the sender can pay (else
  ``InvalidTransaction::Payment``) and gives the pool a priority (``get_priority``, below);
  ``pre_dispatch`` withdraws the fee, ``post_dispatch`` refunds what the actual weight did not
  use and deposits ``TransactionFeePaid { who, actual_fee, tip }`` (``actual_fee`` includes the tip);
* fees are withdrawn keeping the payer alive, as ``FungibleAdapter::withdraw_fee``
  (``Preservation::Preserve``) and the older ``CurrencyAdapter`` (``ExistenceRequirement::
  KeepAlive``) do: paying a fee never reaps an account;
* fees are burned: the node template's ``FungibleAdapter<Balances, ()>`` hands the fee's credit
  to ``()`` as ``OnUnbalanced``, which drops it, and dropping a credit lowers ``TotalIssuance``.

Priority (``get_priority``): ``max_tx_per_block = min(max_block_weight / weight,
max_block_length / length)`` (each divisor clamped to 1..=max; weight per component) and
``priority = max_tx_per_block × (tip + 1)``; an ``Operational`` extrinsic adds
``max_tx_per_block × OperationalFeeMultiplier × final_fee`` (a "virtual tip"); the result saturates
at ``u64::MAX``. Adding one to the tip makes, among tip-less transactions, the smaller one win.

Differences from FRAME: the multiplier is constant (no ``FeeMultiplierUpdate`` in ``on_finalize``),
the weight-to-fee function is linear (``FeeModel``), there is no ``StorageVersion`` item, and the
block limits used by ``get_priority`` are the System pallet's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from pychain.frame.dispatch import (
    DispatchError,
    InvalidTransaction,
    ValidTransaction,
    invalid,
)
from pychain.frame.extensions import CheckContext
from pychain.frame.pallet import Constant, Pallet
from pychain.frame.storage import StorageValue
from pychain.frame.weights import (
    DispatchClass,
    DispatchInfo,
    FeeModel,
    Pays,
    RuntimeDispatchInfo,
    Weight,
)
from pychain.pallets.balances.types import MAX_BALANCE, Reasons
from pychain.pallets.system.types import AccountId
from pychain.pallets.transaction_payment.types import (
    FIXED_U128_ONE,
    ConfigError,
    FeeDetails,
    FeeQueryError,
    InclusionFee,
    TransactionPaymentGenesis,
)
from pychain.primitives.extrinsic import (
    STANDARD_EXTENSIONS,
    ExtrinsicError,
    SignedExtension,
    UncheckedExtrinsic,
)
from pychain.primitives.scale import U8, U128, Enum, ScaleDecodeError, Struct

#: ``TransactionPriority`` is a u64.
MAX_PRIORITY = (1 << 64) - 1


class FeeCurrency(Protocol):
    """What fee payment needs from the currency (``OnChargeTransaction`` over ``Balances``)."""

    def can_withdraw(
        self, who: bytes, amount: int, keep_alive: bool = True, reason: Reasons = Reasons.Misc
    ) -> bool: ...

    def withdraw(
        self, who: bytes, amount: int, reason: Reasons = Reasons.Misc, keep_alive: bool = True
    ) -> None: ...

    def deposit_into_existing(self, who: bytes, amount: int) -> None: ...

    def total_balance(self, who: bytes) -> int: ...


@dataclass(frozen=True)
class TransactionPaymentConfig:
    """``pallet_transaction_payment::Config``."""

    #: ``OnChargeTransaction``'s currency (the Balances pallet).
    currency: FeeCurrency
    #: Base fee, ``LengthToFee`` and ``WeightToFee``.
    fee_model: FeeModel = field(default_factory=FeeModel)
    #: ``OperationalFeeMultiplier`` (u8): how much an operational extrinsic's fee counts as tip.
    operational_fee_multiplier: int = 5
    #: Signed-extension formats used to decode extrinsics in ``query_info``.
    extensions: tuple[SignedExtension, ...] = STANDARD_EXTENSIONS


# --------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class TransactionFeePaid(Struct):
    """A transaction fee ``actual_fee`` (tip included) was paid by ``who``."""

    who: Annotated[bytes, AccountId]
    actual_fee: Annotated[int, U128]
    tip: Annotated[int, U128]


# --------------------------------------------------------------------------------------- pallet


class TransactionPayment(Pallet):
    """``pallet_transaction_payment``."""

    name = "TransactionPayment"

    NextFeeMultiplier = StorageValue(
        U128, default=FIXED_U128_ONE, docs="The fee multiplier (FixedU128) applied to weight fees."
    )

    Event = Enum("Event", {0: TransactionFeePaid})

    def __init__(self, config: TransactionPaymentConfig) -> None:
        super().__init__(config)
        self.config: TransactionPaymentConfig = config

    def constants(self) -> list[Constant]:
        return [
            Constant(
                "OperationalFeeMultiplier",
                U8,
                self.config.operational_fee_multiplier,
                "Multiplier of an operational extrinsic's fee counted as a virtual tip.",
            )
        ]

    def integrity_test(self) -> None:
        # Verify OperationalFeeMultiplier is a u8.
        if not 0 <= self.config.operational_fee_multiplier <= 255:
            raise ConfigError("OperationalFeeMultiplier must be a u8")
        model = self.config.fee_model
        # Verify the fee model's coefficients are non-negative and its divisor positive.
        if min(model.base_fee, model.length_fee_per_byte, model.weight_fee_numerator) < 0:
            raise ConfigError("fee model coefficients must be non-negative")
        if model.weight_fee_denominator <= 0:
            raise ConfigError("fee model weight divisor must be positive")

    # -------------------------------------------------------------------------------- genesis

    def genesis_build(self, genesis: TransactionPaymentGenesis | None = None) -> None:
        """Write ``NextFeeMultiplier`` (1.0 unless the genesis config says otherwise)."""
        genesis = genesis or TransactionPaymentGenesis()
        # Verify the multiplier is a u128.
        if not 0 <= genesis.multiplier <= MAX_BALANCE:
            raise ConfigError("genesis multiplier must be a u128 (FixedU128)")
        self.NextFeeMultiplier.put(genesis.multiplier)

    # ------------------------------------------------------------------------------ fees

    def next_fee_multiplier(self) -> int:
        multiplier: int = self.NextFeeMultiplier.get()
        return multiplier

    def compute_fee_details(self, length: int, info: DispatchInfo, tip: int) -> FeeDetails:
        """``compute_fee_details``: the parts of the fee (no inclusion fee for ``Pays::No``)."""
        if info.pays_fee == Pays.No:
            return FeeDetails(None, tip)
        model = self.config.fee_model
        weight_fee = model.weight_to_fee(info.weight)
        adjusted = min(weight_fee * self.next_fee_multiplier() // FIXED_U128_ONE, MAX_BALANCE)
        length_fee = min(model.length_fee_per_byte * length, MAX_BALANCE)
        return FeeDetails(InclusionFee(model.base_fee, length_fee, adjusted), tip)

    def compute_fee(self, length: int, info: DispatchInfo, tip: int) -> int:
        """``compute_fee``: ``base + len + adjusted weight fee + tip``, saturating at u128."""
        return min(self.compute_fee_details(length, info, tip).final_fee(), MAX_BALANCE)

    def compute_actual_fee(
        self, length: int, info: DispatchInfo, actual_weight: Weight, tip: int
    ) -> int:
        """``compute_actual_fee``: the fee for the weight actually used (never above declared)."""
        used = Weight(
            min(actual_weight.ref_time, info.weight.ref_time),
            min(actual_weight.proof_size, info.weight.proof_size),
        )
        return self.compute_fee(length, DispatchInfo(used, info.dispatch_class, info.pays_fee), tip)

    def _decode(self, encoded: bytes) -> tuple[UncheckedExtrinsic, DispatchInfo]:
        if self.runtime is None:
            raise FeeQueryError("TransactionPayment is not part of a runtime")
        try:
            uxt = UncheckedExtrinsic.decode(encoded, self.config.extensions)
            call = self.runtime.decode_call(uxt.call)
        except (ScaleDecodeError, ExtrinsicError) as exc:
            raise FeeQueryError(f"not an extrinsic of this runtime: {exc}") from None
        return uxt, self.runtime.dispatch_info(call)

    def query_info(self, encoded: bytes, length: int) -> RuntimeDispatchInfo:
        """``TransactionPaymentApi_query_info``: weight, class and ``partial_fee`` (the fee
        without tip; zero for unsigned extrinsics)."""
        uxt, info = self._decode(encoded)
        partial_fee = self.compute_fee(length, info, 0) if uxt.is_signed else 0
        return RuntimeDispatchInfo(info.weight, info.dispatch_class, partial_fee)

    def query_fee_details(self, encoded: bytes, length: int) -> FeeDetails:
        """``TransactionPaymentApi_query_fee_details``: the inclusion fee's parts (tip as zero,
        as FRAME's runtime API reports it)."""
        uxt, info = self._decode(encoded)
        if not uxt.is_signed:
            return FeeDetails(None, 0)
        return self.compute_fee_details(length, info, 0)

    # -------------------------------------------------------------------------- priority

    def get_priority(self, info: DispatchInfo, length: int, tip: int, final_fee: int) -> int:
        """``ChargeTransactionPayment::get_priority`` (formula in the module docstring)."""
        if self.runtime is None:
            raise ConfigError("TransactionPayment is not part of a runtime")
        system_config = self.runtime.system.config
        max_block = system_config.block_weights.max_block
        max_length = system_config.block_length.max_for(info.dispatch_class)
        bounded_ref = min(max(info.weight.ref_time, 1), max(max_block.ref_time, 1))
        bounded_proof = min(max(info.weight.proof_size, 1), max(max_block.proof_size, 1))
        bounded_length = min(max(length, 1), max(max_length, 1))
        max_tx_per_block = min(
            max_block.ref_time // bounded_ref,
            max_block.proof_size // bounded_proof,
            max_length // bounded_length,
        )
        scaled_tip = min(max_tx_per_block * (tip + 1), MAX_BALANCE)
        if info.dispatch_class == DispatchClass.Operational:
            virtual_tip = min(final_fee * self.config.operational_fee_multiplier, MAX_BALANCE)
            scaled_tip = min(
                scaled_tip + min(max_tx_per_block * virtual_tip, MAX_BALANCE), MAX_BALANCE
            )
        return min(scaled_tip, MAX_PRIORITY)

    # ------------------------------------------------------------------------ fee payment

    def withdraw_fee(self, who: bytes, fee: int) -> None:
        """``OnChargeTransaction::withdraw_fee``: take the fee keeping the payer alive, or
        ``InvalidTransaction::Payment``."""
        if fee == 0:
            return
        try:
            self.config.currency.withdraw(who, fee, Reasons.Fee, keep_alive=True)
        except DispatchError as exc:
            raise invalid(InvalidTransaction.Payment, f"cannot pay fee {fee}: {exc}") from None

    def can_withdraw_fee(self, who: bytes, fee: int) -> None:
        """``OnChargeTransaction::can_withdraw_fee`` (dry run of ``withdraw_fee``)."""
        if fee and not self.config.currency.can_withdraw(who, fee, True, Reasons.Fee):
            raise invalid(InvalidTransaction.Payment, f"cannot pay fee {fee}")

    def correct_and_deposit_fee(self, who: bytes, paid: int, actual_fee: int, tip: int) -> None:
        """``correct_and_deposit_fee``: refund ``paid - actual_fee`` to a living payer (best
        effort), burn the rest, and deposit ``TransactionFeePaid``."""
        refund = paid - actual_fee
        currency = self.config.currency
        if refund > 0 and currency.total_balance(who) > 0:
            try:
                currency.deposit_into_existing(who, refund)
            except DispatchError:
                pass  # best effort, as FungibleAdapter: the refund is then burned too
        self.deposit_event(TransactionFeePaid(who, actual_fee, tip))


@dataclass(frozen=True)
class FeePaymentPre:
    """What ``pre_dispatch`` hands to ``post_dispatch``: payer, fee paid (tip included), tip."""

    who: bytes
    paid: int
    tip: int


class ChargeTransactionPayment:
    """Logic of the ``ChargeTransactionPayment(#[codec(compact)] tip)`` signed extension."""

    identifier = "ChargeTransactionPayment"

    def __init__(self, pallet: TransactionPayment) -> None:
        self.pallet = pallet

    def _tip(self, ctx: CheckContext) -> int:
        tip: int = ctx.extra.get(self.identifier, 0)
        return tip

    def validate(self, ctx: CheckContext) -> ValidTransaction:
        tip = self._tip(ctx)
        fee = self.pallet.compute_fee(ctx.length, ctx.info, tip)
        # Verify the sender can pay the fee and stay alive.
        self.pallet.can_withdraw_fee(ctx.who, fee)
        return ValidTransaction(priority=self.pallet.get_priority(ctx.info, ctx.length, tip, fee))

    def pre_dispatch(self, ctx: CheckContext) -> FeePaymentPre:
        tip = self._tip(ctx)
        fee = self.pallet.compute_fee(ctx.length, ctx.info, tip)
        self.pallet.withdraw_fee(ctx.who, fee)
        return FeePaymentPre(ctx.who, fee, tip)

    def post_dispatch(self, pre: Any, ctx: CheckContext, actual_weight: Weight, ok: bool) -> None:
        if not isinstance(pre, FeePaymentPre):
            return
        actual_fee = self.pallet.compute_actual_fee(ctx.length, ctx.info, actual_weight, pre.tip)
        self.pallet.correct_and_deposit_fee(pre.who, pre.paid, actual_fee, pre.tip)


__all__ = [
    "ChargeTransactionPayment",
    "FeeCurrency",
    "FeePaymentPre",
    "TransactionFeePaid",
    "TransactionPayment",
    "TransactionPaymentConfig",
    "MAX_PRIORITY",
]
