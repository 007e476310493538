"""Weights of the System pallet's calls (``frame_system::weights``), linear models on reference
hardware: a base cost plus a per-byte or per-item term. Figures are of FRAME's order of magnitude."""

from __future__ import annotations

from pychain.frame.weights import Weight, db_weight


def remark_weight(length: int) -> Weight:
    """``remark`` / ``remark_with_event``: ~2 µs + 400 ps a byte."""
    return Weight(2_000_000 + 400 * length, 0)


def set_storage_weight(items: int) -> Weight:
    """``set_storage`` / ``kill_storage`` / ``kill_prefix``: one write per item."""
    return Weight(2_000_000, 0) + db_weight(writes=items)
