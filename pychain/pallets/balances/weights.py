"""Weights of the Balances pallet's calls (``pallet_balances::weights``).

Linear models on reference hardware: a measured-order base cost plus FRAME's database accesses
(``System.Account`` reads and writes, and ``Balances.Locks`` where touched). The ``proof_size`` is the
maximum encoded size of the touched ``System.Account`` entries (3593 bytes in FRAME's benchmarks).
Figures are of FRAME's order of magnitude (``SubstrateWeight``), not benchmarks of this code.
"""

from __future__ import annotations

from pychain.frame.weights import Weight, db_weight

#: Proof size of one ``System.Account`` entry as FRAME's benchmarks give it.
ACCOUNT_PROOF_SIZE = 3_593


def _weight(ref_time: int, accounts: int, reads: int, writes: int) -> Weight:
    return Weight(ref_time, ACCOUNT_PROOF_SIZE * accounts) + db_weight(reads, writes)


def transfer_allow_death() -> Weight:
    """Two accounts read and written."""
    return _weight(47_000_000, 1, 1, 1)


def force_transfer() -> Weight:
    return _weight(49_000_000, 2, 2, 2)


def transfer_keep_alive() -> Weight:
    return _weight(37_000_000, 1, 1, 1)


def transfer_all() -> Weight:
    return _weight(47_000_000, 1, 1, 1)


def force_unreserve() -> Weight:
    return _weight(15_000_000, 1, 1, 1)


def force_set_balance() -> Weight:
    """Account plus ``TotalIssuance``."""
    return _weight(16_000_000, 1, 2, 2)


def burn() -> Weight:
    return _weight(30_000_000, 1, 2, 2)
