"""Read proofs: the trie nodes that prove the values (or absence) of some keys under a root.

Mirrors ``sp_trie::StorageProof`` with ``generate_trie_proof`` / ``read_proof_check``
(``sp_state_machine::prove_read`` and ``read_proof_check``; Polkadot spec, "State Storage and the
Trie", "Merkle Proof"): a proof is an unordered set of node encodings -- every hashed node met on
the walk from the root to each key (inline nodes travel inside their parent), plus the V1 value node
of each proved value stored by hash. The verifier indexes the proof by blake2-256 and repeats the
walks, so a missing, truncated or altered node makes the walk fail with :class:`InvalidProof`.

Difference: like ``read_proof_check``, nodes not needed by the walks are ignored unless
``allow_extra=False`` (then they are an error, as ``trie_db::proof::verify_proof``'s
``ExtraneousNode``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pychain.primitives.hashing import blake2_256
from pychain.trie.codec import EMPTY_TRIE_ROOT, HASH_LENGTH, NIBBLE_INDEX, Node, decode_node
from pychain.trie.errors import InvalidNode, InvalidProof, TrieError
from pychain.trie.root import _as_bytes
from pychain.trie.store import NodeStore
from pychain.trie.trie import Trie

__all__ = ["generate_proof", "verify_proof"]


def generate_proof(source: NodeStore | Trie, root: bytes, keys: Iterable[bytes]) -> list[bytes]:
    """Proof of ``keys`` under ``root``, read from a node store or from a :class:`Trie`.

    A ``Trie`` must currently have root ``root`` (its uncommitted changes are included). Raises
    :class:`~pychain.trie.errors.MissingNode` if the store lacks a node the walk needs.
    """
    root = _as_bytes(root, "root")
    if isinstance(source, Trie):
        if source.root() != root:
            raise TrieError(
                f"the trie's root is 0x{source.root().hex()}, not the requested 0x{root.hex()}"
            )
        trie = source
    else:
        trie = Trie(source, root)
    return trie.prove(keys)


def verify_proof(
    root: bytes,
    proof_nodes: Iterable[bytes],
    keys: Iterable[bytes],
    *,
    allow_extra: bool = True,
) -> dict[bytes, bytes | None]:
    """Check ``proof_nodes`` against ``root``; returns each key's value (``None``: absent).

    Raises :class:`InvalidProof` when a node or value node needed by a walk is not in the proof
    (missing, truncated or tampered), when a needed node does not decode, or, with
    ``allow_extra=False``, when the proof holds nodes no walk used.
    """
    root = _as_bytes(root, "root")
    if len(root) != HASH_LENGTH:
        raise InvalidProof(f"a trie root is {HASH_LENGTH} bytes, got {len(root)}")
    db: dict[bytes, bytes] = {}
    for item in proof_nodes:
        if not isinstance(item, bytes | bytearray | memoryview):
            raise InvalidProof(f"proof items must be bytes, got {type(item).__name__}")
        item = bytes(item)
        db[blake2_256(item)] = item
    decoded: dict[bytes, Node] = {}
    used: set[bytes] = set()

    def node_at(node_hash: bytes) -> Node:
        node = decoded.get(node_hash)
        if node is not None:
            return node
        enc = db.get(node_hash)
        if enc is None:
            raise InvalidProof(f"proof lacks trie node 0x{node_hash.hex()}")
        try:
            node = decode_node(enc)
        except InvalidNode as exc:
            raise InvalidProof(f"proof node 0x{node_hash.hex()} does not decode: {exc}") from exc
        used.add(node_hash)
        decoded[node_hash] = node
        return node

    results: dict[bytes, bytes | None] = {}
    for key in keys:
        key = _as_bytes(key, "key")
        results[key] = (
            None if root == EMPTY_TRIE_ROOT else _lookup(root, key.hex(), node_at, db, used)
        )
    if not allow_extra:
        extra = set(db) - used
        if root == EMPTY_TRIE_ROOT:
            extra.discard(EMPTY_TRIE_ROOT)
        if extra:
            raise InvalidProof(f"proof holds {len(extra)} node(s) not needed for these keys")
    return results


def _lookup(
    root: bytes,
    path: str,
    node_at: Callable[[bytes], Node],
    db: dict[bytes, bytes],
    used: set[bytes],
) -> bytes | None:
    node = node_at(root)
    while True:
        partial = node.partial
        if not path.startswith(partial):
            return None
        plen = len(partial)
        if len(path) == plen:
            if node.value_hash is not None:
                value = db.get(node.value_hash)
                if value is None:
                    raise InvalidProof(f"proof lacks value node 0x{node.value_hash.hex()}")
                used.add(node.value_hash)
                return value
            return node.value
        if node.children is None:
            return None
        child = node.children[NIBBLE_INDEX[path[plen]]]
        if child is None:
            return None
        node = node_at(child) if isinstance(child, bytes) else child
        path = path[plen + 1 :]
