"""Run the benchmarks: ``python -m bench [--quick] [NAME ...]``.

NAME is the part after ``bench_`` in ``bench/bench_NAME.py`` (e.g. ``scale``, ``trie``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(p.stem[len("bench_") :] for p in here.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    # One BLAS thread: benchmarks compare single-core work and must be repeatable.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    names = available()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (CI smoke mode)")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(names)}")
    args = parser.parse_args(argv)
    chosen = args.names or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"error: unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    for name in chosen:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"=== {name} {'(quick)' if args.quick else ''}".rstrip(), flush=True)
        start = time.perf_counter()
        module.run(quick=args.quick)
        print(f"--- {name} done in {time.perf_counter() - start:.1f} s\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
