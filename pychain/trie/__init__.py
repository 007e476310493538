"""Substrate base-16 modified Merkle-Patricia state trie (layouts V0 and V1) and read proofs.

Mirrors ``sp-trie`` / ``trie-db`` with ``LayoutV0``/``LayoutV1`` and blake2-256 (Polkadot spec,
"State Storage and the Trie"):

* :func:`trie_root`, :func:`ordered_trie_root` -- from-scratch roots (genesis, extrinsics root);
* :class:`Trie` over a :class:`NodeStore` (:class:`MemoryNodeStore` in memory) -- incremental
  insert / delete / get / root / commit, costing O(changed keys x depth) per block;
* child tries -- :func:`child_trie_root`, :func:`prefixed_child_key`, :func:`state_root`;
* read proofs -- :func:`generate_proof`, :func:`verify_proof`.

Errors derive from :class:`TrieError`.
"""

from pychain.trie.child import (
    CHILD_STORAGE_KEY_PREFIX,
    DEFAULT_CHILD_STORAGE_KEY_PREFIX,
    child_trie_root,
    prefixed_child_key,
    state_root,
    top_with_child_roots,
)
from pychain.trie.codec import EMPTY_NODE, EMPTY_TRIE_ROOT, MAX_INLINE_VALUE, decode_node
from pychain.trie.errors import InvalidNode, InvalidProof, MissingNode, TrieError
from pychain.trie.proof import generate_proof, verify_proof
from pychain.trie.root import Entries, build_trie_nodes, ordered_trie_root, trie_root
from pychain.trie.store import MemoryNodeStore, NodeStore
from pychain.trie.trie import Trie, TrieCommit

__all__ = [
    "CHILD_STORAGE_KEY_PREFIX",
    "DEFAULT_CHILD_STORAGE_KEY_PREFIX",
    "EMPTY_NODE",
    "EMPTY_TRIE_ROOT",
    "MAX_INLINE_VALUE",
    "Entries",
    "InvalidNode",
    "InvalidProof",
    "MemoryNodeStore",
    "MissingNode",
    "NodeStore",
    "Trie",
    "TrieCommit",
    "TrieError",
    "build_trie_nodes",
    "child_trie_root",
    "decode_node",
    "generate_proof",
    "ordered_trie_root",
    "prefixed_child_key",
    "state_root",
    "top_with_child_roots",
    "trie_root",
    "verify_proof",
]
