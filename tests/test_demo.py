"""``pychain demo`` end to end (a real dev node, or real validator processes, and real
contributor processes over JSON-RPC) and the demo's pure parts: option parsing, attacker choice,
round lengths, the validators' agreement, the report files."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import cli
from ml_engine.demo import (
    DemoConfig,
    DemoError,
    DemoRoundResult,
    DemoRunReport,
    ValidatorView,
    choose_attackers,
    default_round_length,
    parse_rule,
    parse_weighting,
    views_agree,
)
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
NETWORK_KEYS = ("validators", "finalized_heights", "validators_agree", "late_submissions")
NETWORK_ROUND_KEYS = (
    "validators_agree",
    "state_root",
    "late_submissions",
    "window_start",
    "last_update_block",
)


def run_quick_demo(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "cli.py", "demo", "--quick", "--no-live", "--out", str(out), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=QUICK_TIMEOUT_S,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not reaped by a parent that is gone or busy) counts as stopped.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _node_pids(out: Path) -> list[int]:
    nodes = json.loads((out / "network" / "nodes.json").read_text())
    return [int(n["pid"]) for n in nodes if n["pid"] is not None]


@pytest.fixture(scope="module")
def network_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("demo-network")
    proc = run_quick_demo(out, "--validators", "3")
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    return out, load_report(out / "report.json"), proc.stdout


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
        assert entry["late_submissions"] == [] and entry["validators_agree"] is True
    assert report["final_model_hash"] == report["rounds"][-1]["model_hash"]
    assert report["final_model_hash"] != report["initial_model_hash"]
    assert len(report["contributors"]) == 3
    assert all(c["status"] == "completed" for c in report["contributors"])
    assert report["training_time_s"] > 0 and report["chain_time_s"] <= report["wall_time_s"]
    assert report["gate_timeouts"] == []
    assert report["validators"] == 1 and report["late_submissions"] == []
    assert report["finalized_heights"]["dev"] >= report["rounds"][-1]["block"]


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


@pytest.mark.slow
def test_demo_three_validators_agree_every_round_and_exit_cleanly(
    network_run: tuple[Path, dict[str, Any], str],
) -> None:
    out, report, stdout = network_run
    assert set(REPORT_KEYS) <= set(report) and set(NETWORK_KEYS) <= set(report)
    assert report["validators"] == 3 and report["config"]["slot_duration"] == 1000
    assert report["config"]["round_length"] == default_round_length(3, 3, False)
    assert [r["round"] for r in report["rounds"]] == [0, 1, 2]
    labels = {"contributor1", "contributor2", "contributor3"}
    for entry in report["rounds"]:
        assert set(NETWORK_ROUND_KEYS) <= set(entry)
        assert entry["validators_agree"] is True and entry["disagreement"] == []
        assert entry["state_root"].startswith("0x") and len(entry["state_root"]) == 66
        # Everyone still in the task either landed an update in the window or is listed late.
        landed = set(entry["included"]) | set(entry["excluded"])
        assert landed | set(entry["late_submissions"]) == labels
        assert entry["window_start"] == entry["block"] - report["config"]["round_length"] + 1
        if entry["last_update_block"] is not None:
            assert entry["window_start"] <= entry["last_update_block"] <= entry["block"]
    assert report["validators_agree"] is True
    heights = report["finalized_heights"]
    assert sorted(heights) == ["alice", "bob", "charlie"]
    assert min(heights.values()) >= report["rounds"][-1]["block"]
    assert "3 validators agreed on every round's state root and model: yes" in stdout
    # Clean exit: no validator process is left behind.
    pids = _node_pids(out)
    assert len(pids) == 3 and not any(_alive(pid) for pid in pids)
    assert all(c["status"] == "completed" for c in report["contributors"])


@pytest.mark.slow
def test_demo_three_validators_accuracy_improves(
    network_run: tuple[Path, dict[str, Any], str],
) -> None:
    _, report, _ = network_run
    accuracies = [r["accuracy"] for r in report["rounds"]]
    assert accuracies[0] > report["initial_accuracy"] + 0.3
    assert report["final_accuracy"] > report["initial_accuracy"] + 0.5
    assert report["final_model_hash"] != report["initial_model_hash"]


@pytest.mark.slow
def test_demo_three_validators_match_the_single_node_when_no_update_is_late(
    network_run: tuple[Path, dict[str, Any], str], quick_run: tuple[Path, dict[str, Any]]
) -> None:
    _, network, _ = network_run
    _, single = quick_run
    late = network["late_submissions"]
    # A late update changes a round's aggregate; the report says so instead of differing
    # silently. Without one, the network aggregated exactly the gated node's updates.
    if late:
        assert network["final_model_hash"] != single["final_model_hash"] or all(
            r["skipped"] for r in network["rounds"]
        )
        return
    assert [r["model_hash"] for r in network["rounds"]] == [
        r["model_hash"] for r in single["rounds"]
    ]


@pytest.mark.slow
def test_demo_ctrl_c_stops_every_validator_and_contributor(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "cli.py", "demo", "--validators", "2", "--quick", "--no-live",
         "--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = tmp_path / "participants" / "contributor1.ready"
        deadline = time.monotonic() + 120
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready.exists(), "the contributors never got ready"
        participants = [
            int(p.read_text()) for p in (tmp_path / "participants").glob("*.ready")
        ]
        nodes = _node_pids(tmp_path)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1 and "interrupted" in err
    assert len(nodes) == 2 and participants
    assert not any(_alive(pid) for pid in nodes + participants)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--validators", "0"], "--validators"),
        (["--validators", "17"], "--validators"),
        (["--validators", "3", "--slot-duration", "20"], "--slot-duration"),
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


def test_network_config_defaults_to_1s_slots_and_longer_rounds() -> None:
    single = DemoConfig.from_options(quick=True).resolved()
    assert (single.slot_duration, single.round_length) == (200, 3)
    net = DemoConfig.from_options(quick=True, validators=4).resolved()
    assert net.slot_duration == 1000 and net.round_length == default_round_length(4, 3, False)
    own = DemoConfig(validators=4, slot_duration=500, round_length=5).resolved()
    assert (own.slot_duration, own.round_length) == (500, 5)


def test_default_round_length_covers_an_aura_turn_per_phase() -> None:
    assert default_round_length(1, 10, False) == 3
    assert default_round_length(1, 10, True) == 4
    assert default_round_length(3, 3, False) == 6
    assert default_round_length(4, 10, False) == 9
    assert default_round_length(4, 10, True) == 18
    # Every validator gets a slot in each phase: an update its peers refused lands in its own.
    for n in range(2, 17):
        for c in (1, 10, 64):
            assert default_round_length(n, c, False) > n
            assert default_round_length(n, c, True) // 2 > n


def _view(name: str, root: str = "0x01", model: str = "0xaa") -> ValidatorView:
    return ValidatorView(name, "0xb1", root, model, "0x0c")


def test_views_agree_only_when_block_root_and_model_match() -> None:
    assert views_agree([_view("alice"), _view("bob"), _view("charlie")])
    assert views_agree([_view("alice")])
    assert not views_agree([_view("alice"), _view("bob", root="0x02")])
    assert not views_agree([_view("alice"), _view("bob", model="0xab")])
    assert not views_agree([_view("alice"), ValidatorView("bob", "0xb2", "0x01", "0xaa", "0x0c")])
    assert not views_agree([_view("alice"), ValidatorView("bob", "0xb1", "0x01", "0xaa", "")])


def test_network_report_lists_late_submissions_and_agreement(tmp_path: Path) -> None:
    first = DemoRoundResult(0, 9, 1, False, 0.8, 0.5, "0x11", 2, ["contributor1", "contributor2"])
    second = DemoRoundResult(
        1, 18, 2, False, 0.9, 0.4, "0x22", 1, ["contributor1"], late_submissions=["contributor2"]
    )
    report = DemoRunReport(
        config={"rule": "mean", "dataset": "digits", "model": "logreg"},
        chain={},
        contributors=[],
        initial_accuracy=0.1,
        initial_loss=2.3,
        initial_model_hash="0x00",
        rounds=[first, second],
        validators=3,
        finalized_heights={"alice": 20, "bob": 20, "charlie": 19},
    )
    data = load_report(write_report(report, tmp_path)["report"])
    assert data["validators"] == 3 and data["finalized_heights"]["charlie"] == 19
    assert data["late_submissions"] == [{"round": 1, "contributor": "contributor2"}]
    assert data["validators_agree"] is True
    assert data["rounds"][1]["late_submissions"] == ["contributor2"]
    first.validators_agree = False
    assert report.to_json()["validators_agree"] is False


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
