"""Weights, dispatch classes and the fee model.

Mirrors ``sp_weights::Weight`` (two dimensions: ``ref_time`` in picoseconds of reference hardware and
``proof_size`` in bytes), ``frame_support::dispatch::{DispatchClass, Pays, DispatchInfo}``,
``frame_system::limits::{BlockWeights, BlockLength}`` and ``pallet_transaction_payment``'s fee
formula::

    fee = base_fee + length_fee × len + weight_to_fee(weight) (× fee multiplier) + tip

Differences: the weight-to-fee polynomial is linear (``coefficient × ref_time / divisor``) and the
fee multiplier is fixed at 1 (no congestion adjustment yet). All arithmetic is integer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated

from pychain.primitives.scale import U128, CEnum, CompactOf, Struct

#: One second of execution on reference hardware, in ``ref_time`` units (picoseconds).
WEIGHT_REF_TIME_PER_SECOND = 1_000_000_000_000
#: One millisecond in ``ref_time`` units.
WEIGHT_REF_TIME_PER_MILLIS = 1_000_000_000


@dataclass(frozen=True, order=True)
class Weight(Struct):
    """Two-dimensional weight; SCALE-encoded as two compact u64 (as ``sp_weights::Weight``)."""

    ref_time: Annotated[int, CompactOf(64)] = 0
    proof_size: Annotated[int, CompactOf(64)] = 0

    def __add__(self, other: Weight) -> Weight:
        return Weight(self.ref_time + other.ref_time, self.proof_size + other.proof_size)

    def saturating_add(self, other: Weight) -> Weight:
        cap = (1 << 64) - 1
        return Weight(
            min(self.ref_time + other.ref_time, cap), min(self.proof_size + other.proof_size, cap)
        )

    def saturating_sub(self, other: Weight) -> Weight:
        return Weight(
            max(self.ref_time - other.ref_time, 0), max(self.proof_size - other.proof_size, 0)
        )

    def scale(self, factor: int) -> Weight:
        return Weight(self.ref_time * factor, self.proof_size * factor)

    def all_lte(self, other: Weight) -> bool:
        """True when every dimension is ≤ the other's (``Weight::all_lte``)."""
        return self.ref_time <= other.ref_time and self.proof_size <= other.proof_size

    def any_gt(self, other: Weight) -> bool:
        return self.ref_time > other.ref_time or self.proof_size > other.proof_size


ZERO_WEIGHT = Weight(0, 0)
#: Weight of one storage read / write on reference hardware (RocksDB figures used by FRAME).
DB_READ = Weight(25_000_000, 0)
DB_WRITE = Weight(100_000_000, 0)


def db_weight(reads: int = 0, writes: int = 0) -> Weight:
    """``T::DbWeight::get().reads_writes(reads, writes)``."""
    return Weight(DB_READ.ref_time * reads + DB_WRITE.ref_time * writes, 0)


class DispatchClass(enum.IntEnum):
    """``frame_support::dispatch::DispatchClass``."""

    Normal = 0
    Operational = 1
    Mandatory = 2


class Pays(enum.IntEnum):
    """Whether the sender pays a fee: ``Pays::Yes`` = 0, ``Pays::No`` = 1."""

    Yes = 0
    No = 1


DispatchClassCodec = CEnum(DispatchClass)
PaysCodec = CEnum(Pays)


@dataclass(frozen=True)
class DispatchInfo(Struct):
    """Weight, class and fee policy of a call, known before dispatch."""

    weight: Weight
    dispatch_class: Annotated[DispatchClass, DispatchClassCodec] = DispatchClass.Normal
    pays_fee: Annotated[Pays, PaysCodec] = Pays.Yes


@dataclass(frozen=True)
class RuntimeDispatchInfo(Struct):
    """Answer of ``TransactionPaymentApi_query_info``: weight, class and the fee without tip."""

    weight: Weight
    dispatch_class: Annotated[DispatchClass, DispatchClassCodec]
    partial_fee: Annotated[int, U128]


@dataclass(frozen=True)
class BlockWeights:
    """Block-level limits (``frame_system::limits::BlockWeights``), simplified.

    ``max_block`` bounds the whole block; ``normal_ratio`` (per-billion) bounds the share of
    ``Normal`` extrinsics; ``base_block`` is charged at initialisation and ``base_extrinsic`` per
    extrinsic on top of its call weight.
    """

    max_block: Weight = Weight(2 * WEIGHT_REF_TIME_PER_SECOND, 5 * 1024 * 1024)
    normal_ratio_per_billion: int = 750_000_000
    base_block: Weight = Weight(5_000_000_000, 0)
    base_extrinsic: Weight = Weight(125_000_000, 0)

    def max_for(self, dispatch_class: DispatchClass) -> Weight:
        if dispatch_class == DispatchClass.Normal:
            ratio = self.normal_ratio_per_billion
            return Weight(
                self.max_block.ref_time * ratio // 1_000_000_000,
                self.max_block.proof_size * ratio // 1_000_000_000,
            )
        return self.max_block


@dataclass(frozen=True)
class BlockLength:
    """Maximum encoded block length per class (``frame_system::limits::BlockLength``)."""

    max_total: int = 5 * 1024 * 1024
    normal_ratio_per_billion: int = 750_000_000

    def max_for(self, dispatch_class: DispatchClass) -> int:
        if dispatch_class == DispatchClass.Normal:
            return self.max_total * self.normal_ratio_per_billion // 1_000_000_000
        return self.max_total


@dataclass(frozen=True)
class FeeModel:
    """``pallet_transaction_payment`` parameters: fee = base + per-byte × len + weight fee."""

    #: Fixed fee per extrinsic (the weight fee of ``base_extrinsic`` in FRAME; here explicit).
    base_fee: int = 1_000_000
    #: Fee per encoded byte (``LengthToFee``, ``TransactionByteFee``).
    length_fee_per_byte: int = 1_000
    #: ``WeightToFee`` as ``ref_time × numerator // denominator``.
    weight_fee_numerator: int = 1
    weight_fee_denominator: int = 1_000

    def weight_to_fee(self, weight: Weight) -> int:
        return weight.ref_time * self.weight_fee_numerator // self.weight_fee_denominator

    def compute_fee(self, length: int, info: DispatchInfo, tip: int) -> int:
        """``compute_fee``: zero for ``Pays::No`` (the tip is still paid), else the full sum."""
        if info.pays_fee == Pays.No:
            return tip
        return (
            self.base_fee
            + self.length_fee_per_byte * length
            + self.weight_to_fee(info.weight)
            + tip
        )
