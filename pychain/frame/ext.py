"""Externalities over an overlay: what block execution and tests run the runtime against.

Mirrors ``sp_state_machine::Ext`` over ``OverlayedChanges``, including ``storage_append`` (used by
``System.Events``): appended items are kept as a list per key and materialised as
``compact(n) ++ items`` only when the value is read, overwritten or the block ends, so depositing
n events costs O(n), not O(n²). Appends take part in transactions like every other write.

``TestExternalities`` is the in-memory version used by pallet tests (``new_test_ext()`` in FRAME);
its storage root is computed from scratch over the merged state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from pychain.frame.dispatch import FrameError
from pychain.frame.externalities import using
from pychain.primitives.scale import ScaleDecodeError, decode_compact, encode_compact
from pychain.storage.overlay import DictBackend, OverlayedChanges, StateBackend
from pychain.trie import trie_root

R = TypeVar("R")


@dataclass
class _AppendLayer:
    """What a transaction needs to undo appends: for each key, the item count at this layer's
    first append (``marks``), and the item list to restore if the key was overwritten in this
    layer (``resets``)."""

    marks: dict[bytes, int] = field(default_factory=dict)
    resets: dict[bytes, list[bytes]] = field(default_factory=dict)


class OverlayExt:
    """``Externalities`` over :class:`OverlayedChanges` on a state backend.

    ``root_of(changes, state_version)`` computes the trie root of the backend state with the given
    changes applied; the chain passes an incremental-trie version, tests a from-scratch one.
    """

    def __init__(
        self,
        backend: StateBackend,
        root_of: Callable[[Mapping[bytes, bytes | None], int], bytes],
    ) -> None:
        self.overlay = OverlayedChanges(backend)
        self._root_of = root_of
        # key -> appended items not yet merged into the overlay value
        self._appends: dict[bytes, list[bytes]] = {}
        # one record per open transaction (see _AppendLayer)
        self._layers: list[_AppendLayer] = []

    # --------------------------------------------------------------------------- appends

    def _materialize(self, key: bytes) -> bytes:
        """The value at ``key`` with its pending appended items (reads never write)."""
        items = self._appends[key]
        base = self.overlay.get(key)
        count, body = 0, b""
        if base is not None:
            try:
                count, pos = decode_compact(base, 0, 32)
                body = base[pos:]
            except ScaleDecodeError:
                # Not a vector: appending replaces it, as ``StorageAppend`` does with a bad value.
                count, body = 0, b""
        return encode_compact(count + len(items)) + body + b"".join(items)

    def _reset_appends(self, key: bytes) -> None:
        """Before ``key`` is overwritten: drop its pending items, remembering (per open layer) the
        list to restore if that layer is rolled back."""
        items = self._appends.pop(key, None)
        if items is None or not self._layers:
            return
        top = self._layers[-1]
        if key not in top.resets:
            mark = top.marks.get(key)
            top.resets[key] = items if mark is None else items[:mark]

    def storage_append(self, key: bytes, item: bytes) -> None:
        """Append one SCALE-encoded item to the ``Vec`` stored at ``key``."""
        items = self._appends.get(key)
        if items is None:
            items = self._appends[key] = []
        if self._layers:
            top = self._layers[-1]
            if key not in top.marks and key not in top.resets:
                top.marks[key] = len(items)
        items.append(item)

    # --------------------------------------------------------------------- Externalities

    def storage_get(self, key: bytes) -> bytes | None:
        if key in self._appends:
            return self._materialize(key)
        return self.overlay.get(key)

    def storage_set(self, key: bytes, value: bytes) -> None:
        if key in self._appends:
            self._reset_appends(key)
        self.overlay.set(key, value)

    def storage_clear(self, key: bytes) -> None:
        if key in self._appends:
            self._reset_appends(key)
        self.overlay.delete(key)

    def storage_exists(self, key: bytes) -> bool:
        return key in self._appends or self.overlay.exists(key)

    def clear_prefix(self, prefix: bytes, limit: int | None = None) -> int:
        for key in [k for k in self._appends if k.startswith(prefix)]:
            self._reset_appends(key)
        return self.overlay.clear_prefix(prefix, limit).unique

    def next_key(self, key: bytes) -> bytes | None:
        found = self.overlay.next_key(key)
        for appended in self._appends:
            if appended > key and (found is None or appended < found):
                found = appended
        return found

    def start_transaction(self) -> None:
        self.overlay.start_transaction()
        self._layers.append(_AppendLayer())

    def commit_transaction(self) -> None:
        self.overlay.commit_transaction()
        layer = self._layers.pop()
        if not self._layers:
            return
        outer = self._layers[-1]
        for key, restore in layer.resets.items():
            if key not in outer.resets:
                mark = outer.marks.get(key)
                outer.resets[key] = restore if mark is None else restore[:mark]
        for key, mark in layer.marks.items():
            if key not in outer.marks and key not in outer.resets:
                outer.marks[key] = mark

    def rollback_transaction(self) -> None:
        self.overlay.rollback_transaction()
        layer = self._layers.pop()
        for key, mark in layer.marks.items():
            if key in layer.resets:
                continue
            items = self._appends.get(key)
            if items is not None:
                del items[mark:]
                if not items:
                    del self._appends[key]
        for key, restore in layer.resets.items():
            if restore:
                self._appends[key] = list(restore)
            else:
                self._appends.pop(key, None)

    def changes(self) -> dict[bytes, bytes | None]:
        """Pending changes with appended items materialised (key-ordered)."""
        changes = self.overlay.changes()
        if self._appends:
            for key in self._appends:
                changes[key] = self._materialize(key)
            changes = dict(sorted(changes.items()))
        return changes

    def storage_root(self, state_version: int = 0) -> bytes:
        return self._root_of(self.changes(), state_version)

    def drain(self) -> dict[bytes, bytes | None]:
        """Final changes (appends merged), emptying the overlay; no layer may be open."""
        if self._layers:
            raise FrameError(f"drain with {len(self._layers)} transactional layer(s) still open")
        for key in list(self._appends):
            self.overlay.set(key, self._materialize(key))
        self._appends.clear()
        return self.overlay.drain()

    def execute_with(self, fn: Callable[[], R]) -> R:
        with using(self):
            return fn()


class TestExternalities(OverlayExt):
    """In-memory externalities for tests: a dict backend, from-scratch storage root."""

    __test__ = False  # not a pytest test class

    def __init__(self, storage: Mapping[bytes, bytes] | None = None) -> None:
        self._base = dict(storage or {})
        super().__init__(DictBackend(self._base), self._root_from_scratch)

    def _root_from_scratch(self, changes: Mapping[bytes, bytes | None], state_version: int) -> bytes:
        merged = dict(self._base)
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return trie_root(merged, state_version)

    def commit_all(self) -> None:
        """Apply pending changes to the base state (as ``TestExternalities::commit_all``)."""
        for key, value in self.drain().items():
            if value is None:
                self._base.pop(key, None)
            else:
                self._base[key] = value
        self.overlay = OverlayedChanges(DictBackend(self._base))
