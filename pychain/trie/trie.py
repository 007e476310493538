"""Incremental state trie over a node store: insert, delete, get, root, commit.

Mirrors ``trie_db::TrieDBMut`` with ``sp_trie::LayoutV0``/``LayoutV1`` (Polkadot spec, "State
Storage and the Trie"): nodes are read lazily from a :class:`~pychain.trie.store.NodeStore` by
hash, changed in memory, and only the nodes on the paths of changed keys are re-encoded and
re-hashed when the root is asked for, so a block's changes cost O(changed keys x depth).
Deleting keeps the trie canonical (a branch left with no value and one child merges into that
child, a branch left with a value and no child becomes a leaf), so deleting what was inserted gives
back the previous root exactly.

Layouts: nodes written by this trie use its ``state_version``; nodes read from the store keep their
encoding until they change (as in Substrate's V0 -> V1 migration, a node is re-encoded in the new
layout only when touched). Differences from ``TrieDBMut``: no reference counting or pruning of old
nodes (they stay in the store), and the in-memory tree is owned by one ``Trie`` object.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

from pychain.primitives.hashing import blake2_256
from pychain.primitives.scale import encode_compact
from pychain.trie.codec import (
    BRANCH_WITH_VALUE,
    BRANCH_WITHOUT_VALUE,
    EMPTY_TRIE_ROOT,
    HASH_LENGTH,
    HASHED_VALUE_BRANCH,
    HASHED_VALUE_LEAF,
    HEX_DIGITS,
    LEAF,
    MAX_INLINE_VALUE,
    NIBBLE_INDEX,
    Node,
    check_state_version,
    decode_node,
    encode_header,
    pack_nibbles,
)
from pychain.trie.errors import MissingNode, TrieError
from pychain.trie.root import TOO_DEEP, Entries, _as_bytes, build_trie_nodes
from pychain.trie.store import MemoryNodeStore, NodeStore

__all__ = ["Trie", "TrieCommit"]


class TrieCommit(NamedTuple):
    """Result of :meth:`Trie.commit`: the new root and the nodes written since the last commit."""

    root: bytes
    nodes: dict[bytes, bytes]


def _common_prefix_length(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class Trie:
    """A mutable view of the state trie with root ``root`` in ``store``.

    ``Trie()`` is an empty trie over a fresh :class:`MemoryNodeStore`. Reading a root that is not
    in the store raises :class:`MissingNode`.
    """

    def __init__(
        self,
        store: NodeStore | None = None,
        root: bytes = EMPTY_TRIE_ROOT,
        state_version: int = 0,
    ) -> None:
        self.store: NodeStore = store if store is not None else MemoryNodeStore()
        self.state_version = check_state_version(state_version)
        root = _as_bytes(root, "root")
        if len(root) != HASH_LENGTH:
            raise TrieError(f"a trie root is {HASH_LENGTH} bytes, got {len(root)}")
        self._root: Node | None = None if root == EMPTY_TRIE_ROOT else self._load(root)

    @classmethod
    def from_entries(
        cls, entries: Entries, store: NodeStore | None = None, state_version: int = 0
    ) -> Trie:
        """Build the trie of ``entries`` from scratch (sorted, one pass), store it and open it."""
        store = store if store is not None else MemoryNodeStore()
        root, nodes = build_trie_nodes(entries, state_version)
        if nodes:
            store.put_batch(nodes)
        return cls(store, root, state_version)

    # ------------------------------------------------------------------------------- loading

    def _load(self, node_hash: bytes) -> Node:
        enc = self.store.get(node_hash)
        if enc is None:
            raise MissingNode(node_hash)
        node = decode_node(enc)
        node.hash = node_hash
        return node

    def _child(self, node: Node, index: int) -> Node | None:
        """Child ``index`` of a branch, read from the store on first use."""
        children = node.children
        assert children is not None
        child = children[index]
        if isinstance(child, bytes):
            child = self._load(child)
            children[index] = child
        return child

    def _value(self, node: Node) -> bytes | None:
        """The node's value, reading a V1 value node from the store on first use."""
        if node.value is None and node.value_hash is not None:
            value = self.store.get(node.value_hash)
            if value is None:
                raise MissingNode(node.value_hash)
            node.value = value
        return node.value

    # ----------------------------------------------------------------------------------- reads

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or ``None``."""
        path = _as_bytes(key, "key").hex()
        node = self._root
        while node is not None:
            partial = node.partial
            if not path.startswith(partial):
                return None
            plen = len(partial)
            if len(path) == plen:
                return self._value(node)
            if node.children is None:
                return None
            node = self._child(node, NIBBLE_INDEX[path[plen]])
            path = path[plen + 1 :]
        return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes | bytearray | memoryview) and self.get(bytes(key)) is not None

    def items(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        want = _as_bytes(prefix, "prefix").hex()
        if self._root is not None:
            try:
                yield from self._iter(self._root, "", want)
            except RecursionError:
                raise TrieError(TOO_DEEP) from None

    def _iter(self, node: Node, path: str, want: str) -> Iterator[tuple[bytes, bytes]]:
        full = path + node.partial
        n = min(len(full), len(want))
        if full[:n] != want[:n]:
            return
        if node.has_value() and len(full) >= len(want) and not len(full) & 1:
            value = self._value(node)
            assert value is not None
            yield bytes.fromhex(full), value
        if node.children is not None:
            for i in range(16):
                child = self._child(node, i)
                if child is not None:
                    yield from self._iter(child, full + HEX_DIGITS[i], want)

    # --------------------------------------------------------------------------------- writes

    def insert(self, key: bytes, value: bytes) -> None:
        """Set ``key`` to ``value`` (an empty value is a value, not a deletion)."""
        path = _as_bytes(key, "key").hex()
        value = _as_bytes(value, "value")
        try:
            new_root = self._insert(self._root, path, value)
        except RecursionError:
            raise TrieError(TOO_DEEP) from None
        if new_root is not None:
            self._root = new_root

    __setitem__ = insert

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; returns whether it was there."""
        path = _as_bytes(key, "key").hex()
        if self._root is None:
            return False
        try:
            changed, new_root = self._delete(self._root, path)
        except RecursionError:
            raise TrieError(TOO_DEEP) from None
        if changed:
            self._root = new_root
        return changed

    def update(
        self, changes: Mapping[bytes, bytes | None] | Iterable[tuple[bytes, bytes | None]]
    ) -> None:
        """Apply a batch of changes (``None`` deletes); the root is computed once, later."""
        pairs = changes.items() if isinstance(changes, Mapping) else changes
        for key, value in pairs:
            if value is None:
                self.delete(key)
            else:
                self.insert(key, value)

    def _insert(self, node: Node | None, path: str, value: bytes) -> Node | None:
        """Insert below ``node``; returns the new subtree root, or ``None`` if nothing changed."""
        if node is None:
            return Node(path, value)
        partial = node.partial
        plen = len(partial)
        if path.startswith(partial):
            if len(path) == plen:
                if node.has_value() and self._value(node) == value:
                    return None
                node.value = value
                node.value_hash = None
                node.mark_dirty()
                return node
            index = NIBBLE_INDEX[path[plen]]
            if node.children is None:
                # The leaf's key is a strict prefix of the new one: it becomes a branch.
                children: list[Node | bytes | None] = [None] * 16
                children[index] = Node(path[plen + 1 :], value)
                return Node(partial, node.value, node.value_hash, children)
            child = self._child(node, index)
            new_child = self._insert(child, path[plen + 1 :], value)
            if new_child is None:
                return None
            node.children[index] = new_child
            node.mark_dirty()
            return node
        # Split ``node``'s partial key where the paths diverge: a new branch takes the common part.
        common = _common_prefix_length(partial, path)
        children = [None] * 16
        children[NIBBLE_INDEX[partial[common]]] = node
        node.partial = partial[common + 1 :]
        node.mark_dirty()
        if common == len(path):
            return Node(partial[:common], value, None, children)
        children[NIBBLE_INDEX[path[common]]] = Node(path[common + 1 :], value)
        return Node(partial[:common], None, None, children)

    def _delete(self, node: Node, path: str) -> tuple[bool, Node | None]:
        """Delete below ``node``; returns (changed, new subtree root)."""
        partial = node.partial
        if not path.startswith(partial):
            return False, node
        plen = len(partial)
        if len(path) == plen:
            if not node.has_value():
                return False, node
            if node.children is None:
                return True, None
            node.value = None
            node.value_hash = None
            return True, self._normalize(node)
        if node.children is None:
            return False, node
        index = NIBBLE_INDEX[path[plen]]
        child = self._child(node, index)
        if child is None:
            return False, node
        changed, new_child = self._delete(child, path[plen + 1 :])
        if not changed:
            return False, node
        node.children[index] = new_child
        return True, self._normalize(node)

    def _normalize(self, node: Node) -> Node | None:
        """Restore the canonical shape of a branch that just lost a value or a child."""
        node.mark_dirty()
        children = node.children
        assert children is not None
        used = [i for i in range(16) if children[i] is not None]
        if node.has_value():
            if used:
                return node
            return Node(node.partial, node.value, node.value_hash)
        if not used:
            return None
        if len(used) > 1:
            return node
        index = used[0]
        child = self._child(node, index)
        assert child is not None
        child.partial = node.partial + HEX_DIGITS[index] + child.partial
        child.mark_dirty()
        return child

    # ------------------------------------------------------------------------- encoding, root

    def _encode(self, node: Node) -> bytes:
        """Encoding of ``node`` (cached; a clean node has a clean subtree)."""
        enc = node.enc
        if enc is not None:
            return enc
        value = node.value
        value_hash = node.value_hash
        if self.state_version == 1:
            if value_hash is None and value is not None and len(value) >= MAX_INLINE_VALUE:
                value_hash = node.value_hash = blake2_256(value)
        elif value_hash is not None:
            value = self._value(node)
            value_hash = node.value_hash = None
        partial = node.partial
        children = node.children
        if children is None:
            if value_hash is not None:
                enc = encode_header(HASHED_VALUE_LEAF, len(partial)) + pack_nibbles(partial)
                enc += value_hash
            else:
                assert value is not None
                enc = encode_header(LEAF, len(partial)) + pack_nibbles(partial)
                enc += encode_compact(len(value)) + value
            node.enc = enc
            return enc
        if value_hash is not None:
            parts = [encode_header(HASHED_VALUE_BRANCH, len(partial)), b"", b"", value_hash]
        elif value is not None:
            parts = [encode_header(BRANCH_WITH_VALUE, len(partial)), b"", b""]
            parts.append(encode_compact(len(value)) + value)
        else:
            parts = [encode_header(BRANCH_WITHOUT_VALUE, len(partial)), b"", b""]
        parts[1] = pack_nibbles(partial)
        bitmap = 0
        for i in range(16):
            child = children[i]
            if child is None:
                continue
            bitmap |= 1 << i
            if isinstance(child, bytes):
                parts.append(b"\x80" + child)
                continue
            child_enc = child.enc
            if child_enc is None:
                child_enc = self._encode(child)
            if len(child_enc) < HASH_LENGTH:
                parts.append(bytes((len(child_enc) << 2,)) + child_enc)
            else:
                child_hash = child.hash
                if child_hash is None:
                    child_hash = child.hash = blake2_256(child_enc)
                parts.append(b"\x80" + child_hash)
        parts[2] = bitmap.to_bytes(2, "little")
        enc = node.enc = b"".join(parts)
        return enc

    def root(self) -> bytes:
        """The current root hash (re-encodes only the nodes changed since the last call)."""
        node = self._root
        if node is None:
            return EMPTY_TRIE_ROOT
        if node.hash is None or node.enc is None:
            try:
                node.hash = blake2_256(self._encode(node))
            except RecursionError:
                raise TrieError(TOO_DEEP) from None
        return node.hash

    def commit(self, persist: bool = True) -> TrieCommit:
        """Root and the nodes (and V1 value nodes) created since the last commit.

        With ``persist`` the nodes are written to the store in one batch; without, the caller
        writes them (e.g. inside its own database transaction). Old nodes are kept.
        """
        root = self.root()
        nodes: dict[bytes, bytes] = {}
        if self._root is not None:
            try:
                self._collect(self._root, nodes)
            except RecursionError:
                raise TrieError(TOO_DEEP) from None
            assert self._root.enc is not None
            nodes[root] = self._root.enc
        if persist and nodes:
            self.store.put_batch(nodes)
        return TrieCommit(root, nodes)

    def _collect(self, node: Node, out: dict[bytes, bytes]) -> None:
        if node.stored:
            return
        enc = node.enc
        assert enc is not None
        if node.children is not None:
            for child in node.children:
                if isinstance(child, Node):
                    self._collect(child, out)
        if len(enc) >= HASH_LENGTH and node.hash is not None:
            out[node.hash] = enc
        if node.value_hash is not None and node.value is not None:
            out[node.value_hash] = node.value
        node.stored = True

    # ------------------------------------------------------------------------------- proofs

    def prove(self, keys: Iterable[bytes]) -> list[bytes]:
        """Encoded nodes (and V1 value nodes) proving the value or absence of each key.

        The trie's current (possibly uncommitted) state is proved against :meth:`root`. The list
        is sorted, so equal proofs compare equal (Substrate's ``StorageProof`` is a set).
        """
        root = self.root()
        out: dict[bytes, bytes] = {}
        node = self._root
        if node is None:
            for key in keys:
                _as_bytes(key, "key")
            return []
        assert node.enc is not None
        out[root] = node.enc
        for key in keys:
            path = _as_bytes(key, "key").hex()
            node = self._root
            while node is not None:
                enc = node.enc
                assert enc is not None
                if len(enc) >= HASH_LENGTH:
                    assert node.hash is not None
                    out[node.hash] = enc
                partial = node.partial
                if not path.startswith(partial):
                    break
                plen = len(partial)
                if len(path) == plen:
                    if node.value_hash is not None:
                        value = self._value(node)
                        assert value is not None
                        out[node.value_hash] = value
                    break
                if node.children is None:
                    break
                node = self._child(node, NIBBLE_INDEX[path[plen]])
                path = path[plen + 1 :]
        return sorted(out.values())
