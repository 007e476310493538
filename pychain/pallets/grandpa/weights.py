"""Weights of the Grandpa pallet's calls (``pallet_grandpa::default_weights``), reference-hardware
figures of FRAME's order of magnitude."""

from __future__ import annotations

from pychain.frame.weights import Weight, db_weight


def report_equivocation_weight(validator_count: int) -> Weight:
    """Two ed25519 verifications (~50 µs each), the ownership check and the report bookkeeping."""
    per_validator = Weight(200_000, 0).scale(validator_count)
    return Weight(100_000_000, 3_000) + per_validator + db_weight(reads=3, writes=1)


def note_stalled_weight() -> Weight:
    """``note_stalled``: one write."""
    return Weight(3_000_000, 0) + db_weight(writes=1)


def schedule_change_weight(authorities: int) -> Weight:
    """``schedule_change``: two reads, two writes, and the new list."""
    return Weight(5_000_000 + 50_000 * authorities, 40 * authorities) + db_weight(2, 2)
