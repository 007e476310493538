"""Stateful property test: OverlayedChanges against a dict-stack model (RELIABILITY.md).

The model keeps one full ``dict`` view per open layer: ``start`` pushes a copy, ``commit`` pops
and replaces the layer below, ``rollback`` pops. Random sequences of set / delete / clear_prefix /
start / commit / rollback / drain must leave the overlay's merged view equal to the model's top
layer, with ``next_key`` and ``changes()`` consistent with it.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pychain.storage import DictBackend, NoOpenTransactionError, OverlayedChanges

KEYS = st.lists(st.sampled_from([0, 1, 2, 255]), min_size=1, max_size=3).map(bytes)
PREFIXES = st.lists(st.sampled_from([0, 1, 2, 255]), min_size=0, max_size=2).map(bytes)
VALUES = st.binary(max_size=3)


class OverlayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.backend: dict[bytes, bytes] = {}
        self.overlay = OverlayedChanges(DictBackend())
        self.layers: list[dict[bytes, bytes]] = [{}]

    @initialize(initial=st.dictionaries(KEYS, VALUES, max_size=12))
    def load_backend(self, initial: dict[bytes, bytes]) -> None:
        self.backend = dict(initial)
        self.overlay = OverlayedChanges(DictBackend(self.backend))
        self.layers = [dict(initial)]

    @property
    def view(self) -> dict[bytes, bytes]:
        return self.layers[-1]

    @rule(key=KEYS, value=VALUES)
    def set(self, key: bytes, value: bytes) -> None:
        self.overlay.set(key, value)
        self.view[key] = value

    @rule(key=KEYS)
    def delete(self, key: bytes) -> None:
        self.overlay.delete(key)
        self.view.pop(key, None)

    @rule(prefix=PREFIXES)
    def clear_prefix(self, prefix: bytes) -> None:
        doomed = [k for k in self.view if k.startswith(prefix)]
        result = self.overlay.clear_prefix(prefix)
        assert result.unique == len(doomed)
        assert result.maybe_cursor is None
        for k in doomed:
            del self.view[k]

    @rule(prefix=PREFIXES, limit=st.integers(0, 3))
    def clear_prefix_limited(self, prefix: bytes, limit: int) -> None:
        result = self.overlay.clear_prefix(prefix, limit=limit)
        assert result.loops <= limit
        # The model follows the overlay: a limited clear removes a subset of the prefixed keys.
        for k in [k for k in self.view if k.startswith(prefix)]:
            if self.overlay.get(k) is None:
                del self.view[k]
        # A cursor names the next backend key under the prefix not yet visited.
        cursor = result.maybe_cursor
        assert cursor is None or (cursor in self.backend and cursor.startswith(prefix))

    @rule()
    def start(self) -> None:
        self.overlay.start_transaction()
        self.layers.append(dict(self.view))

    @precondition(lambda self: len(self.layers) > 1)
    @rule()
    def commit(self) -> None:
        self.overlay.commit_transaction()
        top = self.layers.pop()
        self.layers[-1] = top

    @precondition(lambda self: len(self.layers) > 1)
    @rule()
    def rollback(self) -> None:
        self.overlay.rollback_transaction()
        self.layers.pop()

    @precondition(lambda self: len(self.layers) == 1)
    @rule()
    def commit_without_transaction_fails(self) -> None:
        try:
            self.overlay.commit_transaction()
        except NoOpenTransactionError:
            return
        raise AssertionError("commit_transaction at depth 0 did not raise")

    @precondition(lambda self: len(self.layers) == 1)
    @rule()
    def drain_into_backend(self) -> None:
        for key, value in self.overlay.drain().items():
            if value is None:
                self.backend.pop(key, None)
            else:
                self.backend[key] = value
        assert self.backend == self.view
        self.overlay = OverlayedChanges(DictBackend(self.backend))

    @rule(key=KEYS)
    def get_matches(self, key: bytes) -> None:
        assert self.overlay.get(key) == self.view.get(key)

    @invariant()
    def depth_matches(self) -> None:
        assert self.overlay.transaction_depth == len(self.layers) - 1

    @invariant()
    def merged_view_matches(self) -> None:
        assert list(self.overlay.iter_prefix()) == sorted(self.view.items())
        expected_next = sorted(self.view)
        for i, key in enumerate(expected_next):
            want = expected_next[i + 1] if i + 1 < len(expected_next) else None
            assert self.overlay.next_key(key) == want

    @invariant()
    def changes_apply_to_backend(self) -> None:
        applied = dict(self.backend)
        for key, value in self.overlay.changes().items():
            if value is None:
                applied.pop(key, None)
            else:
                applied[key] = value
        assert applied == self.view


OverlayMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestOverlayMatchesDictStackModel = OverlayMachine.TestCase
