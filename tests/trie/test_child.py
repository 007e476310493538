"""Default child tries: prefixed keys, roots in the top trie, empty children removed."""

from __future__ import annotations

import pytest

from pychain.trie import (
    DEFAULT_CHILD_STORAGE_KEY_PREFIX,
    EMPTY_TRIE_ROOT,
    Trie,
    TrieError,
    child_trie_root,
    prefixed_child_key,
    state_root,
    top_with_child_roots,
    trie_root,
)


def test_prefixed_child_key_uses_default_prefix() -> None:
    assert DEFAULT_CHILD_STORAGE_KEY_PREFIX == b":child_storage:default:"
    assert prefixed_child_key(b"crowdloan") == b":child_storage:default:crowdloan"
    with pytest.raises(TrieError):
        prefixed_child_key("crowdloan")  # type: ignore[arg-type]


@pytest.mark.parametrize("version", [0, 1])
def test_state_root_inserts_child_roots_into_top(version: int) -> None:
    top = {b":code": b"\x00asm" * 20, b"balance": b"\x01"}
    child_a = {b"contrib-1": b"\x05" * 40, b"contrib-2": b"\x06"}
    child_b = {b"x": b"y"}
    roots = top_with_child_roots(top, {b"a": child_a, b"b": child_b}, version)
    assert roots[b":child_storage:default:a"] == child_trie_root(child_a, version)
    assert roots[b":child_storage:default:b"] == trie_root(child_b, version)
    expected = trie_root(roots, version)
    assert state_root(top, {b"a": child_a, b"b": child_b}, version) == expected
    trie = Trie(state_version=version)
    trie.update(top)
    trie.insert(prefixed_child_key(b"a"), child_trie_root(child_a, version))
    trie.insert(prefixed_child_key(b"b"), child_trie_root(child_b, version))
    assert trie.root() == expected
    assert state_root(top, None, version) == trie_root(top, version) != expected


def test_empty_child_trie_has_no_top_entry() -> None:
    top = {b"k": b"v", prefixed_child_key(b"gone"): b"\x11" * 32}
    roots = top_with_child_roots(top, {b"gone": {}})
    assert roots == {b"k": b"v"}
    assert child_trie_root({}) == EMPTY_TRIE_ROOT
    assert state_root(top, {b"gone": {}}) == trie_root({b"k": b"v"})
