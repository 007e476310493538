"""FRAME-like test helpers: ``assert_ok``, ``assert_noop``, ``assert_err``, ``assert_last_event``,
``run_to_block`` and a ``TestChain`` that wraps a runtime, its executive and in-memory state.

Mirrors ``frame_support::{assert_ok, assert_noop, assert_err}`` and the ``run_to_block`` helper of
pallet mocks. ``assert_noop`` checks that the call fails with the given error *and* that the
storage root is unchanged, as FRAME's does. Pallet tests run ``try_state`` after every test via
``TestChain.check_try_state`` (the test modules' fixtures call it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pychain.frame.dispatch import DispatchError, Origin
from pychain.frame.executive import Executive
from pychain.frame.ext import TestExternalities
from pychain.frame.externalities import current, using
from pychain.frame.runtime import Runtime, RuntimeCall
from pychain.primitives.scale import Struct


def assert_ok(result_fn: Callable[[], Any]) -> Any:
    """Run a dispatch and require it to succeed; returns its result."""
    try:
        return result_fn()
    except DispatchError as exc:  # pragma: no cover - the assertion message is the point
        raise AssertionError(f"expected Ok, got {exc}") from exc


def assert_err(result_fn: Callable[[], Any], expected: DispatchError) -> None:
    """Require the dispatch to fail with exactly ``expected``."""
    try:
        result_fn()
    except DispatchError as exc:
        assert exc == expected, f"expected {expected}, got {exc}"
        return
    raise AssertionError(f"expected {expected}, got Ok")


def assert_noop(result_fn: Callable[[], Any], expected: DispatchError, state_version: int = 1) -> None:
    """Require the dispatch to fail with ``expected`` and to leave the storage root unchanged."""
    ext = current()
    before = ext.storage_root(state_version)
    ext.start_transaction()
    try:
        assert_err(result_fn, expected)
    finally:
        ext.commit_transaction()
    after = ext.storage_root(state_version)
    assert before == after, "storage changed although the call failed (not a no-op)"


class TestChain:
    """A runtime with its executive over :class:`TestExternalities`, driven block by block.

    ``dispatch`` calls go through ``Runtime.dispatch`` (with its transactional layer) inside the
    current block; ``run_to_block(n)`` finalizes blocks up to ``n`` calling every hook.
    """

    __test__ = False

    def __init__(self, runtime: Runtime, executive: Executive, ext: TestExternalities) -> None:
        self.runtime = runtime
        self.executive = executive
        self.ext = ext
        self.headers: list[Any] = []
        self._in_block = False

    def __enter__(self) -> TestChain:
        self._ctx = using(self.ext)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)

    @property
    def system(self) -> Any:
        return self.runtime.system

    def block_number(self) -> int:
        number: int = self.system.Number.get()
        return number

    def start_block(self, number: int | None = None, digest: list[Any] | None = None) -> None:
        if number is None:
            number = self.block_number() + 1
        parent = self.headers[-1].hash() if self.headers else bytes(32)
        self.executive.initialize_block(parent, number, digest or [])
        self._in_block = True

    def finish_block(self) -> Any:
        header = self.executive.finalize_block()
        self.headers.append(header)
        self._in_block = False
        return header

    def run_to_block(self, n: int) -> None:
        """Finalize the current block (if any) and run empty blocks until block ``n`` is open."""
        if self._in_block:
            self.finish_block()
        while self.block_number() < n:
            self.start_block()
            if self.block_number() < n:
                self.finish_block()

    def dispatch(self, call: RuntimeCall, origin: Origin) -> Any:
        if not self._in_block:
            self.start_block()
        return self.runtime.dispatch(call, origin)

    def call(self, origin: Origin, pallet: str, name: str, **kwargs: Any) -> Any:
        """Dispatch ``pallet.name(**kwargs)`` with ``origin`` in the current block."""
        return self.dispatch(self.runtime.make_call(pallet, name, **kwargs), origin)

    def events(self) -> list[Any]:
        return [record.event for record in self.system.events()]

    def last_event(self) -> Any:
        events = self.events()
        assert events, "no events were deposited"
        return events[-1]

    def assert_last_event(self, pallet: str, event: Struct) -> None:
        last = self.last_event()
        assert (last.pallet, last.event) == (pallet, event), f"last event is {last}"

    def assert_has_event(self, pallet: str, event: Struct) -> None:
        assert any(
            (e.pallet, e.event) == (pallet, event) for e in self.events()
        ), f"{pallet}.{event} not among {self.events()}"

    def storage_root(self) -> bytes:
        root: bytes = self.ext.storage_root(self.system.config.state_version)
        return root

    def check_try_state(self) -> None:
        self.runtime.try_state(self.block_number())
