"""Weights of the FederatedLearning pallet's calls and of its round closing (``on_initialize``
charges the ``on_finalize`` work of the rounds that end in the block, as FRAME pallets do).

No FRAME counterpart; shaped like a ``frame_benchmarking`` output (``WeightInfo``): a base, a
per-element slope for the update size ``d`` (decoding, the bound check and hashing of
``4 d`` bytes), and ``db_weight`` reads/writes. Slopes come from timing this Python implementation
on the 2-core reference machine (rounded up; ``do_close_round`` at ``n = 10, d = 10^5`` took
12-20 ms for mean, median, trimmed mean and multi-Krum, 20-37 ms for the clipped mean, and a
100k-element ``submit_update`` 0.7-1.1 ms): 10 ns per update element for a call, 4 ns per element
and contributor for the weighted mean and for the agreement scores (three times that for the
clipped mean), 25 ns for the sort-based rules (median, trimmed mean), and 1 ns per term of Krum's
``n^2 d`` Gram matrix.
``proof_size`` counts the bytes of the storage read (``4 d`` per model or update).
"""

from __future__ import annotations

from pychain.frame.weights import Weight, db_weight
from pychain.pallets.federated_learning.types import ClippedMean, Krum, Mean, MultiKrum

#: Per-element cost of handling one update in a call (decode, bound check, store), ps.
PER_ELEMENT = 10_000
#: Per element-and-contributor cost of a linear rule (mean, clipped mean, scores), ps.
LINEAR_PER_ELEMENT = 4_000
#: Per element-and-contributor cost of a sort-based rule (median, trimmed mean), ps.
SORT_PER_ELEMENT = 25_000
#: Per ``n^2 d`` term of Krum's exact Gram matrix, ps.
KRUM_PER_TERM = 1_000
#: Largest ``MaxParticipants`` a runtime may configure (``integrity_test``); ``cancel_task``'s
#: static weight is its worst case at this bound.
MAX_PARTICIPANTS_LIMIT = 256
#: Encoded size of a ``Participants`` entry plus its key, bytes.
PARTICIPANT_PROOF = 120


def create_task(parameter_count: int, layers: int) -> Weight:
    """Read ``NextTaskId``; reserve the pool (``System.Account``); write ``Tasks``, ``GlobalModel``,
    ``ModelVersions``, ``RoundState``, ``RewardPool``, ``Agenda``, ``Reserves``; hash the model."""
    return Weight(60_000_000 + PER_ELEMENT * parameter_count + 500_000 * layers, 4_000) + (
        db_weight(reads=3, writes=10)
    )


def join_task() -> Weight:
    """Read ``Tasks``, ``Participants``; reserve; write ``Participants``, ``Tasks``, ``Reserves``."""
    return Weight(45_000_000, 3_600) + db_weight(reads=4, writes=4)


def submit_update(length: int) -> Weight:
    """Read ``Tasks``, ``RoundState``, ``Participants``, ``Submissions``; write ``Submissions``."""
    return Weight(40_000_000 + PER_ELEMENT * length, 3_000 + 4 * length) + db_weight(
        reads=4, writes=1
    )


def commit_update() -> Weight:
    """Read ``Tasks``, ``RoundState``, ``Participants``, ``Commitments``; write ``Commitments``."""
    return Weight(35_000_000, 3_000) + db_weight(reads=4, writes=1)


def reveal_update(length: int) -> Weight:
    """``submit_update`` plus reading and removing the commitment and hashing the update."""
    return Weight(45_000_000 + 2 * PER_ELEMENT * length, 3_200 + 4 * length) + db_weight(
        reads=5, writes=2
    )


def leave_task() -> Weight:
    """Read ``Tasks``, ``RoundState``, ``Participants``, the round's entries; unreserve; write."""
    return Weight(45_000_000, 3_600) + db_weight(reads=5, writes=4)


def cancel_task(max_participants: int) -> Weight:
    """Worst case: every participant's stake unreserved and removed (``MaxParticipants``)."""
    per = Weight(25_000_000, PARTICIPANT_PROOF) + db_weight(reads=2, writes=3)
    return Weight(50_000_000, 4_000) + db_weight(reads=4, writes=6) + per.scale(max_participants)


def close_round(rule: object, contributors: int, parameter_count: int) -> Weight:
    """Closing one task's round with ``contributors`` (at most ``MaxParticipants``) updates of
    ``parameter_count`` values: read them, aggregate, score, pay, strike, store the new model and
    version, and schedule the next round."""
    n, d = max(contributors, 1), parameter_count
    if isinstance(rule, Mean):
        kernel = LINEAR_PER_ELEMENT * n * d
    elif isinstance(rule, ClippedMean):  # exact norms plus a per-row clipping pass
        kernel = 3 * LINEAR_PER_ELEMENT * n * d
    elif isinstance(rule, (Krum, MultiKrum)):
        kernel = KRUM_PER_TERM * n * n * d + LINEAR_PER_ELEMENT * n * d
    else:
        kernel = SORT_PER_ELEMENT * n * d
    scores = LINEAR_PER_ELEMENT * n * d
    io = PER_ELEMENT * (n + 1) * d
    per_contributor = Weight(30_000_000, PARTICIPANT_PROOF + 4 * d) + db_weight(reads=3, writes=4)
    base = Weight(80_000_000 + kernel + scores + io, 4_000 + 4 * d) + db_weight(reads=5, writes=6)
    return base + per_contributor.scale(n)


def on_initialize_empty() -> Weight:
    """Reading an empty ``Agenda`` entry."""
    return db_weight(reads=1)
