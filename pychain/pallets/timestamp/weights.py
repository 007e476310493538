"""Weights of the Timestamp pallet (``pallet_timestamp::weights``): ``set`` reads ``Now`` and
writes ``Now`` and ``DidUpdate``; ``on_finalize`` clears ``DidUpdate``. Reference-hardware figures
of FRAME's order of magnitude."""

from __future__ import annotations

from pychain.frame.weights import Weight, db_weight


def set_weight() -> Weight:
    """``set``: ~9 µs, one read (``Now``; Aura's ``CurrentSlot``) and one write."""
    return Weight(9_000_000, 1_500) + db_weight(reads=2, writes=1)


def on_finalize_weight() -> Weight:
    """``on_finalize``: ~4 µs, charged up front by ``on_initialize`` as in FRAME."""
    return Weight(4_000_000, 0)
