"""Typed errors of the networking layer (``sc-network``'s error kinds, trimmed).

Every failure on bytes from a peer, a refused handshake, a timed-out request or a bad node key
raises a subclass of :class:`NetworkError`, itself a :class:`~pychain.errors.PychainError`.
"""

from __future__ import annotations

from pychain.errors import PychainError

__all__ = [
    "NetworkError",
    "MessageDecodeError",
    "MessageTooLarge",
    "HandshakeRefused",
    "PeerBanned",
    "RequestFailed",
    "RequestTimeout",
    "UnknownPeer",
    "NodeKeyError",
    "NotStarted",
    "SyncError",
]


class NetworkError(PychainError):
    """Root of the networking layer's errors."""


class MessageDecodeError(NetworkError):
    """Bytes from a peer are not a valid encoding of the expected message."""


class MessageTooLarge(MessageDecodeError):
    """A message (or a length it declares) exceeds the protocol's maximum."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} of {size} byte(s)/item(s) exceeds the limit {limit}")
        self.size = size
        self.limit = limit


class HandshakeRefused(NetworkError):
    """The ``Status`` handshake failed: another genesis, a banned peer, or a broken stream."""


class PeerBanned(HandshakeRefused):
    """The peer is banned for a while (its reputation fell below the ban threshold)."""


class UnknownPeer(NetworkError):
    """The peer is not connected (no completed handshake)."""


class RequestFailed(NetworkError):
    """A request/response exchange failed (stream error, refused, or a bad response)."""


class RequestTimeout(RequestFailed):
    """No response arrived before the request's deadline."""


class NodeKeyError(NetworkError):
    """The node key (``--node-key``, ``--node-key-file`` or ``network/secret_ed25519``) is bad."""


class NotStarted(NetworkError):
    """The network service was used before :meth:`start` (or after it stopped)."""


class SyncError(NetworkError):
    """Block sync could not make progress with a peer (bad or inconsistent responses)."""
