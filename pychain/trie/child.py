"""Default child tries: their roots and their entries in the top trie.

Mirrors ``sp_core::storage::ChildInfo::new_default`` / ``prefixed_storage_key`` and the way
``sp_state_machine`` computes a full storage root (Polkadot spec, "State Storage and the Trie",
"Child Storage"): a default child trie is an ordinary trie (same layout as the top trie); its root
is stored in the top trie under ``:child_storage:default: ++ child storage key``, and an empty child
trie has no entry at all. In a raw chain spec, ``genesis.raw.childrenDefault`` maps the child
storage key (without the prefix, as ``ChildInfo::storage_key``) to that child's key/value map.
"""

from __future__ import annotations

from collections.abc import Mapping

from pychain.trie.codec import EMPTY_TRIE_ROOT
from pychain.trie.root import Entries, _as_bytes, sorted_entries, trie_root

__all__ = [
    "CHILD_STORAGE_KEY_PREFIX",
    "DEFAULT_CHILD_STORAGE_KEY_PREFIX",
    "prefixed_child_key",
    "child_trie_root",
    "top_with_child_roots",
    "state_root",
]

#: Prefix of every child-trie key in the top trie (``well_known_keys::CHILD_STORAGE_KEY_PREFIX``).
CHILD_STORAGE_KEY_PREFIX = b":child_storage:"
#: Prefix of default child tries (``well_known_keys::DEFAULT_CHILD_STORAGE_KEY_PREFIX``).
DEFAULT_CHILD_STORAGE_KEY_PREFIX = b":child_storage:default:"


def prefixed_child_key(child_key: bytes) -> bytes:
    """Top-trie key of a default child trie: ``:child_storage:default: ++ child_key``."""
    return DEFAULT_CHILD_STORAGE_KEY_PREFIX + _as_bytes(child_key, "child key")


def child_trie_root(entries: Entries, state_version: int = 0) -> bytes:
    """Root of a default child trie (the same computation as a top trie root)."""
    return trie_root(entries, state_version)


def top_with_child_roots(
    top: Entries,
    children_default: Mapping[bytes, Entries] | None = None,
    state_version: int = 0,
) -> dict[bytes, bytes]:
    """The top entries with each non-empty child trie's root under its prefixed key.

    An empty child trie removes its key from the top trie, as Substrate does.
    """
    keys, values = sorted_entries(top)
    out = {bytes.fromhex(k): v for k, v in zip(keys, values, strict=True)}
    for child_key, entries in (children_default or {}).items():
        root = child_trie_root(entries, state_version)
        prefixed = prefixed_child_key(child_key)
        if root == EMPTY_TRIE_ROOT:
            out.pop(prefixed, None)
        else:
            out[prefixed] = root
    return out


def state_root(
    top: Entries,
    children_default: Mapping[bytes, Entries] | None = None,
    state_version: int = 0,
) -> bytes:
    """Root of the whole state: the top trie including the roots of its default child tries."""
    return trie_root(top_with_child_roots(top, children_default, state_version), state_version)
