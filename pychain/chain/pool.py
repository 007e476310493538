"""Transaction pool: validated transactions waiting for a block, ordered by tags and priority.

Mirrors ``sc-transaction-pool``'s graph (``ValidatedPool`` with its ``ReadyTransactions`` and
``FutureTransactions``, ``BestIterator``, ``Listener``/``Watcher``) and the ``maintain`` step of
``BasicPool`` (``sc-transaction-pool`` crate docs, "Transaction pool design"):

* :meth:`TransactionPool.submit` validates a transaction with the runtime
  (``TaggedTransactionQueue_validate_transaction`` at the best block), rejects duplicates
  (``AlreadyImported``), over-large ones and tag conflicts of lower priority (``TooLowPriority``;
  a higher-priority one *usurps* the old), then files it as *ready* (every ``requires`` tag is
  provided by a ready transaction or by the chain) or *future*;
* :meth:`ready` yields ready transactions in dependency order, best priority first (ties: first
  submitted), as ``BestIterator`` does for the block builder;
* :meth:`maintain` runs after the best chain changes: included transactions leave the pool
  (``InBlock``), those of retracted blocks are resubmitted, every other one is re-validated at the
  new best block (invalid and stale ones are dropped, tags are recomputed, futures promoted), and
  transactions past their longevity expire; :meth:`on_finalized` reports ``Finalized``;
* limits (count and bytes, ready and future apart) evict the lowest priority, newest first;
* a :class:`Watcher` per transaction records its status stream (``future``/``ready`` ->
  ``inBlock`` -> ``finalized``, or ``retracted``, ``usurped``, ``dropped``, ``invalid``) for
  ``author_submitAndWatchExtrinsic``.

Differences: one pool at the best block (no fork-aware views), no ban list of recently removed
hashes (re-submitting an included transaction fails validation as ``Stale`` anyway), and readiness
is recomputed over the whole pool after each change (fine for pools of thousands).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from pychain.chain.client import Chain, FinalityResult, ImportResult
from pychain.chain.errors import (
    AlreadyImported,
    InvalidPoolTransaction,
    PoolFull,
    TooLowPriority,
    TransactionTooLarge,
)
from pychain.frame.dispatch import TransactionValidityError, ValidTransaction
from pychain.frame.weights import BlockLength, DispatchClass
from pychain.primitives.hashing import blake2_256

__all__ = [
    "PoolLimits",
    "PoolStatus",
    "PoolTransaction",
    "TransactionPool",
    "TxStatus",
    "Watcher",
    "FINAL_STATUSES",
]

#: Statuses after which a transaction is gone from the pool for good.
FINAL_STATUSES = frozenset({"finalized", "usurped", "dropped", "invalid"})

_MAX_U64 = (1 << 64) - 1


@dataclass(frozen=True)
class PoolLimits:
    """``sc_transaction_pool::Options``: ready and future limits (count, total bytes).

    Defaults are Substrate's (8192 / 20 MiB ready, 512 / 1 MiB future); the largest transaction
    accepted is what fits the ``Normal`` share of a block (``BlockLength`` defaults).
    """

    ready_count: int = 8192
    ready_bytes: int = 20 * 1024 * 1024
    future_count: int = 512
    future_bytes: int = 1024 * 1024
    max_tx_bytes: int = BlockLength().max_for(DispatchClass.Normal)


@dataclass(frozen=True)
class TxStatus:
    """One event of a transaction's life (``TransactionStatus``)."""

    kind: str
    #: The block for ``inBlock`` / ``retracted`` / ``finalized``.
    block: bytes | None = None
    #: For ``usurped``: the hash of the transaction that replaced it.
    by: bytes | None = None
    #: For ``invalid`` / ``dropped``: why.
    reason: str = ""

    @property
    def is_final(self) -> bool:
        return self.kind in FINAL_STATUSES


class Watcher:
    """The status stream of one transaction: recorded in :attr:`events`, pushed to listeners."""

    def __init__(self, tx_hash: bytes) -> None:
        self.hash = tx_hash
        self.events: list[TxStatus] = []
        self._listeners: list[Callable[[TxStatus], None]] = []

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1].is_final

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def add_listener(self, listener: Callable[[TxStatus], None]) -> None:
        """Call ``listener`` with every later status (past ones are in :attr:`events`)."""
        self._listeners.append(listener)

    def emit(self, status: TxStatus) -> None:
        self.events.append(status)
        for listener in self._listeners:
            listener(status)


@dataclass
class PoolTransaction:
    """A validated transaction in the pool."""

    hash: bytes
    data: bytes
    priority: int
    requires: tuple[bytes, ...]
    provides: tuple[bytes, ...]
    #: Last block number at which it is still valid (``valid_till``).
    valid_till: int
    propagate: bool
    #: Submission order, the tie-breaker between equal priorities.
    insertion: int
    source: str = "External"

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class PoolStatus:
    """``PoolStatus``: counts and bytes of ready and future transactions."""

    ready: int
    ready_bytes: int
    future: int
    future_bytes: int


@dataclass
class _Pending:
    """Transactions included in blocks, waiting for those blocks' finality."""

    by_block: dict[bytes, list[bytes]] = field(default_factory=dict)
    block_of: dict[bytes, bytes] = field(default_factory=dict)


class TransactionPool:
    """The pool over one :class:`Chain` (validation at its best block)."""

    def __init__(
        self, chain: Chain, limits: PoolLimits | None = None, auto_maintain: bool = False
    ) -> None:
        """With ``auto_maintain`` the pool follows the chain's imports and finality by itself."""
        self.chain = chain
        self.limits = limits if limits is not None else PoolLimits()
        self._txs: dict[bytes, PoolTransaction] = {}
        self._ready: set[bytes] = set()
        self._tag_owner: dict[bytes, bytes] = {}
        self._watchers: dict[bytes, Watcher] = {}
        self._in_block = _Pending()
        self._counter = 0
        if auto_maintain:
            chain.subscribe_imports(self._on_import)
            chain.subscribe_finality(self.on_finalized)

    # ------------------------------------------------------------------------------ queries

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._txs

    def __len__(self) -> int:
        return len(self._txs)

    def get(self, tx_hash: bytes) -> PoolTransaction | None:
        return self._txs.get(tx_hash)

    def is_ready(self, tx_hash: bytes) -> bool:
        return tx_hash in self._ready

    def status(self) -> PoolStatus:
        ready = [self._txs[h] for h in self._ready]
        future = [tx for h, tx in self._txs.items() if h not in self._ready]
        return PoolStatus(
            len(ready), sum(t.size for t in ready), len(future), sum(t.size for t in future)
        )

    def ready(self) -> Iterator[PoolTransaction]:
        """Ready transactions, each after the ones it requires, best priority first."""
        ready = {h: self._txs[h] for h in self._ready}
        unmet: dict[bytes, int] = {}
        waiters: dict[bytes, list[bytes]] = {}
        heap: list[tuple[int, int, bytes]] = []
        for h, tx in ready.items():
            inside = [t for t in tx.requires if self._tag_owner.get(t) in ready]
            unmet[h] = len(inside)
            for tag in inside:
                waiters.setdefault(tag, []).append(h)
            if not inside:
                heapq.heappush(heap, (-tx.priority, tx.insertion, h))
        order: list[PoolTransaction] = []
        while heap:
            _, _, h = heapq.heappop(heap)
            tx = ready[h]
            order.append(tx)
            for tag in tx.provides:
                for waiter in waiters.pop(tag, ()):
                    unmet[waiter] -= 1
                    if unmet[waiter] == 0:
                        w = ready[waiter]
                        heapq.heappush(heap, (-w.priority, w.insertion, waiter))
        return iter(order)

    def ready_extrinsics(self) -> Iterator[bytes]:
        """The encoded ready transactions, in :meth:`ready` order (for ``build_block``)."""
        return (tx.data for tx in self.ready())

    def pending(self) -> list[bytes]:
        """Every transaction in the pool (``author_pendingExtrinsics``): ready ones in block
        order, then future ones in submission order."""
        future = sorted(
            (tx for h, tx in self._txs.items() if h not in self._ready), key=lambda t: t.insertion
        )
        return [tx.data for tx in self.ready()] + [tx.data for tx in future]

    def watcher(self, tx_hash: bytes) -> Watcher | None:
        return self._watchers.get(tx_hash)

    # ----------------------------------------------------------------------------- submit

    def submit(self, xt: bytes, at: bytes | None = None, source: str = "External") -> bytes:
        """Validate ``xt`` at ``at`` (default: best block) and add it; returns its hash."""
        return self._submit(bytes(xt), at, source, None)

    def submit_and_watch(
        self,
        xt: bytes,
        at: bytes | None = None,
        listener: Callable[[TxStatus], None] | None = None,
        source: str = "External",
    ) -> Watcher:
        """As :meth:`submit`, returning the transaction's :class:`Watcher`."""
        xt = bytes(xt)
        watcher = Watcher(blake2_256(xt))
        if listener is not None:
            watcher.add_listener(listener)
        self._submit(xt, at, source, watcher)
        return watcher

    def _submit(self, xt: bytes, at: bytes | None, source: str, watcher: Watcher | None) -> bytes:
        # Verify the size.
        if len(xt) > self.limits.max_tx_bytes:
            raise TransactionTooLarge(
                f"transaction of {len(xt)} bytes exceeds {self.limits.max_tx_bytes}"
            )
        tx_hash = blake2_256(xt)
        # Verify it is not already here.
        if tx_hash in self._txs:
            raise AlreadyImported(f"transaction 0x{tx_hash.hex()} is already in the pool")
        at_hash = self.chain.best_hash() if at is None else at
        at_number = self.chain.store.expect_header(at_hash).number
        # Verify the runtime accepts it.
        try:
            valid = self.chain.validate_transaction(xt, at_hash)
        except TransactionValidityError as exc:
            raise InvalidPoolTransaction(exc) from None
        tx = self._make(tx_hash, xt, valid, at_number, source)
        if watcher is not None:
            self._watchers[tx_hash] = watcher
        try:
            self._import(tx)
        except BaseException:
            self._watchers.pop(tx_hash, None)
            raise
        return tx_hash

    def _make(
        self, tx_hash: bytes, xt: bytes, valid: ValidTransaction, at_number: int, source: str
    ) -> PoolTransaction:
        self._counter += 1
        return PoolTransaction(
            hash=tx_hash,
            data=xt,
            priority=valid.priority,
            requires=tuple(valid.requires),
            provides=tuple(valid.provides),
            valid_till=min(at_number + valid.longevity, _MAX_U64),
            propagate=valid.propagate,
            insertion=self._counter,
            source=source,
        )

    def _import(self, tx: PoolTransaction) -> None:
        # Verify no transaction provides the same tag with at least this priority.
        rivals = {self._tag_owner[t] for t in tx.provides if t in self._tag_owner}
        for rival in rivals:
            if self._txs[rival].priority >= tx.priority:
                raise TooLowPriority(
                    f"0x{rival.hex()} provides the same tag with priority "
                    f"{self._txs[rival].priority} >= {tx.priority}"
                )
        for rival in rivals:
            self._remove(rival, TxStatus("usurped", by=tx.hash))
        self._txs[tx.hash] = tx
        for tag in tx.provides:
            self._tag_owner[tag] = tx.hash
        before = set(self._ready)
        self._recompute(before, announce_new=tx.hash)
        dropped = self._enforce_limits()
        if tx.hash in dropped:
            raise PoolFull("the pool is full and this transaction has the lowest priority")

    # ------------------------------------------------------------------------ bookkeeping

    def _emit(self, tx_hash: bytes, status: TxStatus) -> None:
        watcher = self._watchers.get(tx_hash)
        if watcher is None:
            return
        watcher.emit(status)
        if status.is_final:
            del self._watchers[tx_hash]

    def _remove(self, tx_hash: bytes, status: TxStatus | None) -> PoolTransaction | None:
        tx = self._txs.pop(tx_hash, None)
        if tx is None:
            return None
        self._ready.discard(tx_hash)
        for tag in tx.provides:
            if self._tag_owner.get(tag) == tx_hash:
                del self._tag_owner[tag]
        if status is not None:
            self._emit(tx_hash, status)
        return tx

    def _recompute(self, before: set[bytes], announce_new: bytes | None = None) -> None:
        """Re-split the pool into ready / future and report every transaction that moved."""
        unmet: dict[bytes, int] = {}
        waiters: dict[bytes, list[bytes]] = {}
        queue: list[bytes] = []
        for h, tx in self._txs.items():
            unmet[h] = len(tx.requires)
            for tag in tx.requires:
                waiters.setdefault(tag, []).append(h)
            if not tx.requires:
                queue.append(h)
        ready: set[bytes] = set()
        while queue:
            h = queue.pop()
            ready.add(h)
            for tag in self._txs[h].provides:
                for waiter in waiters.pop(tag, ()):
                    unmet[waiter] -= 1
                    if unmet[waiter] == 0:
                        queue.append(waiter)
        self._ready = ready
        for h in sorted(self._txs, key=lambda k: self._txs[k].insertion):
            was_ready = h in before and h != announce_new
            if h in ready and (not was_ready or h == announce_new):
                self._emit(h, TxStatus("ready"))
            elif h not in ready and (was_ready or h == announce_new):
                self._emit(h, TxStatus("future"))

    def _enforce_limits(self) -> set[bytes]:
        """Evict lowest-priority (then newest) transactions until both queues fit."""
        limits = self.limits
        dropped: set[bytes] = set()
        for want_ready, max_count, max_bytes in (
            (False, limits.future_count, limits.future_bytes),
            (True, limits.ready_count, limits.ready_bytes),
        ):
            while True:
                queue = [tx for h, tx in self._txs.items() if (h in self._ready) == want_ready]
                if len(queue) <= max_count and sum(t.size for t in queue) <= max_bytes:
                    break
                victim = min(queue, key=lambda t: (t.priority, -t.insertion))
                before = set(self._ready)
                self._remove(victim.hash, TxStatus("dropped", reason="pool limits"))
                dropped.add(victim.hash)
                self._recompute(before)
        return dropped

    # --------------------------------------------------------------------------- maintain

    def remove_invalid(self, hashes: Sequence[bytes], reason: str = "reported invalid") -> None:
        """Drop transactions a block builder found invalid (``report_invalid``)."""
        before = set(self._ready)
        for h in hashes:
            self._remove(h, TxStatus("invalid", reason=reason))
        self._recompute(before)

    def _on_import(self, result: ImportResult) -> None:
        if result.is_new_best:
            self.maintain(result.enacted, result.retracted)

    def maintain(self, enacted: Sequence[bytes], retracted: Sequence[bytes] = ()) -> None:
        """Bring the pool to the new best block (``MaintainedTransactionPool::maintain``).

        ``enacted``: blocks that became canonical (lowest first); ``retracted``: canonical blocks
        that were replaced. Both as in :class:`~pychain.chain.client.ImportResult`.
        """
        store = self.chain.store
        included: set[bytes] = set()
        for block_hash in enacted:
            body = store.body(block_hash) or []
            for xt in body:
                tx_hash = blake2_256(xt)
                included.add(tx_hash)
                known = self._remove(tx_hash, None) is not None or tx_hash in self._watchers
                if known:
                    self._note_in_block(tx_hash, block_hash)
        # Transactions of retracted blocks go back in (unless the new chain has them).
        resubmit: list[bytes] = []
        for block_hash in retracted:
            for tx_hash in self._in_block.by_block.pop(block_hash, []):
                self._in_block.block_of.pop(tx_hash, None)
                self._emit(tx_hash, TxStatus("retracted", block=block_hash))
            for xt in store.body(block_hash) or []:
                if blake2_256(xt) not in included:
                    resubmit.append(xt)
        self._revalidate()
        for xt in resubmit:
            watcher = self._watchers.pop(blake2_256(xt), None)
            try:
                self._submit(xt, None, "InBlock", watcher)
            except (InvalidPoolTransaction, TooLowPriority, PoolFull) as exc:
                if watcher is not None:
                    watcher.emit(TxStatus("invalid", reason=str(exc)))
            except AlreadyImported:
                continue

    def _note_in_block(self, tx_hash: bytes, block_hash: bytes) -> None:
        self._in_block.by_block.setdefault(block_hash, []).append(tx_hash)
        self._in_block.block_of[tx_hash] = block_hash
        self._emit(tx_hash, TxStatus("inBlock", block=block_hash))

    def _revalidate(self) -> None:
        """Validate every transaction again at the best block; drop invalid and expired ones."""
        best_hash, best_number = self.chain.best()
        before = set(self._ready)
        txs = sorted(self._txs.values(), key=lambda t: t.insertion)
        results = self.chain.validate_many([tx.data for tx in txs], best_hash)
        for tx, result in zip(txs, results, strict=True):
            if isinstance(result, TransactionValidityError):
                self._remove(tx.hash, TxStatus("invalid", reason=result.reason))
                continue
            if tx.valid_till < best_number:
                self._remove(tx.hash, TxStatus("invalid", reason="longevity expired"))
                continue
            for tag in tx.provides:
                if self._tag_owner.get(tag) == tx.hash:
                    del self._tag_owner[tag]
            tx.priority = result.priority
            tx.requires = tuple(result.requires)
            tx.provides = tuple(result.provides)
            tx.valid_till = min(tx.valid_till, best_number + result.longevity)
            tx.propagate = result.propagate
            for tag in tx.provides:
                self._tag_owner.setdefault(tag, tx.hash)
        self._recompute(before)
        self._enforce_limits()

    def on_finalized(self, result: FinalityResult) -> None:
        """Report ``finalized`` for transactions included in the newly finalized blocks (after
        following the reorg that finality may have forced)."""
        if result.enacted or result.retracted:
            self.maintain(result.enacted, result.retracted)
        for block_hash in result.finalized:
            for tx_hash in self._in_block.by_block.pop(block_hash, []):
                self._in_block.block_of.pop(tx_hash, None)
                self._emit(tx_hash, TxStatus("finalized", block=block_hash))
