"""Subprocess for the SIGKILL test: authors and imports blocks into LMDB until killed.

Run as ``python -m tests.chain.crash_worker DB_PATH``; prints each imported block number.
Odd blocks are imported as own blocks (post-state reused), even ones re-executed as from the
network, so both commit paths are interrupted at random points.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pychain.storage import DEFAULT_COLUMNS, LmdbStore
from tests.chain.conftest import ALICE, BOB, open_chain, remark


def main(path: str) -> None:
    kv = LmdbStore(Path(path), DEFAULT_COLUMNS, durable=True, map_size=1 << 24)
    chain = open_chain(kv)
    while True:
        best_hash, number = chain.best()
        xts = [
            remark(chain, ALICE, chain.account_nonce(ALICE.account_id), b"x" * (number % 50)),
            remark(chain, BOB, chain.account_nonce(BOB.account_id), b"y" * 40),
        ]
        built = chain.build_block(best_hash, (), xts)
        if (number + 1) % 2:
            chain.import_block(built.block, origin="own")
        else:
            chain.import_block(built.block.encode(), origin="network")
        print(number + 1, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
