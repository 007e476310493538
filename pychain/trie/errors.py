"""Errors of the state trie (``pychain.trie``).

Mirrors the error kinds of ``trie-db`` / ``sp-trie``: ``TrieError::IncompleteDatabase`` (a node the
walk needs is not in the store), ``DecoderError`` (bytes that are not a node encoding) and
``sp_trie::VerifyError`` / ``StorageProof`` check failures (an incomplete or tampered read proof).
"""

from __future__ import annotations

from pychain.errors import PychainError

__all__ = ["TrieError", "InvalidNode", "MissingNode", "InvalidProof"]


class TrieError(PychainError):
    """Root of every error raised by ``pychain.trie`` (bad arguments included)."""


class InvalidNode(TrieError):
    """Bytes that are not a valid node encoding of the Substrate trie codec."""


class MissingNode(TrieError):
    """A node or value node needed by a walk is not in the node store (``IncompleteDatabase``)."""

    def __init__(self, node_hash: bytes) -> None:
        super().__init__(f"trie node 0x{node_hash.hex()} is not in the node store")
        self.node_hash = node_hash


class InvalidProof(TrieError):
    """A read proof does not prove the requested keys against the given root."""
