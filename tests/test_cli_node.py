"""``pychain node`` and ``pychain purge-chain``: runs, clean stops on signals, bad input as one
line with exit code 2, and purging with and without confirmation."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent
IMPORTED = re.compile(r"INFO pychain\.aura: Imported #(\d+) \(0x[0-9a-f]{4}…[0-9a-f]{4}\)")
DATABASE = re.compile(r"Database: LMDB at (\S+)")


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    if args and args[0] == "node":  # any free ports: never clash with a node already running
        args = (*args, "--rpc-port", "0", "--prometheus-port", "0")
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_node_dev_authors_finalizes_and_removes_its_temp_dir() -> None:
    done = _cli("node", "--dev", "--slot-duration", "100", "--blocks", "3")
    assert done.returncode == 0, done.stderr
    assert [int(n) for n in IMPORTED.findall(done.stderr)] == [1, 2, 3]
    assert "Role: AUTHORITY" in done.stderr
    assert "Shutting down: best #3, finalized #3" in done.stderr
    match = DATABASE.search(done.stderr)
    assert match is not None
    assert not Path(match.group(1)).exists()
    # Substrate-style lines: date, time, level, target.
    first = done.stderr.splitlines()[0]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  INFO pychain\.node: ", first)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_node_stops_cleanly_on_signal(tmp_path: Path, signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "node", "--base-path", str(tmp_path), "--alice"]
        + ["--slot-duration", "100", "--rpc-port", "0", "--prometheus-port", "0"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if IMPORTED.search(line):
            break
    process.send_signal(signum)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 0, "".join(seen) + rest
    assert "stopping" in rest and "Shutting down" in rest
    # The database was closed cleanly: it opens again and resumes.
    again = _cli(
        "node", "--base-path", str(tmp_path), "--alice", "--slot-duration", "100", "--blocks", "1"
    )
    assert again.returncode == 0, again.stderr
    assert "Resuming at best #" in again.stderr


def test_node_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (["node", "--dev", "--log", "loud"], "unknown log level"),
        (["node", "--tmp", "--base-path", str(tmp_path)], "cannot be used together"),
        (["node", "--dev", "--blocks", "0"], "--blocks must be positive"),
        (["node", "--dev", "--slot-duration", "1"], "at least 2 ms"),
        (["node", "--chain", str(tmp_path / "missing.json"), "--tmp"], "neither a preset"),
        (["node", "--chain", "dev"], "--base-path DIR or --tmp"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2
        line = _one_line_error(capsys.readouterr().err)
        assert message in line, line
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["node", "--dev", "--blocks", "many"])
    assert exit_info.value.code == 2


def test_node_refuses_database_of_another_chain(tmp_path: Path) -> None:
    ok = _cli(
        "node", "--base-path", str(tmp_path), "--alice", "--slot-duration", "100", "--blocks", "1"
    )
    assert ok.returncode == 0, ok.stderr
    other = _cli(
        "node", "--base-path", str(tmp_path), "--alice", "--slot-duration", "120", "--blocks", "1"
    )
    assert other.returncode == 2
    assert "belongs to another chain" in _one_line_error(other.stderr)


def test_purge_chain_asks_unless_yes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "chains" / "dev" / "db"
    (db / "full").mkdir(parents=True)
    (db / "full" / "data.mdb").write_bytes(b"x")
    base = ["purge-chain", "--base-path", str(tmp_path), "--chain", "dev"]
    # No stdin and no -y: refused.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert cli.main(base) == 2
    assert "pass -y" in capsys.readouterr().err
    assert db.exists()
    # Answering no keeps the database.
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert cli.main(base) == 0
    assert "Aborted" in capsys.readouterr().err and db.exists()
    # Answering yes removes it.
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert cli.main(base) == 0
    assert not db.exists()
    assert (tmp_path / "chains" / "dev").exists()  # only the database goes
    # With -y there is no question; a missing database is not an error.
    assert cli.main([*base, "-y"]) == 0
    assert "did not exist" in capsys.readouterr().err
    assert cli.main(["purge-chain", "--base-path", str(tmp_path), "--chain", "nope", "-y"]) == 2


def test_node_duration_stops_after_the_given_time(tmp_path: Path) -> None:
    done = _cli(
        "node",
        "--base-path",
        str(tmp_path),
        "--alice",
        "--slot-duration",
        "100",
        "--duration",
        "0.8",
    )
    assert done.returncode == 0, done.stderr
    assert "Ran for 0.8 s, stopping" in done.stderr
    imported = [int(n) for n in IMPORTED.findall(done.stderr)]
    assert 3 <= len(imported) <= 9 and imported == list(range(1, len(imported) + 1))
