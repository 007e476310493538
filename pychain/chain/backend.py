"""State backend for block execution: the state trie read from the node database, incrementally.

Mirrors ``sp_state_machine::TrieBackend`` over ``sc-client-db``'s ``STATE`` column (Polkadot spec,
"State Storage and the Trie"; DESIGN.md §5):

* :class:`KvNodeStore` -- a ``hash_db::HashDB``-like :class:`~pychain.trie.NodeStore` over the
  ``trie_nodes`` column of a :class:`~pychain.storage.KeyValueStore`, optionally layered over
  pending nodes not yet written (a block built by this node and not yet imported);
* :class:`StateTrie` -- :class:`~pychain.trie.Trie` plus the ordered seek ``next_key`` that
  ``sp_io::storage::next_key`` needs (``TrieDB::iter().seek()``);
* :class:`TrieBackend` -- the read side under an :class:`~pychain.storage.OverlayedChanges`
  (``storage`` / ``next_storage_key``) at one state root;
* :class:`IncrementalRoot` -- the ``root_of`` given to :class:`~pychain.frame.ext.OverlayExt`:
  applies the overlay's changes to the parent's trie (``Trie.update`` + ``root``), and keeps that
  trie so that the block's new nodes can be committed in the block's write batch
  (``Backend::storage_root`` + ``commit``);
* :func:`new_block_ext` -- the externalities a block (or a runtime API call) executes against.

Differences from Substrate: no child tries in the backend (the runtime here writes none), no state
pruning or reference counting (old nodes stay, as an archive node), and no node cache shared
between blocks beyond what the LMDB page cache gives.
"""

from __future__ import annotations

from collections.abc import Mapping

from pychain.frame.ext import OverlayExt
from pychain.storage.kv import COL_TRIE_NODES, KeyValueStore, WriteBatch
from pychain.trie import EMPTY_TRIE_ROOT, Trie, TrieCommit
from pychain.trie.codec import NIBBLE_INDEX, Node

__all__ = [
    "KvNodeStore",
    "StateTrie",
    "TrieBackend",
    "IncrementalRoot",
    "new_block_ext",
    "write_nodes",
]


class KvNodeStore:
    """A :class:`~pychain.trie.NodeStore` over the ``trie_nodes`` column of a KV store.

    ``pending`` holds nodes that are not in the database yet (the post-state of a block this node
    built); reads look there first. :meth:`put_batch` writes in its own write transaction; block
    import instead adds the nodes to the block's batch with :func:`write_nodes`.
    """

    __slots__ = ("_kv", "_column", "_pending")

    def __init__(
        self,
        kv: KeyValueStore,
        pending: Mapping[bytes, bytes] | None = None,
        column: str = COL_TRIE_NODES,
    ) -> None:
        self._kv = kv
        self._column = column
        self._pending: Mapping[bytes, bytes] = pending if pending is not None else {}

    def get(self, node_hash: bytes) -> bytes | None:
        node = self._pending.get(node_hash)
        if node is not None:
            return node
        return self._kv.get(self._column, node_hash)

    def put_batch(self, nodes: Mapping[bytes, bytes]) -> None:
        with self._kv.batch() as batch:
            write_nodes(batch, nodes, self._column)


def write_nodes(
    batch: WriteBatch, nodes: Mapping[bytes, bytes], column: str = COL_TRIE_NODES
) -> None:
    """Add trie nodes (``hash -> encoding``) to a write batch (content-addressed: idempotent)."""
    for node_hash, encoding in nodes.items():
        batch.put(column, node_hash, encoding)


class StateTrie(Trie):
    """A :class:`~pychain.trie.Trie` with an ordered seek (``next_key``)."""

    def next_key(self, key: bytes) -> bytes | None:
        """The smallest key strictly greater than ``key`` that holds a value, or ``None``.

        Walks down the path of ``key``: subtrees whose path sorts after it yield their first key;
        those sorting before it are skipped without being read. Nibble paths are lowercase hex
        strings, whose order is the byte order of the keys.
        """
        if self._root is None:
            return None
        found = self._seek(self._root, "", bytes(key).hex())
        return None if found is None else bytes.fromhex(found)

    def _seek(self, node: Node, path: str, target: str) -> str | None:
        full = path + node.partial
        n = min(len(full), len(target))
        head, want = full[:n], target[:n]
        if head < want:
            return None  # every key below sorts before the target
        if head > want or len(full) > len(target):
            return self._first(node, path)  # every key below sorts after the target
        # ``full`` is a prefix of (or equal to) ``target``: the node's own key is <= target.
        if node.children is None:
            return None
        start = 0
        if len(full) < len(target):
            index = NIBBLE_INDEX[target[len(full)]]
            child = self._child(node, index)
            if child is not None:
                found = self._seek(child, full + target[len(full)], target)
                if found is not None:
                    return found
            start = index + 1
        for i in range(start, 16):
            child = self._child(node, i)
            if child is not None:
                found = self._first(child, full + "0123456789abcdef"[i])
                if found is not None:
                    return found
        return None

    def _first(self, node: Node, path: str) -> str | None:
        """The smallest key in the subtree of ``node`` (reached through ``path``)."""
        full = path + node.partial
        if node.has_value() and not len(full) & 1:
            return full
        if node.children is None:
            return None
        for i in range(16):
            child = self._child(node, i)
            if child is not None:
                found = self._first(child, full + "0123456789abcdef"[i])
                if found is not None:
                    return found
        return None


class TrieBackend:
    """The state at ``root``, read-only (``sp_state_machine::TrieBackend``)."""

    __slots__ = ("_trie", "root")

    def __init__(self, store: KvNodeStore, root: bytes = EMPTY_TRIE_ROOT) -> None:
        self.root = root
        self._trie = StateTrie(store, root)

    def storage(self, key: bytes) -> bytes | None:
        return self._trie.get(key)

    def next_storage_key(self, key: bytes) -> bytes | None:
        return self._trie.next_key(key)

    @property
    def trie(self) -> StateTrie:
        """The underlying trie (read it only: writing would change this backend's state)."""
        return self._trie


class IncrementalRoot:
    """``root_of`` for :class:`OverlayExt`: parent trie + changes -> new root, kept for commit.

    Each call opens a fresh trie at the parent root (nodes are read from the store on demand), so
    the execution's reads and repeated root computations never see each other's writes. The last
    trie is kept; :meth:`commit` reuses it when the changes are the same ones it was given.
    """

    __slots__ = ("_store", "_parent_root", "_last")

    def __init__(self, store: KvNodeStore, parent_root: bytes) -> None:
        self._store = store
        self._parent_root = parent_root
        self._last: tuple[dict[bytes, bytes | None], int, StateTrie] | None = None

    def _apply(self, changes: Mapping[bytes, bytes | None], state_version: int) -> StateTrie:
        trie = StateTrie(self._store, self._parent_root, state_version)
        trie.update(changes)
        return trie

    def __call__(self, changes: Mapping[bytes, bytes | None], state_version: int) -> bytes:
        snapshot = dict(changes)
        trie = self._apply(snapshot, state_version)
        root = trie.root()
        self._last = (snapshot, state_version, trie)
        return root

    def commit(self, changes: Mapping[bytes, bytes | None], state_version: int) -> TrieCommit:
        """New root and the nodes created by ``changes`` (not written: the caller batches them)."""
        last = self._last
        self._last = None
        if last is not None and last[1] == state_version and last[0] == changes:
            trie = last[2]
        else:
            trie = self._apply(changes, state_version)
        return trie.commit(persist=False)


def new_block_ext(store: KvNodeStore, parent_root: bytes) -> tuple[OverlayExt, IncrementalRoot]:
    """Externalities over the state at ``parent_root`` with an incremental storage root."""
    root_of = IncrementalRoot(store, parent_root)
    return OverlayExt(TrieBackend(store, parent_root), root_of), root_of
