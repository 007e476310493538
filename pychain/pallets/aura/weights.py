"""Weights of the Aura pallet's hooks (``pallet_aura`` charges database accesses only)."""

from __future__ import annotations

from pychain.frame.weights import Weight, db_weight


def on_initialize_weight(found_slot: bool) -> Weight:
    """Two reads and a write with a slot in the digest (``CurrentSlot``, ``Authorities``), one read
    without."""
    return db_weight(reads=2, writes=1) if found_slot else db_weight(reads=1)
