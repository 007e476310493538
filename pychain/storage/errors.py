"""Typed errors of the storage layer (``pychain.storage``).

Substrate's ``kvdb`` returns ``io::Error`` and ``sp_state_machine`` returns
``DefaultError``/panics on misuse of the overlay's transactional layers; pychain raises one typed
exception tree instead, rooted at :class:`StorageError` (a :class:`~pychain.errors.PychainError`).
"""

from __future__ import annotations

from pychain.errors import PychainError

__all__ = [
    "StorageError",
    "StorageTypeError",
    "InvalidKeyError",
    "UnknownColumnError",
    "StoreClosedError",
    "BatchClosedError",
    "StorageOpenError",
    "StorageFullError",
    "StorageBackendError",
    "TransactionError",
    "NoOpenTransactionError",
    "TransactionStillOpenError",
]


class StorageError(PychainError):
    """Root of every error raised on purpose by ``pychain.storage``."""


class StorageTypeError(StorageError, TypeError):
    """A key, value, column or argument of the wrong Python type (e.g. ``str`` where bytes go)."""


class InvalidKeyError(StorageError, ValueError):
    """A key the store cannot hold: empty, or longer than :data:`~pychain.storage.kv.MAX_KEY_SIZE`."""


class UnknownColumnError(StorageError, KeyError):
    """A column (named database) that the store was not opened with."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else "unknown column"


class StoreClosedError(StorageError):
    """The store was closed; it can no longer be read or written."""


class BatchClosedError(StorageError):
    """A write batch was used after its ``with`` block ended (committed or discarded)."""


class StorageOpenError(StorageError):
    """The store could not be opened (bad path, permissions, incompatible file)."""


class StorageFullError(StorageError):
    """A write did not fit even after growing the map to its configured maximum."""


class StorageBackendError(StorageError):
    """An unexpected error from the underlying database engine (LMDB), wrapped."""


class TransactionError(StorageError):
    """Misuse of the overlay's nested transactional layers."""


class NoOpenTransactionError(TransactionError):
    """``commit_transaction``/``rollback_transaction`` with no transaction open."""


class TransactionStillOpenError(TransactionError):
    """``drain()`` while transactional layers are still open (Substrate panics here)."""
