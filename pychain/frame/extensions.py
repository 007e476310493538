"""Signed-extension logic: what each standard extension checks before and after dispatch.

Mirrors ``frame_system::{CheckNonZeroSender, CheckSpecVersion, CheckTxVersion, CheckGenesis,
CheckMortality, CheckNonce, CheckWeight}`` and ``pallet_transaction_payment::
ChargeTransactionPayment`` (``SignedExtension::{validate, pre_dispatch, post_dispatch}``). The
*formats* (extra and additional-signed data) live in ``pychain.primitives.extrinsic``; here is the
behaviour, run by the executive for validation (pool) and application (block).

The version, genesis and mortality extensions check through the signature: their additional
data is part of the signed payload, so a transaction built for another chain, runtime or fork
fails as ``BadProof``; mortality adds ``AncientBirthBlock`` (birth block hash unknown) and the
transaction's longevity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pychain.frame.dispatch import (
    InvalidTransaction,
    ValidTransaction,
    invalid,
)
from pychain.frame.weights import DispatchClass, DispatchInfo, Weight
from pychain.primitives.era import Era
from pychain.primitives.scale import U32, CompactU32, FixedBytes, Tuple

_NONCE_TAG = Tuple(FixedBytes(32), U32)


@dataclass
class CheckContext:
    """What an extension sees of the transaction being validated or applied."""

    who: bytes
    call: Any
    info: DispatchInfo
    length: int
    extra: dict[str, Any]
    current_block: int


class ExtensionLogic(Protocol):
    """Behaviour of one signed extension (``SignedExtension`` minus its data formats)."""

    identifier: str

    def validate(self, ctx: CheckContext) -> ValidTransaction: ...

    def pre_dispatch(self, ctx: CheckContext) -> Any: ...

    def post_dispatch(self, pre: Any, ctx: CheckContext, actual_weight: Weight, ok: bool) -> None: ...


class NoChecks:
    """An extension whose check is entirely in its signed data (spec/tx version, genesis)."""

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier

    def validate(self, ctx: CheckContext) -> ValidTransaction:
        return ValidTransaction()

    def pre_dispatch(self, ctx: CheckContext) -> Any:
        return None

    def post_dispatch(self, pre: Any, ctx: CheckContext, actual_weight: Weight, ok: bool) -> None:
        return None


class CheckNonZeroSender(NoChecks):
    """Refuse the all-zero account as a signer (``InvalidTransaction::BadSigner``)."""

    def __init__(self) -> None:
        super().__init__("CheckNonZeroSender")

    def validate(self, ctx: CheckContext) -> ValidTransaction:
        # Verify the sender is not the zero account.
        if ctx.who == bytes(32):
            raise invalid(InvalidTransaction.BadSigner, "the zero account cannot sign")
        return ValidTransaction()

    def pre_dispatch(self, ctx: CheckContext) -> Any:
        self.validate(ctx)
        return None


class CheckMortality(NoChecks):
    """Longevity = blocks left before the era's death (birth hash checked with the signature)."""

    def __init__(self) -> None:
        super().__init__("CheckMortality")

    def validate(self, ctx: CheckContext) -> ValidTransaction:
        era: Era = ctx.extra.get("CheckMortality", Era())
        death = era.death(ctx.current_block)
        return ValidTransaction(longevity=max(death - ctx.current_block, 0))


class CheckNonce(NoChecks):
    """Nonce ordering: stale nonces are invalid, future ones wait in the pool (tags)."""

    def __init__(self, system: Any) -> None:
        super().__init__("CheckNonce")
        self.system = system

    def validate(self, ctx: CheckContext) -> ValidTransaction:
        nonce: int = ctx.extra["CheckNonce"]
        account = self.system.account(ctx.who)
        # Verify the account exists (it must be able to pay).
        if account.providers == 0 and account.sufficients == 0:
            raise invalid(InvalidTransaction.Payment, "the sender's account does not exist")
        # Verify the nonce is not already used.
        if nonce < account.nonce:
            raise invalid(InvalidTransaction.Stale, f"nonce {nonce} < account nonce {account.nonce}")
        provides = [_NONCE_TAG.encode((ctx.who, nonce))]
        requires = [] if nonce == account.nonce else [_NONCE_TAG.encode((ctx.who, nonce - 1))]
        return ValidTransaction(requires=requires, provides=provides)

    def pre_dispatch(self, ctx: CheckContext) -> Any:
        nonce: int = ctx.extra["CheckNonce"]
        account = self.system.account(ctx.who)
        if account.providers == 0 and account.sufficients == 0:
            raise invalid(InvalidTransaction.Payment, "the sender's account does not exist")
        # Verify the nonce is exactly the account's next one.
        if nonce != account.nonce:
            reason = InvalidTransaction.Stale if nonce < account.nonce else InvalidTransaction.Future
            raise invalid(reason, f"nonce {nonce}, account nonce {account.nonce}")
        self.system.inc_account_nonce(ctx.who)
        return None


class CheckWeight(NoChecks):
    """Block weight and length limits per dispatch class (``ExhaustsResources``)."""

    def __init__(self, system: Any) -> None:
        super().__init__("CheckWeight")
        self.system = system

    def _extrinsic_weight(self, ctx: CheckContext) -> Weight:
        return ctx.info.weight + self.system.config.block_weights.base_extrinsic

    def validate(self, ctx: CheckContext) -> ValidTransaction:
        limits = self.system.config.block_weights
        # Verify the extrinsic alone fits in a block of its class.
        if self._extrinsic_weight(ctx).any_gt(limits.max_for(ctx.info.dispatch_class)):
            raise invalid(InvalidTransaction.ExhaustsResources, "extrinsic weight over the limit")
        # Verify its length fits.
        if ctx.length > self.system.config.block_length.max_for(ctx.info.dispatch_class):
            raise invalid(InvalidTransaction.ExhaustsResources, "extrinsic length over the limit")
        return ValidTransaction()

    def pre_dispatch(self, ctx: CheckContext) -> Any:
        self.validate(ctx)
        limits = self.system.config.block_weights
        dispatch_class = ctx.info.dispatch_class
        weight = self._extrinsic_weight(ctx)
        used = self.system.block_weight().get(int(dispatch_class))
        # Verify the block has room for it (mandatory extrinsics always fit).
        if dispatch_class != DispatchClass.Mandatory and used.saturating_add(weight).any_gt(
            limits.max_for(dispatch_class)
        ):
            raise invalid(InvalidTransaction.ExhaustsResources, "block weight is full")
        new_len = self.system.all_extrinsics_len() + ctx.length
        if dispatch_class != DispatchClass.Mandatory and new_len > self.system.config.block_length.max_for(
            dispatch_class
        ):
            raise invalid(InvalidTransaction.ExhaustsResources, "block length is full")
        self.system.register_extra_weight_unchecked(weight, dispatch_class)
        self.system.note_extrinsic_len(ctx.length)
        return weight

    def post_dispatch(self, pre: Any, ctx: CheckContext, actual_weight: Weight, ok: bool) -> None:
        """Give back the unused part of the declared weight."""
        unspent = ctx.info.weight.saturating_sub(actual_weight)
        if unspent.ref_time or unspent.proof_size:
            block = self.system.block_weight()
            dispatch_class = int(ctx.info.dispatch_class)
            parts = [block.normal, block.operational, block.mandatory]
            parts[dispatch_class] = parts[dispatch_class].saturating_sub(unspent)
            self.system.BlockWeight.put(type(block)(*parts))


def nonce_tag(who: bytes, nonce: int) -> bytes:
    """The pool tag a transaction with ``nonce`` provides: ``SCALE((who, nonce))``."""
    return _NONCE_TAG.encode((who, nonce))


__all__ = [
    "CheckContext",
    "ExtensionLogic",
    "NoChecks",
    "CheckNonZeroSender",
    "CheckMortality",
    "CheckNonce",
    "CheckWeight",
    "nonce_tag",
    "CompactU32",
]
