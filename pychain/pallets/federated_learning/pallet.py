"""The FederatedLearning pallet: tasks, rounds, stake-weighted bit-exact robust aggregation, rewards
and slashing (DESIGN.md §3 steps 1-5, ``shared/reference/FEDERATED.md``).

There is no FRAME counterpart. The shape follows ``pallet_staking`` (stakes held with
``ReservableCurrency``, slashes repatriated, per-billion ratios) and ``pallet_collective`` (records
keyed by an id, a window closed by the chain). Calls: ``create_task`` (0), ``join_task`` (1),
``submit_update`` (2), ``commit_update`` (3), ``reveal_update`` (4), ``leave_task`` (5),
``cancel_task`` (6).

Schedule. A task created in block ``b`` with round length ``L`` has round ``r`` open in blocks
``[b + 1 + r L, b + (r + 1) L]`` (inclusive). Updates are accepted only for the open round, inside
its window; the round closes in ``on_finalize`` of the window's last block (so updates in that
block count). Commit-reveal tasks (``L >= 2``) split the window: commits in the first
``ceil(L / 2)`` blocks, reveals in the rest; the commitment is ``blake2_256(SCALE(update) ++
salt)`` with a 32-byte salt, and the sample count is declared with the commitment. An ``Agenda``
(block -> tasks whose window ends there, as ``pallet_scheduler``'s) avoids scanning every task.

Closing a round (``do_close_round``): with fewer updates than ``min_participants`` the old model
is kept (``RoundSkipped``). Otherwise the updates are aggregated by the task's rule with weights
stake, samples or stake x samples (:mod:`.aggregation`: integer-exact, order-independent), and
``model := clamp(model + aggregate, i32)`` (saturating per coordinate). The new model, its
blake2-256 hash and its included/excluded contributors are stored as the next version. The
round's reward share is ``RewardPool / rounds left`` (floor; the last round pays all that
remains, so a skipped round's share and slashed stake roll over), split among the included
contributors whose agreement score reaches the outlier threshold, in proportion to weight x score,
by largest remainder (ties by account id), repatriated from the owner's reserve. Contributors
excluded by the rule, scoring below the threshold, or committing without revealing get a strike;
at ``max_strikes`` (``0``: never) ``slash_fraction`` of their stake is repatriated to the owner's
reserved pool and they are removed, the rest unreserved. After the last round the task is
``Completed``: stakes and the unspent pool are unreserved.

``leave_task`` is refused while the contributor has a submission or commitment in the open round
(it would dodge the round's strike); between rounds it unreserves the whole stake, strikes
included. ``cancel_task`` (owner, active task) refunds the unspent pool and every stake.

Differences from FRAME conventions: no named reserves exist in Balances, so the pallet keeps its
own ledger ``Reserves`` (account -> total it holds in reserve for it) that ``try_state`` compares
with the stakes, the pools and the accounts' reserved balances.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from numpy.typing import NDArray

from pychain.frame.dispatch import DispatchError, Origin, ensure_signed
from pychain.frame.pallet import Constant, Pallet, TryStateError, call
from pychain.frame.storage import StorageDoubleMap, StorageMap, StorageNMap, StorageValue
from pychain.frame.weights import Weight
from pychain.pallets.balances.types import BalanceStatus
from pychain.pallets.federated_learning import weights
from pychain.pallets.federated_learning.aggregation import (
    KRUM_MAX_BOUND,
    MAX_BOUND,
    Aggregate,
    AggregationError,
    Submission,
    UpdateBatch,
    agreement_scores,
    krum,
    multi_krum,
    norm_clipped_mean,
    weighted_mean,
    weighted_median,
    weighted_trimmed_mean,
)
from pychain.pallets.federated_learning.types import (
    INT32_MAX,
    INT32_MIN,
    MAX_SCALE_BITS,
    PER_BILLION,
    SKIP_REASON,
    UPDATE,
    Balance,
    BlockNumber,
    ClippedMean,
    CommitmentInfo,
    CompactBalance,
    FederatedLearningConfig,
    FederatedLearningConfigError,
    Krum,
    Median,
    ModelDescriptor,
    ModelVersionInfo,
    MultiKrum,
    ParticipantInfo,
    RoundInfo,
    SkipReason,
    SubmissionInfo,
    TaskId,
    TaskInfo,
    TaskParams,
    TaskStatus,
    TrimmedMean,
    UpdateCodecError,
    Weighting,
    as_update,
)
from pychain.pallets.system.types import AccountId
from pychain.primitives.hashing import blake2_256
from pychain.primitives.scale import H256, U32, CompactOf, Enum, ScaleEncodeError, Struct, Vec

# --------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class TaskCreated(Struct):
    """A task was created and its reward pool reserved from the owner."""

    task: Annotated[int, TaskId]
    owner: Annotated[bytes, AccountId]
    reward_pool: Annotated[int, Balance]


@dataclass(frozen=True)
class ParticipantJoined(Struct):
    """A contributor joined a task and reserved its stake."""

    task: Annotated[int, TaskId]
    who: Annotated[bytes, AccountId]
    stake: Annotated[int, Balance]


@dataclass(frozen=True)
class ParticipantLeft(Struct):
    """A contributor left a task; its stake was unreserved."""

    task: Annotated[int, TaskId]
    who: Annotated[bytes, AccountId]
    stake: Annotated[int, Balance]


@dataclass(frozen=True)
class UpdateSubmitted(Struct):
    """An update was submitted for the open round."""

    task: Annotated[int, TaskId]
    round: Annotated[int, U32]
    who: Annotated[bytes, AccountId]


@dataclass(frozen=True)
class UpdateCommitted(Struct):
    """A commitment to an update was recorded (commit-reveal tasks)."""

    task: Annotated[int, TaskId]
    round: Annotated[int, U32]
    who: Annotated[bytes, AccountId]
    commitment: Annotated[bytes, H256]


@dataclass(frozen=True)
class UpdateRevealed(Struct):
    """A committed update was revealed and matched its commitment."""

    task: Annotated[int, TaskId]
    round: Annotated[int, U32]
    who: Annotated[bytes, AccountId]


@dataclass(frozen=True)
class RoundAggregated(Struct):
    """A round closed with a new model version."""

    task: Annotated[int, TaskId]
    round: Annotated[int, U32]
    version: Annotated[int, U32]
    model_hash: Annotated[bytes, H256]
    included: Annotated[list[bytes], Vec(AccountId)]
    excluded: Annotated[list[bytes], Vec(AccountId)]


@dataclass(frozen=True)
class RoundSkipped(Struct):
    """A round closed without a new model (the old one is kept)."""

    task: Annotated[int, TaskId]
    round: Annotated[int, U32]
    reason: Annotated[SkipReason, SKIP_REASON]


@dataclass(frozen=True)
class RewardPaid(Struct):
    """A contributor was paid its share of the round's reward."""

    task: Annotated[int, TaskId]
    who: Annotated[bytes, AccountId]
    amount: Annotated[int, Balance]


@dataclass(frozen=True)
class ContributorSlashed(Struct):
    """A contributor reached ``max_strikes``; ``amount`` of its stake went to the reward pool."""

    task: Annotated[int, TaskId]
    who: Annotated[bytes, AccountId]
    amount: Annotated[int, Balance]


@dataclass(frozen=True)
class ContributorRemoved(Struct):
    """A slashed contributor was removed from the task (the rest of its stake unreserved)."""

    task: Annotated[int, TaskId]
    who: Annotated[bytes, AccountId]


@dataclass(frozen=True)
class TaskCompleted(Struct):
    """The task's last round closed; stakes and the unspent pool were unreserved."""

    task: Annotated[int, TaskId]
    final_version: Annotated[int, U32]
    refunded: Annotated[int, Balance]


@dataclass(frozen=True)
class TaskCancelled(Struct):
    """The owner cancelled the task; the unspent pool and every stake were unreserved."""

    task: Annotated[int, TaskId]
    refunded: Annotated[int, Balance]


@dataclass(frozen=True)
class ContributorStruck(Struct):
    """A contributor got a strike (excluded, below the outlier threshold, or not revealed)."""

    task: Annotated[int, TaskId]
    who: Annotated[bytes, AccountId]
    strikes: Annotated[int, U32]


FederatedLearningEvent = Enum(
    "Event",
    {
        0: TaskCreated,
        1: ParticipantJoined,
        2: ParticipantLeft,
        3: UpdateSubmitted,
        4: UpdateCommitted,
        5: UpdateRevealed,
        6: RoundAggregated,
        7: RoundSkipped,
        8: RewardPaid,
        9: ContributorSlashed,
        10: ContributorRemoved,
        11: TaskCompleted,
        12: TaskCancelled,
        13: ContributorStruck,
    },
)


# --------------------------------------------------------------------------------------- errors


class Error(enum.IntEnum):
    """Errors of the FederatedLearning pallet (explicit, frozen indices)."""

    #: No task with this id.
    UnknownTask = 0
    #: The task is completed or cancelled.
    TaskNotActive = 1
    #: Only the task's owner may do this.
    NotOwner = 2
    #: The model descriptor is malformed (empty or too long id, bad shapes, count mismatch).
    InvalidDescriptor = 3
    #: The model has more parameters or layers than the pallet allows.
    ModelTooLarge = 4
    #: The initial model's length differs from the descriptor's parameter count.
    InvalidModel = 5
    #: ``rounds`` or ``round_length`` out of range (commit-reveal needs ``round_length >= 2``).
    InvalidSchedule = 6
    #: ``bound`` or ``scale_bits`` out of range.
    InvalidBound = 7
    #: Aggregation rule parameters out of range for the task (``beta``, ``f``, ``m``, Krum bound).
    InvalidRule = 8
    #: ``min_stake``, ``min_participants`` or a per-billion ratio out of range.
    InvalidParameters = 9
    #: The owner cannot reserve the reward pool.
    InsufficientBalance = 10
    #: The stake is below the task's minimum.
    StakeBelowMinimum = 11
    #: The contributor cannot reserve the stake.
    InsufficientStake = 12
    #: The account already takes part in the task.
    AlreadyParticipant = 13
    #: The account does not take part in the task.
    NotParticipant = 14
    #: The task has ``MaxParticipants`` contributors.
    TooManyParticipants = 15
    #: The round is not the task's open round.
    WrongRound = 16
    #: The round's window has not started yet.
    RoundNotOpen = 17
    #: The contributor already submitted (or revealed) an update for this round.
    DuplicateSubmission = 18
    #: The update's length differs from the model's parameter count.
    WrongUpdateLength = 19
    #: An update value lies outside ``[-bound, bound]``.
    ValueOutOfBound = 20
    #: ``num_samples`` is zero.
    ZeroSamples = 21
    #: The task is commit-reveal: use ``commit_update`` and ``reveal_update``.
    CommitRevealRequired = 22
    #: The task is not commit-reveal: use ``submit_update``.
    NotCommitReveal = 23
    #: The commit phase of the round is over.
    CommitPhaseOver = 24
    #: The reveal phase of the round has not started.
    RevealPhaseNotOpen = 25
    #: The contributor already committed for this round.
    AlreadyCommitted = 26
    #: No commitment to reveal.
    NoCommitment = 27
    #: The revealed update and salt do not hash to the commitment.
    RevealMismatch = 28
    #: The contributor has a submission or commitment in the open round.
    PendingSubmission = 29


# ------------------------------------------------------------------------------------- helpers


def apportion(total: int, shares: Sequence[tuple[bytes, int]]) -> list[tuple[bytes, int]]:
    """Split ``total`` in proportion to ``shares`` (``(account, weight >= 0)``): ``floor(total w_i
    / W)`` each, then the ``total - sum`` leftover units one each to the largest remainders
    ``total w_i mod W``, ties by ascending account id. Returns ``(account, amount)`` in account
    order; nothing is paid when ``W = 0``. The amounts always sum to ``total`` when ``W > 0``."""
    ordered = sorted(shares)
    weight_sum = sum(w for _, w in ordered)
    if weight_sum == 0 or total == 0:
        return [(who, 0) for who, _ in ordered]
    amounts = [total * w // weight_sum for _, w in ordered]
    leftover = total - sum(amounts)
    by_remainder = sorted(
        range(len(ordered)), key=lambda i: (-(total * ordered[i][1] % weight_sum), ordered[i][0])
    )
    for i in by_remainder[:leftover]:
        amounts[i] += 1
    return [(who, amount) for (who, _), amount in zip(ordered, amounts, strict=True)]


def compute_model_hash(model: NDArray[np.int32]) -> bytes:
    """blake2-256 of the model's SCALE ``Vec<i32>`` encoding."""
    return blake2_256(UPDATE.encode(model))


def compute_commitment(update: Any, salt: bytes) -> bytes:
    """``blake2_256(SCALE(update) ++ salt)``: what ``commit_update`` records."""
    return blake2_256(UPDATE.encode(update) + bytes(salt))


def apply_update(model: NDArray[np.int32], aggregate: NDArray[np.int32]) -> NDArray[np.int32]:
    """``clamp(model + aggregate)`` to the ``i32`` range, per coordinate (saturating add)."""
    total = model.astype(np.int64) + aggregate.astype(np.int64)
    np.clip(total, INT32_MIN, INT32_MAX, out=total)
    return total.astype(np.int32)


def _parameter_count(shapes: Sequence[Sequence[int]]) -> int:
    total = 0
    for shape in shapes:
        size = 1
        for dim in shape:
            size *= dim
        total += size
    return total


# --------------------------------------------------------------------------------------- pallet


class FederatedLearning(Pallet):
    """The FederatedLearning pallet (see the module docstring)."""

    name = "FederatedLearning"

    # Storage.
    NextTaskId = StorageValue(TaskId, default=0, docs="The id the next task gets.")
    Tasks = StorageMap("Twox64Concat", TaskId, TaskInfo.codec(), docs="Tasks by id.")
    Participants = StorageDoubleMap(
        "Twox64Concat",
        TaskId,
        "Blake2_128Concat",
        AccountId,
        ParticipantInfo.codec(),
        docs="Contributors of a task: stake, strikes, block of joining.",
    )
    Submissions = StorageNMap(
        [("Twox64Concat", TaskId), ("Twox64Concat", U32), ("Blake2_128Concat", AccountId)],
        SubmissionInfo.codec(),
        docs="Updates of the open round (cleared when it closes).",
    )
    Commitments = StorageNMap(
        [("Twox64Concat", TaskId), ("Twox64Concat", U32), ("Blake2_128Concat", AccountId)],
        CommitmentInfo.codec(),
        docs="Unrevealed commitments of the open round (commit-reveal tasks).",
    )
    GlobalModel = StorageMap("Twox64Concat", TaskId, UPDATE, docs="The current model of a task.")
    ModelVersions = StorageDoubleMap(
        "Twox64Concat",
        TaskId,
        "Twox64Concat",
        U32,
        ModelVersionInfo.codec(),
        docs="Every model version of a task: hash, round, block, included and excluded.",
    )
    RoundState = StorageMap(
        "Twox64Concat", TaskId, RoundInfo.codec(), docs="Open round, window and model version."
    )
    RewardPool = StorageMap(
        "Twox64Concat", TaskId, Balance, default=0, docs="Unspent reward pool of a task."
    )
    Agenda = StorageMap(
        "Twox64Concat",
        BlockNumber,
        Vec(TaskId),
        default=[],
        docs="Tasks whose round window ends at a block.",
    )
    Reserves = StorageMap(
        "Blake2_128Concat",
        AccountId,
        Balance,
        default=0,
        docs="Total the pallet holds in reserve for an account (stakes and reward pools).",
    )

    Event = FederatedLearningEvent
    Error = Error

    def __init__(self, config: FederatedLearningConfig) -> None:
        super().__init__(config)
        self.config: FederatedLearningConfig = config

    def constants(self) -> list[Constant]:
        c = self.config
        return [
            Constant("MaxParticipants", U32, c.max_participants, "Contributors per task."),
            Constant("MaxModelParameters", U32, c.max_model_parameters, "Parameters of a model."),
            Constant("MaxLayers", U32, c.max_layers, "Tensors of a model descriptor."),
            Constant("MaxArchitectureIdLen", U32, c.max_architecture_id_len, "Id bytes."),
            Constant("MaxRounds", U32, c.max_rounds, "Rounds of a task."),
            Constant("MaxRoundLength", U32, c.max_round_length, "Blocks of a round window."),
        ]

    def integrity_test(self) -> None:
        c = self.config
        for name in (
            "max_participants",
            "max_model_parameters",
            "max_layers",
            "max_architecture_id_len",
            "max_rounds",
            "max_round_length",
        ):
            value = getattr(c, name)
            if not 1 <= value <= 2**32 - 1:
                raise FederatedLearningConfigError(f"FederatedLearning: {name} must be a u32 >= 1")
        # The static weight of cancel_task assumes this bound (as T::MaxParticipants in FRAME).
        if c.max_participants > weights.MAX_PARTICIPANTS_LIMIT:
            raise FederatedLearningConfigError(
                f"FederatedLearning: max_participants above {weights.MAX_PARTICIPANTS_LIMIT}"
            )

    # -------------------------------------------------------------------------------- reads

    def _now(self) -> int:
        if self.runtime is None:
            raise FederatedLearningConfigError("FederatedLearning is not part of a runtime")
        number: int = self.runtime.system.Number.get()
        return number

    def _task(self, task_id: int) -> TaskInfo:
        task: TaskInfo | None = self.Tasks.get(task_id)
        # Verify the task exists.
        if task is None:
            raise self.error(Error.UnknownTask)
        return task

    def _active_task(self, task_id: int) -> TaskInfo:
        task = self._task(task_id)
        # Verify the task still accepts participants and updates.
        if task.status != TaskStatus.Active:
            raise self.error(Error.TaskNotActive)
        return task

    def _participant(self, task_id: int, who: bytes) -> ParticipantInfo:
        info: ParticipantInfo | None = self.Participants.get(task_id, who)
        # Verify the sender takes part in the task.
        if info is None:
            raise self.error(Error.NotParticipant)
        return info

    def _open_round(self, task_id: int, round_: int) -> RoundInfo:
        info: RoundInfo = self.RoundState.get(task_id)
        # Verify the round is the open one.
        if round_ != info.round:
            raise self.error(Error.WrongRound, f"round {round_}, open round {info.round}")
        # Verify its window has started.
        if self._now() < info.start:
            raise self.error(Error.RoundNotOpen, f"round {round_} opens at block {info.start}")
        return info

    def _checked_update(self, task: TaskInfo, update: Any) -> NDArray[np.int32]:
        try:
            array = as_update(update)
        except UpdateCodecError as exc:
            raise self.error(Error.ValueOutOfBound, str(exc)) from exc
        # Verify the update has one value per model parameter.
        if array.shape[0] != task.descriptor.parameter_count:
            raise self.error(
                Error.WrongUpdateLength,
                f"{array.shape[0]} values, model has {task.descriptor.parameter_count}",
            )
        # Verify every value lies in [-bound, bound].
        bound = task.params.bound
        if int(array.min()) < -bound or int(array.max()) > bound:
            raise self.error(Error.ValueOutOfBound, f"values exceed the bound {bound}")
        return array

    def model_weight(self, weighting: Weighting, stake: int, num_samples: int) -> int:
        """A contributor's aggregation weight under the task's weighting."""
        if weighting == Weighting.Stake:
            return stake
        if weighting == Weighting.Samples:
            return num_samples
        return stake * num_samples

    # ------------------------------------------------------------------------------- ledger

    def _ledger_add(self, who: bytes, delta: int) -> None:
        new = self.Reserves.get(who) + delta
        if new:
            self.Reserves.insert(who, new)
        else:
            self.Reserves.remove(who)

    def _hold(self, who: bytes, amount: int) -> None:
        self.config.currency.reserve(who, amount)
        self._ledger_add(who, amount)

    def _release(self, who: bytes, amount: int) -> None:
        self.config.currency.unreserve(who, amount)
        self._ledger_add(who, -amount)

    # -------------------------------------------------------------------------------- hooks

    def on_initialize(self, n: int) -> Weight:
        """Charge the closing of the rounds that end in this block (run in ``on_finalize``)."""
        total = weights.on_initialize_empty()
        for task_id in self.Agenda.get(n):
            task: TaskInfo | None = self.Tasks.get(task_id)
            if task is not None:
                total = total + weights.close_round(
                    task.params.rule, task.participant_count, task.descriptor.parameter_count
                )
        return total

    def on_finalize(self, n: int) -> None:
        """Close every round whose window ends in block ``n`` (ascending task id)."""
        due = self.Agenda.take(n)
        for task_id in sorted(due):
            self.do_close_round(task_id, n)

    # -------------------------------------------------------------------------------- calls

    @call(
        index=0,
        weight=lambda descriptor, initial_model, reward_pool, params: weights.create_task(
            len(initial_model), len(descriptor.layer_shapes)
        ),
    )
    def create_task(
        self,
        origin: Origin,
        descriptor: ModelDescriptor,
        initial_model: Annotated[NDArray[np.int32], UPDATE],
        reward_pool: Annotated[int, CompactBalance],
        params: TaskParams,
    ) -> None:
        """Create a task with its model, rules and reward pool (reserved from the sender)."""
        owner = ensure_signed(origin)
        c = self.config
        # Verify the descriptor: a short id, 1..MaxLayers non-empty shapes, a matching count.
        arch = descriptor.architecture_id
        if not 1 <= len(arch) <= c.max_architecture_id_len:
            raise self.error(Error.InvalidDescriptor, "architecture id length")
        shapes = descriptor.layer_shapes
        if len(shapes) > c.max_layers or descriptor.parameter_count > c.max_model_parameters:
            raise self.error(Error.ModelTooLarge)
        if not shapes or any(not shape or min(shape) < 1 for shape in shapes):
            raise self.error(Error.InvalidDescriptor, "empty layer or zero dimension")
        if _parameter_count(shapes) != descriptor.parameter_count:
            raise self.error(Error.InvalidDescriptor, "layer shapes do not add up")
        # Verify the initial model matches the descriptor.
        try:
            model = as_update(initial_model)
        except UpdateCodecError as exc:
            raise self.error(Error.InvalidModel, str(exc)) from exc
        if model.shape[0] != descriptor.parameter_count:
            raise self.error(Error.InvalidModel, "initial model length differs from the count")
        p = params
        # Verify the schedule.
        if not 1 <= p.rounds <= c.max_rounds or not 1 <= p.round_length <= c.max_round_length:
            raise self.error(Error.InvalidSchedule)
        if p.commit_reveal and p.round_length < 2:
            raise self.error(Error.InvalidSchedule, "commit-reveal needs round_length >= 2")
        # Verify the bound and the fixed-point scale.
        if not 1 <= p.bound <= MAX_BOUND or p.scale_bits > MAX_SCALE_BITS:
            raise self.error(Error.InvalidBound)
        # Verify stake, participants and ratios.
        if p.min_stake < 1 or not 1 <= p.min_participants <= c.max_participants:
            raise self.error(Error.InvalidParameters, "min_stake or min_participants")
        if max(p.outlier_threshold, p.slash_fraction) > PER_BILLION:
            raise self.error(Error.InvalidParameters, "a per-billion ratio exceeds 1")
        # Verify the rule can always aggregate a round of >= min_participants updates.
        self._check_rule(p)
        # Verify the owner can reserve the pool.
        if not c.currency.can_reserve(owner, reward_pool):
            raise self.error(Error.InsufficientBalance)

        task_id = self.NextTaskId.get()
        now = self._now()
        self.NextTaskId.put(task_id + 1)
        self._hold(owner, reward_pool)
        self.Tasks.insert(task_id, TaskInfo(owner, descriptor, params, TaskStatus.Active, now, 0))
        self.RewardPool.insert(task_id, reward_pool)
        self.GlobalModel.insert(task_id, model)
        self.ModelVersions.insert(
            task_id, 0, ModelVersionInfo(compute_model_hash(model), None, now, [], [])
        )
        first = RoundInfo(0, now + 1, now + p.round_length, 0)
        self.RoundState.insert(task_id, first)
        self.Agenda.mutate(first.end, lambda tasks: [*tasks, task_id])
        self.deposit_event(TaskCreated(task_id, owner, reward_pool))

    def _check_rule(self, p: TaskParams) -> None:
        rule = p.rule
        if isinstance(rule, TrimmedMean):
            if rule.beta_per_billion >= PER_BILLION // 2:
                raise self.error(Error.InvalidRule, "beta must be below one half")
        elif isinstance(rule, (Krum, MultiKrum)):
            if p.bound > KRUM_MAX_BOUND:
                raise self.error(Error.InvalidRule, f"Krum needs bound <= {KRUM_MAX_BOUND}")
            if p.min_participants < 2 * rule.f + 3:
                raise self.error(Error.InvalidRule, "Krum needs min_participants >= 2f + 3")
            if isinstance(rule, MultiKrum) and not 1 <= rule.m <= p.min_participants - rule.f:
                raise self.error(Error.InvalidRule, "multi-Krum needs 1 <= m <= n - f")

    @call(index=1, weight=lambda task, stake: weights.join_task())
    def join_task(
        self,
        origin: Origin,
        task: Annotated[int, TaskId],
        stake: Annotated[int, CompactBalance],
    ) -> None:
        """Join an active task, reserving ``stake`` (at least the task's minimum)."""
        who = ensure_signed(origin)
        info = self._active_task(task)
        # Verify the sender does not take part already.
        if self.Participants.contains_key(task, who):
            raise self.error(Error.AlreadyParticipant)
        # Verify the stake reaches the task's minimum.
        if stake < info.params.min_stake:
            raise self.error(Error.StakeBelowMinimum)
        # Verify there is room for one more contributor.
        if info.participant_count >= self.config.max_participants:
            raise self.error(Error.TooManyParticipants)
        # Verify the stake can be reserved.
        if not self.config.currency.can_reserve(who, stake):
            raise self.error(Error.InsufficientStake)

        self._hold(who, stake)
        self.Participants.insert(task, who, ParticipantInfo(stake, 0, self._now()))
        self.Tasks.insert(
            task, dataclasses.replace(info, participant_count=info.participant_count + 1)
        )
        self.deposit_event(ParticipantJoined(task, who, stake))

    @call(
        index=2,
        weight=lambda task, round, update, num_samples: weights.submit_update(len(update)),
    )
    def submit_update(
        self,
        origin: Origin,
        task: Annotated[int, TaskId],
        round: Annotated[int, U32],  # noqa: A002 - the call's argument name
        update: Annotated[NDArray[np.int32], UPDATE],
        num_samples: Annotated[int, CompactOf(64)],
    ) -> None:
        """Submit the sender's update for the open round (tasks without commit-reveal)."""
        who = ensure_signed(origin)
        info = self._active_task(task)
        # Verify the task takes plain submissions.
        if info.params.commit_reveal:
            raise self.error(Error.CommitRevealRequired)
        self._participant(task, who)
        self._open_round(task, round)
        # Verify this is the sender's first update of the round.
        if self.Submissions.contains_key(task, round, who):
            raise self.error(Error.DuplicateSubmission)
        array = self._checked_update(info, update)
        # Verify the sample count is positive.
        if num_samples < 1:
            raise self.error(Error.ZeroSamples)

        self.Submissions.insert(task, round, who, SubmissionInfo(array, num_samples, self._now()))
        self.deposit_event(UpdateSubmitted(task, round, who))

    @call(
        index=3,
        weight=lambda task, round, commitment, num_samples: weights.commit_update(),
    )
    def commit_update(
        self,
        origin: Origin,
        task: Annotated[int, TaskId],
        round: Annotated[int, U32],  # noqa: A002 - the call's argument name
        commitment: Annotated[bytes, H256],
        num_samples: Annotated[int, CompactOf(64)],
    ) -> None:
        """Commit to an update, ``blake2_256(SCALE(update) ++ salt)``, in the commit phase."""
        who = ensure_signed(origin)
        info = self._active_task(task)
        # Verify the task is commit-reveal.
        if not info.params.commit_reveal:
            raise self.error(Error.NotCommitReveal)
        self._participant(task, who)
        state = self._open_round(task, round)
        # Verify the commit phase (first half of the window) is still running.
        if self._now() > state.commit_end():
            raise self.error(Error.CommitPhaseOver)
        # Verify this is the sender's first commitment of the round.
        if self.Commitments.contains_key(task, round, who):
            raise self.error(Error.AlreadyCommitted)
        # Verify the sample count is positive.
        if num_samples < 1:
            raise self.error(Error.ZeroSamples)

        self.Commitments.insert(
            task, round, who, CommitmentInfo(bytes(commitment), num_samples, self._now())
        )
        self.deposit_event(UpdateCommitted(task, round, who, bytes(commitment)))

    @call(
        index=4,
        weight=lambda task, round, update, salt: weights.reveal_update(len(update)),
    )
    def reveal_update(
        self,
        origin: Origin,
        task: Annotated[int, TaskId],
        round: Annotated[int, U32],  # noqa: A002 - the call's argument name
        update: Annotated[NDArray[np.int32], UPDATE],
        salt: Annotated[bytes, H256],
    ) -> None:
        """Reveal the committed update in the reveal phase (second half of the window)."""
        who = ensure_signed(origin)
        info = self._active_task(task)
        # Verify the task is commit-reveal.
        if not info.params.commit_reveal:
            raise self.error(Error.NotCommitReveal)
        self._participant(task, who)
        state = self._open_round(task, round)
        # Verify the reveal phase has started.
        if self._now() <= state.commit_end():
            raise self.error(Error.RevealPhaseNotOpen)
        # Verify the sender has not revealed already.
        if self.Submissions.contains_key(task, round, who):
            raise self.error(Error.DuplicateSubmission)
        commitment: CommitmentInfo | None = self.Commitments.get(task, round, who)
        # Verify there is a commitment to reveal.
        if commitment is None:
            raise self.error(Error.NoCommitment)
        try:
            digest = compute_commitment(update, salt)
        except ScaleEncodeError as exc:  # not a sequence of i32
            raise self.error(Error.ValueOutOfBound, str(exc)) from exc
        # Verify update and salt hash to the commitment.
        if digest != commitment.commitment:
            raise self.error(Error.RevealMismatch)
        array = self._checked_update(info, update)

        self.Commitments.remove(task, round, who)
        self.Submissions.insert(
            task, round, who, SubmissionInfo(array, commitment.num_samples, self._now())
        )
        self.deposit_event(UpdateRevealed(task, round, who))

    @call(index=5, weight=lambda task: weights.leave_task())
    def leave_task(self, origin: Origin, task: Annotated[int, TaskId]) -> None:
        """Leave a task between submissions, unreserving the whole stake."""
        who = ensure_signed(origin)
        info = self._task(task)
        participant = self._participant(task, who)
        state: RoundInfo | None = self.RoundState.get(task)
        # Verify the sender has nothing pending in the open round.
        if state is not None and (
            self.Submissions.contains_key(task, state.round, who)
            or self.Commitments.contains_key(task, state.round, who)
        ):
            raise self.error(Error.PendingSubmission)

        self._release(who, participant.stake)
        self.Participants.remove(task, who)
        self.Tasks.insert(
            task, dataclasses.replace(info, participant_count=info.participant_count - 1)
        )
        self.deposit_event(ParticipantLeft(task, who, participant.stake))

    @call(index=6, weight=lambda task: weights.cancel_task(weights.MAX_PARTICIPANTS_LIMIT))
    def cancel_task(self, origin: Origin, task: Annotated[int, TaskId]) -> None:
        """Cancel an active task (owner only): refund the unspent pool and every stake."""
        who = ensure_signed(origin)
        info = self._task(task)
        # Verify the sender owns the task.
        if info.owner != who:
            raise self.error(Error.NotOwner)
        # Verify the task is still active.
        if info.status != TaskStatus.Active:
            raise self.error(Error.TaskNotActive)

        state: RoundInfo = self.RoundState.get(task)
        self.Submissions.clear_prefix(task, state.round)
        self.Commitments.clear_prefix(task, state.round)
        remaining = [t for t in self.Agenda.get(state.end) if t != task]
        if remaining:
            self.Agenda.insert(state.end, remaining)
        else:
            self.Agenda.remove(state.end)
        refunded = self._finish_task(task, info, TaskStatus.Cancelled)
        self.deposit_event(TaskCancelled(task, refunded))

    # ----------------------------------------------------------------------------- internal

    def _finish_task(self, task_id: int, info: TaskInfo, status: TaskStatus) -> int:
        """Unreserve every stake and the unspent pool; mark the task; returns the refund."""
        for who, participant in list(self.Participants.iter_prefix(task_id)):
            self._release(who, participant.stake)
        self.Participants.clear_prefix(task_id)
        refunded: int = self.RewardPool.take(task_id)
        self._release(info.owner, refunded)
        self.Tasks.insert(task_id, dataclasses.replace(info, status=status, participant_count=0))
        return refunded

    def do_aggregate(
        self, params: TaskParams, submissions: Sequence[Submission]
    ) -> tuple[Aggregate, list[int]]:
        """Aggregate a round with the task's rule; returns the aggregate and the per-billion
        agreement scores (both in account-id order). Raises :class:`AggregationError`."""
        batch = UpdateBatch.from_submissions(submissions, params.bound)
        rule = params.rule
        if isinstance(rule, Median):
            result = weighted_median(batch)
        elif isinstance(rule, TrimmedMean):
            result = weighted_trimmed_mean(batch, rule.beta_per_billion)
        elif isinstance(rule, Krum):
            result = krum(batch, rule.f, weighted=True)
        elif isinstance(rule, MultiKrum):
            result = multi_krum(batch, rule.f, rule.m, weighted=True)
        elif isinstance(rule, ClippedMean):
            result = norm_clipped_mean(batch, rule.c)
        else:
            result = weighted_mean(batch)
        return result, agreement_scores(batch, result.update)

    def do_close_round(self, task_id: int, n: int) -> None:
        """Close the open round of ``task_id`` at block ``n`` (see the module docstring)."""
        info: TaskInfo | None = self.Tasks.get(task_id)
        if info is None or info.status != TaskStatus.Active:
            return
        p = info.params
        state: RoundInfo = self.RoundState.get(task_id)
        round_ = state.round
        entries: list[tuple[bytes, ParticipantInfo, SubmissionInfo]] = []
        for (_, _, who), sub in self.Submissions.iter(task_id, round_):
            participant: ParticipantInfo | None = self.Participants.get(task_id, who)
            if participant is not None:
                entries.append((who, participant, sub))
        entries.sort(key=lambda e: e[0])
        unrevealed = sorted(keys[2] for keys in self.Commitments.iter_keys(task_id, round_))
        self.Submissions.clear_prefix(task_id, round_)
        self.Commitments.clear_prefix(task_id, round_)

        struck: set[bytes] = set(unrevealed)
        version = state.model_version
        if len(entries) < p.min_participants:
            self.deposit_event(RoundSkipped(task_id, round_, SkipReason.TooFewUpdates))
        else:
            weights_of = {
                who: self.model_weight(p.weighting, part.stake, sub.num_samples)
                for who, part, sub in entries
            }
            submissions = [Submission(who, weights_of[who], sub.update) for who, _, sub in entries]
            try:
                result, scores = self.do_aggregate(p, submissions)
            except AggregationError:
                self.deposit_event(RoundSkipped(task_id, round_, SkipReason.AggregationFailed))
            else:
                version += 1
                self._record_version(task_id, round_, version, n, result)
                recipients = []
                for who, included, score in zip(
                    result.accounts, result.included, scores, strict=True
                ):
                    if included and score >= p.outlier_threshold:
                        recipients.append((who, weights_of[who] * score))
                    else:
                        struck.add(who)
                self._pay_round(task_id, info, p.rounds - round_, recipients)
        for who in sorted(struck):
            self._strike(task_id, who)
        self._advance(task_id, state, version)

    def _record_version(
        self, task_id: int, round_: int, version: int, n: int, result: Aggregate
    ) -> None:
        model = apply_update(self.GlobalModel.get(task_id), result.update)
        model_hash = compute_model_hash(model)
        included = [a for a, inc in zip(result.accounts, result.included, strict=True) if inc]
        excluded = list(result.excluded)
        self.GlobalModel.insert(task_id, model)
        self.ModelVersions.insert(
            task_id, version, ModelVersionInfo(model_hash, round_, n, included, excluded)
        )
        self.deposit_event(
            RoundAggregated(task_id, round_, version, model_hash, included, excluded)
        )

    def _pay_round(
        self, task_id: int, info: TaskInfo, rounds_left: int, recipients: list[tuple[bytes, int]]
    ) -> None:
        """Pay this round's share of the pool (``pool // rounds_left``) by :func:`apportion`."""
        pool: int = self.RewardPool.get(task_id)
        share = pool // rounds_left
        paid = 0
        for who, amount in apportion(share, recipients):
            if amount == 0:
                continue
            not_moved = self.config.currency.repatriate_reserved(
                info.owner, who, amount, BalanceStatus.Free
            )
            moved = amount - not_moved
            paid += moved
            if moved:
                self.deposit_event(RewardPaid(task_id, who, moved))
        self._ledger_add(info.owner, -paid)
        self.RewardPool.insert(task_id, pool - paid)

    def _strike(self, task_id: int, who: bytes) -> None:
        """One strike; at ``max_strikes`` slash ``slash_fraction`` of the stake into the pool and
        remove the contributor."""
        participant: ParticipantInfo | None = self.Participants.get(task_id, who)
        if participant is None:
            return
        info: TaskInfo = self.Tasks.get(task_id)
        strikes = participant.strikes + 1
        self.deposit_event(ContributorStruck(task_id, who, strikes))
        max_strikes = info.params.max_strikes
        if max_strikes == 0 or strikes < max_strikes:
            self.Participants.insert(
                task_id, who, dataclasses.replace(participant, strikes=strikes)
            )
            return
        stake = participant.stake
        amount = stake * info.params.slash_fraction // PER_BILLION
        currency = self.config.currency
        try:
            to_pool = amount - currency.repatriate_reserved(
                who, info.owner, amount, BalanceStatus.Reserved
            )
        except DispatchError:  # the owner's account is gone: the slash is burnt instead
            currency.slash_reserved(who, amount)
            to_pool = 0
        currency.unreserve(who, stake - amount)
        self._ledger_add(who, -stake)
        self._ledger_add(info.owner, to_pool)
        self.RewardPool.mutate(task_id, lambda pool: pool + to_pool)
        self.Participants.remove(task_id, who)
        self.Tasks.insert(
            task_id, dataclasses.replace(info, participant_count=info.participant_count - 1)
        )
        self.deposit_event(ContributorSlashed(task_id, who, amount))
        self.deposit_event(ContributorRemoved(task_id, who))

    def _advance(self, task_id: int, state: RoundInfo, version: int) -> None:
        """Open the next round, or complete the task after its last round."""
        info: TaskInfo = self.Tasks.get(task_id)
        if state.round + 1 >= info.params.rounds:
            self.RoundState.insert(task_id, dataclasses.replace(state, model_version=version))
            refunded = self._finish_task(task_id, info, TaskStatus.Completed)
            self.deposit_event(TaskCompleted(task_id, version, refunded))
            return
        length = info.params.round_length
        nxt = RoundInfo(state.round + 1, state.end + 1, state.end + length, version)
        self.RoundState.insert(task_id, nxt)
        self.Agenda.mutate(nxt.end, lambda tasks: [*tasks, task_id])

    # --------------------------------------------------------------------------- invariants

    def try_state(self, n: int) -> None:
        """Invariants:

        * ``participant_count`` equals the number of ``Participants`` entries; finished tasks
          have neither participants nor a pool;
        * ``Reserves`` of every account equals its stakes plus the pools of the active tasks it
          owns, and is at most its reserved balance; each ``RewardPool`` is at most the owner's
          reserved balance;
        * an active task's open round has a window of ``round_length`` blocks, ``round <
          rounds``, is in the ``Agenda`` at its end (and not before ``n``), its model has
          ``parameter_count`` values and its current version is recorded with the model's hash.
        """
        currency = self.config.currency
        expected: dict[bytes, int] = {}
        next_id = self.NextTaskId.get()
        for task_id, info in self.Tasks.iter():
            if task_id >= next_id:
                raise TryStateError(f"task {task_id} >= NextTaskId {next_id}")
            participants = list(self.Participants.iter_prefix(task_id))
            if len(participants) != info.participant_count:
                raise TryStateError(
                    f"task {task_id}: {len(participants)} participants, "
                    f"participant_count {info.participant_count}"
                )
            for who, participant in participants:
                expected[who] = expected.get(who, 0) + participant.stake
            pool_entry = self.RewardPool.contains_key(task_id)
            if info.status != TaskStatus.Active:
                if participants or pool_entry:
                    raise TryStateError(f"finished task {task_id} holds stakes or a pool")
                continue
            pool = self.RewardPool.get(task_id)
            if pool > currency.reserved_balance(info.owner):
                raise TryStateError(f"task {task_id}: pool {pool} exceeds the owner's reserve")
            expected[info.owner] = expected.get(info.owner, 0) + pool
            self._check_round_state(task_id, info, n)
        for who, amount in self.Reserves.iter():
            if expected.pop(who, 0) != amount:
                raise TryStateError(f"0x{who.hex()}: Reserves {amount} != stakes and pools")
            if amount > currency.reserved_balance(who):
                raise TryStateError(f"0x{who.hex()}: Reserves {amount} exceed reserved balance")
        if any(expected.values()):
            raise TryStateError("stakes or pools without a Reserves entry")

    def _check_round_state(self, task_id: int, info: TaskInfo, n: int) -> None:
        state: RoundInfo | None = self.RoundState.get(task_id)
        if state is None:
            raise TryStateError(f"task {task_id} has no RoundState")
        p = info.params
        if state.end - state.start + 1 != p.round_length or state.round >= p.rounds:
            raise TryStateError(f"task {task_id}: bad round window {state}")
        if state.end < n or task_id not in self.Agenda.get(state.end):
            raise TryStateError(f"task {task_id}: round end {state.end} not scheduled")
        model = self.GlobalModel.get(task_id)
        if model is None or model.shape[0] != info.descriptor.parameter_count:
            raise TryStateError(f"task {task_id}: model length differs from the descriptor")
        version: ModelVersionInfo | None = self.ModelVersions.get(task_id, state.model_version)
        if version is None or version.model_hash != compute_model_hash(model):
            raise TryStateError(f"task {task_id}: current model version not recorded")


__all__ = [
    "ContributorRemoved",
    "ContributorSlashed",
    "ContributorStruck",
    "Error",
    "FederatedLearning",
    "FederatedLearningEvent",
    "ParticipantJoined",
    "ParticipantLeft",
    "RewardPaid",
    "RoundAggregated",
    "RoundSkipped",
    "TaskCancelled",
    "TaskCompleted",
    "TaskCreated",
    "UpdateCommitted",
    "UpdateRevealed",
    "UpdateSubmitted",
    "apply_update",
    "apportion",
    "compute_commitment",
    "compute_model_hash",
]
