"""Runtime storage overlay with nested transactional layers.

Mirrors Substrate's ``sp_state_machine::OverlayedChanges`` / ``OverlayedChangeSet``
(``primitives/state-machine/src/overlayed_changes/changeset.rs``): the runtime reads through the
overlay to a state backend (the trie at the parent block) and writes only to the overlay, which
keeps, for every key it touched, a stack with one value per open transactional layer in which
the key was written, plus one set of "dirty" keys per open layer. Hence:

* ``start_transaction`` pushes an empty dirty set: O(1);
* ``commit_transaction`` folds each dirty key's top value into the layer below;
  ``rollback_transaction`` pops it: both O(keys written in that layer), as in Substrate;
* ``get`` is a ``dict`` lookup, falling through to the backend; a deletion is a tombstone
  (``None``) that hides the backend's value;
* ``clear_prefix`` follows ``sp_state_machine::Ext::clear_prefix`` and returns Substrate's
  ``MultiRemovalResults`` (``maybe_cursor``, ``backend``, ``unique``, ``loops``);
* ``next_key`` merges the overlay's keys with ``StateBackend.next_storage_key`` (as
  ``Ext::next_storage_key``), skipping tombstones: the basis of ``sp_io::storage::next_key``
  and of ``state_getKeysPaged``;
* ``drain()`` (``drain_committed``) returns the final ``key -> value | None`` changes, in key
  order, to apply to the trie, and refuses while layers are open (Substrate panics there).

Differences: no child tries, no offchain overlay, no storage-change tracking per extrinsic and no
separate "runtime" vs "client" transaction kinds; the overlay's ordered key set is a lazily
merged sorted list instead of a ``BTreeMap``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import takewhile
from typing import Protocol, runtime_checkable

from pychain.storage.errors import (
    NoOpenTransactionError,
    StorageTypeError,
    TransactionStillOpenError,
)
from pychain.storage.kv import MAX_KEY_SIZE, KeyValueStore

__all__ = [
    "StateBackend",
    "DictBackend",
    "FunctionBackend",
    "KvColumnBackend",
    "MultiRemovalResults",
    "OverlayedChanges",
]


@runtime_checkable
class StateBackend(Protocol):
    """The read side under an overlay (``sp_state_machine::Backend``, reads only)."""

    def storage(self, key: bytes) -> bytes | None:
        """The value of ``key``, or ``None``."""
        ...

    def next_storage_key(self, key: bytes) -> bytes | None:
        """The smallest key strictly greater than ``key``, or ``None``."""
        ...


class DictBackend:
    """An immutable ``StateBackend`` over a mapping (genesis storage, tests)."""

    __slots__ = ("_data", "_keys")

    def __init__(self, data: Mapping[bytes, bytes] | None = None) -> None:
        items = dict(data or {})
        for key, value in items.items():
            if type(key) is not bytes or type(value) is not bytes:
                raise StorageTypeError("DictBackend keys and values must be bytes")
        self._data = items
        self._keys = sorted(items)

    def storage(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def next_storage_key(self, key: bytes) -> bytes | None:
        i = bisect_right(self._keys, key)
        return self._keys[i] if i < len(self._keys) else None

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True, slots=True)
class FunctionBackend:
    """A ``StateBackend`` made of two functions (e.g. bound methods of a trie)."""

    get: Callable[[bytes], bytes | None]
    next_key: Callable[[bytes], bytes | None]

    def storage(self, key: bytes) -> bytes | None:
        return self.get(key)

    def next_storage_key(self, key: bytes) -> bytes | None:
        return self.next_key(key)


class KvColumnBackend:
    """A ``StateBackend`` reading flat state from one column of a ``KeyValueStore``."""

    __slots__ = ("_store", "_column")

    def __init__(self, store: KeyValueStore, column: str) -> None:
        if not isinstance(store, KeyValueStore):
            raise StorageTypeError(f"expected a KeyValueStore, got {type(store).__name__}")
        store.get(column, b"\x00")  # raises UnknownColumnError at once for a bad column
        self._store: KeyValueStore = store
        self._column = column

    def storage(self, key: bytes) -> bytes | None:
        if not 0 < len(key) <= MAX_KEY_SIZE:
            return None  # the store cannot hold such a key, so it is absent
        return self._store.get(self._column, key)

    def next_storage_key(self, key: bytes) -> bytes | None:
        # ``key + b"\x00"`` is the smallest byte string greater than ``key``.
        for k, _ in self._store.iter_prefix(self._column, b"", start=key + b"\x00"):
            return k
        return None


@dataclass(frozen=True, slots=True)
class MultiRemovalResults:
    """Outcome of ``clear_prefix`` (``sp_io::MultiRemovalResults``).

    ``maybe_cursor``: where to continue when the backend limit was hit, else ``None``;
    ``backend``: backend keys newly deleted; ``unique``: keys newly deleted in total (overlay and
    backend, each once); ``loops``: backend keys visited.
    """

    maybe_cursor: bytes | None
    backend: int
    unique: int
    loops: int


# Up to this many keys added since the last ordered read are inserted one by one (bisect);
# more trigger one merge of the whole sorted list.
_INSORT_MAX = 64


def _check_key(key: object) -> bytes:
    if type(key) is bytes:
        return key
    raise StorageTypeError(f"storage key must be bytes, got {type(key).__name__}")


class OverlayedChanges:
    """Pending storage changes over a :class:`StateBackend`, with nested transactions."""

    __slots__ = ("_backend", "_changes", "_dirty", "_sorted", "_new_keys")

    def __init__(self, backend: StateBackend | None = None) -> None:
        if backend is None:
            backend = DictBackend()
        elif not isinstance(backend, StateBackend):
            raise StorageTypeError(
                f"backend must provide storage() and next_storage_key(), "
                f"got {type(backend).__name__}"
            )
        self._backend = backend
        # key -> stack of values, one per layer that wrote it (bottom may be the committed one)
        self._changes: dict[bytes, list[bytes | None]] = {}
        # one set of keys written per open transaction, innermost last
        self._dirty: list[set[bytes]] = []
        # ordered view of the overlay's keys: a sorted list (may hold keys no longer in
        # ``_changes``, skipped lazily) plus keys added since it was last sorted
        self._sorted: list[bytes] = []
        self._new_keys: list[bytes] = []

    @property
    def backend(self) -> StateBackend:
        return self._backend

    # -- transactions (OverlayedChangeSet::start/commit/rollback_transaction) ------------------

    @property
    def transaction_depth(self) -> int:
        """How many transactional layers are open."""
        return len(self._dirty)

    def start_transaction(self) -> None:
        """Open a new layer: later writes can be committed into or rolled back from it."""
        self._dirty.append(set())

    def commit_transaction(self) -> None:
        """Fold the innermost layer's writes into the layer below."""
        if not self._dirty:
            raise NoOpenTransactionError("commit_transaction with no open transaction")
        top = self._dirty.pop()
        changes = self._changes
        parent = self._dirty[-1] if self._dirty else None
        for key in top:
            stack = changes[key]
            if parent is not None:
                has_predecessor = key in parent
                if not has_predecessor:
                    parent.add(key)
            else:
                has_predecessor = len(stack) > 1
            if has_predecessor:
                value = stack.pop()
                stack[-1] = value

    def rollback_transaction(self) -> None:
        """Discard the innermost layer's writes."""
        if not self._dirty:
            raise NoOpenTransactionError("rollback_transaction with no open transaction")
        top = self._dirty.pop()
        changes = self._changes
        for key in top:
            stack = changes[key]
            stack.pop()
            if not stack:
                del changes[key]

    # -- reads ---------------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        """The value of ``key`` in the merged view (overlay over backend)."""
        if type(key) is not bytes:
            raise StorageTypeError(f"storage key must be bytes, got {type(key).__name__}")
        stack = self._changes.get(key)
        if stack is not None:
            return stack[-1]
        return self._backend.storage(key)

    def exists(self, key: bytes) -> bool:
        """Whether ``key`` has a value in the merged view."""
        return self.get(key) is not None

    def overlay_value(self, key: bytes) -> tuple[bool, bytes | None]:
        """``(True, value_or_None)`` if the overlay holds ``key`` (``None`` = tombstone)."""
        stack = self._changes.get(_check_key(key))
        if stack is None:
            return False, None
        return True, stack[-1]

    # -- writes --------------------------------------------------------------------------------

    def set(self, key: bytes, value: bytes | None) -> None:
        """Write ``value`` under ``key`` in the current layer (``None`` deletes)."""
        if type(key) is not bytes:
            raise StorageTypeError(f"storage key must be bytes, got {type(key).__name__}")
        if value is not None and type(value) is not bytes:
            raise StorageTypeError(f"storage value must be bytes, got {type(value).__name__}")
        stack = self._changes.get(key)
        dirty = self._dirty
        if stack is None:
            self._changes[key] = [value]
            self._new_keys.append(key)
            if dirty:
                dirty[-1].add(key)
        elif not dirty:
            stack[-1] = value
        else:
            top = dirty[-1]
            if key in top:
                stack[-1] = value
            else:
                stack.append(value)
                top.add(key)

    def delete(self, key: bytes) -> None:
        """Delete ``key`` (a tombstone hiding the backend's value)."""
        self.set(key, None)

    def clear_prefix(
        self, prefix: bytes, limit: int | None = None, maybe_cursor: bytes | None = None
    ) -> MultiRemovalResults:
        """Delete every key starting with ``prefix`` (``Ext::clear_prefix``).

        All overlay keys under ``prefix`` are deleted; at most ``limit`` backend keys are visited
        (starting after ``maybe_cursor`` when given). When the limit stops the scan, the result's
        ``maybe_cursor`` is the next backend key to continue from.
        """
        prefix = _check_key(prefix)
        if limit is not None and (type(limit) is not int or limit < 0):
            raise StorageTypeError(f"limit must be a non-negative int or None, got {limit!r}")
        if maybe_cursor is not None:
            maybe_cursor = _check_key(maybe_cursor)
        overlay_count = 0
        # Verify nothing is skipped: collect the overlay's keys first, then write tombstones.
        matching = list(
            takewhile(lambda k: k.startswith(prefix), self._overlay_keys_from(prefix, True))
        )
        for key in matching:
            if self._changes[key][-1] is not None:
                overlay_count += 1
                self.set(key, None)
        backend = self._backend
        backend_count = 0
        loops = 0
        start = prefix if maybe_cursor is None else max(prefix, maybe_cursor)
        cursor = start if backend.storage(start) is not None else backend.next_storage_key(start)
        while cursor is not None and cursor.startswith(prefix):
            if limit is not None and loops >= limit:
                return MultiRemovalResults(
                    cursor, backend_count, overlay_count + backend_count, loops
                )
            loops += 1
            stack = self._changes.get(cursor)
            if stack is None or stack[-1] is not None:
                backend_count += 1
            self.set(cursor, None)
            cursor = backend.next_storage_key(cursor)
        return MultiRemovalResults(None, backend_count, overlay_count + backend_count, loops)

    # -- ordered view --------------------------------------------------------------------------

    def _refresh_sorted(self) -> None:
        new_keys = self._new_keys
        if not new_keys:
            return
        keys = self._sorted
        if len(new_keys) <= _INSORT_MAX:
            for k in new_keys:
                i = bisect_left(keys, k)
                if i == len(keys) or keys[i] != k:
                    keys.insert(i, k)
        else:
            # Full rebuild: timsort merges the two runs in about linear time; drop keys that a
            # rollback removed and duplicates of keys removed and written again.
            changes = self._changes
            merged = keys + new_keys
            merged.sort()
            out: list[bytes] = []
            prev: bytes | None = None
            for k in merged:
                if k != prev:
                    prev = k
                    if k in changes:
                        out.append(k)
            self._sorted = out
        self._new_keys = []

    def _overlay_keys_from(self, key: bytes, inclusive: bool) -> Iterator[bytes]:
        """Overlay keys (tombstones included) ``>= key`` (or ``> key``), ascending.

        The iterator stops being valid as soon as the overlay is written to.
        """
        self._refresh_sorted()
        keys = self._sorted
        changes = self._changes
        i = bisect_left(keys, key) if inclusive else bisect_right(keys, key)
        n = len(keys)
        while i < n:
            k = keys[i]
            if k in changes:
                yield k
            i += 1

    def _overlay_next(self, key: bytes) -> bytes | None:
        return next(self._overlay_keys_from(key, inclusive=False), None)

    def next_key(self, key: bytes) -> bytes | None:
        """The smallest key ``> key`` that has a value in the merged view, or ``None``."""
        key = _check_key(key)
        backend = self._backend
        ov = self._overlay_next(key)
        bk = backend.next_storage_key(key)
        changes = self._changes
        while True:
            if ov is None:
                return bk
            if bk is not None and bk < ov:
                return bk
            if changes[ov][-1] is not None:
                return ov
            # ``ov`` is a tombstone: skip it, and the backend key equal to it.
            if bk == ov:
                bk = backend.next_storage_key(ov)
            ov = self._overlay_next(ov)

    def iter_prefix(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """``(key, value)`` pairs of the merged view whose key starts with ``prefix``, ascending.

        Writes made while iterating are seen from the next key on.
        """
        return self._iter_prefix(_check_key(prefix))

    def _iter_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        first = self.get(prefix)
        if first is not None:
            yield prefix, first
        key = self.next_key(prefix)
        while key is not None and key.startswith(prefix):
            value = self.get(key)
            if value is not None:
                yield key, value
            key = self.next_key(key)

    # -- output (OverlayedChanges::drain_committed / changes) ----------------------------------

    def changes(self) -> dict[bytes, bytes | None]:
        """The current overlay (open layers included) as ``key -> value | None``, key-ordered."""
        self._refresh_sorted()
        changes = self._changes
        return {k: changes[k][-1] for k in self._sorted if k in changes}

    def drain(self) -> dict[bytes, bytes | None]:
        """Take the committed changes (key-ordered) and empty the overlay.

        Raises :class:`TransactionStillOpenError` if a transactional layer is open.
        """
        if self._dirty:
            raise TransactionStillOpenError(
                f"drain with {len(self._dirty)} transactional layer(s) still open"
            )
        out = self.changes()
        self._changes = {}
        self._sorted = []
        self._new_keys = []
        return out

    def __len__(self) -> int:
        """How many keys the overlay holds (tombstones included)."""
        return len(self._changes)

    def __repr__(self) -> str:
        return f"OverlayedChanges({len(self._changes)} keys, depth {len(self._dirty)})"
