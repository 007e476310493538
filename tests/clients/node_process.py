"""Start `python cli.py node --dev` as a subprocess on free ports and find its RPC port."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RPC_LINE = re.compile(r"Running JSON-RPC server: addr=([\d.]+):(\d+)")
PROMETHEUS_LINE = re.compile(r"Prometheus exporter started at ([\d.]+):(\d+)/metrics")


@dataclass
class NodeProcess:
    process: subprocess.Popen[str]
    rpc_port: int
    prometheus_port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.rpc_port}"


@contextmanager
def dev_node(*extra: str, slot_ms: int = 300, timeout: float = 60) -> Iterator[NodeProcess]:
    """A dev node (temporary base path) authoring every ``slot_ms``; stopped with SIGTERM."""
    process = subprocess.Popen(
        [
            sys.executable, str(ROOT / "cli.py"), "node", "--dev",
            "--slot-duration", str(slot_ms), "--rpc-port", "0", "--prometheus-port", "0", *extra,
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )
    assert process.stderr is not None
    lines: list[str] = []
    rpc = prom = None
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        for line in process.stderr:
            lines.append(line)
            if (m := RPC_LINE.search(line)) is not None:
                rpc = int(m.group(2))
            if (m := PROMETHEUS_LINE.search(line)) is not None:
                prom = int(m.group(2))
            if rpc is not None and prom is not None:
                break
    finally:
        timer.cancel()
    if rpc is None or prom is None:
        process.kill()
        raise AssertionError("node did not start its RPC server:\n" + "".join(lines))
    # keep draining stderr so the node never blocks on a full pipe
    node = NodeProcess(process, rpc, prom, lines)
    drain = threading.Thread(target=lambda: node.lines.extend(process.stderr or []), daemon=True)
    drain.start()
    try:
        yield node
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
