"""Storage descriptors: FRAME keys, query kinds, iteration, counted maps."""

from __future__ import annotations

import pytest

from pychain.frame.ext import TestExternalities
from pychain.frame.externalities import NoExternalitiesError, using
from pychain.frame.pallet import Pallet
from pychain.frame.storage import (
    CountedStorageMap,
    StorageCorruptionError,
    StorageDoubleMap,
    StorageMap,
    StorageNMap,
    StorageValue,
)
from pychain.primitives.hashing import blake2_128_concat, storage_prefix, twox64_concat
from pychain.primitives.scale import U32, U64, U128, FixedBytes


class Demo(Pallet):
    name = "Demo"
    Total = StorageValue(U128, default=0)
    Maybe = StorageValue(U32)
    Balances = StorageMap("Blake2_128Concat", FixedBytes(32), U128, default=0)
    ByIndex = StorageMap("Twox64Concat", U32, U64)
    Pairs = StorageDoubleMap("Blake2_128Concat", U32, "Twox64Concat", U32, U32)
    Triples = StorageNMap(
        [("Blake2_128Concat", U32), ("Twox64Concat", U32), ("Identity", U32)], U32
    )
    Counted = CountedStorageMap("Twox64Concat", U32, U32)


def test_storage_value_key_is_frame_prefix() -> None:
    assert Demo.Total.hashed_key() == storage_prefix("Demo", "Total")


def test_storage_map_key_uses_hasher_of_encoded_key() -> None:
    who = bytes(range(32))
    expected = storage_prefix("Demo", "Balances") + blake2_128_concat(who)
    assert Demo.Balances.hashed_key(who) == expected
    assert Demo.ByIndex.hashed_key(7) == storage_prefix("Demo", "ByIndex") + twox64_concat(
        (7).to_bytes(4, "little")
    )


def test_system_account_key_matches_real_vector(vectors) -> None:
    import json

    from pychain.pallets.system import System

    data = json.loads((vectors / "storage_key_vectors.json").read_text())
    alice = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
    assert "0x" + System.Account.hashed_key(alice).hex() == data["System.Account(Alice sr25519)"]
    assert "0x" + System.BlockHash.hashed_key(0).hex() == data[
        "System.BlockHash(0) [twox64_concat u32]"
    ]


def test_value_query_and_option_query_defaults() -> None:
    with using(TestExternalities()):
        assert Demo.Total.get() == 0
        assert Demo.Maybe.get() is None
        Demo.Maybe.put(5)
        assert Demo.Maybe.get() == 5
        Demo.Maybe.kill()
        assert not Demo.Maybe.exists()
        # Storing the default keeps the entry, as in FRAME.
        Demo.Total.put(0)
        assert Demo.Total.exists()


def test_mutate_and_take() -> None:
    with using(TestExternalities()):
        Demo.Total.mutate(lambda v: v + 7)
        assert Demo.Total.get() == 7
        assert Demo.Total.take() == 7
        assert not Demo.Total.exists()
        Demo.Maybe.put(3)
        Demo.Maybe.mutate(lambda v: None)  # None on an OptionQuery item removes it
        assert not Demo.Maybe.exists()


def test_map_iteration_decodes_keys_in_key_order() -> None:
    with using(TestExternalities()):
        for i in (5, 1, 9):
            Demo.ByIndex.insert(i, i * 10)
        items = dict(Demo.ByIndex.iter())
        assert items == {1: 10, 5: 50, 9: 90}
        assert sorted(Demo.ByIndex.iter_keys()) == [1, 5, 9]


def test_double_map_prefix_iteration_and_clear() -> None:
    with using(TestExternalities()):
        Demo.Pairs.insert(1, 10, 100)
        Demo.Pairs.insert(1, 11, 110)
        Demo.Pairs.insert(2, 10, 200)
        assert dict(Demo.Pairs.iter_prefix(1)) == {10: 100, 11: 110}
        assert Demo.Pairs.clear_prefix(1) == 2
        assert Demo.Pairs.get(1, 10) is None
        assert Demo.Pairs.get(2, 10) == 200


def test_nmap_roundtrip_and_partial_iteration() -> None:
    with using(TestExternalities()):
        Demo.Triples.insert(1, 2, 3, 42)
        Demo.Triples.insert(1, 2, 4, 43)
        Demo.Triples.insert(1, 5, 3, 44)
        assert Demo.Triples.get(1, 2, 3) == 42
        assert dict(Demo.Triples.iter(1, 2)) == {(1, 2, 3): 42, (1, 2, 4): 43}
        assert len(list(Demo.Triples.iter(1))) == 3


def test_counted_map_keeps_counter_in_step() -> None:
    with using(TestExternalities()):
        Demo.Counted.insert(1, 1)
        Demo.Counted.insert(1, 2)  # overwrite: no new entry
        Demo.Counted.insert(2, 2)
        assert Demo.Counted.count() == 2
        Demo.Counted.remove(1)
        Demo.Counted.remove(1)  # absent: no change
        assert Demo.Counted.count() == 1
        Demo.Counted.mutate(3, lambda v: 9)
        assert Demo.Counted.count() == 2
        assert Demo.Counted.clear_all() == 2
        assert Demo.Counted.count() == 0


def test_corrupt_value_raises_typed_error() -> None:
    ext = TestExternalities({storage_prefix("Demo", "Total"): b"\x01\x02"})
    with using(ext), pytest.raises(StorageCorruptionError):
        Demo.Total.get()


def test_storage_access_without_externalities_is_typed_error() -> None:
    with pytest.raises(NoExternalitiesError):
        Demo.Total.get()
