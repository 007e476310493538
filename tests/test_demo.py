"""``pychain demo`` end to end (a real dev node, real contributor processes over JSON-RPC) and
the demo's pure parts: option parsing, attacker choice, the report files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cli
from ml_engine.demo import DemoConfig, DemoError, choose_attackers, parse_rule, parse_weighting
from ml_engine.report import (
    REPORT_KEYS,
    ROUND_KEYS,
    DemoReport,
    ReportError,
    RoundResult,
    load_report,
    write_report,
)
from pychain.pallets.federated_learning import (
    ClippedMean,
    Krum,
    Mean,
    Median,
    MultiKrum,
    TrimmedMean,
    Weighting,
)

ROOT = Path(__file__).resolve().parent.parent
QUICK_TIMEOUT_S = 240


def run_quick_demo(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "cli.py", "demo", "--quick", "--no-live", "--out", str(out), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=QUICK_TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo-quick")
    proc = run_quick_demo(out, "--baseline")
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    return out, load_report(out / "report.json")


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_demo_quick_writes_report_csv_and_plot(quick_run: tuple[Path, dict[str, Any]]) -> None:
    out, report = quick_run
    assert set(REPORT_KEYS) <= set(report) and "baseline" in report
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader((out / "rounds.csv").open()))
    assert [int(r["round"]) for r in rows] == [0, 1, 2]
    assert [r["round"] for r in report["rounds"]] == [0, 1, 2]
    for entry in report["rounds"]:
        assert set(ROUND_KEYS) <= set(entry)
        assert not entry["skipped"] and entry["model_hash"].startswith("0x")
        assert sorted(entry["included"]) == ["contributor1", "contributor2", "contributor3"]
        assert entry["submissions"] == 3 and sum(entry["rewards"].values()) > 0
    assert report["final_model_hash"] == report["rounds"][-1]["model_hash"]
    assert report["final_model_hash"] != report["initial_model_hash"]
    assert len(report["contributors"]) == 3
    assert all(c["status"] == "completed" for c in report["contributors"])
    assert report["training_time_s"] > 0 and report["chain_time_s"] <= report["wall_time_s"]
    assert report["gate_timeouts"] == []


@pytest.mark.slow
def test_demo_quick_accuracy_improves_and_tracks_the_float_baseline(
    quick_run: tuple[Path, dict[str, Any]],
) -> None:
    _, report = quick_run
    assert report["final_accuracy"] > report["initial_accuracy"] + 0.3
    baseline = report["baseline"]
    assert len(baseline["accuracy"]) == 3
    assert abs(report["final_accuracy"] - baseline["final_accuracy"]) < 0.02


@pytest.mark.slow
def test_demo_same_seed_twice_gives_the_same_final_model_hash(
    quick_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    _, first = quick_run
    proc = run_quick_demo(tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    second = load_report(tmp_path / "report.json")
    assert [r["model_hash"] for r in second["rounds"]] == [r["model_hash"] for r in first["rounds"]]
    assert second["final_model_hash"] == first["final_model_hash"]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--validators", "2"], "--validators"),
        (["--rule", "average"], "bad rule"),
        (["--rule", "trimmed_mean:0.7"], "β"),
        (["--dataset", "cifar"], "--dataset"),
        (["--model", "resnet"], "--model"),
        (["--partition", "dirichlet:-1"], "Dirichlet"),
        (["--attackers", "0.3"], "--attack"),
        (["--attack", "teleport"], "unknown attack"),
        (["--commit-reveal", "--round-length", "3"], "--round-length"),
        (["--weighting", "age"], "weighting"),
        (["--contributors", "0"], "--contributors"),
    ],
)
def test_demo_bad_options_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_demo_krum_needs_enough_contributors() -> None:
    with pytest.raises(DemoError, match="at least 7"):
        DemoConfig(contributors=5, rule="krum:2").resolved()


# ----------------------------------------------------------------------------- pure parts


def test_parse_rule_values() -> None:
    assert parse_rule("mean", 16) == (Mean(), 0)
    assert parse_rule("median", 16) == (Median(), 0)
    assert parse_rule("trimmed_mean:0.2", 16) == (TrimmedMean(200_000_000), 0)
    assert parse_rule("krum:2", 12) == (Krum(2), 2)
    assert parse_rule("multi_krum:1,4", 12) == (MultiKrum(1, 4), 1)
    assert parse_rule("clipped_mean:0.5", 16) == (ClippedMean(32768), 0)
    for bad in ("krum", "krum:x", "multi_krum:1", "clipped_mean:0", "median:1"):
        with pytest.raises(DemoError):
            parse_rule(bad, 16)
    assert parse_weighting("stake_samples") == Weighting.StakeTimesSamples


def test_choose_attackers_takes_the_largest_stakes_until_the_fraction() -> None:
    stakes = [10, 40, 20, 40, 10]
    assert choose_attackers(stakes, 0.0) == []
    assert choose_attackers(stakes, 0.3) == [1]  # 40 / 120 ≥ 0.3
    assert choose_attackers(stakes, 0.4) == [1, 3]  # ties: lower index first
    assert choose_attackers(stakes, 0.75) == [1, 2, 3]
    assert choose_attackers([5, 5, 5, 5], 0.5) == [0, 1]


def test_quick_config_resolves_small_and_valid() -> None:
    cfg = DemoConfig.from_options(quick=True, attack="sign_flip").resolved()
    assert DemoConfig.from_options(quick=True, contributors=7).resolved().contributors == 7
    assert (cfg.contributors, cfg.rounds) == (3, 3)
    assert cfg.attackers == 0.3 and cfg.round_length == 3 and cfg.momentum == 0.9
    mlp = DemoConfig(model="mlp", commit_reveal=True).resolved()
    assert mlp.momentum == 0.0 and mlp.round_length == 4
    assert DemoConfig(rule="krum:1").resolved().fixed_point.bound == 2**15


def test_report_round_trip_and_missing_keys(tmp_path: Path) -> None:
    report = DemoReport(
        config={"rule": "mean", "dataset": "digits", "model": "logreg"},
        chain={},
        contributors=[],
        initial_accuracy=0.1,
        initial_loss=2.3,
        initial_model_hash="0x00",
        rounds=[RoundResult(0, 4, 1, False, 0.8, 0.5, "0x11", 2, ["contributor1"])],
    )
    paths = write_report(report, tmp_path)
    data = load_report(paths["report"])
    assert data["final_accuracy"] == 0.8 and data["final_model_hash"] == "0x11"
    assert "baseline" not in data
    broken = json.loads(paths["report"].read_text())
    del broken["rounds"]
    paths["report"].write_text(json.dumps(broken))
    with pytest.raises(ReportError, match="rounds"):
        load_report(paths["report"])
