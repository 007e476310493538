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


def test_overwrite_inside_transaction_rolls_back_to_pending_items() -> None:
    ext = TestExternalities()
    ext.storage_append(b"ev", Bytes.encode(b"a"))
    ext.start_transaction()
    ext.storage_append(b"ev", Bytes.encode(b"b"))
    ext.storage_clear(b"ev")
    assert ext.storage_get(b"ev") is None
    ext.storage_append(b"ev", Bytes.encode(b"c"))
    assert Vec(Bytes).decode(ext.storage_get(b"ev")) == [b"c"]
    ext.rollback_transaction()
    assert Vec(Bytes).decode(ext.storage_get(b"ev")) == [b"a"]


def test_overwrite_in_committed_inner_layer_is_undone_by_outer_rollback() -> None:
    ext = TestExternalities()
    ext.storage_append(b"ev", Bytes.encode(b"a"))
    ext.start_transaction()
    ext.storage_append(b"ev", Bytes.encode(b"b"))
    ext.start_transaction()
    ext.storage_set(b"ev", Vec(Bytes).encode([b"x"]))
    ext.storage_append(b"ev", Bytes.encode(b"y"))
    ext.commit_transaction()
    assert Vec(Bytes).decode(ext.storage_get(b"ev")) == [b"x", b"y"]
    ext.rollback_transaction()
    assert Vec(Bytes).decode(ext.storage_get(b"ev")) == [b"a"]


def test_drain_with_open_layer_is_refused() -> None:
    ext = TestExternalities()
    ext.start_transaction()
    with pytest.raises(FrameError):
        ext.drain()


def test_next_key_sees_appended_keys() -> None:
    ext = TestExternalities({b"a": b"1", b"z": b"2"})
    ext.storage_append(b"m", Bytes.encode(b"x"))
    assert ext.next_key(b"a") == b"m"
    assert ext.next_key(b"m") == b"z"


def test_appends_match_a_materialising_model_under_random_transactions() -> None:
    """Random appends/overwrites/transactions: the lazy appends equal a dict-stack model that
    re-encodes the vector on every append."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    ops = st.lists(
        st.one_of(
            st.tuples(st.just("append"), st.sampled_from([b"k1", b"k2"]), st.binary(max_size=3)),
            st.tuples(st.just("set"), st.sampled_from([b"k1", b"k2"]), st.lists(st.binary(max_size=2), max_size=2)),
            st.tuples(st.just("clear"), st.sampled_from([b"k1", b"k2"]), st.none()),
            st.tuples(st.just("start"), st.none(), st.none()),
            st.tuples(st.just("commit"), st.none(), st.none()),
            st.tuples(st.just("rollback"), st.none(), st.none()),
        ),
        max_size=40,
    )
    codec = Vec(Bytes)

    @settings(max_examples=200, deadline=None)
    @given(ops)
    def check(sequence: list) -> None:
        ext = TestExternalities()
        model: list[dict[bytes, list[bytes] | None]] = [{}]

        def model_get(key: bytes) -> list[bytes] | None:
            for layer in reversed(model):
                if key in layer:
                    return layer[key]
            return None

        for op, key, arg in sequence:
            if op == "append":
                ext.storage_append(key, Bytes.encode(arg))
                model[-1][key] = [*(model_get(key) or []), arg]
            elif op == "set":
                ext.storage_set(key, codec.encode(arg))
                model[-1][key] = list(arg)
            elif op == "clear":
                ext.storage_clear(key)
                model[-1][key] = None
            elif op == "start":
                ext.start_transaction()
                model.append({})
            elif op == "commit" and len(model) > 1:
                ext.commit_transaction()
                top = model.pop()
                model[-1].update(top)
            elif op == "rollback" and len(model) > 1:
                ext.rollback_transaction()
                model.pop()
            for k in (b"k1", b"k2"):
                raw = ext.storage_get(k)
                expected = model_get(k)
                assert (None if raw is None else codec.decode(raw)) == expected

    check()
