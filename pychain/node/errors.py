"""Typed errors of the node service (``sc-service`` / ``sc-cli`` errors in Substrate).

One root, :class:`NodeError`, deriving from :class:`~pychain.errors.PychainError`. Errors from the
layers the node assembles (chain, storage, genesis, keys) keep their own types; the node wraps
them only where it adds context (e.g. which database refused which genesis).
"""

from __future__ import annotations

from pychain.errors import PychainError

__all__ = ["NodeError", "NodeConfigError", "DatabaseGenesisMismatch", "KeyUnavailable"]


class NodeError(PychainError):
    """Root of the node's errors."""


class NodeConfigError(NodeError):
    """The node configuration (CLI flags, chain spec choice) is unusable."""


class DatabaseGenesisMismatch(NodeError):
    """The database under the base path belongs to another chain (another genesis)."""


class KeyUnavailable(NodeError):
    """A validator key the node needs is neither a dev key nor in the keystore."""
