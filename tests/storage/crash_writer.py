"""Child process of test_crash.py: writes numbered batches to an LmdbStore until killed.

Usage: ``python crash_writer.py DB_DIR MAP_SIZE``. Batch ``n`` writes :data:`KEYS_PER_BATCH`
keys ``b"%08d/%02d" % (n, i)`` in column ``blobs`` plus ``meta[b"last_committed"] = n``, in ONE
write batch; after each commit returns it prints ``n`` on stdout (flushed). It resumes after the
marker it finds, so every round continues the same sequence.
"""

from __future__ import annotations

import sys

from pychain.storage import COL_BLOBS, COL_META, LmdbStore

KEYS_PER_BATCH = 50
MARKER = b"last_committed"


def batch_key(n: int, i: int) -> bytes:
    return b"%08d/%02d" % (n, i)


def batch_value(n: int, i: int) -> bytes:
    return (b"%d:%d;" % (n, i)) * 40


def main(argv: list[str]) -> int:
    path, map_size = argv[0], int(argv[1])
    store = LmdbStore(path, map_size=map_size, durable=True)
    marker = store.get(COL_META, MARKER)
    n = int(marker) + 1 if marker is not None else 0
    out = sys.stdout
    while True:
        with store.batch() as b:
            for i in range(KEYS_PER_BATCH):
                b.put(COL_BLOBS, batch_key(n, i), batch_value(n, i))
            b.put(COL_META, MARKER, b"%d" % n)
        out.write(f"{n}\n")
        out.flush()
        n += 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
