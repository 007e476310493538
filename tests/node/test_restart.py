"""Crash and restart: a node process killed with SIGKILL resumes from its last committed block.

The node runs as a subprocess (``cli.py node --base-path … --alice --slot-duration 200``); after
at least five ``Imported #N`` log lines it is killed. The database then opens with a best block
whose state root equals the root recomputed from its whole state, and a restarted node continues
from best + 1 and finalizes what it authors.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

from pychain.chain import Chain
from pychain.node import database_path, load_chain_setup
from pychain.runtime import PychainRuntime
from pychain.storage import DEFAULT_COLUMNS, LmdbStore
from pychain.trie import trie_root

ROOT = Path(__file__).resolve().parents[2]
SLOT_MS = 200
IMPORTED = re.compile(r"Imported #(\d+) \(0x[0-9a-f]{4}…[0-9a-f]{4}\)")


def _node_command(base: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "cli.py"),
        "node",
        "--base-path",
        str(base),
        "--alice",
        "--slot-duration",
        str(SLOT_MS),
        "--rpc-port",
        "0",
        "--prometheus-port",
        "0",
        *extra,
    ]


def _open_chain(base: Path) -> tuple[LmdbStore, Chain]:
    setup = load_chain_setup("dev", SLOT_MS)
    kv = LmdbStore(database_path(base, setup.chain_id), DEFAULT_COLUMNS, create=False)
    runtime = PychainRuntime(setup.runtime_config)
    return kv, Chain.open(kv, runtime.runtime, runtime.executive, setup.genesis_storage)


def _run_until_imported(base: Path, count: int, timeout: float = 60.0) -> list[int]:
    """Start the node, read its log until ``count`` imports, then SIGKILL it."""
    process = subprocess.Popen(
        _node_command(base),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    imported: list[int] = []
    log: list[str] = []
    try:
        while len(imported) < count:
            line = lines.get(timeout=timeout)
            assert line is not None, "node exited early:\n" + "".join(log)
            log.append(line)
            match = IMPORTED.search(line)
            if match:
                imported.append(int(match.group(1)))
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -9
    return imported


def test_node_killed_resumes_with_the_same_state_root(tmp_path: Path) -> None:
    base = tmp_path / "node"
    imported = _run_until_imported(base, 5)
    assert imported[:5] == [1, 2, 3, 4, 5]

    # The database holds a consistent best block: its header's state root is the root of the
    # state stored for it, recomputed from scratch.
    kv, chain = _open_chain(base)
    try:
        best_hash, best_number = chain.best()
        assert best_number >= 5
        header = chain.best_header()
        state = dict(chain.state_at(best_hash).pairs())
        assert trie_root(state, 1) == header.state_root
        finalized_number = chain.finalized()[1]
        assert best_number - 1 <= finalized_number <= best_number
    finally:
        kv.close()

    # A restarted node continues from best + 1 and finalizes.
    done = subprocess.run(
        _node_command(base, "--blocks", "2"),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"Resuming at best #{best_number}" in done.stderr
    resumed = [int(n) for n in IMPORTED.findall(done.stderr)]
    assert resumed == [best_number + 1, best_number + 2]
    kv, chain = _open_chain(base)
    try:
        assert chain.best()[1] == best_number + 2
        assert chain.finalized() == chain.best()
    finally:
        kv.close()
