"""A node killed with SIGKILL in the middle of importing reopens consistent and continues."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pychain.storage import DEFAULT_COLUMNS, LmdbStore
from pychain.trie import trie_root
from tests.chain.conftest import ALICE, open_chain, remark

ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_during_import_reopens_consistent_and_continues(tmp_path: Path) -> None:
    db = tmp_path / "db"
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.chain.crash_worker", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert worker.stdout is not None
    seen = 0
    deadline = time.monotonic() + 60
    while seen < 6 and time.monotonic() < deadline:
        line = worker.stdout.readline()
        assert line, worker.stderr.read().decode() if worker.stderr else "worker died"
        seen = int(line)
    time.sleep(0.013)  # land somewhere inside the next block's work
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    assert seen >= 6

    kv = LmdbStore(db, DEFAULT_COLUMNS, durable=True, map_size=1 << 24)
    chain = open_chain(kv)
    best_hash, best_number = chain.best()
    assert best_number >= seen
    header = chain.best_header()
    # The best state is complete: recomputed from the trie, its root is the header's.
    state = chain.state_at(best_hash)
    assert trie_root(dict(state.pairs()), 1) == header.state_root
    # The canonical index and the parent links agree all the way down to genesis.
    cursor = best_hash
    for number in range(best_number, -1, -1):
        assert chain.hash_at(number) == cursor
        block = chain.block(cursor)
        assert block is not None
        cursor = block.header.parent_hash
    assert chain.hash_at(best_number + 1) is None
    # And the node carries on.
    nonce = chain.account_nonce(ALICE.account_id)
    built = chain.build_block(best_hash, (), [remark(chain, ALICE, nonce, b"after")])
    assert built.included
    result = chain.import_block(built.block)
    assert result.is_new_best and chain.best()[1] == best_number + 1
    kv.close()
