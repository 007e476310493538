"""Integer-exact aggregation kernels for stake-weighted federated learning.

Counterparts: the aggregation strategies of Flower (``FedAvg``, ``FedMedian``, ``FedTrimmedAvg``,
``Krum``) and the rules of DESIGN.md §3 step 4 and ``shared/reference/FEDERATED.md``. Flower works
in floats, sums in arrival order and is not reproducible; here every kernel is a small pure function
on integers whose result does not depend on the order the submissions arrive in (DESIGN.md §2,
STYLE.md rule 6), so that every validator computes the same model hash.

How order-independence is obtained: a round is first turned into an :class:`UpdateBatch`, whose rows
are sorted by contributor account id (ascending bytes). Ties that matter (equal Krum scores,
apportionment remainders) are broken by that order; ties between equal values inside a
coordinate-wise sort cannot change a median or a trimmed sum (equal values are contiguous). Every
sum is either exact integer arithmetic (``int64`` under a written overflow bound, or Python ints) or
a float64 BLAS call on integer-valued data under a written bound that keeps every partial sum an
integer below 2^53 -- such a sum is exact whatever order BLAS adds in, so its bits do not depend on
the machine or the BLAS build either.

Inputs. A submission is ``(account_id: 32 bytes, weight: int > 0, update: int32 array of length d)``
with every ``|q| <= B``, the task's bound ``1 <= B <= 2^31 - 1`` (Krum needs ``B <= 2^15``). Updates
are the clipped, quantised *deltas* of DESIGN.md §3 step 3, so the previous global model is only
needed by the norm-clipped mean (optional ``center``).

Effective weights (every rule that sums ``w_i * q_i`` or cumulates weights): if ``W * B < 2^63``,
with ``W = sum(w_i)``, the weights are used as given. Otherwise they are replaced by the
largest-remainder apportionment of ``2^K`` with ``K = 63 - bitlen(B)``: ``w'_i = floor(w_i 2^K / W)``
and the ``2^K - sum(w'_i)`` remaining units go one each to the largest remainders ``w_i 2^K mod W``,
ties by account id (:func:`effective_weights`). Then ``W' * B < 2^63`` always holds, which is the
int64 bound used below. A contributor whose share is below ``2^-K`` may get weight 0 there.

Outputs: :class:`Aggregate` -- the aggregated update as an ``int32`` array (every rule's result lies
in ``[-B, B]``), the account ids in ascending order, and which of them were included. Rewards use
:func:`agreement_scores` (per-billion, defined there).

Rules (all roundings are floor, i.e. towards minus infinity, unless said otherwise):

* :func:`weighted_mean` -- ``floor(sum w_i q_i / W)`` per coordinate.
* :func:`weighted_median` -- lower weighted median: the first value, in ascending order, whose
  cumulative weight ``c`` satisfies ``2c >= W``.
* :func:`weighted_trimmed_mean` -- drop ``t = floor(beta * W)`` of weight from each end of the sorted
  values (a value straddling a cut keeps only its remaining weight), then ``floor(sum / (W - 2t))``.
* :func:`multi_krum` / :func:`krum` -- exact squared L2 distances, Krum scores, the ``m`` best, then
  the weighted mean of those.
* :func:`norm_clipped_mean` -- each update's L2 norm clipped to ``<= C`` (rounding towards zero),
  then the weighted mean.

Bounds each kernel relies on (``W'`` effective total weight, ``n`` contributors, ``d`` parameters;
each is tested at its extreme in ``tests/pallets/test_aggregation.py``):

* all: ``1 <= B <= 2^31 - 1``; ``W' B < 2^63`` (apportionment), so every weighted sum, cut and
  cumulative weight fits int64.
* mean (and the means inside multi-Krum and the clipped mean): float64 BLAS with the weights as one
  row when ``W' B < 2^53``; else weight limbs of ``s`` bits with ``n (2^s - 1) B < 2^53``; else
  (``n B >= 2^53``) int64 products. See :func:`_weighted_sum`.
* median, trimmed mean: sort keys ``value * 2^s + tag`` need ``(B + 1) 2^s <= 2^63`` (int32 keys
  when ``<= 2^31``); the trimmed mean's per-coordinate sum uses float64 when ``(W' - 2t) B < 2^53``,
  int64 otherwise.
* Krum: ``B <= 2^15`` and ``d <= 2^31 - 1``: Gram blocks of ``L <= 2^53 / B^2`` columns are exact in
  float64, the Gram matrix ``<= d B^2 < 2^61`` and the distances ``<= (2B)^2 d < 2^63`` in int64;
  scores are Python ints / fractions.
* clipped mean, agreement scores: dot products exact for any ``B`` and ``d`` (float64 blocks of
  ``L B^2 < 2^53``, values split into 16-bit halves when ``B^2 > 2^45``, blocks added as Python
  ints); ``|v| C`` in int64 when ``D C < 2^63`` (``D`` = bound of the differences), else Python ints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from pychain.errors import PychainError

# --- protocol constants -------------------------------------------------------------------------

#: Length of a contributor account id (an sr25519/ed25519 public key, ``AccountId32``).
ACCOUNT_ID_LEN = 32
#: Largest task bound ``B`` on ``|q|``: updates are int32.
MAX_BOUND = 2**31 - 1
#: Largest bound Krum accepts: squared distances ``<= (2B)^2 d`` must fit int64 for every
#: ``d < 2^31``, i.e. ``(2^16)^2 * 2^31 = 2^63`` (FEDERATED.md, "Krum").
KRUM_MAX_BOUND = 2**15
#: Largest number of parameters Krum accepts (same bound: ``(2B)^2 d < 2^63`` needs ``d < 2^31``).
KRUM_MAX_DIMENSION = 2**31 - 1
#: Denominator of per-billion ratios (``Perbill``).
PER_BILLION = 1_000_000_000
#: float64 represents every integer of absolute value ``<= 2^53`` exactly; every float64 sum below
#: keeps all its partial sums strictly under this.
FLOAT64_EXACT = 2**53
#: int64 limit: every int64 sum below keeps all its partial sums strictly under this.
INT64_LIMIT = 2**63

# Tuning (not consensus-relevant: results are identical for any block size).
_MEAN_BLOCK_COLUMNS = 2**17  # columns per block of the weighted sums
_MEAN_BLOCK_ELEMENTS = 2**20  # rows x columns of their float64 scratch block: 8 MiB
_GRAM_BLOCK_ELEMENTS = 2**20  # n x L float64 scratch block of the Gram matrix: 8 MiB
_SORT_BLOCK_ELEMENTS = 2**18  # L x n block of the coordinate-wise rules
_DOT_BLOCK = 2**14  # columns per block of the exact dot products
_MIN_DIRECT_DOT_BLOCK = 256  # below this, dot products split values into 16-bit halves


# --- errors -------------------------------------------------------------------------------------


class AggregationError(PychainError):
    """Root of the aggregation kernels' errors: the input cannot be aggregated."""


class NoSubmissions(AggregationError):
    """The round has no submission."""


class BadAccountId(AggregationError):
    """An account id is not 32 bytes, or a batch's rows are not in account-id order."""


class DuplicateContributor(AggregationError):
    """The same account submitted twice."""


class NonPositiveWeight(AggregationError):
    """A weight is not an integer > 0."""


class BadUpdate(AggregationError):
    """An update is not a non-empty one-dimensional int32 array."""


class LengthMismatch(AggregationError):
    """Updates (or the aggregate, or the center) do not all have the same length."""


class ValueOutOfBound(AggregationError):
    """A value lies outside ``[-B, B]``."""


class BadBound(AggregationError):
    """The task bound ``B`` is not an integer in ``[1, 2^31 - 1]`` (or too large for the rule)."""


class BadParameter(AggregationError):
    """A rule parameter (``beta``, ``f``, ``m``, ``C``) is out of range."""


class TooFewContributors(AggregationError):
    """Krum needs ``n >= 2f + 3``."""


# --- inputs and outputs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """One contributor's update for a round: ``|update[j]| <= B`` for the task's bound ``B``."""

    account_id: bytes
    weight: int
    update: NDArray[np.int32]


@dataclass(frozen=True, eq=False)
class UpdateBatch:
    """A validated round: rows sorted by account id, stacked into one ``(n, d)`` int32 matrix.

    Build it with :meth:`from_submissions` or :meth:`from_matrix`; the kernels accept a batch or a
    sequence of submissions (then they build the batch themselves). Building it once per round lets
    several rules and :func:`agreement_scores` share the validation and the copy.
    """

    accounts: tuple[bytes, ...]
    weights: tuple[int, ...]
    matrix: NDArray[np.int32]
    bound: int

    def __post_init__(self) -> None:
        """Validate everything the kernels rely on; keep a read-only view of the matrix."""
        _check_bound(self.bound)
        matrix = self.matrix
        # Verify the updates form a non-empty two-dimensional int32 matrix.
        if not isinstance(matrix, np.ndarray) or matrix.ndim != 2 or matrix.dtype != np.int32:
            raise BadUpdate("the update matrix must be a two-dimensional int32 array")
        if matrix.shape[0] == 0 or len(self.accounts) == 0:
            raise NoSubmissions("no submission to aggregate")
        if matrix.shape[1] == 0:
            raise BadUpdate("updates are empty")
        # Verify one account and one weight per row.
        if len(self.accounts) != matrix.shape[0] or len(self.weights) != matrix.shape[0]:
            raise LengthMismatch(
                f"{len(self.accounts)} accounts and {len(self.weights)} weights for "
                f"{matrix.shape[0]} rows"
            )
        accounts = tuple(_account_key(a) for a in self.accounts)
        for prev, cur in zip(accounts, accounts[1:], strict=False):
            # Verify no contributor submitted twice, and rows are in account-id order.
            if prev == cur:
                raise DuplicateContributor(f"0x{cur.hex()} submitted more than once")
            if prev > cur:
                raise BadAccountId("batch rows must be in ascending account-id order")
        for a, w in zip(accounts, self.weights, strict=True):
            # Verify every weight is a positive integer.
            if isinstance(w, bool) or not isinstance(w, int | np.integer) or int(w) <= 0:
                raise NonPositiveWeight(f"weight of 0x{a.hex()} must be an integer > 0, got {w!r}")
        _check_values(matrix, self.bound, accounts)
        view = matrix.view()
        view.setflags(write=False)
        object.__setattr__(self, "accounts", accounts)
        object.__setattr__(self, "weights", tuple(int(w) for w in self.weights))
        object.__setattr__(self, "matrix", view)

    @property
    def n(self) -> int:
        """Number of contributors."""
        return len(self.accounts)

    @property
    def d(self) -> int:
        """Number of parameters."""
        return int(self.matrix.shape[1])

    @classmethod
    def from_submissions(cls, submissions: Sequence[Submission], bound: int) -> UpdateBatch:
        """Validate ``submissions`` and stack them in account-id order (one copy of the data)."""
        _check_bound(bound)
        # Verify there is something to aggregate, as Submissions.
        if len(submissions) == 0:
            raise NoSubmissions("no submission to aggregate")
        for s in submissions:
            if not isinstance(s, Submission):
                raise BadUpdate(f"expected a Submission, got {type(s).__name__}")
        ordered = sorted(submissions, key=lambda s: _account_key(s.account_id))
        # Verify every update is a one-dimensional int32 array of one common length.
        d = None
        for s in ordered:
            _check_update_array(s.update, f"update of 0x{bytes(s.account_id).hex()}")
            if d is None:
                d = s.update.shape[0]
            elif s.update.shape[0] != d:
                raise LengthMismatch(
                    f"update of 0x{bytes(s.account_id).hex()} has {s.update.shape[0]} values, "
                    f"expected {d}"
                )
        accounts = tuple(bytes(s.account_id) for s in ordered)
        return cls(
            accounts, tuple(s.weight for s in ordered), np.stack([s.update for s in ordered]), bound
        )

    @classmethod
    def from_matrix(
        cls,
        accounts: Sequence[bytes],
        weights: Sequence[int],
        matrix: NDArray[np.int32],
        bound: int,
    ) -> UpdateBatch:
        """Validate an already stacked ``(n, d)`` int32 matrix whose row ``i`` belongs to
        ``accounts[i]``. Rows are reordered (copied) only if the accounts are not ascending;
        otherwise the batch keeps a read-only view of ``matrix``, which the caller must not change.
        """
        if not isinstance(matrix, np.ndarray) or matrix.ndim != 2:
            raise BadUpdate("the update matrix must be a two-dimensional int32 array")
        # Verify one account and one weight per row (before using them to reorder rows).
        if len(accounts) != matrix.shape[0] or len(weights) != matrix.shape[0]:
            raise LengthMismatch(
                f"{len(accounts)} accounts and {len(weights)} weights for {matrix.shape[0]} rows"
            )
        order = sorted(range(len(accounts)), key=lambda i: _account_key(accounts[i]))
        if order != list(range(len(order))):
            matrix = matrix[np.asarray(order, dtype=np.intp)]
        return cls(
            tuple(bytes(accounts[i]) for i in order),
            tuple(weights[i] for i in order),
            matrix,
            bound,
        )


@dataclass(frozen=True, eq=False)
class Aggregate:
    """A rule's result: the new update (int32, in ``[-B, B]``) and who was included."""

    update: NDArray[np.int32]
    accounts: tuple[bytes, ...]
    included: tuple[bool, ...]

    @property
    def excluded(self) -> tuple[bytes, ...]:
        """Account ids left out by a robust rule (ascending)."""
        return tuple(a for a, inc in zip(self.accounts, self.included, strict=True) if not inc)


Updates = UpdateBatch | Sequence[Submission]


# --- validation helpers -------------------------------------------------------------------------


def _check_bound(bound: int) -> None:
    # Verify the task bound is an integer in [1, 2^31 - 1].
    if isinstance(bound, bool) or not isinstance(bound, int) or not 1 <= bound <= MAX_BOUND:
        raise BadBound(f"bound must be an integer in [1, {MAX_BOUND}], got {bound!r}")


def _account_key(account_id: object) -> bytes:
    if not isinstance(account_id, bytes | bytearray) or len(account_id) != ACCOUNT_ID_LEN:
        raise BadAccountId(f"account id must be {ACCOUNT_ID_LEN} bytes, got {account_id!r:.80}")
    return bytes(account_id)


def _check_update_array(update: object, what: str) -> None:
    if not isinstance(update, np.ndarray) or update.ndim != 1 or update.dtype != np.int32:
        raise BadUpdate(f"{what} must be a one-dimensional int32 array")
    if update.shape[0] == 0:
        raise BadUpdate(f"{what} is empty")


def _check_values(matrix: NDArray[np.int32], bound: int, accounts: Sequence[bytes]) -> None:
    # Verify every value lies in [-B, B] (two passes; per-row search only to name the culprit).
    if int(matrix.min()) >= -bound and int(matrix.max()) <= bound:
        return
    for i, a in enumerate(accounts):
        lo, hi = int(matrix[i].min()), int(matrix[i].max())
        if lo < -bound or hi > bound:
            raise ValueOutOfBound(
                f"update of 0x{a.hex()} has values in [{lo}, {hi}], bound {bound}"
            )
    raise AssertionError("unreachable: a value was out of bound")  # pragma: no cover


def _as_batch(updates: Updates, bound: int | None) -> UpdateBatch:
    if isinstance(updates, UpdateBatch):
        # Verify a bound given next to a batch agrees with it.
        if bound is not None and bound != updates.bound:
            raise BadBound(f"bound {bound} differs from the batch's bound {updates.bound}")
        return updates
    if bound is None:
        raise BadBound("a bound is required when aggregating a sequence of submissions")
    return UpdateBatch.from_submissions(updates, bound)


def _check_vector(v: object, d: int, bound: int, what: str) -> NDArray[np.int64]:
    """A length-``d`` integer vector with ``|v| <= bound``, returned as int64."""
    if not isinstance(v, np.ndarray) or v.ndim != 1 or not np.issubdtype(v.dtype, np.integer):
        raise BadUpdate(f"{what} must be a one-dimensional integer array")
    if v.shape[0] != d:
        raise LengthMismatch(f"{what} has {v.shape[0]} values, expected {d}")
    lo, hi = int(v.min()), int(v.max())
    if lo < -bound or hi > bound:
        raise ValueOutOfBound(f"{what} has values in [{lo}, {hi}], bound {bound}")
    return v.astype(np.int64)


def _check_int(value: object, lo: int, hi: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise BadParameter(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


# --- weights ------------------------------------------------------------------------------------


def effective_weights(weights: Sequence[int], bound: int) -> list[int]:
    """The weights the rules use, in the given (account-id) order; see the module docstring.

    Unchanged when ``sum(weights) * bound < 2^63``; otherwise the largest-remainder apportionment
    of ``2^K``, ``K = 63 - bound.bit_length()`` (so the total times ``bound`` is ``< 2^63``), ties
    between equal remainders going to the earlier (smaller) account id.
    """
    total = sum(int(w) for w in weights)
    if total * bound < INT64_LIMIT:
        return [int(w) for w in weights]
    target = 1 << (63 - bound.bit_length())
    shares = [divmod(int(w) * target, total) for w in weights]
    result = [q for q, _ in shares]
    left = target - sum(result)
    # Largest remainder first; among equal remainders the smaller index (account id) first.
    for i in sorted(range(len(shares)), key=lambda i: (-shares[i][1], i))[:left]:
        result[i] += 1
    return result


# --- exact sums ---------------------------------------------------------------------------------


#: A block transform for :func:`_weighted_sum`: ``(block, rows, columns) -> values`` of the same
#: shape, integers within the bound given to :func:`_weighted_sum` (the clipped mean's clipping).
BlockTransform = Callable[[NDArray[np.int32], slice, slice], NDArray[np.integer]]


def _weighted_sum(
    matrix: NDArray[np.int32],
    weights: Sequence[int],
    bound: int,
    transform: BlockTransform | None = None,
    as_float: bool = False,
) -> NDArray[np.int64] | NDArray[np.float64]:
    """Exact ``sum_i w_i q_i`` per coordinate, as int64.

    Precondition: ``sum(w) * bound < 2^63`` (true for :func:`effective_weights`), so the result and
    every partial sum fit int64. The matrix is walked in blocks of ``_MEAN_BLOCK_COLUMNS`` columns
    by as many rows as fill ``_MEAN_BLOCK_ELEMENTS``; each block is converted to float64 (exact)
    in a cache-sized scratch buffer and multiplied by BLAS; row groups of a column block are added
    in float64. Every value summed anywhere is then an integer sum of a subset of the products
    ``l_i q_ij`` of one limb row, so bounding the full sum of absolute values bounds them all:

    * ``W * B < 2^53``: one limb, the weights themselves: ``|partial sum| <= W B < 2^53``, so the
      float64 sums are exact in any summation order (the fast path).
    * otherwise, if ``n B < 2^53``: the weights are cut into ``k`` limbs of ``s`` bits,
      ``w_i = sum_j l_ij 2^(s j)``, with ``s`` the largest width such that ``n (2^s - 1) B < 2^53``;
      one float64 product with ``k`` rows (memory-bound: about the cost of one) gives each limb's
      sum exactly, and the limbs are recombined in int64 from the lowest: each partial
      recombination equals ``sum_i (w_i mod 2^(s J)) q_i``, bounded by ``W B < 2^63``.
    * otherwise (``n >= 2^53 / B`` contributors): int64 products; partial sums are subset sums,
      bounded by ``W B < 2^63``.
    """
    n, d = matrix.shape
    total = sum(weights)
    cols = min(d, _MEAN_BLOCK_COLUMNS)
    groups = -(-n // max(1, _MEAN_BLOCK_ELEMENTS // cols))
    rows = -(-n // groups)  # balanced row groups
    if n * bound >= FLOAT64_EXACT:
        w64 = np.asarray(weights, dtype=np.int64)
        out = np.zeros(d, dtype=np.int64)
        for a in range(0, d, cols):
            cs = slice(a, min(d, a + cols))
            for g in range(0, n, rows):
                rs = slice(g, min(n, g + rows))
                src = matrix[rs, cs] if transform is None else transform(matrix[rs, cs], rs, cs)
                out[cs] += w64[rs] @ src.astype(np.int64)
        return out
    if total * bound < FLOAT64_EXACT:
        shift = 0
        limbs = np.asarray([weights], dtype=np.float64)
    else:
        capacity = (FLOAT64_EXACT - 1) // (n * bound)  # largest 2^s - 1 allowed
        shift = (capacity + 1).bit_length() - 1
        mask = (1 << shift) - 1
        count = -(-max(weights).bit_length() // shift)
        limbs = np.asarray(
            [[(w >> (shift * j)) & mask for w in weights] for j in range(count)], dtype=np.float64
        )
    k = limbs.shape[0]
    parts = np.empty((k, d), dtype=np.float64)
    scratch = np.empty((rows, cols), dtype=np.float64)
    product = np.empty((k, cols), dtype=np.float64)
    for a in range(0, d, cols):
        b = min(d, a + cols)
        cs = slice(a, b)
        for g in range(0, n, rows):
            h = min(n, g + rows)
            rs = slice(g, h)
            chunk = scratch[: h - g, : b - a]
            src = matrix[rs, cs] if transform is None else transform(matrix[rs, cs], rs, cs)
            np.copyto(chunk, src)  # integers of absolute value < 2^53 -> float64 is exact
            if g == 0:
                np.matmul(limbs[:, rs], chunk, out=parts[:, cs])
            else:
                np.matmul(limbs[:, rs], chunk, out=product[:, : b - a])
                parts[:, cs] += product[:, : b - a]
    if as_float and k == 1:
        # The single-limb sums are integers below 2^53 held exactly in float64.
        return parts[0]
    out = parts[0].astype(np.int64)
    for j in range(1, k):
        out += parts[j].astype(np.int64) << (shift * j)
    return out


def _exact_block_dots(
    x: NDArray[np.integer], y: NDArray[np.integer] | None, bx: int, by: int
) -> NDArray[np.int64]:
    """Exact row dot products of one column block: ``x_i . y`` (``y`` a vector) or, when ``y`` is
    None, ``x_i . x_i``; int64, or Python ints (object array) on the split path. The caller keeps ``len * bx * by < 2^53`` when the product is
    direct; otherwise values are split into 16-bit halves ``v = h 2^16 + l`` (``|h| <= 2^15``,
    ``0 <= l < 2^16``) and the four half products, each below ``2^32`` per term, are recombined."""
    length = x.shape[1]
    if length * bx * by < FLOAT64_EXACT:
        fx = x.astype(np.float64)
        if y is None:
            return np.einsum("ij,ij->i", fx, fx).astype(np.int64)
        return (fx @ y.astype(np.float64)).astype(np.int64)
    x64 = x.astype(np.int64)
    xh, xl = x64 >> 16, x64 & 0xFFFF
    if y is None:
        hh = _exact_block_dots(xh, None, 2**15, 2**15)
        ll = _exact_block_dots(xl, None, 2**16, 2**16)
        hl = np.einsum("ij,ij->i", xh.astype(np.float64), xl.astype(np.float64)).astype(np.int64)
        return _recombine(hh, hl, hl, ll)
    y64 = y.astype(np.int64)
    yh, yl = y64 >> 16, y64 & 0xFFFF
    return _recombine(
        _exact_block_dots(xh, yh, 2**15, 2**15),
        _exact_block_dots(xh, yl, 2**15, 2**16),
        _exact_block_dots(xl, yh, 2**16, 2**15),
        _exact_block_dots(xl, yl, 2**16, 2**16),
    )


def _recombine(
    hh: NDArray[np.int64], hl: NDArray[np.int64], lh: NDArray[np.int64], ll: NDArray[np.int64]
) -> NDArray[np.int64]:
    # The halves' dot products fit int64 (< len 2^32 with len <= 2^14 columns), but the recombined
    # value can reach len 2^62 > 2^63: recombine as Python ints (an object array).
    return np.asarray(
        [
            (int(a) << 32) + ((int(b) + int(c)) << 16) + int(e)
            for a, b, c, e in zip(hh, hl, lh, ll, strict=True)
        ],
        dtype=object,
    )


def _exact_dots(
    matrix: NDArray[np.int32], vector: NDArray[np.int64] | None, bx: int, by: int
) -> list[int]:
    """Exact ``q_i . v`` (or ``|q_i|^2`` when ``vector`` is None) for every row, as Python ints.

    Column blocks of ``L`` values with ``L bx by < 2^53`` are summed exactly in float64 (any order);
    blocks are added as Python ints, so there is no bound on ``d``. When even
    ``_MIN_DIRECT_DOT_BLOCK`` columns would break the 2^53 bound (``bx by`` above about 2^45),
    values are split into 16-bit halves first (see :func:`_exact_block_dots`).
    """
    n, d = matrix.shape
    direct = (FLOAT64_EXACT - 1) // (bx * by)
    block = min(_DOT_BLOCK, direct) if direct >= _MIN_DIRECT_DOT_BLOCK else _DOT_BLOCK
    totals = [0] * n
    for a in range(0, d, block):
        b = min(d, a + block)
        part = _exact_block_dots(
            matrix[:, a:b], None if vector is None else vector[a:b], bx, by
        ).tolist()
        totals = [t + int(p) for t, p in zip(totals, part, strict=True)]
    return totals


def _exact_gram(matrix: NDArray[np.int32], bound: int) -> NDArray[np.int64]:
    """Exact ``G = Q Q^T`` as int64 (Krum). Needs ``d B^2 < 2^63``; each column block of
    ``L <= 2^53 / B^2`` values is an exact float64 BLAS product (partial sums are integers of
    absolute value ``<= L B^2 < 2^53``), converted exactly to int64 and accumulated there (partial
    sums ``<= d B^2 < 2^63``). With ``B <= 2^15`` and ``d < 2^31``: ``d B^2 < 2^61``."""
    n, d = matrix.shape
    block = min(max(256, _GRAM_BLOCK_ELEMENTS // n), (FLOAT64_EXACT - 1) // (bound * bound))
    gram = np.zeros((n, n), dtype=np.int64)
    scratch = np.empty((n, min(block, d)), dtype=np.float64)
    for a in range(0, d, block):
        b = min(d, a + block)
        chunk = scratch[:, : b - a]
        np.copyto(chunk, matrix[:, a:b])
        gram += (chunk @ chunk.T).astype(np.int64)
    return gram


def _finish(
    batch: UpdateBatch, values: NDArray[np.int64] | NDArray[np.float64], included: Sequence[bool]
) -> Aggregate:
    update = values.astype(np.int32)
    update.setflags(write=False)
    return Aggregate(update, batch.accounts, tuple(included))


# --- rules --------------------------------------------------------------------------------------


def weighted_mean(updates: Updates, bound: int | None = None) -> Aggregate:
    """Stake-weighted FedAvg: ``floor(sum_i w_i q_i / sum_i w_i)`` per coordinate (floor division,
    so ``-7 / 2 -> -4``), with the effective weights. Needs ``W' B < 2^63`` (always true after
    :func:`effective_weights`); the fast float64 BLAS path is taken when ``W' B < 2^53`` (see
    :func:`_weighted_sum`). Result in ``[-B, B]``."""
    batch = _as_batch(updates, bound)
    weights = effective_weights(batch.weights, batch.bound)
    total = sum(weights)
    if total * (batch.bound + 1) <= FLOAT64_EXACT:
        # Float floor division is exact here: with integers |s| <= W B and W, the quotient
        # s / W = k + f (f = 0, or 1/W <= f <= 1 - 1/W) lies at least 1/W from any other integer,
        # and 1/W >= ulp(|k| + 1) / 2 because (|k| + 1) W <= (B + 1) W <= 2^53; so the correctly
        # rounded quotient never crosses an integer and its floor is floor(s / W).
        sums_f = _weighted_sum(batch.matrix, weights, batch.bound, as_float=True)
        if sums_f.dtype == np.float64:
            values = np.floor(np.divide(sums_f, float(total), out=sums_f), out=sums_f)
            return _finish(batch, values, [True] * batch.n)
        return _finish(batch, np.floor_divide(sums_f, total), [True] * batch.n)
    sums = _weighted_sum(batch.matrix, weights, batch.bound)
    return _finish(batch, np.floor_divide(sums, total), [True] * batch.n)


class _SortedBlock:
    """Columns ``a:b`` of a batch, sorted coordinate by coordinate, with their weights.

    ``keys`` is an ``(L, n)`` coordinate-major array, one coordinate per row, ascending keys
    ``value * 2^s + tag`` (so ``value = key >> s``). A key lies in ``[-B 2^s, (B + 1) 2^s)``, so it
    fits a signed type of ``b`` bits when ``(B + 1) 2^s <= 2^(b - 1)``:

    * ``tag = weight``, ``s = bitlen(max weight)``, when that fits int32 (faster) or int64: the
      weights come back out of the sorted keys with a mask, without an argsort or a gather;
    * otherwise ``tag = contributor index``, ``s = bitlen(n - 1)`` (fits int64 for every
      ``B < 2^31``, ``n <= 2^31``), and the weights are gathered by index.

    The transposition and the shift are one pass (``np.left_shift`` into the ``(L, n)`` buffer).
    Weights come out as int32 when the total is ``< 2^31``, else int64.
    """

    def __init__(self, columns: NDArray[np.int32], weights: Sequence[int], bound: int):
        total = sum(weights)
        self.cum_dtype = np.int32 if total < 2**31 else np.int64
        shift = max(1, max(weights).bit_length())
        self.packed = (bound + 1) << shift <= 2**63
        if not self.packed:
            shift = max(1, (len(weights) - 1).bit_length())
        self.shift = shift
        self.table = np.asarray(weights, dtype=self.cum_dtype)
        dtype = np.int32 if (bound + 1) << shift <= 2**31 else np.int64
        keys: NDArray[np.signedinteger] = np.empty(columns.shape[::-1], dtype=dtype)
        np.left_shift(columns.T, shift, out=keys, dtype=dtype)
        tags = weights if self.packed else range(len(weights))
        keys |= np.asarray(tags, dtype=dtype)
        keys.sort(axis=1)
        self.keys = keys

    def weights(self, part: NDArray[np.signedinteger]) -> NDArray[np.signedinteger]:
        """A fresh array of the weights carried by ``part`` (a slice of ``keys``)."""
        tags = part & ((1 << self.shift) - 1)
        if self.packed:
            return tags.astype(self.cum_dtype, copy=False)
        return self.table[tags]

    def values(self, part: NDArray[np.signedinteger]) -> NDArray[np.signedinteger]:
        return part >> self.shift


def _coordinate_blocks(matrix: NDArray[np.int32]) -> list[tuple[int, int]]:
    n, d = matrix.shape
    block = max(64, _SORT_BLOCK_ELEMENTS // n)
    return [(a, min(d, a + block)) for a in range(0, d, block)]


def _transposed(matrix: NDArray[np.int32], a: int, b: int) -> NDArray[np.int32]:
    """Coordinate-major copy ``(b - a, n)`` of columns ``a:b``."""
    return np.array(matrix[:, a:b].T, order="C", copy=True)


def weighted_median(updates: Updates, bound: int | None = None) -> Aggregate:
    """Coordinate-wise lower weighted median (FedMedian with stake).

    Per coordinate the n values are sorted ascending; the result is the first value whose
    cumulative effective weight ``c`` reaches half the total: ``2c >= W`` (tested as
    ``c >= ceil(W / 2)``, so no doubling can overflow). Equal values form one contiguous run, so
    the order among them (account id, or weight inside the sort keys) cannot change the value
    chosen. With equal weights this is the element of rank ``ceil(n / 2) - 1`` (0-based), found
    with ``np.partition``. Weights of 0 (possible after apportionment) are never chosen.
    Cumulative weights are int32 when ``W' < 2^31``, else int64 (``W' < 2^63``)."""
    batch = _as_batch(updates, bound)
    weights = effective_weights(batch.weights, batch.bound)
    n, d = batch.matrix.shape
    out = np.empty(d, dtype=np.int64)
    total = sum(weights)
    half = (total + 1) // 2
    if len(set(weights)) == 1:
        kth = (n + 1) // 2 - 1
        for a, b in _coordinate_blocks(batch.matrix):
            part = np.partition(_transposed(batch.matrix, a, b), kth, axis=1)
            out[a:b] = part[:, kth]
        return _finish(batch, out, [True] * n)
    for a, b in _coordinate_blocks(batch.matrix):
        block = _SortedBlock(batch.matrix[:, a:b], weights, batch.bound)
        cum = block.weights(block.keys)
        np.cumsum(cum, axis=1, out=cum)
        pos = np.argmax(cum >= half, axis=1)
        out[a:b] = block.values(np.take_along_axis(block.keys, pos[:, None], axis=1)[:, 0])
    return _finish(batch, out, [True] * n)


def weighted_trimmed_mean(
    updates: Updates, beta_per_billion: int, bound: int | None = None
) -> Aggregate:
    """Coordinate-wise weighted trimmed mean (FedTrimmedAvg with stake).

    ``beta_per_billion`` in ``[0, 5e8)`` is the share of the total *weight* trimmed from each end:
    ``t = floor(beta * W' / 1e9)``. Per coordinate the values are sorted ascending; the value with
    cumulative weight interval ``[c - w, c)`` keeps ``clamp(c) - clamp(c - w)`` of its weight, with
    ``clamp(x) = min(max(x, t), W' - t)`` (a value straddling a cut keeps only the part inside,
    values wholly outside keep 0). The result is ``floor(sum kept * value / (W' - 2t))``;
    ``W' - 2t > 0`` because ``beta < 1/2``. Equal values are contiguous, so their order cannot
    change the sum. Products and sums are int64: ``sum kept |value| <= W' B < 2^63``; when
    ``(W' - 2t) B < 2^53`` each coordinate's sum is a float64 BLAS row sum instead, exact for the
    same reason as the mean's. With ``beta = 0`` this equals :func:`weighted_mean`."""
    batch = _as_batch(updates, bound)
    beta = _check_int(beta_per_billion, 0, PER_BILLION // 2 - 1, "beta_per_billion")
    weights = effective_weights(batch.weights, batch.bound)
    n, d = batch.matrix.shape
    total = sum(weights)
    trim = beta * total // PER_BILLION
    keep_total = total - 2 * trim
    out = np.empty(d, dtype=np.int64)
    exact_float = keep_total * batch.bound < FLOAT64_EXACT
    if len(set(weights)) == 1:
        # Equal weights: the kept weight depends on the sorted position only.
        w = weights[0]
        kept = [max(0, min((k + 1) * w, total - trim) - max(k * w, trim)) for k in range(n)]
        kept_vec = np.asarray(kept, dtype=np.float64 if exact_float else np.int64)
        for a, b in _coordinate_blocks(batch.matrix):
            ordered = _transposed(batch.matrix, a, b)
            ordered.sort(axis=1)
            if exact_float:  # partial sums are integers <= keep_total * B < 2^53: exact
                out[a:b] = (ordered.astype(np.float64) @ kept_vec).astype(np.int64)
            else:
                out[a:b] = ordered.astype(np.int64) @ kept_vec
        return _finish(batch, np.floor_divide(out, keep_total), [True] * n)
    ones = np.ones(n, dtype=np.float64)
    for a, b in _coordinate_blocks(batch.matrix):
        block = _SortedBlock(batch.matrix[:, a:b], weights, batch.bound)
        clamped = block.weights(block.keys)
        np.cumsum(clamped, axis=1, out=clamped)
        np.clip(clamped, trim, total - trim, out=clamped)
        # share_k = clamped_k - clamped_(k-1), as one flat pass over the contiguous block; the
        # first column (which crossed from the previous row) is then redone against c_(-1) = t.
        share = np.empty_like(clamped)
        flat, flat_share = clamped.reshape(-1), share.reshape(-1)
        np.subtract(flat[1:], flat[:-1], out=flat_share[1:])
        np.subtract(clamped[:, 0], trim, out=share[:, 0])
        if exact_float:
            # |share_k v_k| sums to at most (W' - 2t) B < 2^53 per row: float64 BLAS is exact.
            product = np.multiply(share, block.values(block.keys), dtype=np.float64)
            out[a:b] = (product @ ones).astype(np.int64)
        else:
            out[a:b] = np.einsum("ij,ij->i", share, block.values(block.keys), dtype=np.int64)
    return _finish(batch, np.floor_divide(out, keep_total), [True] * n)


def _check_krum(batch: UpdateBatch, f: int) -> int:
    n, d = batch.matrix.shape
    f = _check_int(f, 0, n, "f")
    # Verify n >= 2f + 3 (Krum's resilience condition).
    if n < 2 * f + 3:
        raise TooFewContributors(f"Krum with f = {f} needs at least {2 * f + 3} updates, got {n}")
    # Verify the bounds that keep the distances exact in int64.
    if batch.bound > KRUM_MAX_BOUND:
        raise BadBound(f"Krum needs bound <= {KRUM_MAX_BOUND}, got {batch.bound}")
    if d > KRUM_MAX_DIMENSION:
        raise BadUpdate(f"Krum needs fewer than 2^31 parameters, got {d}")
    return f


def krum_scores(
    updates: Updates, f: int, *, weighted: bool = False, bound: int | None = None
) -> list[Fraction]:
    """Krum scores (lower is better), in account-id order, as exact fractions.

    Squared distances ``D_ij = G_ii + G_jj - 2 G_ij`` come from the exact Gram matrix (int64:
    ``D_ij <= (2B)^2 d < 2^63`` for ``B <= 2^15``, ``d < 2^31``).

    * unweighted: the mean of the ``n - f - 2`` smallest ``D_ij`` (``j != i``) -- Blanchard et
      al.'s score divided by the constant ``n - f - 2``, which keeps the ranking;
    * stake-weighted: neighbours ``j != i`` in order of ``(D_ij, account id)`` are taken by weight
      until a quota ``Q_i = min(floor(W (n - f - 2) / n), W - w_i)`` of (raw) weight is filled, the
      straddling neighbour counting only its remaining weight ``r``; the score is
      ``sum taken_j D_ij / Q_i``, the weighted mean distance to the nearest ``Q_i`` of stake. With
      equal weights it equals the unweighted score.
    """
    batch = _as_batch(updates, bound)
    f = _check_krum(batch, f)
    n = batch.n
    gram = _exact_gram(batch.matrix, batch.bound)
    sq = np.diag(gram)
    dist = (sq[:, None] + sq[None, :] - 2 * gram).tolist()
    neighbours = n - f - 2
    scores: list[Fraction] = []
    if not weighted:
        for i in range(n):
            row = sorted(dist[i][j] for j in range(n) if j != i)
            scores.append(Fraction(sum(row[:neighbours]), neighbours))
        return scores
    weights = [int(w) for w in batch.weights]
    total = sum(weights)
    quota_all = total * neighbours // n
    for i in range(n):
        quota = min(quota_all, total - weights[i])
        left, acc = quota, 0
        for j in sorted((j for j in range(n) if j != i), key=lambda j: (dist[i][j], j)):
            if left == 0:
                break
            take = min(weights[j], left)
            acc += take * dist[i][j]
            left -= take
        scores.append(Fraction(acc, quota))
    return scores


def multi_krum(
    updates: Updates, f: int, m: int, *, weighted: bool = False, bound: int | None = None
) -> Aggregate:
    """Multi-Krum: the ``m`` (``1 <= m <= n - f``) updates with the lowest :func:`krum_scores`
    (ties by account id) are included, and the result is their :func:`weighted_mean` (floor, their
    own effective weights). ``m = 1`` is Krum (the result is the chosen update itself)."""
    batch = _as_batch(updates, bound)
    f = _check_krum(batch, f)
    m = _check_int(m, 1, batch.n - f, "m")
    scores = krum_scores(batch, f, weighted=weighted)
    chosen = sorted(sorted(range(batch.n), key=lambda i: (scores[i], i))[:m])
    weights = effective_weights([batch.weights[i] for i in chosen], batch.bound)
    if 2 * m <= batch.n:  # copy the few chosen rows
        subset = batch.matrix[np.asarray(chosen, dtype=np.intp)]
        sums = _weighted_sum(subset, weights, batch.bound)
    else:  # most rows: weight 0 for the others rather than a large copy
        spread = [0] * batch.n
        for i, w in zip(chosen, weights, strict=True):
            spread[i] = w
        sums = _weighted_sum(batch.matrix, spread, batch.bound)
    included = [False] * batch.n
    for i in chosen:
        included[i] = True
    return _finish(batch, np.floor_divide(sums, sum(weights)), included)


def krum(
    updates: Updates, f: int, *, weighted: bool = False, bound: int | None = None
) -> Aggregate:
    """Krum (Blanchard et al. 2017): the single update with the lowest score; see :func:`multi_krum`."""
    return multi_krum(updates, f, 1, weighted=weighted, bound=bound)


def norm_clipped_mean(
    updates: Updates,
    clip: int,
    *,
    center: NDArray[np.integer] | None = None,
    bound: int | None = None,
) -> Aggregate:
    """Norm-clipped weighted mean (the clipping step of DP-FedAvg, without noise).

    Each difference ``v_i = q_i - center`` (``center`` defaults to 0: updates are deltas; give the
    previous global model when updates are full models, ``|center| <= B``) whose exact squared norm
    ``N_i`` exceeds ``C^2`` is scaled by ``C / r_i`` with ``r_i = ceil(sqrt(N_i)) =
    isqrt(N_i - 1) + 1`` and rounded towards zero: ``v'_ij = sign(v_ij) floor(|v_ij| C / r_i)``,
    so ``|v'_i| <= |v_i| C / |v_i| = C`` is guaranteed. The result is
    ``center + floor(sum w_i v'_i / W')`` -- each ``center + v'_i`` lies between ``center`` and
    ``q_i`` coordinate-wise, so the result stays in ``[-B, B]``. Effective weights use the bound
    ``2B`` of the differences when a center is given. ``C`` is an integer ``>= 0``."""
    batch = _as_batch(updates, bound)
    clip = _check_int(clip, 0, 2**256, "clip")
    n, d = batch.matrix.shape
    b = batch.bound
    sq = _exact_dots(batch.matrix, None, b, b)
    if center is None:
        c = None
        diff_bound = b
        norms = sq
    else:
        c = _check_vector(center, d, b, "center")
        diff_bound = 2 * b
        cross = _exact_dots(batch.matrix, c, b, b)
        c_sq = _exact_dots(c[None, :].astype(np.int32), None, b, b)[0]
        norms = [s - 2 * x + c_sq for s, x in zip(sq, cross, strict=True)]
    weights = effective_weights(batch.weights, diff_bound)
    limit = clip * clip
    clipped = np.asarray([nrm > limit for nrm in norms], dtype=bool)
    radius = [math.isqrt(nrm - 1) + 1 if nrm > limit else 1 for nrm in norms]
    # Without a center the clipped values stay int32 (|v'| <= |v| <= B); with one, int64.
    scaler = _Scaler(clip, radius, clipped, diff_bound, np.int32 if c is None else np.int64)

    def clip_block(block: NDArray[np.int32], rs: slice, cs: slice) -> NDArray[np.integer]:
        rows = np.flatnonzero(clipped[rs])
        if c is None and rows.size == 0:
            return block
        v = block.astype(np.int64) if c is not None else block.copy()
        if c is not None:
            v -= c[cs]
        for r in rows:
            scaler.scale(rs.start + int(r), v[r])
        return v

    sums = _weighted_sum(batch.matrix, weights, diff_bound, clip_block)
    result = np.floor_divide(sums, sum(weights))
    if c is not None:
        result += c
    return _finish(batch, result, [True] * n)


class _Scaler:
    """``v -> sign(v) floor(|v| C / r_i)`` for the clipped rows of :func:`norm_clipped_mean`.

    When the differences are bounded by ``D <= 2^16`` the map is a lookup table over
    ``[-D, D]`` per clipped row, built once with exact arithmetic (int64 when ``D C < 2^63``,
    else Python ints); larger ``D`` computes the map directly, the same way."""

    TABLE_LIMIT = 2**16

    def __init__(
        self,
        clip: int,
        radius: list[int],
        clipped: NDArray[np.bool_],
        bound: int,
        dtype: type[np.signedinteger],
    ):
        self.clip = clip
        self.radius = radius
        self.bound = bound
        self.wide = bound * clip >= INT64_LIMIT
        self.tables: dict[int, NDArray[np.signedinteger]] = {}
        if bound <= self.TABLE_LIMIT:
            values = np.arange(-bound, bound + 1, dtype=np.int64)
            for i in np.flatnonzero(clipped).tolist():
                self.tables[i] = self._direct(values, i).astype(dtype)  # |v'| <= |v| <= D

    def _direct(self, v: NDArray[np.integer], i: int) -> NDArray[np.int64]:
        mag = np.abs(v.astype(np.int64))
        if self.wide:
            mag = (mag.astype(object) * self.clip // self.radius[i]).astype(np.int64)
        else:
            mag *= self.clip
            mag //= self.radius[i]
        return np.where(v < 0, -mag, mag)

    def scale(self, i: int, row: NDArray[np.signedinteger]) -> None:
        """Clip ``row`` (a writable row of row ``i``'s differences) in place."""
        table = self.tables.get(i)
        if table is None:
            row[:] = self._direct(row, i)
        else:
            np.take(table, row + self.bound, out=row, mode="clip")  # indices are in range


def agreement_scores(
    updates: Updates, aggregate: NDArray[np.integer], bound: int | None = None
) -> list[int]:
    """Per-billion agreement of each update with the aggregate ``a``, in account-id order.

    ``score_i = clamp(floor(1e9 * 2 (q_i . a) / (|q_i|^2 + |a|^2)), 0, 1e9)``, and ``1e9`` when
    both are zero. Since ``2 q.a / (|q|^2 + |a|^2) = 1 - |q - a|^2 / (|q|^2 + |a|^2)``, the score is
    ``1e9`` exactly when ``q_i = a``, falls with the distance, and is 0 for updates pointing away
    from the aggregate. Dot products are exact (Python ints from exact float64 blocks); ``a`` must
    have the batch's length and ``|a| <= B`` (true for every rule's result).
    """
    batch = _as_batch(updates, bound)
    b = batch.bound
    a = _check_vector(aggregate, batch.d, b, "aggregate")
    sq = _exact_dots(batch.matrix, None, b, b)
    cross = _exact_dots(batch.matrix, a, b, b)
    a_sq = _exact_dots(a[None, :].astype(np.int32), None, b, b)[0]
    scores = []
    for s, x in zip(sq, cross, strict=True):
        denom = s + a_sq
        if denom == 0:
            scores.append(PER_BILLION)
            continue
        scores.append(min(PER_BILLION, max(0, 2 * PER_BILLION * x // denom)))
    return scores
