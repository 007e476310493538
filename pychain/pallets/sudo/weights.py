"""Weights of the Sudo pallet's calls (``pallet_sudo::weights``): the overhead of each call; the
wrapped call's own weight is added by the call's weight function."""

from __future__ import annotations

from pychain.frame.weights import Weight, db_weight


def sudo() -> Weight:
    """``sudo`` / ``sudo_as`` overhead: read ``Key``."""
    return Weight(10_000_000, 1_500) + db_weight(reads=1)


def set_key() -> Weight:
    """``set_key`` / ``remove_key``: read and write ``Key``."""
    return Weight(12_000_000, 1_500) + db_weight(reads=1, writes=1)
