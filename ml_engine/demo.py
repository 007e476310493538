"""``pychain demo``: a dev chain running a federated-learning task end to end, with a live status
and a report.

Counterparts: Flower's simulation entry point (``flwr.simulation.start_simulation``: a server
strategy, N clients, R rounds, a centralised evaluation per round) with the server replaced by the
``FederatedLearning`` pallet (DESIGN.md §3), and a Substrate ``--dev`` node. What runs:

1. **The node**, in this process, in its own thread running trio: the real
   :class:`pychain.node.Node` (LMDB on a temporary base path, Aura authoring, single-voter
   GRANDPA finality) with its JSON-RPC server on a free 127.0.0.1 port (``rpc_port=0``), on the
   ``dev`` chain rebuilt with ``--slot-duration``. In-process rather than a ``cli.py node``
   subprocess because the demo must pace block production (below); the contributors still reach
   it only over JSON-RPC. With ``--validators N > 1``: N validator processes instead
   (:class:`DemoNetwork`, "Several validators" below).
2. **The model owner** (``//Alice``) funds the contributors and creates the task over JSON-RPC
   (``Balances.transfer_keep_alive``, ``FederatedLearning.create_task``).
3. **The contributors**: one OS process each (``python -m ml_engine.participant``), with its own
   sr25519 key (``//Contributor1`` …), its own data shard and only a JSON-RPC connection to the
   node (:mod:`ml_engine.participant`).
4. **The monitor** (this thread) follows finalized blocks over JSON-RPC, decodes the task's events,
   reads every new global model (``FederatedLearning.GlobalModel``), checks its hash, decodes it
   from fixed point and evaluates it on the held-out test split; it shows a live ``rich`` status
   and writes ``report.json``, ``rounds.csv`` and ``accuracy.png`` (:mod:`ml_engine.report`,
   ``docs/report-format.md``). ``--baseline`` adds the same experiment as plain in-process float
   FedAvg (:func:`ml_engine.training.run_fedavg`).

**Determinism (same seed → same final model hash).** The aggregate depends only on *which*
updates a round contains (the kernels are order-independent), and every update is a pure
function of the seed, the round, the contributor and the global model. What could vary with
timing is the set of updates that make it into a round's window. The chain closes a round by
block number, so the demo makes block production wait for the contributors instead of choosing a
"large enough" round length: :class:`RoundGate` holds the authoring of the *last block of a
phase* — the round's last block, and for commit-reveal tasks also the last commit block — until
every expected contributor's call for that phase is either in the best state or ready in the
pool (then the block includes it; this block is built without the proposer's time limit). The
expected contributors are those taking part in the task plus those that have not joined yet;
one that was slashed and removed is no longer waited for. A hold longer than ``round_timeout``
seconds (a crashed contributor) is released and recorded in ``gate_timeouts``; a run with a
timeout is not guaranteed to be reproducible. Training uses one torch thread and seeds derived
from ``(seed, round, contributor)``, the shards come from the seeded split and partition, and
the salts of commit-reveal (random) do not enter the model. This is "manual seal"-like pacing for
a demo; a public chain would use a round length in blocks and accept the timing.

**Several validators** (``--validators N``, N > 1). The chain is a local testnet
(:class:`pychain.testnet.Testnet`, zombienet-like): N ``cli.py node --validator`` processes on a
generated raw chain spec with N Aura/GRANDPA authorities (``//Alice`` …) whose genesis also
endows ``//Contributor1`` … (so the owner only creates the task), libp2p between them, 1 s
slots by default and GRANDPA finality. Contributor ``k`` talks to validator ``k mod N``. No
process can hold another validator's blocks, so there is no gate: the contributors start (load
their shard, warm torch up, connect) *before* the task exists and wait for it, and a round is
long enough in blocks for every update to land (:func:`default_round_length`). Whether it did is
checked, not assumed: a contributor still in the task without an update in a round's window is
listed in that round's ``late_submissions`` and printed. After every round the demo waits until
every validator has finalized the closing block, then reads from each, over its own JSON-RPC,
the block hash, the header's state root, ``GlobalModel`` (hashed) and ``ModelVersions``; each
validator executed the block itself — re-ran the aggregation in ``on_finalize`` — and the model
is part of the state root, so one answer for all is the proof that all computed the same
aggregate (``validators_agree``). A disagreement is printed loudly, the report written and the
run fails (exit code 1). With every update in its window the network's rounds aggregate the
same updates as the gated single node, so the model hashes match a ``--validators 1`` run with
the same options. SIGTERM is handled like Ctrl-C: every node and contributor is stopped.

**Stakes and attackers.** Contributor ``k`` stakes ``samples_k`` × :data:`STAKE_PER_SAMPLE`
(organisations stake in proportion to the data they bring), so ``--weighting stake`` weighs like
FedAvg's sample counts and the baseline uses sample weights. ``--attackers F`` makes attackers of
the contributors with the largest stakes (ties: lower index first), the shortest such list whose
stake reaches at least ``F`` of the total; the report states the actual fraction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import trio
from numpy.typing import NDArray
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ml_engine.attacks import AttackSpec, parse_attack
from ml_engine.data import DataSplit, load_split, parse_partition
from ml_engine.encoding import FixedPoint, decode_model, encode_model
from ml_engine.errors import MlEngineError
from ml_engine.models import ModelSpec, initial_parameters, layer_shapes
from ml_engine.participant import DATASET_ALIASES, TEST_FRACTION, ParticipantConfig
from ml_engine.report import BaselineResult, DemoReport, RoundResult, render_table, write_report
from ml_engine.training import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LOCAL_EPOCHS,
    DEFAULT_LR,
    DEFAULT_MOMENTUM,
    evaluate,
    run_fedavg,
    torch_threads,
)
from pychain.errors import PychainError
from pychain.node import Node, NodeConfig, SlotAuthor
from pychain.node.authoring import AuthoredBlock
from pychain.pallets.federated_learning import (
    ClippedMean,
    Krum,
    Mean,
    Median,
    ModelDescriptor,
    MultiKrum,
    TaskInfo,
    TaskParams,
    TaskStatus,
    TrimmedMean,
    Weighting,
    compute_model_hash,
)
from pychain.pallets.federated_learning import FederatedLearning as FL
from pychain.primitives.extrinsic import UncheckedExtrinsic
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.rpc.client import PychainClient, RpcClientError
from pychain.testnet import Testnet, TestnetError, default_config
from pychain.testnet.config import MAX_EXTRA_NODES, MIN_SLOT_DURATION_MS

__all__ = [
    "DemoConfig",
    "DemoError",
    "DemoNetwork",
    "DemoRoundResult",
    "DemoRunReport",
    "ValidatorView",
    "ValidatorsDisagree",
    "default_round_length",
    "read_validator_view",
    "views_agree",
    "RoundGate",
    "GatedSlotAuthor",
    "DemoNode",
    "choose_attackers",
    "parse_rule",
    "parse_weighting",
    "run_demo",
]

log = logging.getLogger("ml_engine.demo")

# --- demo constants (not protocol constants: the chain accepts any valid task) -----------------

UNIT = 10**12
#: Stake per training sample (plancks): stakes are proportional to the data a contributor brings.
STAKE_PER_SAMPLE = UNIT
#: Reward pool the owner reserves for the task.
REWARD_POOL = 1_000 * UNIT
#: Free balance each contributor gets on top of its stake (fees).
FEE_ALLOWANCE = 100 * UNIT
#: Smallest stake a task accepts.
MIN_STAKE = UNIT
#: Fixed point: scale 2^16 and bound 2^20 (deltas within ±16.0, resolution 1.5e-5); Krum needs a
#: bound ≤ 2^15, so Krum tasks use 2^12 and 2^15 (±8.0, resolution 2.4e-4).
SCALE_BITS = 16
BOUND = 2**20
KRUM_SCALE_BITS = 12
KRUM_BOUND = 2**15
#: Agreement score below which an included update earns a strike (per billion): 1, i.e. a strike
#: only for an update with no positive agreement with the aggregate (``2 q·a ≤ 0`` up to
#: rounding). Measured on digits / logreg / Dirichlet(0.5): honest agreement falls from 60–85 %
#: in round 0 to 0.1–15 % by round 20 (the global model converges, non-IID deltas keep pulling
#: towards their own data), so any threshold above ~1 % strikes honest contributors late in a run;
#: a sign-flipped update scores 0 under the median and the trimmed mean from the first round.
OUTLIER_THRESHOLD = 1
#: Strikes before a contributor is slashed and removed, and the share of its stake slashed.
MAX_STRIKES = 3
SLASH_FRACTION = 500_000_000
#: Seconds the gate may hold a phase's last block for missing contributors.
ROUND_TIMEOUT_S = 600.0
#: Defaults of ``--contributors`` and ``--rounds`` (the issue's reference run).
DEFAULT_CONTRIBUTORS = 10
DEFAULT_ROUNDS = 20
#: Seconds between two looks of the monitor at the finalized head.
MONITOR_POLL_S = 0.1
#: Slot durations (ms): the in-process dev node is paced by the round gate, so short slots only
#: speed it up; the multi-validator network uses the testnet's 1 s slots (Substrate's default
#: for a local testnet is 6 s; 1 s keeps the demo short while blocks still propagate in time).
DEV_SLOT_DURATION_MS = 200
NETWORK_SLOT_DURATION_MS = 1000
#: Most validators the demo starts (each is a node process on this machine).
MAX_VALIDATORS = 16
#: Seconds to wait for the validators to answer RPC and finalize their first block, for the
#: contributor processes to load their shard and connect, and for every validator to finalize
#: a round's closing block before the demo compares their states.
NETWORK_START_TIMEOUT_S = 120.0
PARTICIPANT_READY_TIMEOUT_S = 180.0
AGREEMENT_TIMEOUT_S = 60.0

PER_BILLION = 1_000_000_000


class DemoError(MlEngineError):
    """The demo cannot run: bad options, or a failure of the node, a contributor or the RPC."""


# ------------------------------------------------------------------------------------ options


def parse_rule(text: str, scale_bits: int) -> tuple[Any, int]:
    """``mean``, ``median``, ``trimmed_mean:B`` (β, a fraction < 1/2), ``krum:F``,
    ``multi_krum:F,M``, ``clipped_mean:C`` (L2 norm in float units, stored as ``C · 2^s``).
    Returns the pallet's rule value and the ``f`` it needs (``min_participants ≥ 2f + 3``)."""
    kind, sep, arg = text.strip().lower().partition(":")
    try:
        if kind == "mean" and not sep:
            return Mean(), 0
        if kind == "median" and not sep:
            return Median(), 0
        if kind == "trimmed_mean" and sep:
            beta = float(arg)
            if not 0.0 <= beta < 0.5:
                raise DemoError(f"trimmed mean β must be in [0, 0.5), got {arg}")
            return TrimmedMean(int(round(beta * PER_BILLION))), 0
        if kind == "krum" and sep:
            f = int(arg)
            if f < 0:
                raise DemoError(f"Krum f must be ≥ 0, got {arg}")
            return Krum(f), f
        if kind == "multi_krum" and sep:
            f_text, _, m_text = arg.partition(",")
            f, m = int(f_text), int(m_text)
            if f < 0 or m < 1:
                raise DemoError(f"multi-Krum needs f ≥ 0 and m ≥ 1, got {arg}")
            return MultiKrum(f, m), f
        if kind == "clipped_mean" and sep:
            c = float(arg)
            if not (math.isfinite(c) and c > 0):
                raise DemoError(f"clipped mean C must be positive, got {arg}")
            return ClippedMean(max(1, int(round(c * 2**scale_bits)))), 0
    except ValueError:
        raise DemoError(f"bad rule parameter in {text!r}") from None
    raise DemoError(
        f"bad rule {text!r}; expected mean, median, trimmed_mean:B, krum:F, multi_krum:F,M "
        "or clipped_mean:C"
    )


WEIGHTINGS = {
    "stake": Weighting.Stake,
    "samples": Weighting.Samples,
    "stake_samples": Weighting.StakeTimesSamples,
}


def parse_weighting(text: str) -> Weighting:
    value = WEIGHTINGS.get(text.strip().lower())
    if value is None:
        raise DemoError(f"bad weighting {text!r}; expected one of {', '.join(WEIGHTINGS)}")
    return value


def default_round_length(validators: int, contributors: int, commit_reveal: bool) -> int:
    """Blocks per round when ``--round-length`` is not given.

    One validator: 3 (4 with commit-reveal) — the round gate holds the last block until every
    update is in, so the length only has to leave room for the phases. Several validators: no
    gate, so the window must hold the slowest contributor's round trip — see the new head, read
    the model, train, sign, gossip to the slot's author, be included. Measured with 1 s slots on
    2 shared cores (``last_update_block`` in the report): with torch warmed up before the task
    exists, updates usually land in the window's first block (round 0: the second, after the
    joins); the outlier is an update gossiped to a peer that has not imported the round-opening
    block yet, which refuses it, so it waits for its own validator's next slot — at most N
    slots under Aura's round robin. Hence ``N + 3`` blocks, plus one per five contributors for
    the CPU they share, per phase (commit-reveal has two)."""
    if validators == 1:
        return 4 if commit_reveal else 3
    phase = validators + 3 + contributors // 5
    return 2 * phase if commit_reveal else phase


@dataclass(frozen=True)
class DemoConfig:
    """The demo's options (``pychain demo --help``); :meth:`resolved` fills the quick defaults."""

    contributors: int = DEFAULT_CONTRIBUTORS
    rounds: int = DEFAULT_ROUNDS
    dataset: str = "digits"
    model: str = "logreg"
    partition: str = "dirichlet:0.5"
    rule: str = "mean"
    weighting: str = "stake"
    attack: str | None = None
    attackers: float = 0.0
    commit_reveal: bool = False
    seed: int = 0
    out: str = "demo-out"
    quick: bool = False
    baseline: bool = False
    validators: int = 1
    round_length: int | None = None
    slot_duration: int | None = None
    epochs: int | None = None
    lr: float | None = None
    momentum: float | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    clip_norm: float | None = None
    outlier_threshold: float = OUTLIER_THRESHOLD / PER_BILLION
    max_strikes: int = MAX_STRIKES
    slash_fraction: float = SLASH_FRACTION / PER_BILLION
    round_timeout: float = ROUND_TIMEOUT_S
    live: bool | None = None

    # quick mode: a smoke run for CI
    QUICK_CONTRIBUTORS = 3
    QUICK_ROUNDS = 3

    @classmethod
    def from_options(
        cls,
        *,
        quick: bool = False,
        contributors: int | None = None,
        rounds: int | None = None,
        **options: Any,
    ) -> DemoConfig:
        """The config of the CLI's options: ``None`` counts and rounds take the defaults, the
        quick ones (3 and 3) with ``quick``."""
        return cls(
            quick=quick,
            contributors=contributors
            if contributors is not None
            else (cls.QUICK_CONTRIBUTORS if quick else DEFAULT_CONTRIBUTORS),
            rounds=rounds
            if rounds is not None
            else (cls.QUICK_ROUNDS if quick else DEFAULT_ROUNDS),
            **options,
        )

    def resolved(self) -> DemoConfig:
        """Apply the per-model training defaults; validate everything."""
        cfg = self
        plain_sgd = cfg.model != "logreg"  # models.py: MLP/CNN train better without momentum
        cfg = dataclasses.replace(
            cfg,
            epochs=cfg.epochs if cfg.epochs is not None else DEFAULT_LOCAL_EPOCHS,
            lr=cfg.lr if cfg.lr is not None else DEFAULT_LR,
            momentum=cfg.momentum
            if cfg.momentum is not None
            else (0.0 if plain_sgd else DEFAULT_MOMENTUM),
            round_length=cfg.round_length
            if cfg.round_length is not None
            else default_round_length(cfg.validators, cfg.contributors, cfg.commit_reveal),
            slot_duration=cfg.slot_duration
            if cfg.slot_duration is not None
            else (DEV_SLOT_DURATION_MS if cfg.validators == 1 else NETWORK_SLOT_DURATION_MS),
            attackers=cfg.attackers if cfg.attackers or cfg.attack is None else 0.3,
        )
        cfg.validate()
        return cfg

    def validate(self) -> None:
        # Verify each option; every message names the flag.
        if not 1 <= self.validators <= MAX_VALIDATORS:
            raise DemoError(f"--validators must be in [1, {MAX_VALIDATORS}], got {self.validators}")
        if not 1 <= self.contributors <= 64:
            raise DemoError(f"--contributors must be in [1, 64], got {self.contributors}")
        if not 1 <= self.rounds <= 10_000:
            raise DemoError(f"--rounds must be in [1, 10000], got {self.rounds}")
        if self.dataset not in ("digits", "mnist5k"):
            raise DemoError(f"--dataset must be digits or mnist5k, got {self.dataset!r}")
        if self.model not in ("logreg", "mlp", "cnn"):
            raise DemoError(f"--model must be logreg, mlp or cnn, got {self.model!r}")
        try:
            parse_partition(self.partition)
            if self.attack is not None:
                parse_attack(self.attack)
        except MlEngineError as exc:
            raise DemoError(str(exc)) from None
        rule, f = parse_rule(self.rule, SCALE_BITS)
        if isinstance(rule, (Krum, MultiKrum)) and self.contributors < 2 * f + 3:
            raise DemoError(f"--rule {self.rule} needs at least {2 * f + 3} contributors")
        parse_weighting(self.weighting)
        if not 0.0 <= self.attackers < 1.0:
            raise DemoError(f"--attackers must be a fraction in [0, 1), got {self.attackers}")
        if self.attackers > 0 and self.attack is None:
            raise DemoError("--attackers needs --attack NAME[:PARAM]")
        rl = self.round_length
        assert rl is not None
        if self.commit_reveal and rl < 4:
            raise DemoError("--commit-reveal needs --round-length ≥ 4 (commit, then reveal)")
        if rl < 2:
            raise DemoError(f"--round-length must be ≥ 2 blocks, got {rl}")
        slot = self.slot_duration
        assert slot is not None
        low = 2 if self.validators == 1 else MIN_SLOT_DURATION_MS
        if not low <= slot <= 60_000:
            raise DemoError(f"--slot-duration must be in [{low}, 60000] ms, got {slot}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise DemoError("--clip-norm must be positive")
        if not 0.0 <= self.outlier_threshold <= 1.0 or not 0.0 <= self.slash_fraction <= 1.0:
            raise DemoError("--outlier-threshold and --slash-fraction are fractions in [0, 1]")
        if self.max_strikes < 0 or self.round_timeout <= 0:
            raise DemoError("--max-strikes must be ≥ 0 and --round-timeout positive")
        assert self.epochs is not None and self.lr is not None and self.momentum is not None
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise DemoError("--epochs, --batch-size and --lr must be positive")
        if not 0.0 <= self.momentum < 1.0:
            raise DemoError("--momentum must be in [0, 1)")

    @property
    def fixed_point(self) -> FixedPoint:
        rule, _ = parse_rule(self.rule, SCALE_BITS)
        if isinstance(rule, (Krum, MultiKrum)):
            return FixedPoint(KRUM_SCALE_BITS, KRUM_BOUND, self.clip_norm)
        return FixedPoint(SCALE_BITS, BOUND, self.clip_norm)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("live", None)
        return data


# ------------------------------------------------------------------------------------ setup


@dataclass(frozen=True)
class Contributor:
    """One contributor of the demo: index, key, shard size, stake and role."""

    index: int
    suri: str
    keypair: Keypair
    samples: int
    stake: int
    attacker: bool

    @property
    def label(self) -> str:
        return f"contributor{self.index + 1}"

    @property
    def account(self) -> bytes:
        return self.keypair.account_id


def choose_attackers(stakes: list[int], fraction: float) -> list[int]:
    """Indices of the attackers: the contributors with the largest stakes (ties: lower index),
    the shortest such prefix holding at least ``fraction`` of the total stake; none for 0."""
    if fraction <= 0:
        return []
    order = sorted(range(len(stakes)), key=lambda k: (-stakes[k], k))
    total = sum(stakes)
    chosen: list[int] = []
    held = 0
    for k in order:
        if held >= fraction * total:
            break
        chosen.append(k)
        held += stakes[k]
    return sorted(chosen)


def _contributors(cfg: DemoConfig, split: DataSplit) -> list[Contributor]:
    parts = parse_partition(cfg.partition).apply(split.train.y, cfg.contributors, cfg.seed)
    stakes = [len(p) * STAKE_PER_SAMPLE for p in parts]
    attackers = set(choose_attackers(stakes, cfg.attackers))
    out = []
    for k, part in enumerate(parts):
        suri = f"//Contributor{k + 1}"
        out.append(
            Contributor(k, suri, Keypair.from_uri(suri), len(part), stakes[k], k in attackers)
        )
    return out


# ------------------------------------------------------------------------------------ gate


@dataclass
class GateStatus:
    """What the gate is doing, for the live status (written by the node thread)."""

    holding: int | None = None
    waiting_for: int = 0
    timeouts: list[int] = field(default_factory=list)


class RoundGate:
    """Holds a phase's last block until every expected contributor's call is in (see the module
    docstring, "Determinism"). Runs in the node's thread, on the node's own chain and pool."""

    def __init__(self, node: Node, accounts: list[bytes], timeout_s: float) -> None:
        self.node = node
        self.accounts = list(accounts)
        self.timeout_s = timeout_s
        #: Set by the demo once the task exists (an int assignment is atomic across threads).
        self.task_id: int | None = None
        self.status = GateStatus()
        self._seen: set[bytes] = set()
        self._hold_started: tuple[int, float] | None = None

    def _read(self, fn: Any) -> Any:
        return self.node.chain.call_at(self.node.chain.best_hash(), fn)

    def phase_end(self, number: int) -> tuple[str, int] | None:
        """The phase whose last block ``number`` is: ``("join", 0)`` while some expected
        contributor has not joined (every block waits for the joins), ``("submit", round)`` when
        block ``number`` closes the round, ``("commit", round)`` when it is the last commit block
        of a commit-reveal round, else ``None``."""
        task_id = self.task_id
        if task_id is None:
            return None
        fl = self.node.runtime.federated_learning

        def scan() -> tuple[TaskInfo | None, Any, set[bytes]]:
            info = fl.Tasks.get(task_id)
            state = fl.RoundState.get(task_id)
            present = {a for a in self.accounts if fl.Participants.contains_key(task_id, a)}
            return info, state, present

        info, state, present = self._read(scan)
        if info is None or info.status != TaskStatus.Active:
            return None
        self._seen |= present
        if set(self.accounts) - self._seen:
            return ("join", state.round)
        if number == state.end:
            return ("submit", state.round)
        if info.params.commit_reveal and number == state.commit_end():
            return ("commit", state.round)
        return None

    def missing(self, phase: str, round_: int) -> set[bytes]:
        """Expected contributors whose call for ``phase`` is neither in the best state nor ready
        in the pool."""
        task_id = self.task_id
        assert task_id is not None
        fl = self.node.runtime.federated_learning
        if phase == "join":
            waiting = set(self.accounts) - self._seen
            return waiting - self._pooled({"join_task"}, None) if waiting else waiting

        def scan() -> tuple[set[bytes], set[bytes]]:
            present = {a for a in self.accounts if fl.Participants.contains_key(task_id, a)}
            store = fl.Submissions if phase == "submit" else fl.Commitments
            done = {a for a in present if store.contains_key(task_id, round_, a)}
            if phase == "commit":  # an update revealed early counts as committed
                done |= {a for a in present if fl.Submissions.contains_key(task_id, round_, a)}
            return present, done

        present, done = self._read(scan)
        self._seen |= present
        missing = present - done
        if missing:
            names = {"submit_update", "reveal_update"} if phase == "submit" else {"commit_update"}
            missing -= self._pooled(names, round_)
        return missing

    def _pooled(self, names: set[str], round_: int | None) -> set[bytes]:
        """Signers of ready pool transactions calling ``FederatedLearning.<name>`` for this task
        (and ``round_`` unless ``None``)."""
        runtime = self.node.runtime.runtime
        found: set[bytes] = set()
        for tx in self.node.pool.ready():
            try:
                xt = UncheckedExtrinsic.decode(tx.data)
                call = runtime.decode_call(xt.call)
            except PychainError:
                continue
            if call.pallet != "FederatedLearning" or call.name not in names:
                continue
            if call.args[0] != self.task_id or (round_ is not None and call.args[1] != round_):
                continue
            if xt.signer is not None:
                found.add(xt.signer)
        return found

    def check(self, number: int) -> str:
        """``"free"`` (author as usual), ``"phase_end"`` (author, without a time limit, so every
        ready call gets in) or ``"hold"`` (skip this slot)."""
        phase = self.phase_end(number)
        if phase is None:
            self._hold_started = None
            self.status.holding = None
            return "free"
        missing = self.missing(*phase)
        if not missing:
            self._hold_started = None
            self.status.holding = None
            return "phase_end"
        now = time.monotonic()
        if self._hold_started is None or self._hold_started[0] != number:
            self._hold_started = (number, now)
        self.status.holding, self.status.waiting_for = number, len(missing)
        if now - self._hold_started[1] > self.timeout_s:
            log.warning(
                "gate: released block %d after %.0f s without %d contributor(s)",
                number,
                self.timeout_s,
                len(missing),
            )
            self.status.timeouts.append(number)
            if phase[0] == "join":
                self._seen |= missing  # stop waiting for contributors that never joined
            self._hold_started = None
            return "phase_end"
        return "hold"


class GatedSlotAuthor(SlotAuthor):
    """The node's slot author, asking a :class:`RoundGate` before each block."""

    def __init__(self, base: SlotAuthor, gate: RoundGate) -> None:
        super().__init__(base.chain, base.pool, base.runtime, base.importer, base.key)
        self.gate = gate

    def author_slot(self, slot: int, should_stop: Any = None) -> AuthoredBlock | None:
        if not self.claim_slot(slot):
            return None
        decision = self.gate.check(self.chain.best()[1] + 1)
        if decision == "hold":
            return None
        return super().author_slot(slot, None if decision == "phase_end" else should_stop)


# ------------------------------------------------------------------------------------ node


class DemoNode:
    """The dev node with its RPC server, run by trio in a background thread."""

    def __init__(self, slot_duration: int, log_path: Path) -> None:
        self.slot_duration = slot_duration
        self.log_path = log_path
        self.node: Node | None = None
        self.gate: RoundGate | None = None
        self.port: int | None = None
        self.error: BaseException | None = None
        self._accounts: list[bytes] = []
        self._timeout = ROUND_TIMEOUT_S
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, accounts: list[bytes], round_timeout: float) -> None:
        self._accounts, self._timeout = accounts, round_timeout
        handler = logging.FileHandler(self.log_path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        for name in ("pychain", "ml_engine.demo"):
            logger = logging.getLogger(name)
            logger.handlers[:] = [handler]
            logger.setLevel(logging.INFO)
            logger.propagate = False
        self._thread = threading.Thread(target=self._run, name="pychain-node", daemon=True)
        self._thread.start()
        if not self._ready.wait(60) or self.port is None:
            raise DemoError(f"the node did not start: {self.error or 'timeout'}")

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to the main thread
            self.error = exc
            log.exception("node thread failed")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        config = NodeConfig(
            chain="dev",
            tmp=True,
            name="pychain-demo",
            validator=True,
            dev_key="Alice",
            slot_duration=self.slot_duration,
            status_interval=30.0,
            rpc_port=0,  # the node's own JSON-RPC server on a free 127.0.0.1 port
        )
        node = Node.open(config)
        self.node = node
        try:
            if node.author is None:
                raise DemoError("the dev node holds no Aura key")
            self.gate = RoundGate(node, self._accounts, self._timeout)
            node.author = GatedSlotAuthor(node.author, self.gate)
            self._token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            async with trio.open_nursery() as nursery:
                await nursery.start(node.run)
                self.port = node.rpc_port
                self._ready.set()
                await self._stop.wait()
                node.stop()
                nursery.cancel_scope.cancel()
        finally:
            node.close()

    def stop(self) -> None:
        if self._token is not None and self._stop is not None:
            with contextlib.suppress(trio.RunFinishedError):
                self._token.run_sync_soon(self._stop.set)
        if self._thread is not None:
            self._thread.join(30)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


# ------------------------------------------------------------------------------------ network


def free_port_bases(nodes: int) -> dict[str, int]:
    """Three disjoint ranges of free 127.0.0.1 ports (p2p, RPC, Prometheus), each room for
    ``nodes`` nodes plus the testnet's spare ones, at a random base (so that demos and tests
    running side by side do not collide)."""
    span = nodes + MAX_EXTRA_NODES
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 60_000 - 3 * span)
        if all(_port_free(p) for p in range(base, base + 3 * span)):
            return {"port": base, "rpc_port": base + span, "prometheus_port": base + 2 * span}
    raise DemoError("no free range of 127.0.0.1 ports for the validators")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class DemoNetwork:
    """N validator processes (:class:`pychain.testnet.Testnet`: one ``cli.py node --validator``
    each, own LMDB and keystore, libp2p between them, Aura authoring and GRANDPA finality) on a
    generated raw chain spec whose genesis endows every contributor (``//ContributorK``)."""

    def __init__(self, validators: int, contributors: int, slot_duration: int, base_dir: Path):
        config = default_config(
            validators=validators,
            contributors=contributors,
            slot_duration=slot_duration,
            **free_port_bases(validators),
        )
        self.base_dir = base_dir
        self.testnet = Testnet(config, base_dir)
        self.n = validators

    @property
    def names(self) -> list[str]:
        return [node.name for node in self.testnet.nodes[: self.n]]

    def url(self, index: int) -> str:
        """The WebSocket URL of validator ``index mod N``."""
        return self.testnet.url(index % self.n)

    def start(self) -> None:
        """Start every validator and wait until each has finalized block 1 (peers connected,
        GRANDPA voting)."""
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.testnet.start(wait=True, timeout=NETWORK_START_TIMEOUT_S)

        def finalized_everywhere() -> bool:
            self.check_alive()
            return all(self.testnet.finalized_number(i) >= 1 for i in range(self.n))

        try:
            Testnet.wait_for(
                finalized_everywhere, NETWORK_START_TIMEOUT_S, what="block #1 finalized by all"
            )
        except TestnetError as exc:
            raise DemoError(f"the validators did not start: {exc}") from None

    def check_alive(self) -> None:
        for i in range(self.n):
            if not self.testnet.is_running(i):
                raise DemoError(
                    f"validator {self.names[i]} exited with status {self.testnet.exit_code(i)}: "
                    f"{self.testnet.log_tail(i)}"
                )

    def rpc(self, index: int, method: str, params: list[Any]) -> Any:
        return self.testnet.rpc(index, method, params, timeout=30.0)

    def finalized_heights(self) -> dict[str, int]:
        """Each validator's finalized height now (``-1`` for one that does not answer)."""
        heights = {}
        for i, name in enumerate(self.names):
            try:
                heights[name] = self.testnet.finalized_number(i)
            except TestnetError:
                heights[name] = -1
        return heights

    def stop(self) -> None:
        """SIGTERM every validator, wait, SIGKILL what is left (Testnet.stop)."""
        self.testnet.stop()


@dataclass(frozen=True)
class ValidatorView:
    """What one validator holds at a finalized height: the block, its state root, and the
    task's model — ``GlobalModel`` hashed as the pallet hashes it, the raw ``ModelVersions``
    entry of the current version."""

    name: str
    block_hash: str
    state_root: str
    model_hash: str
    model_version: str

    def agreement_key(self) -> tuple[str, str, str, str]:
        return (self.block_hash, self.state_root, self.model_hash, self.model_version)


RpcCall = Callable[[int, str, list[Any]], Any]


def read_validator_view(
    rpc: RpcCall, index: int, name: str, number: int, task_id: int, version: int
) -> ValidatorView:
    """Read :class:`ValidatorView` of validator ``index`` at height ``number`` over JSON-RPC
    (``chain_getBlockHash``, ``chain_getHeader``, ``state_getStorage``)."""
    block_hash = rpc(index, "chain_getBlockHash", [number])
    if not isinstance(block_hash, str):
        raise DemoError(f"validator {name} has no block #{number}")
    header = rpc(index, "chain_getHeader", [block_hash])
    state_root = header.get("stateRoot") if isinstance(header, dict) else None
    if not isinstance(state_root, str):
        raise DemoError(f"validator {name}: header #{number} has no state root")
    model_key = "0x" + FL.GlobalModel.hashed_key(task_id).hex()
    raw = rpc(index, "state_getStorage", [model_key, block_hash])
    if not isinstance(raw, str):
        raise DemoError(f"validator {name}: no global model of task {task_id} at #{number}")
    try:
        model_q = FL.GlobalModel.value_codec.decode(bytes.fromhex(raw.removeprefix("0x")))
    except (ValueError, PychainError) as exc:
        raise DemoError(f"validator {name}: undecodable global model at #{number}: {exc}") from None
    version_key = "0x" + FL.ModelVersions.hashed_key(task_id, version).hex()
    entry = rpc(index, "state_getStorage", [version_key, block_hash])
    return ValidatorView(
        name,
        block_hash,
        state_root,
        "0x" + compute_model_hash(model_q).hex(),
        entry if isinstance(entry, str) else "",
    )


def views_agree(views: list[ValidatorView]) -> bool:
    """Whether every validator holds the same block, state root, model hash and version."""
    return len({v.agreement_key() for v in views}) <= 1


# ------------------------------------------------------------------------------------ report


@dataclass
class DemoRoundResult(RoundResult):
    """A round of :class:`RoundResult` plus what the validators and the window say about it."""

    #: Every validator holds the same block, state root and model at the closing height.
    validators_agree: bool = True
    #: The closing block's state root (as every validator holds it when they agree).
    state_root: str = ""
    #: Contributors in the task whose update did not land in the round's window.
    late_submissions: list[str] = field(default_factory=list)
    #: The round's window ``[window_start, block]`` and the block of its last update (``None``
    #: without updates): how much of the window the slowest contributor needed.
    window_start: int = 0
    last_update_block: int | None = None
    #: Each validator's view when they disagree (empty otherwise).
    disagreement: list[dict[str, str]] = field(default_factory=list)


@dataclass
class DemoRunReport(DemoReport):
    """:class:`DemoReport` plus the network: validators, their final finalized heights and the
    updates that missed their window (``docs/report-format.md``)."""

    validators: int = 1
    finalized_heights: dict[str, int] = field(default_factory=dict)

    @property
    def late_submissions(self) -> list[dict[str, Any]]:
        return [
            {"round": r.round, "contributor": label}
            for r in self.rounds
            if isinstance(r, DemoRoundResult)
            for label in r.late_submissions
        ]

    @property
    def validators_agree(self) -> bool:
        return all(not isinstance(r, DemoRoundResult) or r.validators_agree for r in self.rounds)

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        data["validators"] = self.validators
        data["finalized_heights"] = self.finalized_heights
        data["validators_agree"] = self.validators_agree
        data["late_submissions"] = self.late_submissions
        return data


class ValidatorsDisagree(DemoError):
    """Two validators hold different states after a round: the run stops (exit code 1)."""


# ------------------------------------------------------------------------------------ run


@dataclass
class _Live:
    """The monitor's view, rendered by ``rich``."""

    best: int = 0
    finalized: int = 0
    round: int = 0
    submissions: int = 0
    accuracy: float | None = None
    started: float = field(default_factory=time.monotonic)
    alive: int = 0


class Demo:
    """One demo run (:func:`run_demo` is the entry point)."""

    def __init__(self, cfg: DemoConfig, console: Console) -> None:
        self.cfg = cfg
        self.console = console
        self.out = Path(cfg.out)
        self.fp = cfg.fixed_point
        self.rule, self.f = parse_rule(cfg.rule, self.fp.scale_bits)
        self.split = load_split(DATASET_ALIASES[cfg.dataset], TEST_FRACTION, cfg.seed)
        self.spec = ModelSpec(cfg.model, self.split.train.shape, self.split.train.n_classes)
        self.contributors = _contributors(cfg, self.split)
        self.by_account = {c.account: c for c in self.contributors}
        assert cfg.slot_duration is not None
        #: One validator: the in-process dev node with the round gate; several: node processes.
        self.node: DemoNode | None = None
        self.network: DemoNetwork | None = None
        if cfg.validators == 1:
            self.node = DemoNode(cfg.slot_duration, self.out / "node.log")
        else:
            self.network = DemoNetwork(
                cfg.validators, cfg.contributors, cfg.slot_duration, self.out / "network"
            )
        self.procs: list[subprocess.Popen[bytes]] = []
        self.task_id: int | None = None
        self.live = _Live()
        #: The report being filled (written even when the validators disagree).
        self.report: DemoRunReport | None = None

    # -------------------------------------------------------------------- chain setup

    def task_params(self) -> TaskParams:
        cfg = self.cfg
        assert cfg.round_length is not None
        krum = isinstance(self.rule, (Krum, MultiKrum))
        return TaskParams(
            min_stake=MIN_STAKE,
            rule=self.rule,
            weighting=parse_weighting(cfg.weighting),
            rounds=cfg.rounds,
            round_length=cfg.round_length,
            scale_bits=self.fp.scale_bits,
            bound=self.fp.bound,
            min_participants=2 * self.f + 3 if krum else 1,
            commit_reveal=cfg.commit_reveal,
            outlier_threshold=int(round(cfg.outlier_threshold * PER_BILLION)),
            max_strikes=cfg.max_strikes,
            slash_fraction=int(round(cfg.slash_fraction * PER_BILLION)),
        )

    @property
    def gate(self) -> RoundGate | None:
        return self.node.gate if self.node is not None else None

    def url_of(self, contributor: int) -> str:
        """The node contributor ``contributor`` talks to: the dev node, or validator ``k mod N``."""
        if self.network is not None:
            return self.network.url(contributor)
        assert self.node is not None
        return self.node.url

    def setup_chain(self, client: PychainClient) -> tuple[NDArray[np.int32], int]:
        """Fund the contributors (the dev chain; the network's genesis endows them) and create
        the task as Alice; returns the initial model and the block of creation."""
        alice = Keypair.from_uri("//Alice")
        nonce = client.account_nonce(alice.account_id)
        # The transfers go to the pool with consecutive nonces; create_task (the next nonce) is
        # watched, so when it is in a block every transfer before it is too (checked below).
        for c in self.contributors if self.network is None else []:
            args = {"dest": AddressId(c.account), "value": c.stake + FEE_ALLOWANCE}
            xt = client.create_signed_extrinsic(
                alice, "Balances", "transfer_keep_alive", args, nonce=nonce
            )
            client.submit(xt)
            nonce += 1
        model = initial_parameters(self.spec, self.cfg.seed)
        initial = encode_model(model, self.fp)
        torch_model = self.spec.build(self.cfg.seed)
        shapes = layer_shapes(torch_model)
        descriptor = ModelDescriptor(
            architecture_id=self.cfg.model.encode(),
            layer_shapes=[list(s) for _, s in shapes],
            parameter_count=int(initial.shape[0]),
        )
        args = {
            "descriptor": descriptor,
            "initial_model": initial,
            "reward_pool": REWARD_POOL,
            "params": self.task_params(),
        }
        xt = client.create_signed_extrinsic(
            alice, "FederatedLearning", "create_task", args, nonce=nonce
        )
        receipt = client.submit_and_watch(xt, "inBlock", timeout=120)
        if not receipt.success:
            raise DemoError(f"create_task failed: {receipt.error}")
        created = [e for e in receipt.events if e.name == "TaskCreated"]
        if not created:
            raise DemoError("create_task emitted no TaskCreated event")
        self.task_id = int(created[0].fields["task"])
        assert receipt.block_hash is not None
        header = client.rpc.request("chain_getHeader", ["0x" + receipt.block_hash.hex()])
        for c in self.contributors:
            info = client.account_info(c.account)
            if info.data.free < c.stake:
                raise DemoError(f"{c.label} was not funded")
        return initial, int(header["number"], 16)

    # -------------------------------------------------------------------- participants

    def next_task_id(self, client: PychainClient) -> int:
        """``FederatedLearning.NextTaskId`` at the best block: the id ``create_task`` will give."""
        raw = client.get_storage(FL.NextTaskId.hashed_key())
        return 0 if raw is None else int(FL.NextTaskId.value_codec.decode(raw))

    def start_participants(self, wait_for_task: bool = False) -> None:
        """One ``python -m ml_engine.participant`` process per contributor; contributor ``k``
        talks to :meth:`url_of` ``(k)``. With ``wait_for_task`` they start before the task
        exists (``self.task_id`` is the id it will get) and wait for it."""
        cfg = self.cfg
        assert self.task_id is not None
        folder = self.out / "participants"
        folder.mkdir(parents=True, exist_ok=True)
        n_attackers = sum(c.attacker for c in self.contributors)
        root = Path(__file__).resolve().parents[1]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        for c in self.contributors:
            pc = ParticipantConfig(
                url=self.url_of(c.index),
                task_id=self.task_id,
                suri=c.suri,
                index=c.index,
                n_clients=cfg.contributors,
                dataset=cfg.dataset,
                partition=cfg.partition,
                seed=cfg.seed,
                stake=c.stake,
                epochs=cfg.epochs or DEFAULT_LOCAL_EPOCHS,
                batch_size=cfg.batch_size,
                lr=cfg.lr or DEFAULT_LR,
                momentum=cfg.momentum if cfg.momentum is not None else DEFAULT_MOMENTUM,
                attack=cfg.attack if c.attacker else None,
                n_attackers=n_attackers,
                clip_norm=cfg.clip_norm,
                log_path=str(folder / f"{c.label}.log"),
                summary_path=str(folder / f"{c.label}.summary.json"),
                wait_for_task=wait_for_task,
                ready_path=str(folder / f"{c.label}.ready"),
            )
            path = folder / f"{c.label}.json"
            path.write_text(json.dumps(pc.to_json(), indent=1))
            stderr = (folder / f"{c.label}.stderr").open("wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "ml_engine.participant", "--config", str(path)],
                cwd=str(root),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
            stderr.close()
            self.procs.append(proc)

    def wait_participants_ready(self, timeout_s: float = PARTICIPANT_READY_TIMEOUT_S) -> None:
        """Wait until every contributor process has loaded its shard and reached its node."""
        folder = self.out / "participants"
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_participants()
            waiting = [
                c.label for c in self.contributors if not (folder / f"{c.label}.ready").exists()
            ]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise DemoError(f"contributors not ready after {timeout_s:g} s: {waiting}")
            time.sleep(MONITOR_POLL_S)

    def stop_participants(self, grace_s: float) -> None:
        """Wait up to ``grace_s`` for the contributor processes, then terminate them."""
        deadline = time.monotonic() + grace_s
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _check_participants(self) -> None:
        """Fail fast when a contributor process died while the task still needs it (otherwise
        the gate would wait for it until ``round_timeout``)."""
        alive = 0
        folder = self.out / "participants"
        for c, proc in zip(self.contributors, self.procs, strict=True):
            rc = proc.poll()
            if rc is None:
                alive += 1
                continue
            status = _summary(folder / f"{c.label}.summary.json").get("status")
            if rc == 0 and status in ("removed", "completed", "cancelled"):
                continue
            tail = _tail(folder / f"{c.label}.stderr") or _tail(folder / f"{c.label}.log")
            raise DemoError(f"{c.label} exited with code {rc} (status {status}): {tail}")
        self.live.alive = alive

    # -------------------------------------------------------------------- monitor

    def evaluate(self, model_q: NDArray[np.int32]) -> tuple[float, float]:
        ev = evaluate(self.spec, decode_model(model_q, self.fp), self.split.test)
        return ev.accuracy, ev.loss

    def _label(self, account: bytes) -> str:
        c = self.by_account.get(bytes(account))
        return c.label if c is not None else "0x" + bytes(account).hex()

    def _check_chain(self) -> None:
        if self.network is not None:
            self.network.check_alive()
        elif self.node is not None and not self.node.alive():
            raise DemoError(f"the node stopped: {self.node.error}")

    def check_validators(
        self, client: PychainClient, number: int, version: int
    ) -> tuple[bool, str, list[dict[str, str]]]:
        """Read block ``number``'s hash and state root and the task's model (``GlobalModel``
        hashed, ``ModelVersions[version]``) from every validator once each has finalized it;
        returns whether they agree, the state root and, on disagreement, every view. Each
        validator imported the block itself — re-ran the round's aggregation in ``on_finalize``
        — so one state root for all means one aggregate for all."""
        assert self.task_id is not None
        rpc: RpcCall
        if self.network is None:
            names = ["dev"]

            def rpc(index: int, method: str, params: list[Any]) -> Any:
                return client.rpc.request(method, params)

        else:
            network = self.network
            names, rpc = network.names, network.rpc

            def finalized_everywhere() -> bool:
                network.check_alive()
                return all(
                    network.testnet.finalized_number(i) >= number for i in range(len(names))
                )

            try:
                Testnet.wait_for(
                    finalized_everywhere,
                    AGREEMENT_TIMEOUT_S,
                    interval=MONITOR_POLL_S,
                    what=f"block #{number} finalized by every validator",
                )
            except TestnetError as exc:
                raise DemoError(str(exc)) from None
        try:
            views = [
                read_validator_view(rpc, i, name, number, self.task_id, version)
                for i, name in enumerate(names)
            ]
        except TestnetError as exc:
            raise DemoError(f"reading the validators at #{number}: {exc}") from None
        agree = views_agree(views)
        detail = [] if agree else [dataclasses.asdict(v) for v in views]
        return agree, views[0].state_root, detail

    def _close_round(
        self,
        result: DemoRoundResult,
        client: PychainClient,
        submitters: set[bytes],
        removed: set[bytes],
    ) -> None:
        """Check a closed round: the late submissions and the validators' agreement."""
        assert self.cfg.round_length is not None
        result.window_start = result.block - self.cfg.round_length + 1
        result.late_submissions = [
            c.label
            for c in self.contributors
            if c.account not in removed and c.account not in submitters
        ]
        if result.late_submissions:
            self.console.print(
                f"[yellow]round {result.round}: no update from "
                f"{', '.join(result.late_submissions)} landed in the round's window "
                "(late or missing)[/]"
            )
        agree, root, detail = self.check_validators(client, result.block, result.version)
        result.validators_agree, result.state_root, result.disagreement = agree, root, detail
        if not agree:
            lines = "\n".join(
                f"  {v['name']}: block {v['block_hash']} state root {v['state_root']} "
                f"model {v['model_hash']}"
                for v in detail
            )
            self.console.print(
                f"[bold red]VALIDATORS DISAGREE after round {result.round} "
                f"(block #{result.block}):[/]\n{lines}"
            )
            raise ValidatorsDisagree(
                f"the validators disagree on the state after round {result.round} "
                f"(block #{result.block})"
            )

    def monitor(self, client: PychainClient, start_block: int, report: DemoReport) -> None:
        """Follow finalized blocks from ``start_block`` until the task completes."""
        assert self.task_id is not None
        task_id = self.task_id
        next_number = start_block
        submissions = 0
        submitters: dict[int, set[bytes]] = {}
        last_update: dict[int, int] = {}
        removed: set[bytes] = set()
        pending: RoundResult | None = None
        model_q: NDArray[np.int32] | None = None
        with self._live_display() as refresh:
            while True:
                self._check_participants()
                self._check_chain()
                finalized = client.rpc.request(
                    "chain_getHeader", [client.rpc.request("chain_getFinalizedHead")]
                )
                fin_number = int(finalized["number"], 16)
                self.live.finalized = fin_number
                self.live.best = client.best_number()
                completed = False
                while next_number <= fin_number:
                    block_hash = client.block_hash(next_number)
                    if block_hash is None:
                        break
                    for record in client.events(block_hash):
                        if record.event.pallet != "FederatedLearning":
                            continue
                        ev: Any = record.event.event
                        if getattr(ev, "task", None) != task_id:
                            continue
                        kind = type(ev).__name__
                        if kind in ("UpdateSubmitted", "UpdateRevealed"):
                            submissions += 1
                            submitters.setdefault(int(ev.round), set()).add(bytes(ev.who))
                            last_update[int(ev.round)] = next_number
                        elif kind == "RoundAggregated":
                            raw = client.get_storage(FL.GlobalModel.hashed_key(task_id), block_hash)
                            if raw is None:
                                raise DemoError("the global model vanished")
                            model_q = FL.GlobalModel.value_codec.decode(raw)
                            assert model_q is not None
                            if compute_model_hash(model_q) != ev.model_hash:
                                raise DemoError(f"round {ev.round}: model hash mismatch")
                            acc, loss = self.evaluate(model_q)
                            pending = DemoRoundResult(
                                round=int(ev.round),
                                block=next_number,
                                version=int(ev.version),
                                skipped=False,
                                accuracy=acc,
                                loss=loss,
                                model_hash="0x" + ev.model_hash.hex(),
                                submissions=submissions,
                                included=[self._label(a) for a in ev.included],
                                excluded=[self._label(a) for a in ev.excluded],
                            )
                            report.rounds.append(pending)
                            submissions = 0
                            self.live.accuracy = acc
                            pending.last_update_block = last_update.pop(int(ev.round), None)
                            self._close_round(
                                pending, client, submitters.pop(int(ev.round), set()), removed
                            )
                        elif kind == "RoundSkipped":
                            last = report.rounds[-1] if report.rounds else None
                            pending = DemoRoundResult(
                                round=int(ev.round),
                                block=next_number,
                                version=last.version if last else 0,
                                skipped=True,
                                accuracy=last.accuracy if last else report.initial_accuracy,
                                loss=last.loss if last else report.initial_loss,
                                model_hash=last.model_hash if last else report.initial_model_hash,
                                submissions=submissions,
                            )
                            report.rounds.append(pending)
                            submissions = 0
                            pending.last_update_block = last_update.pop(int(ev.round), None)
                            self._close_round(
                                pending, client, submitters.pop(int(ev.round), set()), removed
                            )
                        elif kind == "RewardPaid" and pending is not None:
                            label = self._label(ev.who)
                            pending.rewards[label] = pending.rewards.get(label, 0) + int(ev.amount)
                        elif kind == "ContributorStruck" and pending is not None:
                            pending.struck.append(self._label(ev.who))
                        elif kind == "ContributorSlashed" and pending is not None:
                            pending.slashed[self._label(ev.who)] = int(ev.amount)
                        elif kind == "ContributorRemoved":
                            removed.add(bytes(ev.who))
                        elif kind in ("TaskCompleted", "TaskCancelled"):
                            completed = True
                    next_number += 1
                self.live.round = len(report.rounds)
                self.live.submissions = submissions
                refresh()
                if completed:
                    return
                time.sleep(MONITOR_POLL_S)

    @contextlib.contextmanager
    def _live_display(self) -> Iterator[Any]:
        use_live = self.cfg.live if self.cfg.live is not None else self.console.is_terminal
        if not use_live:
            last = [-1]

            def line() -> None:
                if self.live.round != last[0]:
                    last[0] = self.live.round
                    acc = self.live.accuracy
                    self.console.print(
                        f"round {self.live.round}/{self.cfg.rounds}  block #{self.live.best} "
                        f"(finalized #{self.live.finalized})  accuracy "
                        f"{'-' if acc is None else f'{acc:.4f}'}"
                    )

            yield line
            return
        with Live(self._status(), console=self.console, refresh_per_second=4) as live:
            yield lambda: live.update(self._status())

    def _status(self) -> Group:
        s, cfg = self.live, self.cfg
        gate = self.gate.status if self.gate is not None else GateStatus()
        table = Table.grid(padding=(0, 2))
        table.add_row("blocks", f"best #{s.best}", f"finalized #{s.finalized}")
        table.add_row(
            "round",
            f"{min(s.round + 1, cfg.rounds)}/{cfg.rounds}",
            f"submissions {s.submissions}/{s.alive}",
        )
        table.add_row(
            "accuracy",
            "-" if s.accuracy is None else f"{s.accuracy:.4f}",
            f"elapsed {time.monotonic() - s.started:.0f} s",
        )
        if gate.holding is not None:
            table.add_row("gate", f"holding #{gate.holding}", f"waiting for {gate.waiting_for}")
        if self.network is not None:
            table.add_row(
                "validators",
                f"{cfg.validators} ({', '.join(self.network.names)})",
                f"{cfg.round_length}-block rounds",
            )
        title = Text(
            f"pychain demo — {cfg.dataset}/{cfg.model}, {cfg.contributors} contributors, "
            f"rule {cfg.rule}",
            style="bold",
        )
        return Group(title, table)

    # -------------------------------------------------------------------- all

    def run(self) -> DemoRunReport:
        cfg = self.cfg
        started = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.out / "participants", ignore_errors=True)
        init_acc, init_loss = self.evaluate(
            encode_model(initial_parameters(self.spec, cfg.seed), self.fp)
        )
        self.console.print(
            f"[bold]pychain demo[/]: {cfg.contributors} contributors, {cfg.rounds} rounds, "
            f"{cfg.dataset}/{cfg.model}, {cfg.partition}, rule {cfg.rule}, "
            f"weighting {cfg.weighting}"
            + (
                f", attack {cfg.attack} ({sum(c.attacker for c in self.contributors)} attackers)"
                if cfg.attack
                else ""
            )
            + (
                f"; {cfg.validators} validators, {cfg.slot_duration} ms slots, "
                f"{cfg.round_length}-block rounds"
                if self.network is not None
                else ""
            )
        )
        report = DemoRunReport(
            config=cfg.to_json(),
            chain={},
            contributors=[],
            initial_accuracy=init_acc,
            initial_loss=init_loss,
            initial_model_hash="",
            validators=cfg.validators,
        )
        self.report = report
        chain_started = time.monotonic()
        try:
            if self.network is not None:
                self.network.start()
                url = self.network.url(0)
            else:
                assert self.node is not None
                self.node.start([c.account for c in self.contributors], cfg.round_timeout)
                url = self.node.url
            chain_started = time.monotonic()
            with PychainClient(url, timeout=120) as client:
                if self.network is not None:
                    # No gate can hold other validators' blocks: the contributors start first
                    # and wait for the task, so that round 0's window is spent joining and
                    # training, not importing torch.
                    expected = self.task_id = self.next_task_id(client)
                    self.start_participants(wait_for_task=True)
                    self.wait_participants_ready()
                    initial, created_at = self.setup_chain(client)
                    if self.task_id != expected:
                        raise DemoError(f"the task got id {self.task_id}, expected {expected}")
                else:
                    initial, created_at = self.setup_chain(client)
                    assert self.node is not None and self.node.gate is not None
                    self.node.gate.task_id = self.task_id
                    self.start_participants()
                report.chain = self._chain_info(created_at)
                report.initial_model_hash = "0x" + compute_model_hash(initial).hex()
                try:
                    self.monitor(client, created_at + 1, report)
                finally:
                    report.chain_time_s = time.monotonic() - chain_started
                    report.finalized_heights = self._finalized_heights(client)
            self.stop_participants(grace_s=30.0)  # they exit on their own after TaskCompleted
        finally:
            self.stop_participants(grace_s=0.0)
            if self.network is not None:
                self.network.stop()
            elif self.node is not None:
                self.node.stop()
            report.gate_timeouts = list(self.gate.status.timeouts) if self.gate else []
            report.contributors, report.training_time_s = self._contributor_results(report)
            report.wall_time_s = time.monotonic() - started
        if cfg.baseline:
            report.baseline = self.baseline()
        report.wall_time_s = time.monotonic() - started
        return report

    def _finalized_heights(self, client: PychainClient) -> dict[str, int]:
        """Each validator's finalized height at the end of the run (``-1``: no answer)."""
        if self.network is not None:
            return self.network.finalized_heights()
        try:
            head = client.rpc.request("chain_getFinalizedHead")
            return {"dev": int(client.rpc.request("chain_getHeader", [head])["number"], 16)}
        except (RpcClientError, KeyError, TypeError, ValueError):
            return {"dev": -1}

    def _chain_info(self, created_at: int) -> dict[str, Any]:
        p = self.task_params()
        if self.network is not None:
            ports = [node.rpc_port for node in self.network.testnet.nodes]
            node = (
                f"{self.cfg.validators} validator processes (pychain.testnet: Aura, GRANDPA, "
                f"libp2p), JSON-RPC on 127.0.0.1 ports {', '.join(map(str, ports))}; "
                f"contributor k talks to validator k mod {self.cfg.validators}"
            )
        else:
            node = "in-process dev node (1 validator), JSON-RPC on 127.0.0.1"
        return {
            "node": node,
            "task_id": self.task_id,
            "created_at": created_at,
            "slot_duration_ms": self.cfg.slot_duration,
            "round_length": p.round_length,
            "scale_bits": p.scale_bits,
            "bound": p.bound,
            "rule": type(p.rule).__name__,
            "rule_params": dataclasses.asdict(p.rule),
            "weighting": p.weighting.name,
            "min_participants": p.min_participants,
            "outlier_threshold_per_billion": p.outlier_threshold,
            "max_strikes": p.max_strikes,
            "slash_fraction_per_billion": p.slash_fraction,
            "reward_pool": REWARD_POOL,
            "attacker_stake_fraction": self._attacker_fraction(),
        }

    def _attacker_fraction(self) -> float:
        total = sum(c.stake for c in self.contributors)
        return sum(c.stake for c in self.contributors if c.attacker) / total

    def _contributor_results(self, report: DemoReport) -> tuple[list[dict[str, Any]], float]:
        out = []
        training = 0.0
        for c in self.contributors:
            path = self.out / "participants" / f"{c.label}.summary.json"
            summary = _summary(path)
            train_s = sum(float(r.get("train_s", 0.0)) for r in summary.get("rounds", []))
            training += train_s
            out.append(
                {
                    "label": c.label,
                    "account": "0x" + c.account.hex(),
                    "samples": c.samples,
                    "stake": c.stake,
                    "attacker": c.attacker,
                    "status": summary.get("status", "unknown"),
                    "rewards": sum(r.rewards.get(c.label, 0) for r in report.rounds),
                    "slashed": sum(r.slashed.get(c.label, 0) for r in report.rounds),
                    "strikes": sum(r.struck.count(c.label) for r in report.rounds),
                    "training_time_s": round(train_s, 3),
                }
            )
        return out, training

    def baseline(self) -> BaselineResult:
        cfg = self.cfg
        parts = parse_partition(cfg.partition).apply(self.split.train.y, cfg.contributors, cfg.seed)
        attackers: dict[int, AttackSpec] = {}
        if cfg.attack is not None:
            spec = parse_attack(cfg.attack)
            attackers = {c.index: spec for c in self.contributors if c.attacker}
        started = time.monotonic()
        with torch_threads(1):
            result = run_fedavg(
                self.split,
                parts,
                cfg.model,
                cfg.rounds,
                cfg.epochs or DEFAULT_LOCAL_EPOCHS,
                batch_size=cfg.batch_size,
                lr=cfg.lr or DEFAULT_LR,
                momentum=cfg.momentum if cfg.momentum is not None else DEFAULT_MOMENTUM,
                weighting="samples",
                seed=cfg.seed,
                attackers=attackers,
            )
        return BaselineResult(
            final_accuracy=result.final_accuracy,
            accuracy=list(result.accuracy),
            loss=list(result.loss),
            initial_accuracy=result.initial.accuracy,
            weighting="samples",
            wall_time_s=round(time.monotonic() - started, 3),
        )


def _summary(path: Path) -> dict[str, Any]:
    """A contributor's exit summary (empty when it wrote none)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C while the demo runs, so that every node and contributor
    process it started is stopped on the way out (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(
    cfg: DemoConfig, console: Console | None = None
) -> tuple[DemoRunReport, dict[str, Path]]:
    """Run the demo (see the module docstring); returns the report and the files written. When
    the validators disagree the report is written and :class:`ValidatorsDisagree` raised."""
    if console is None:
        console = Console() if sys.stdout.isatty() else Console(width=120)
    cfg = cfg.resolved()
    demo: Demo | None = None
    try:
        with _sigterm_as_interrupt():
            demo = Demo(cfg, console)
            report = demo.run()
    except ValidatorsDisagree:
        if demo is not None and demo.report is not None:
            paths = write_report(demo.report, Path(cfg.out))
            console.print(f"[bold red]report (incomplete): {paths['report']}[/]")
        raise
    except RpcClientError as exc:
        raise DemoError(f"RPC failure: {exc}") from None
    paths = write_report(report, Path(cfg.out))
    console.print(render_table(report))
    base = (
        f"  (float FedAvg baseline {report.baseline.final_accuracy:.4f})"
        if report.baseline is not None
        else ""
    )
    console.print(
        f"final accuracy {report.final_accuracy:.4f}{base}; final model "
        f"{report.final_model_hash}; {report.wall_time_s:.1f} s wall, "
        f"{report.chain_time_s:.1f} s on chain, {report.training_time_s:.1f} s training"
    )
    if cfg.validators > 1:
        late = report.late_submissions
        console.print(
            f"{cfg.validators} validators agreed on every round's state root and model: "
            f"{'yes' if report.validators_agree else 'NO'}; finalized heights "
            + ", ".join(f"{k} #{v}" for k, v in report.finalized_heights.items())
        )
        console.print(
            f"every round received the updates of all {cfg.contributors} contributors"
            if not late
            else f"[yellow]{len(late)} update(s) missed their round's window: "
            + ", ".join(f"round {x['round']} {x['contributor']}" for x in late)
            + "[/]"
        )
    console.print(f"report: {paths['report']}, {paths['csv']}, {paths['plot']}")
    return report, paths
