"""Benchmarks. Each ``bench/bench_<name>.py`` defines ``run(quick: bool) -> None`` that measures
pychain against a baseline in the same process and prints ratios. They are not tests: nothing
here asserts a wall-clock time. Run all with ``python -m bench`` (``--quick`` for a short pass)."""
