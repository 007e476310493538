"""Typed errors of the local testnet orchestrator (:mod:`pychain.testnet`).

Counterpart: the error kinds zombienet reports (bad network file, a node that failed to spawn, an
RPC that did not answer, a wait that timed out). One root, :class:`TestnetError`, derives from
:class:`pychain.errors.PychainError`.
"""

from __future__ import annotations

from pychain.errors import PychainError


class TestnetError(PychainError):
    """Root of every error the testnet orchestrator raises on purpose."""

    __test__ = False  # not a pytest class, despite the name


class TestnetConfigError(TestnetError):
    """A network file (TOML) or a CLI value that does not describe a valid testnet."""


class NodeProcessError(TestnetError):
    """A node process could not be started, stopped or found."""


class TestnetRpcError(TestnetError):
    """A JSON-RPC call to a node failed (connection, HTTP status, JSON-RPC error object)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class WaitTimeout(TestnetError):
    """:meth:`pychain.testnet.network.Testnet.wait_for` ran out of time."""


class PartitionError(TestnetError):
    """A network partition could not be installed or removed (nftables or relay)."""
