"""Node stores: where the encoded nodes of the trie live, keyed by their blake2-256 hash.

Mirrors ``hash_db::HashDB`` as used by ``sp_trie`` (``MemoryDB`` in tests, the state column of
the client database in a node). Nodes are content-addressed, so writing a node that is already
there is harmless; old nodes are kept (no reference counting or pruning yet). Value nodes of
layout V1 (values of 33 bytes or more) live in the same store under blake2-256(value).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol, runtime_checkable

__all__ = ["NodeStore", "MemoryNodeStore"]


@runtime_checkable
class NodeStore(Protocol):
    """Read nodes by hash and write a batch of new ones (one write transaction in LMDB)."""

    def get(self, node_hash: bytes) -> bytes | None:
        """The encoding stored under ``node_hash``, or ``None``."""
        ...

    def put_batch(self, nodes: Mapping[bytes, bytes]) -> None:
        """Store every ``hash -> encoding`` of ``nodes`` at once."""
        ...


class MemoryNodeStore:
    """In-memory :class:`NodeStore` (a dict), the twin of the LMDB-backed one."""

    __slots__ = ("_nodes",)

    def __init__(self, nodes: Mapping[bytes, bytes] | None = None) -> None:
        self._nodes: dict[bytes, bytes] = dict(nodes) if nodes else {}

    def get(self, node_hash: bytes) -> bytes | None:
        return self._nodes.get(node_hash)

    def put_batch(self, nodes: Mapping[bytes, bytes]) -> None:
        self._nodes.update(nodes)

    def __contains__(self, node_hash: object) -> bool:
        return node_hash in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._nodes)
