"""Externalities over the overlay: transactions, appends, roots."""

from __future__ import annotations

import pytest

from pychain.frame.dispatch import FrameError
from pychain.frame.ext import TestExternalities
from pychain.primitives.scale import Bytes, Vec
from pychain.trie import trie_root


def test_storage_root_matches_trie_of_merged_state() -> None:
    ext = TestExternalities({b"a": b"1", b"b": b"2"})
    ext.storage_set(b"c", b"3")
    ext.storage_clear(b"a")
    assert ext.storage_root(1) == trie_root({b"b": b"2", b"c": b"3"}, 1)


def test_rollback_discards_writes_and_appends() -> None:
    ext = TestExternalities()
    ext.storage_append(b"ev", Bytes.encode(b"x"))
    ext.start_transaction()
    ext.storage_set(b"k", b"v")
    ext.storage_append(b"ev", Bytes.encode(b"y"))
    ext.rollback_transaction()
    assert ext.storage_get(b"k") is None
    assert Vec(Bytes).decode(ext.storage_get(b"ev")) == [b"x"]


def test_nested_commit_keeps_appends_of_inner_layer() -> None:
    ext = TestExternalities()
    ext.start_transaction()
    ext.start_transaction()
    ext.storage_append(b"ev", Bytes.encode(b"a"))
    ext.commit_transaction()
    ext.storage_append(b"ev", Bytes.encode(b"b"))
    ext.commit_transaction()
    assert Vec(Bytes).decode(ext.storage_get(b"ev")) == [b"a", b"b"]


def test_append_extends_an_existing_vector() -> None:
    ext = TestExternalities({b"ev": Vec(Bytes).encode([b"old"])})
    ext.storage_append(b"ev", Bytes.encode(b"new"))
    assert Vec(Bytes).decode(ext.storage_get(b"ev")) == [b"old", b"new"]
    changes = ext.drain()
    assert Vec(Bytes).decode(changes[b"ev"]) == [b"old", b"new"]


def test_overwriting_appended_value_inside_transaction_is_refused() -> None:
    ext = TestExternalities()
    ext.storage_append(b"ev", Bytes.encode(b"a"))
    ext.start_transaction()
    with pytest.raises(FrameError):
        ext.storage_clear(b"ev")
    ext.rollback_transaction()
    ext.storage_clear(b"ev")  # outside layers: allowed
    assert ext.storage_get(b"ev") is None


def test_next_key_sees_appended_keys() -> None:
    ext = TestExternalities({b"a": b"1", b"z": b"2"})
    ext.storage_append(b"m", Bytes.encode(b"x"))
    assert ext.next_key(b"a") == b"m"
    assert ext.next_key(b"m") == b"z"
