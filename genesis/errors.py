"""Typed errors of the ``genesis`` package (chain specs, genesis storage and block).

``GenesisError`` is the package root; it derives from :class:`pychain.errors.PychainError`.
"""

from __future__ import annotations

from pychain.errors import PychainError

__all__ = ["GenesisError", "ChainSpecError"]


class GenesisError(PychainError):
    """Root of the genesis package's errors."""


class ChainSpecError(GenesisError):
    """A chain spec is missing, malformed, or its genesis storage is invalid."""
