"""Types of the System pallet (``frame_system``): account info and per-class weights.

``AccountData`` is the balances pallet's account data (``pallet_balances::AccountData``), stored
inside ``System.Account`` as in every FRAME runtime that uses ``type AccountData =
pallet_balances::AccountData<Balance>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pychain.frame.weights import Weight
from pychain.primitives.scale import U32, U128, FixedBytes, Struct

AccountId = FixedBytes(32)


@dataclass(frozen=True)
class AccountData(Struct):
    """``pallet_balances::AccountData { free, reserved, frozen, flags }`` (all u128)."""

    free: Annotated[int, U128] = 0
    reserved: Annotated[int, U128] = 0
    frozen: Annotated[int, U128] = 0
    flags: Annotated[int, U128] = 1 << 127  # ExtraFlags: the "new logic" bit, as FRAME sets it

    @property
    def total(self) -> int:
        return self.free + self.reserved


@dataclass(frozen=True)
class AccountInfo(Struct):
    """``frame_system::AccountInfo { nonce, consumers, providers, sufficients, data }``."""

    nonce: Annotated[int, U32] = 0
    consumers: Annotated[int, U32] = 0
    providers: Annotated[int, U32] = 0
    sufficients: Annotated[int, U32] = 0
    data: AccountData = field(default_factory=AccountData)


@dataclass(frozen=True)
class PerDispatchClassWeight(Struct):
    """``PerDispatchClass<Weight> { normal, operational, mandatory }``."""

    normal: Weight = field(default_factory=Weight)
    operational: Weight = field(default_factory=Weight)
    mandatory: Weight = field(default_factory=Weight)

    def get(self, dispatch_class: int) -> Weight:
        return (self.normal, self.operational, self.mandatory)[dispatch_class]

    def add(self, dispatch_class: int, weight: Weight) -> PerDispatchClassWeight:
        parts = [self.normal, self.operational, self.mandatory]
        parts[dispatch_class] = parts[dispatch_class].saturating_add(weight)
        return PerDispatchClassWeight(*parts)

    def total(self) -> Weight:
        return self.normal.saturating_add(self.operational).saturating_add(self.mandatory)
