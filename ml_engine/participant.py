"""A federated-learning contributor: one OS process, one key, one data shard, JSON-RPC only.

Counterparts: a Flower ``NumPyClient`` (``fit``: train from the global parameters, return the new
ones) driven by the chain instead of a server — the protocol of DESIGN.md §3 steps 2–3 against the
``FederatedLearning`` pallet (``pychain/pallets/federated_learning/README.md``). The process
reads everything it needs from a node over JSON-RPC with pychain's own client
(:class:`pychain.rpc.client.PychainClient`): ``FederatedLearning.Tasks`` (descriptor and rules),
``GlobalModel``, ``RoundState``, ``Participants`` and ``Submissions`` through ``state_getStorage``
with the pallet's codecs, nonces through ``system_accountNextIndex``, and ``System.Events`` of
every new block (``chain_subscribeNewHeads``; blocks are scanned by number, so a dropped
notification loses nothing).

Life of a participant (:meth:`Participant.run`):

1. ``join_task(task, stake)`` unless it already takes part;
2. for every round ``r`` it sees open: read the global model (fixed point, decoded with the task's
   ``scale_bits``), train locally (:func:`ml_engine.training.local_train`, seeded by
   ``(seed, r, index)``, one torch thread), apply its attack if configured
   (:mod:`ml_engine.attacks`), encode the delta (:func:`ml_engine.encoding.encode_delta`: clip,
   scale ``2^s``, round half-even, clamp to ``±B``) and submit it — ``submit_update``, or
   ``commit_update`` then ``reveal_update`` (``blake2_256(SCALE(update) ++ salt)``, a fresh random
   salt) when the task asks for commit-reveal;
3. log the round's ``RoundAggregated`` / ``RoundSkipped`` outcome and its own rewards and strikes;
4. stop at ``TaskCompleted`` / ``TaskCancelled``, or when it was slashed and removed.

Transient RPC failures (connection lost, timeouts) are retried with exponential backoff on a fresh
connection; a pool refusal or a failed dispatch is logged and the state re-read on the next block.
Every participant writes a log file and, at exit, a JSON summary (rounds, training seconds,
outcome) for the orchestrator.

Differences from a real deployment: keys are dev-derived (``//Contributor1``); the data shard is
computed from the shared seed (:func:`load_shard`) rather than owned; the omniscient attacks
(``ipm``, ``alie``) have no access to the other contributors' updates here and use the attacker's
own honestly trained delta as their estimate of the honest mean (ALIE then sees a zero spread).

Run: ``python -m ml_engine.participant --config participant.json`` (see
:class:`ParticipantConfig`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from ml_engine.attacks import AttackSpec, parse_attack
from ml_engine.data import Dataset, load_split, parse_partition
from ml_engine.encoding import FixedPoint, decode_model, encode_delta
from ml_engine.errors import MlEngineError
from ml_engine.models import MODELS, ModelSpec, parameter_count
from ml_engine.training import TrainConfig, client_seed, local_train
from pychain.errors import PychainError
from pychain.frame.runtime import EventRecord
from pychain.pallets.federated_learning import (
    CommitmentInfo,
    FederatedLearning,
    ParticipantInfo,
    RoundInfo,
    SubmissionInfo,
    TaskInfo,
    TaskStatus,
    compute_commitment,
)
from pychain.primitives.keys import Keypair
from pychain.rpc.client import (
    PychainClient,
    RpcClientError,
    RpcConnectionError,
    RpcTimeoutError,
    Subscription,
)

__all__ = [
    "DATASET_ALIASES",
    "ParticipantConfig",
    "ParticipantError",
    "Participant",
    "RoundRecord",
    "load_shard",
    "main",
]

log = logging.getLogger("ml_engine.participant")

T = TypeVar("T")

#: CLI dataset names → :func:`ml_engine.data.load_dataset` names.
DATASET_ALIASES = {"digits": "digits", "mnist5k": "mnist", "mnist": "mnist"}
#: Share of every class held out for evaluation (the demo evaluates on it; contributors never
#: train on it).
TEST_FRACTION = 0.2
#: Backoff of transient RPC failures: first wait, factor, cap (seconds), and attempts.
RETRY_FIRST_S = 0.2
RETRY_FACTOR = 2.0
RETRY_CAP_S = 5.0
RETRY_ATTEMPTS = 8
#: Seconds to wait for an extrinsic to be included (the demo may hold a round's last block until
#: every contributor has submitted, so this is long).
INCLUSION_TIMEOUT_S = 900.0
#: Seconds to wait for a new head before polling the best block anyway.
HEAD_POLL_S = 1.0
#: Refused or failed extrinsics tolerated before the participant gives up.
MAX_FAILURES = 20
#: Times one round's update is sent again after its block was retracted by a re-org.
MAX_RESENDS = 3


class ParticipantError(MlEngineError):
    """A participant cannot go on: bad configuration, unknown task, model/dataset mismatch, or an
    RPC failure that outlived its retries."""


# ----------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class ParticipantConfig:
    """Everything a participant process needs (``--config FILE`` holds it as JSON)."""

    url: str
    task_id: int
    #: Secret URI of the contributor's sr25519 key, e.g. ``//Contributor1``.
    suri: str
    #: This contributor's index in the partition, ``0 <= index < n_clients``.
    index: int
    n_clients: int
    dataset: str = "digits"
    partition: str = "dirichlet:0.5"
    seed: int = 0
    #: Stake to reserve when joining (plancks).
    stake: int = 10**12
    epochs: int = 5
    batch_size: int = 10
    lr: float = 0.1
    momentum: float = 0.9
    #: ``kind[:param]`` of :func:`ml_engine.attacks.parse_attack`, or ``None`` when honest.
    attack: str | None = None
    #: Number of attackers (ALIE's ``f``).
    n_attackers: int = 0
    #: Client-side L2 clip of the float delta before encoding; ``None``: no clipping.
    clip_norm: float | None = None
    log_path: str | None = None
    summary_path: str | None = None
    #: RPC timeout of one request (seconds).
    rpc_timeout: float = 60.0
    #: Wait for ``task_id`` to be created instead of failing when it does not exist yet (the
    #: multi-validator demo starts its contributors before it creates the task, so that they are
    #: loaded and connected when round 0 opens).
    wait_for_task: bool = False
    #: File written once the shard is loaded and the node answered (the orchestrator waits for
    #: it); ``None``: none.
    ready_path: str | None = None

    def __post_init__(self) -> None:
        # Verify the fields that would otherwise fail late, inside a round.
        if self.dataset not in DATASET_ALIASES:
            raise ParticipantError(
                f"unknown dataset {self.dataset!r}; expected one of {', '.join(DATASET_ALIASES)}"
            )
        if not 0 <= self.index < self.n_clients:
            raise ParticipantError(f"index {self.index} outside [0, {self.n_clients})")
        if self.task_id < 0 or self.stake < 1:
            raise ParticipantError("task id must be >= 0 and stake >= 1")
        if self.attack is not None:
            parse_attack(self.attack)  # raises AttackError on a bad spec
        TrainConfig(self.epochs, self.batch_size, self.lr, self.momentum)  # validates
        parse_partition(self.partition)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ParticipantConfig:
        """Parse :meth:`to_json` output; unknown or missing fields are a :class:`ParticipantError`."""
        if not isinstance(data, dict):
            raise ParticipantError("participant config: expected a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParticipantError(f"participant config: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ParticipantError(f"participant config: {exc}") from None

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig(self.epochs, self.batch_size, self.lr, self.momentum)

    @property
    def attack_spec(self) -> AttackSpec | None:
        if self.attack is None:
            return None
        spec = parse_attack(self.attack)
        return None if spec.kind == "none" else spec


def load_shard(config: ParticipantConfig) -> Dataset:
    """The contributor's training shard: the seeded stratified split of the dataset, partitioned
    over ``n_clients`` by the seeded partition, entry ``index`` (the orchestrator computes the
    same partition for stakes and the baseline)."""
    split = load_split(DATASET_ALIASES[config.dataset], TEST_FRACTION, config.seed)
    parts = parse_partition(config.partition).apply(split.train.y, config.n_clients, config.seed)
    return split.train.subset(parts[config.index])


# ----------------------------------------------------------------------------------- records


@dataclass
class RoundRecord:
    """What one participant did in one round."""

    round: int
    train_s: float = 0.0
    submitted: bool = False
    outcome: str = "pending"  # aggregated / skipped / pending
    included: bool | None = None
    reward: int = 0
    struck: bool = False


@dataclass
class _RoundWork:
    """The update prepared for a round (kept for the reveal of a commit-reveal task)."""

    round: int
    update: NDArray[np.int32]
    num_samples: int
    salt: bytes = b""
    committed: bool = False
    submitted: bool = False
    #: Times the update was sent again because its inclusion was retracted (a re-org).
    resent: int = 0


@dataclass
class Summary:
    """The JSON summary a participant writes at exit."""

    account: str
    index: int
    attacker: bool
    status: str = "running"  # completed / removed / cancelled / error
    error: str | None = None
    joined: bool = False
    slashed: int = 0
    rounds: list[RoundRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------------- participant


def _retry(what: str, fn: Callable[[], T], reconnect: Callable[[], None]) -> T:
    """Call ``fn``; on a transport failure reconnect and retry with exponential backoff."""
    delay = RETRY_FIRST_S
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            return fn()
        except RpcConnectionError as exc:
            if attempt == RETRY_ATTEMPTS:
                raise ParticipantError(f"{what}: {exc} (after {attempt} attempts)") from None
            log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
            time.sleep(delay)
            delay = min(delay * RETRY_FACTOR, RETRY_CAP_S)
            try:
                reconnect()
            except (RpcClientError, OSError) as again:
                log.warning("reconnect failed: %s", again)
    raise ParticipantError(f"{what}: no attempt made")  # unreachable: RETRY_ATTEMPTS >= 1


class Participant:
    """One contributor (see the module docstring). :meth:`step` makes the decisions of one block
    and is what tests drive; :meth:`run` loops over new heads until the task is over."""

    def __init__(self, config: ParticipantConfig, data: Dataset | None = None) -> None:
        self.config = config
        self.keypair = Keypair.from_uri(config.suri)
        self.account = self.keypair.account_id
        self.attack = config.attack_spec
        self.data = data if data is not None else load_shard(config)
        self.client: PychainClient | None = None
        self.summary = Summary(
            "0x" + self.account.hex(), config.index, attacker=self.attack is not None
        )
        self._work: dict[int, _RoundWork] = {}
        self._records: dict[int, RoundRecord] = {}
        self._last_scanned: int | None = None
        self._task: TaskInfo | None = None
        self._spec: ModelSpec | None = None
        self._failures = 0
        self._closed_round = 0
        self._removed = False
        self.done = False

    # ------------------------------------------------------------------------ connection

    def connect(self) -> PychainClient:
        if self.client is None:
            self.client = PychainClient(self.config.url, self.config.rpc_timeout)
        return self.client

    def _reconnect(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            except (RpcClientError, OSError):
                pass
        self.client = None
        self.connect()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _rpc(self, what: str, fn: Callable[[PychainClient], T]) -> T:
        return _retry(what, lambda: fn(self.connect()), self._reconnect)

    # ------------------------------------------------------------------------ reads

    def _storage(self, key: bytes, at: bytes) -> bytes | None:
        return self._rpc("state_getStorage", lambda c: c.get_storage(key, at))

    def read_task(self, at: bytes) -> TaskInfo | None:
        raw = self._storage(FederatedLearning.Tasks.hashed_key(self.config.task_id), at)
        return None if raw is None else FederatedLearning.Tasks.value_codec.decode(raw)

    def read_round(self, at: bytes) -> RoundInfo | None:
        raw = self._storage(FederatedLearning.RoundState.hashed_key(self.config.task_id), at)
        return None if raw is None else FederatedLearning.RoundState.value_codec.decode(raw)

    def read_model(self, at: bytes) -> NDArray[np.int32]:
        raw = self._storage(FederatedLearning.GlobalModel.hashed_key(self.config.task_id), at)
        if raw is None:
            raise ParticipantError(f"task {self.config.task_id} has no global model")
        model: NDArray[np.int32] = FederatedLearning.GlobalModel.value_codec.decode(raw)
        return model

    def read_participant(self, at: bytes) -> ParticipantInfo | None:
        key = FederatedLearning.Participants.hashed_key(self.config.task_id, self.account)
        raw = self._storage(key, at)
        return None if raw is None else FederatedLearning.Participants.value_codec.decode(raw)

    def read_submission(self, round_: int, at: bytes) -> SubmissionInfo | None:
        key = FederatedLearning.Submissions.hashed_key(self.config.task_id, round_, self.account)
        raw = self._storage(key, at)
        return None if raw is None else FederatedLearning.Submissions.value_codec.decode(raw)

    def read_commitment(self, round_: int, at: bytes) -> CommitmentInfo | None:
        key = FederatedLearning.Commitments.hashed_key(self.config.task_id, round_, self.account)
        raw = self._storage(key, at)
        return None if raw is None else FederatedLearning.Commitments.value_codec.decode(raw)

    def model_spec(self, task: TaskInfo) -> ModelSpec:
        """The torch model the task's descriptor names, checked against this shard's shape."""
        if self._spec is not None:
            return self._spec
        arch = task.descriptor.architecture_id.decode("ascii", "replace")
        name = arch.split("-", 1)[0]
        if name not in MODELS:
            raise ParticipantError(f"task architecture {arch!r} is not a known model")
        spec = ModelSpec(name, self.data.shape, self.data.n_classes)
        count = parameter_count(spec.build(0))
        # Verify the descriptor describes the model this shard trains.
        if count != task.descriptor.parameter_count:
            raise ParticipantError(
                f"task model has {task.descriptor.parameter_count} parameters; {name} on "
                f"{self.data.name} has {count}"
            )
        self._spec = spec
        return spec

    # ------------------------------------------------------------------------ training

    def compute_update(
        self, task: TaskInfo, model_q: NDArray[np.int32], round_: int
    ) -> tuple[NDArray[np.int32], float]:
        """Train from the fixed-point global model; return the encoded (attacked) delta and the
        seconds spent training."""
        spec = self.model_spec(task)
        p = task.params
        fp = FixedPoint(p.scale_bits, p.bound, self.config.clip_norm)
        global_params = decode_model(model_q, fp)
        cfg = self.config
        attack = self.attack
        delta: NDArray[np.float32] | None = None
        train_s = 0.0
        if attack is None or attack.trains or attack.kind in ("ipm", "alie"):
            hook = attack.label_hook(spec.n_classes) if attack is not None else None
            started = time.perf_counter()
            local = local_train(
                spec,
                global_params,
                self.data,
                cfg.train_config,
                seed=client_seed(cfg.seed, round_, cfg.index),
                label_hook=hook,
            )
            train_s = time.perf_counter() - started
            delta = (local.astype(np.float64) - global_params.astype(np.float64)).astype(np.float32)
        if attack is not None:
            rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, round_, cfg.index, 1]))
            honest = [delta] if delta is not None else []
            delta = attack.apply_update(
                delta,
                honest,
                n=cfg.n_clients,
                f=max(cfg.n_attackers, 1),
                global_params=global_params,
                rng=rng,
            )
        assert delta is not None
        return encode_delta(delta, fp), train_s

    def warm_up(self) -> float:
        """One throw-away local training (a logistic regression on this shard, seed 0) before the
        task exists: torch's first training in a process costs 0.5–1 s of one-time set-up (and
        many times that when every contributor does it at once on a few shared cores), which
        would otherwise eat into round 0's window. Every round's training is seeded on its own,
        so this changes no update. Returns the seconds spent."""
        started = time.perf_counter()
        spec = ModelSpec("logreg", self.data.shape, self.data.n_classes)
        params = np.zeros(parameter_count(spec.build(0)), dtype=np.float32)
        local_train(spec, params, self.data, self.config.train_config, seed=0)
        elapsed = time.perf_counter() - started
        log.info("warmed up torch in %.2f s", elapsed)
        return elapsed

    # ------------------------------------------------------------------------ submitting

    def _send(self, call: str, args: dict[str, Any]) -> bool:
        """Sign ``FederatedLearning.call`` (nonce from ``system_accountNextIndex``), submit it and
        wait until it is in a block; True when it dispatched successfully. A refusal or a failed
        dispatch is logged and returns False (the next block's state decides what to do)."""

        def sign(client: PychainClient) -> bytes:
            return client.create_signed_extrinsic(self.keypair, "FederatedLearning", call, args)

        extrinsic = self._rpc(f"sign {call}", sign)
        try:
            receipt = self.connect().submit_and_watch(
                extrinsic, "inBlock", timeout=INCLUSION_TIMEOUT_S
            )
        except RpcConnectionError as exc:
            log.warning("%s: %s; re-reading the state", call, exc)
            self._reconnect()
            return False
        except RpcClientError as exc:  # refused by the pool, or dropped
            log.warning("%s refused: %s", call, exc)
            self._failures += 1
            if self._failures > MAX_FAILURES:
                raise ParticipantError(f"{call}: {exc} ({self._failures} failures)") from None
            return False
        if not receipt.success:
            log.warning(
                "%s failed in block 0x%s: %s",
                call,
                receipt.block_hash.hex()[:16] if receipt.block_hash else "?",
                receipt.error,
            )
            self._failures += 1
            if self._failures > MAX_FAILURES:
                raise ParticipantError(f"{call}: {receipt.error} ({self._failures} failures)")
            return False
        log.info("%s included", call)
        return True

    def join(self) -> bool:
        log.info("joining task %d with stake %d", self.config.task_id, self.config.stake)
        return self._send("join_task", {"task": self.config.task_id, "stake": self.config.stake})

    def _record(self, round_: int) -> RoundRecord:
        record = self._records.get(round_)
        if record is None:
            record = self._records[round_] = RoundRecord(round_)
            self.summary.rounds.append(record)
        return record

    def _prepare(self, task: TaskInfo, round_: int, at: bytes) -> _RoundWork:
        work = self._work.get(round_)
        if work is None:
            update, train_s = self.compute_update(task, self.read_model(at), round_)
            work = _RoundWork(round_, update, len(self.data))
            if task.params.commit_reveal:
                work.salt = os.urandom(32)
            self._work = {round_: work}
            self._record(round_).train_s = train_s
            log.info("round %d: trained in %.2f s", round_, train_s)
        return work

    # ------------------------------------------------------------------------ one block

    def step(self, at: bytes, number: int) -> None:
        """Decide and act on the state of block ``at`` (number ``number``)."""
        cfg = self.config
        task = self.read_task(at)
        if task is None:
            if cfg.wait_for_task and not self.summary.joined:
                return  # the orchestrator creates it after starting us
            raise ParticipantError(f"task {cfg.task_id} does not exist")
        self._task = task
        if task.status != TaskStatus.Active:
            self.summary.status = (
                "completed" if task.status == TaskStatus.Completed else "cancelled"
            )
            self.done = True
            return
        me = self.read_participant(at)
        if me is None:
            if self._removed:
                log.info("no longer a participant (slashed and removed)")
                self.summary.status = "removed"
                self.done = True
                return
            if self.summary.joined:
                log.warning("the join is no longer in the best chain (a re-org); joining again")
            self.model_spec(task)  # fail early on a model/dataset mismatch
            if self.join():
                self.summary.joined = self.read_participant(self._best()[0]) is not None
            return
        self.summary.joined = True
        state = self.read_round(at)
        if state is None:
            return
        r, nxt = state.round, number + 1
        if nxt > state.end:  # the round closes in block `number`: wait for the next one
            return
        if not task.params.commit_reveal:
            work = self._work.get(r)
            if self.read_submission(r, at) is not None:
                return
            if work is not None and work.submitted:
                # Included earlier, yet not in the best state: the block was retracted (a re-org
                # between several authors). Send it again while the round is open.
                if work.resent >= MAX_RESENDS:
                    return
                work.resent += 1
                log.warning("round %d: the included update is no longer in the best chain; "
                            "sending it again", r)
            work = self._prepare(task, r, at)
            args = {
                "task": cfg.task_id,
                "round": r,
                "update": work.update,
                "num_samples": work.num_samples,
            }
            work.submitted = self._send("submit_update", args)
            self._record(r).submitted = work.submitted
            return
        # Commit-reveal: commit in the first half of the window, reveal in the second.
        if nxt <= state.commit_end():
            if self.read_commitment(r, at) is not None or self.read_submission(r, at):
                return
            work = self._prepare(task, r, at)
            if work.committed:
                return
            commitment = compute_commitment(work.update, work.salt)
            args = {
                "task": cfg.task_id,
                "round": r,
                "commitment": commitment,
                "num_samples": work.num_samples,
            }
            work.committed = self._send("commit_update", args)
            return
        work = self._work.get(r)
        if work is None or not work.committed or work.submitted:
            if work is None:
                log.warning("round %d: commit phase missed", r)
                self._work[r] = _RoundWork(r, np.zeros(0, dtype=np.int32), 0, submitted=True)
            return
        if self.read_submission(r, at) is not None:
            work.submitted = True
            return
        args = {"task": cfg.task_id, "round": r, "update": work.update, "salt": work.salt}
        work.submitted = self._send("reveal_update", args)
        self._record(r).submitted = work.submitted

    # ------------------------------------------------------------------------ events

    def scan_events(self, upto: int) -> None:
        """Log the task's events of every block after the last scanned one up to ``upto``."""
        start = upto if self._last_scanned is None else self._last_scanned + 1
        for n in range(start, upto + 1):
            block_hash = self._rpc("chain_getBlockHash", partial(_block_hash, number=n))
            if block_hash is None:
                return
            records = self._rpc("System.Events", partial(_events, block_hash=block_hash))
            self._note_events(records)
            self._last_scanned = n

    def _note_events(self, records: list[EventRecord]) -> None:
        task_id = self.config.task_id
        for record in records:
            if record.event.pallet != "FederatedLearning":
                continue
            ev: Any = record.event.event
            if getattr(ev, "task", None) != task_id:
                continue
            kind = type(ev).__name__
            if kind == "RoundAggregated":
                self._closed_round = ev.round
                rec = self._record(ev.round)
                rec.outcome = "aggregated"
                rec.included = self.account in ev.included
                log.info(
                    "round %d aggregated: version %d, model 0x%s, %s",
                    ev.round,
                    ev.version,
                    ev.model_hash.hex()[:16],
                    "included" if rec.included else "not included",
                )
            elif kind == "RoundSkipped":
                self._closed_round = ev.round
                self._record(ev.round).outcome = "skipped"
                log.info("round %d skipped: %s", ev.round, ev.reason.name)
            elif kind == "RewardPaid" and ev.who == self.account:
                self._record(self._closed_round).reward += int(ev.amount)
                log.info("reward %d", ev.amount)
            elif kind == "ContributorStruck" and ev.who == self.account:
                self._record(self._closed_round).struck = True
                log.info("strike %d", ev.strikes)
            elif kind == "ContributorSlashed" and ev.who == self.account:
                self.summary.slashed += int(ev.amount)
                log.info("slashed %d", ev.amount)
            elif kind == "ContributorRemoved" and ev.who == self.account:
                self._removed = True
            elif kind in ("TaskCompleted", "TaskCancelled"):
                log.info("%s", kind)

    # ------------------------------------------------------------------------ loop

    def _best(self) -> tuple[bytes, int]:
        def read(c: PychainClient) -> tuple[bytes, int]:
            header = c.rpc.request("chain_getHeader")
            number = int(header["number"], 16)
            block_hash = c.block_hash(number)
            if block_hash is None:
                raise RpcClientError("best block has no hash")
            return block_hash, number

        return self._rpc("chain_getHeader", read)

    def _heads(self) -> Iterator[None]:
        """Yields after every new head (or every ``HEAD_POLL_S`` without one)."""
        sub: Subscription | None = None
        while True:
            try:
                if sub is None:
                    sub = self.connect().rpc.subscribe(
                        "chain_subscribeNewHeads", [], "chain_unsubscribeNewHeads"
                    )
                sub.next(HEAD_POLL_S)
            except RpcTimeoutError:
                pass  # no new head for a while: poll the best block anyway
            except RpcConnectionError as exc:
                log.warning("new heads: %s; reconnecting", exc)
                sub = None
                _retry("reconnect", self._reconnect, lambda: None)
            yield None

    def run(self) -> Summary:
        """Take part until the task is over (or this contributor was removed)."""
        try:
            _, number = self._best()
            self._last_scanned = number - 1
            if self.config.wait_for_task:
                self.warm_up()
            self._write_ready()
            for _ in self._heads():
                at, number = self._best()
                self.scan_events(number)
                self.step(at, number)
                if self.done:
                    break
            if self.summary.status == "running":
                self.summary.status = "completed"
        except (MlEngineError, PychainError) as exc:
            self.summary.status = "error"
            self.summary.error = f"{type(exc).__name__}: {exc}"
            log.error("stopping: %s", self.summary.error)
        finally:
            self.close()
            self._write_summary()
        return self.summary

    def _write_ready(self) -> None:
        if self.config.ready_path is not None:
            Path(self.config.ready_path).write_text(f"{os.getpid()}\n", "utf-8")

    def _write_summary(self) -> None:
        if self.config.summary_path is None:
            return
        path = Path(self.config.summary_path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.summary.to_json(), indent=1))
        tmp.replace(path)


def _block_hash(client: PychainClient, number: int) -> bytes | None:
    return client.block_hash(number)


def _events(client: PychainClient, block_hash: bytes) -> list[EventRecord]:
    return client.events(block_hash)


# ----------------------------------------------------------------------------------- entry


def _configure_logging(path: str | None, index: int) -> None:
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s contributor{index + 1}: %(message)s")
    )
    root = logging.getLogger("ml_engine")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """``python -m ml_engine.participant --config FILE``: 0 when the task ended (or this
    contributor was removed), 1 on an error, 2 on a bad configuration."""
    parser = argparse.ArgumentParser(prog="python -m ml_engine.participant")
    parser.add_argument("--config", required=True, help="participant JSON config")
    args = parser.parse_args(argv)
    try:
        config = ParticipantConfig.from_json(json.loads(Path(args.config).read_text()))
    except (OSError, json.JSONDecodeError, MlEngineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(config.log_path, config.index)
    import torch

    torch.set_num_threads(1)
    try:
        participant = Participant(config)
    except (MlEngineError, PychainError) as exc:
        log.error("cannot start: %s", exc)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = participant.run()
    return 1 if summary.status == "error" else 0


if __name__ == "__main__":
    sys.exit(main())
