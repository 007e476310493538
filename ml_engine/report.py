"""The demo's report: ``report.json``, ``rounds.csv``, ``accuracy.png`` and the final table.

Counterpart: the result files of an experiment runner (Flower's ``History`` of per-round
``losses_centralized`` / ``metrics_centralized``, written out), here with what the chain decided
each round — the model hash, who was included and excluded, rewards and slashes. The format is
documented in ``docs/report-format.md``; :data:`REPORT_FORMAT_VERSION` is bumped whenever a key
changes meaning.

Everything here is plain data in, files out: :class:`RoundResult` and :class:`DemoReport` are
dataclasses that serialise to JSON with ``to_json``; :func:`write_report` writes the three files;
:func:`render_table` builds the ``rich`` table printed at the end. matplotlib runs with the ``Agg``
backend (no display needed).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from ml_engine.errors import MlEngineError

__all__ = [
    "REPORT_FORMAT_VERSION",
    "REPORT_KEYS",
    "ROUND_KEYS",
    "BaselineResult",
    "DemoReport",
    "ReportError",
    "RoundResult",
    "load_report",
    "render_table",
    "write_report",
]

#: Version of the ``report.json`` layout (``format_version`` in the file).
REPORT_FORMAT_VERSION = 1
#: Keys every ``report.json`` has (``baseline`` only with ``--baseline``).
REPORT_KEYS = (
    "format_version",
    "config",
    "chain",
    "contributors",
    "initial_accuracy",
    "initial_loss",
    "initial_model_hash",
    "rounds",
    "final_accuracy",
    "final_loss",
    "final_model_hash",
    "wall_time_s",
    "training_time_s",
    "chain_time_s",
    "gate_timeouts",
)
#: Keys of every entry of ``rounds``.
ROUND_KEYS = (
    "round",
    "block",
    "version",
    "skipped",
    "accuracy",
    "loss",
    "model_hash",
    "submissions",
    "included",
    "excluded",
    "struck",
    "rewards",
    "slashed",
)
CSV_COLUMNS = (
    "round",
    "block",
    "skipped",
    "accuracy",
    "loss",
    "baseline_accuracy",
    "model_hash",
    "submissions",
    "included",
    "excluded",
    "rewards_total",
    "slashed_total",
)


#: Plancks per UNIT (12 decimals, the dev chain's ``tokenDecimals``), for the printed table.
UNIT = 10**12


class ReportError(MlEngineError):
    """A report that cannot be written or read back."""


@dataclass
class RoundResult:
    """One closed round as the chain recorded it, with the demo's evaluation of its model."""

    round: int
    block: int
    version: int
    skipped: bool
    accuracy: float
    loss: float
    model_hash: str
    submissions: int = 0
    included: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    struck: list[str] = field(default_factory=list)
    rewards: dict[str, int] = field(default_factory=dict)
    slashed: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class BaselineResult:
    """The in-process float FedAvg run on the same data, partition and seed."""

    final_accuracy: float
    accuracy: list[float]
    loss: list[float]
    initial_accuracy: float
    weighting: str
    wall_time_s: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class DemoReport:
    """Everything ``report.json`` holds (see ``docs/report-format.md``)."""

    config: dict[str, Any]
    chain: dict[str, Any]
    contributors: list[dict[str, Any]]
    initial_accuracy: float
    initial_loss: float
    initial_model_hash: str
    rounds: list[RoundResult] = field(default_factory=list)
    wall_time_s: float = 0.0
    training_time_s: float = 0.0
    chain_time_s: float = 0.0
    gate_timeouts: list[int] = field(default_factory=list)
    baseline: BaselineResult | None = None

    @property
    def final_accuracy(self) -> float:
        return self.rounds[-1].accuracy if self.rounds else self.initial_accuracy

    @property
    def final_loss(self) -> float:
        return self.rounds[-1].loss if self.rounds else self.initial_loss

    @property
    def final_model_hash(self) -> str:
        return self.rounds[-1].model_hash if self.rounds else self.initial_model_hash

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format_version": REPORT_FORMAT_VERSION,
            "config": self.config,
            "chain": self.chain,
            "contributors": self.contributors,
            "initial_accuracy": self.initial_accuracy,
            "initial_loss": self.initial_loss,
            "initial_model_hash": self.initial_model_hash,
            "rounds": [r.to_json() for r in self.rounds],
            "final_accuracy": self.final_accuracy,
            "final_loss": self.final_loss,
            "final_model_hash": self.final_model_hash,
            "wall_time_s": round(self.wall_time_s, 3),
            "training_time_s": round(self.training_time_s, 3),
            "chain_time_s": round(self.chain_time_s, 3),
            "gate_timeouts": self.gate_timeouts,
        }
        if self.baseline is not None:
            data["baseline"] = self.baseline.to_json()
        return data


def _baseline_at(report: DemoReport, round_: int) -> float | None:
    if report.baseline is None or round_ >= len(report.baseline.accuracy):
        return None
    return report.baseline.accuracy[round_]


def write_csv(report: DemoReport, path: Path) -> None:
    """``rounds.csv``: one row per closed round (columns :data:`CSV_COLUMNS`)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for r in report.rounds:
            base = _baseline_at(report, r.round)
            writer.writerow(
                [
                    r.round,
                    r.block,
                    int(r.skipped),
                    f"{r.accuracy:.6f}",
                    f"{r.loss:.6f}",
                    "" if base is None else f"{base:.6f}",
                    r.model_hash,
                    r.submissions,
                    len(r.included),
                    len(r.excluded),
                    sum(r.rewards.values()),
                    sum(r.slashed.values()),
                ]
            )


def write_plot(report: DemoReport, path: Path) -> None:
    """``accuracy.png``: test accuracy after each round (round 0 = the initial model), the chain's
    curve and, with a baseline, the float FedAvg curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    try:
        xs = [0] + [r.round + 1 for r in report.rounds]
        ys = [report.initial_accuracy] + [r.accuracy for r in report.rounds]
        rule = report.config.get("rule", "")
        ax.plot(xs, ys, marker="o", markersize=3, label=f"on chain ({rule}, fixed point)")
        if report.baseline is not None:
            bx = list(range(len(report.baseline.accuracy) + 1))
            by = [report.baseline.initial_accuracy] + report.baseline.accuracy
            ax.plot(bx, by, linestyle="--", label="float FedAvg baseline (weighted mean)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("round")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0.0, 1.0)
        ax.grid(alpha=0.3)
        cfg = report.config
        ax.set_title(
            f"{cfg.get('dataset')} / {cfg.get('model')} / {cfg.get('contributors')} contributors"
            f" / {cfg.get('partition')}"
            + (f" / attack {cfg['attack']}" if cfg.get("attack") else ""),
            fontsize=9,
        )
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


def write_report(report: DemoReport, out_dir: Path) -> dict[str, Path]:
    """Write ``report.json``, ``rounds.csv`` and ``accuracy.png`` into ``out_dir``."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {
            "report": out_dir / "report.json",
            "csv": out_dir / "rounds.csv",
            "plot": out_dir / "accuracy.png",
        }
        paths["report"].write_text(json.dumps(report.to_json(), indent=2) + "\n", "utf-8")
        write_csv(report, paths["csv"])
        write_plot(report, paths["plot"])
    except OSError as exc:
        raise ReportError(f"cannot write the report into {out_dir}: {exc}") from None
    return paths


def load_report(path: Path) -> dict[str, Any]:
    """Read a ``report.json`` back, checking its version and keys."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format_version") != REPORT_FORMAT_VERSION:
        raise ReportError(f"{path}: not a version {REPORT_FORMAT_VERSION} demo report")
    missing = [k for k in REPORT_KEYS if k not in data]
    if missing:
        raise ReportError(f"{path}: missing key(s) {', '.join(missing)}")
    return data


def render_table(report: DemoReport) -> Table:
    """The per-round table printed at the end of the demo."""
    table = Table(title="Federated learning on chain: rounds", show_lines=False)
    table.add_column("round", justify="right")
    table.add_column("block", justify="right")
    table.add_column("accuracy", justify="right")
    if report.baseline is not None:
        table.add_column("baseline", justify="right")
    table.add_column("loss", justify="right")
    table.add_column("incl.", justify="right")
    table.add_column("excl.", justify="right")
    table.add_column("rewards (UNIT)", justify="right")
    table.add_column("slashed")
    table.add_column("model hash")
    for r in report.rounds:
        row = [str(r.round), str(r.block), "skipped" if r.skipped else f"{r.accuracy:.4f}"]
        if report.baseline is not None:
            base = _baseline_at(report, r.round)
            row.append("" if base is None else f"{base:.4f}")
        row += [
            f"{r.loss:.4f}",
            str(len(r.included)),
            str(len(r.excluded)),
            f"{sum(r.rewards.values()) / UNIT:.2f}",
            ", ".join(sorted(r.slashed)) or "-",
            r.model_hash[:12] + "…",
        ]
        table.add_row(*row)
    return table
