"""Root of pychain's typed errors.

Every package defines its own subclass (``ScaleError``, ``TrieError``, ``StorageError``, …) so that a
caller can catch one package's failures, or all of pychain's with ``PychainError``.
"""


class PychainError(Exception):
    """Base class of every error raised on purpose by pychain."""
