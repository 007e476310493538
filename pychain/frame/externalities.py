"""The runtime's view of state: the ``Externalities`` interface and the current-externalities context.

Mirrors ``sp_externalities::Externalities`` and ``sp_io``'s ``set_and_run_with_externalities``: pallet
code reads and writes storage through module-level storage descriptors (``Balances.Account.get(who)``),
which find the state they act on in a context variable set by whoever executes the runtime (the
executive during block execution, ``TestExternalities.execute_with`` in tests). This keeps pallet code
shaped like FRAME's while the state backend stays explicit.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from pychain.frame.dispatch import FrameError

R = TypeVar("R")


class NoExternalitiesError(FrameError):
    """Storage was accessed outside ``execute_with`` / block execution."""


class Externalities(Protocol):
    """What the runtime needs from state: key-value access with nested transactions."""

    def storage_get(self, key: bytes) -> bytes | None: ...

    def storage_set(self, key: bytes, value: bytes) -> None: ...

    def storage_clear(self, key: bytes) -> None: ...

    def storage_exists(self, key: bytes) -> bool: ...

    def clear_prefix(self, prefix: bytes, limit: int | None = None) -> int:
        """Delete keys starting with ``prefix`` (at most ``limit``); returns how many."""
        ...

    def next_key(self, key: bytes) -> bytes | None:
        """The smallest key strictly greater than ``key`` in the merged view, or None."""
        ...

    def start_transaction(self) -> None: ...

    def commit_transaction(self) -> None: ...

    def rollback_transaction(self) -> None: ...

    def storage_root(self, state_version: int) -> bytes:
        """Trie root of the state with all pending changes applied."""
        ...


_CURRENT: contextvars.ContextVar[Externalities | None] = contextvars.ContextVar(
    "pychain_externalities", default=None
)


def current() -> Externalities:
    """The externalities the runtime is executing against."""
    ext = _CURRENT.get()
    if ext is None:
        raise NoExternalitiesError(
            "no externalities set: run runtime code inside execute_with(ext, …) or block execution"
        )
    return ext


@contextmanager
def using(ext: Externalities) -> Iterator[Externalities]:
    """Make ``ext`` the current externalities inside the ``with`` block (re-entrant)."""
    token = _CURRENT.set(ext)
    try:
        yield ext
    finally:
        _CURRENT.reset(token)


def execute_with(ext: Externalities, fn: Callable[[], R]) -> R:
    """Run ``fn`` with ``ext`` as the current externalities (``TestExternalities::execute_with``)."""
    with using(ext):
        return fn()


def iter_prefix_keys(prefix: bytes) -> Iterator[bytes]:
    """All keys of the current state that start with ``prefix``, in ascending order."""
    ext = current()
    key = ext.next_key(prefix) if not ext.storage_exists(prefix) else prefix
    while key is not None and key.startswith(prefix):
        yield key
        key = ext.next_key(key)


def with_transaction(fn: Callable[[], R]) -> R:
    """Run ``fn`` in a storage layer: committed if it returns, rolled back if it raises."""
    ext = current()
    ext.start_transaction()
    try:
        result = fn()
    except BaseException:
        ext.rollback_transaction()
        raise
    ext.commit_transaction()
    return result
