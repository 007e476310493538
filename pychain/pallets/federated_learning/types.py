"""Types of the FederatedLearning pallet: the on-chain update codec, task descriptors and parameters,
the stored records, the config and the ``Currency`` interface it needs.

No FRAME counterpart (DecentralML, DESIGN.md §3). Conventions follow ``pallet_staking`` and
``pallet_collective``: an id counter, records keyed by ``Twox64Concat`` ids, accounts by
``Blake2_128Concat``, ratios as ``Perbill``-style per-billion integers, bounded vectors whose bounds
are config constants. :class:`I32Vec` is a numpy-backed codec with exactly the bytes of SCALE
``Vec<i32>``; it describes itself in metadata as a ``Sequence`` of ``i32``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from pychain.errors import PychainError
from pychain.pallets.balances.types import BalanceStatus
from pychain.pallets.system.types import AccountId
from pychain.primitives.metadata_v14 import Type, TypeDefSequence
from pychain.primitives.scale import (
    H256,
    I32,
    U8,
    U32,
    U64,
    U128,
    Bool,
    Bytes,
    CEnum,
    Codec,
    CompactOf,
    Enum,
    Option,
    ScaleDecodeError,
    ScaleEncodeError,
    Struct,
    Vec,
    decode_compact,
    encode_compact,
)

if TYPE_CHECKING:
    from pychain.frame.type_info import RegistryBuilder

# --- protocol constants -------------------------------------------------------------------------

#: Denominator of per-billion ratios (``Perbill``): outlier threshold, slash fraction, scores.
PER_BILLION = 1_000_000_000
#: Smallest and largest value of an on-chain model coordinate (``i32``).
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
#: Largest fixed-point scale exponent ``s`` (updates are ``round(delta * 2^s)`` in ``i32``).
MAX_SCALE_BITS = 31


# --- errors -------------------------------------------------------------------------------------


class FederatedLearningError(PychainError):
    """Root of the FederatedLearning pallet's own (non-dispatch) errors."""


class FederatedLearningConfigError(FederatedLearningError):
    """Invalid pallet constants (FRAME: an ``integrity_test`` panic)."""


class UpdateCodecError(FederatedLearningError):
    """A value given for an update is not a one-dimensional sequence of ``i32``."""


# --- the update codec ---------------------------------------------------------------------------

_LE_I32 = np.dtype("<i4")


def as_update(value: Any) -> NDArray[np.int32]:
    """``value`` as a one-dimensional native ``int32`` array (no copy when it already is one).

    Accepts an int32 numpy array or a sequence of Python ints within ``i32``; anything else raises
    :class:`UpdateCodecError`.
    """
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or not np.issubdtype(value.dtype, np.integer):
            raise UpdateCodecError("an update must be a one-dimensional integer array")
        if value.dtype == np.int32:
            return value
        if value.size and (int(value.min()) < INT32_MIN or int(value.max()) > INT32_MAX):
            raise UpdateCodecError("an update value does not fit in i32")
        return value.astype(np.int32)
    if isinstance(value, (str, bytes, bytearray, dict)) or not isinstance(value, Sequence):
        raise UpdateCodecError(f"an update must be a sequence of i32, got {type(value).__name__}")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise UpdateCodecError(f"an update holds a non-integer {item!r:.40}")
        if not INT32_MIN <= int(item) <= INT32_MAX:
            raise UpdateCodecError(f"update value {int(item)} does not fit in i32")
    return np.asarray([int(v) for v in value], dtype=np.int32)


class I32Vec(Codec[NDArray[np.int32]]):
    """``Vec<i32>`` backed by numpy: a compact length then ``4 * len`` little-endian bytes.

    Same bytes as ``Vec(I32)``, without a Python object per value: encoding is ``tobytes`` of a
    ``<i4`` array, decoding one ``frombuffer`` (read-only, zero-copy on little-endian hosts).
    Values decode as a one-dimensional ``int32`` array; encoding accepts such an array or a
    sequence of ints (:func:`as_update`).
    """

    name = "Vec<i32>"
    min_size = 1

    def encode_into(self, value: NDArray[np.int32], out: bytearray) -> None:
        try:
            array = as_update(value)
        except UpdateCodecError as exc:
            raise ScaleEncodeError(f"{self.name}: {exc}") from exc
        out += encode_compact(int(array.shape[0]))
        out += array.astype(_LE_I32, copy=False).tobytes()

    def decode_at(self, data: bytes, pos: int) -> tuple[NDArray[np.int32], int]:
        length, start = decode_compact(data, pos, 32)
        # Verify the declared length fits in the remaining input before allocating anything.
        if length * 4 > len(data) - start:
            raise ScaleDecodeError(
                f"declared Vec<i32> length {length} exceeds the remaining "
                f"{len(data) - start} byte(s)",
                pos,
            )
        array = np.frombuffer(data, dtype=_LE_I32, count=length, offset=start)
        if array.dtype != np.int32:  # big-endian host: one byte-swapping copy
            array = array.astype(np.int32)
        return array, start + 4 * length

    def sort_key(self, value: NDArray[np.int32]) -> Any:
        return tuple(int(v) for v in as_update(value))

    def scale_type_info(self, builder: RegistryBuilder) -> Type:
        """Metadata: a ``Sequence`` of ``i32`` (the same type as ``Vec(I32)``)."""
        return builder.plain(TypeDefSequence(builder.type_id(I32)))


#: The codec of on-chain models and updates.
UPDATE = I32Vec()

#: ``BalanceOf<T>`` as call arguments take it.
CompactBalance = CompactOf(128)
#: ``TaskId = u32``.
TaskId = U32
#: ``BlockNumber = u32``.
BlockNumber = U32
#: ``Balance = u128`` as stored.
Balance = U128


# --- enums --------------------------------------------------------------------------------------


class Weighting(enum.IntEnum):
    """How a contributor's aggregation weight is computed from its stake and sample count."""

    Stake = 0
    Samples = 1
    StakeTimesSamples = 2


class TaskStatus(enum.IntEnum):
    """Lifecycle of a task: ``Active`` until its last round closes or its owner cancels it."""

    Active = 0
    Completed = 1
    Cancelled = 2


class SkipReason(enum.IntEnum):
    """Why a round kept the old model."""

    #: Fewer updates than the task's ``min_participants``.
    TooFewUpdates = 0
    #: The aggregation kernel refused the round (cannot happen for parameters accepted by
    #: ``create_task``; recorded rather than failing the block).
    AggregationFailed = 1


@dataclass(frozen=True)
class Mean(Struct):
    """Weighted FedAvg (floor per coordinate)."""


@dataclass(frozen=True)
class Median(Struct):
    """Coordinate-wise lower weighted median."""


@dataclass(frozen=True)
class TrimmedMean(Struct):
    """Weighted trimmed mean dropping ``beta`` (< 1/2) of the weight at each end."""

    beta_per_billion: Annotated[int, U32]


@dataclass(frozen=True)
class Krum(Struct):
    """Stake-weighted Krum tolerating ``f`` Byzantine contributors (needs ``n >= 2f + 3``)."""

    f: Annotated[int, U32]


@dataclass(frozen=True)
class MultiKrum(Struct):
    """Stake-weighted multi-Krum: the weighted mean of the ``m`` best-scored updates."""

    f: Annotated[int, U32]
    m: Annotated[int, U32]


@dataclass(frozen=True)
class ClippedMean(Struct):
    """Weighted mean of the updates clipped to L2 norm ``<= c`` (fixed-point units)."""

    c: Annotated[int, U64]


AggregationRule = Enum(
    "AggregationRule",
    {0: Mean, 1: Median, 2: TrimmedMean, 3: Krum, 4: MultiKrum, 5: ClippedMean},
)
WEIGHTING = CEnum(Weighting)
TASK_STATUS = CEnum(TaskStatus)
SKIP_REASON = CEnum(SkipReason)


# --- descriptors and records --------------------------------------------------------------------


@dataclass(frozen=True)
class ModelDescriptor(Struct):
    """What a task trains: an architecture id (a short name such as ``b"mlp-64-10"``), the shape of
    each parameter tensor in order, and the total parameter count (the sum of the shapes'
    products, which is also the length of the model and of every update)."""

    architecture_id: Annotated[bytes, Bytes]
    layer_shapes: Annotated[list[list[int]], Vec(Vec(U32))]
    parameter_count: Annotated[int, U32]


@dataclass(frozen=True)
class TaskParams(Struct):
    """A task's rules, fixed at creation.

    ``bound`` is ``B``, the largest ``|q|`` of an update coordinate (``<= 2^15`` for Krum);
    ``outlier_threshold`` and ``slash_fraction`` are per-billion; ``max_strikes = 0`` disables
    slashing.
    """

    min_stake: Annotated[int, CompactBalance]
    rule: Annotated[Any, AggregationRule]
    weighting: Annotated[Weighting, WEIGHTING]
    rounds: Annotated[int, U32]
    round_length: Annotated[int, U32]
    scale_bits: Annotated[int, U8]
    bound: Annotated[int, U32]
    min_participants: Annotated[int, U32]
    commit_reveal: Annotated[bool, Bool]
    outlier_threshold: Annotated[int, U32]
    max_strikes: Annotated[int, U32]
    slash_fraction: Annotated[int, U32]


@dataclass(frozen=True)
class TaskInfo(Struct):
    """``Tasks`` entry: owner, model descriptor, parameters, status and bookkeeping."""

    owner: Annotated[bytes, AccountId]
    descriptor: ModelDescriptor
    params: TaskParams
    status: Annotated[TaskStatus, TASK_STATUS]
    created_at: Annotated[int, BlockNumber]
    participant_count: Annotated[int, U32]


@dataclass(frozen=True)
class ParticipantInfo(Struct):
    """``Participants`` entry: reserved stake, strikes collected, block of joining."""

    stake: Annotated[int, Balance]
    strikes: Annotated[int, U32]
    joined_at: Annotated[int, BlockNumber]


@dataclass(frozen=True)
class SubmissionInfo(Struct):
    """``Submissions`` entry: the update (a fixed-point delta), its sample count, its block."""

    update: Annotated[NDArray[np.int32], UPDATE]
    num_samples: Annotated[int, U64]
    submitted_at: Annotated[int, BlockNumber]


@dataclass(frozen=True)
class CommitmentInfo(Struct):
    """``Commitments`` entry: ``blake2_256(SCALE(update) ++ salt)``, the declared sample count and
    the block of the commitment."""

    commitment: Annotated[bytes, H256]
    num_samples: Annotated[int, U64]
    committed_at: Annotated[int, BlockNumber]


@dataclass(frozen=True)
class ModelVersionInfo(Struct):
    """``ModelVersions`` entry: the model's hash (blake2-256 of its SCALE ``Vec<i32>``), the round
    that produced it (``None`` for the initial model), the block, and who was included/excluded."""

    model_hash: Annotated[bytes, H256]
    round: Annotated[int | None, Option(U32)]
    block: Annotated[int, BlockNumber]
    included: Annotated[list[bytes], Vec(AccountId)]
    excluded: Annotated[list[bytes], Vec(AccountId)]


@dataclass(frozen=True)
class RoundInfo(Struct):
    """``RoundState`` entry: the open round, its window ``[start, end]`` (inclusive blocks) and the
    current model version."""

    round: Annotated[int, U32]
    start: Annotated[int, BlockNumber]
    end: Annotated[int, BlockNumber]
    model_version: Annotated[int, U32]

    def commit_end(self) -> int:
        """Last block of the commit phase: the first half of the window, rounded up."""
        return self.start + (self.end - self.start + 2) // 2 - 1


# --- config -------------------------------------------------------------------------------------


class Currency(Protocol):
    """``ReservableCurrency<AccountId>``: what the pallet needs from Balances."""

    def free_balance(self, who: bytes) -> int: ...

    def reserved_balance(self, who: bytes) -> int: ...

    def can_reserve(self, who: bytes, amount: int) -> bool: ...

    def reserve(self, who: bytes, amount: int) -> None: ...

    def unreserve(self, who: bytes, amount: int) -> int: ...

    def slash_reserved(self, who: bytes, amount: int) -> tuple[int, int]: ...

    def repatriate_reserved(
        self, slashed: bytes, beneficiary: bytes, amount: int, status: BalanceStatus
    ) -> int: ...


@dataclass(frozen=True)
class FederatedLearningConfig:
    """``pallet_federated_learning::Config``: the currency and the bounds (constants)."""

    #: ``Currency``: reserves stakes and reward pools (the Balances pallet).
    currency: Currency
    #: ``MaxParticipants``: contributors per task.
    max_participants: int = 64
    #: ``MaxModelParameters``: parameters of a model kept on chain.
    max_model_parameters: int = 1_000_000
    #: ``MaxLayers``: tensors in a model descriptor.
    max_layers: int = 64
    #: ``MaxArchitectureIdLen``: bytes of an architecture id.
    max_architecture_id_len: int = 32
    #: ``MaxRounds``: rounds of a task.
    max_rounds: int = 100_000
    #: ``MaxRoundLength``: blocks of a round window.
    max_round_length: int = 1_000_000
