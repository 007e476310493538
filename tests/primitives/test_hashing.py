"""FRAME storage keys and hashers against keys read from real genesis storage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pychain.primitives.hashing import (
    HASHERS,
    blake2_128,
    blake2_128_concat,
    blake2_256,
    identity,
    storage_key,
    storage_prefix,
    twox64_concat,
    twox_64,
    twox_128,
    twox_256,
)

ALICE_SR25519 = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
U32_ZERO = (0).to_bytes(4, "little")


def _vectors(vectors: Path) -> dict[str, bytes]:
    data = json.loads((vectors / "storage_key_vectors.json").read_text())
    return {name: bytes.fromhex(value[2:]) for name, value in data.items()}


def test_storage_prefixes_of_pallet_items_match_vectors(vectors: Path) -> None:
    cases = {n: k for n, k in _vectors(vectors).items() if re.fullmatch(r"\w+\.\w+", n)}
    assert len(cases) >= 10
    for name, key in cases.items():
        pallet, item = name.split(".")
        assert storage_prefix(pallet, item) == key, name
        assert storage_key(pallet, item) == key, name


def test_hashed_map_keys_match_vectors(vectors: Path) -> None:
    v = _vectors(vectors)
    alice = storage_key("System", "Account", (blake2_128_concat, ALICE_SR25519))
    assert alice == v["System.Account(Alice sr25519)"]
    assert twox64_concat(U32_ZERO) == v["twox64_concat(u32 0)"]
    assert twox_64(U32_ZERO) == v["twox64(u32 0)"]
    block_hash_0 = storage_key("System", "BlockHash", (twox64_concat, U32_ZERO))
    assert block_hash_0 == v["System.BlockHash(0) [twox64_concat u32]"]


def test_vector_keys_occur_in_real_genesis_storage(vectors: Path) -> None:
    top = json.loads((vectors / "chainspecs" / "substrate-node-template.json").read_text())
    keys = {bytes.fromhex(k[2:]) for k in top["genesis"]["raw"]["top"]}
    v = _vectors(vectors)
    assert v["System.Account(Alice sr25519)"] in keys
    assert v["System.BlockHash(0) [twox64_concat u32]"] in keys
    assert any(k.startswith(storage_prefix("System", "Account")) for k in keys)


def test_twox_and_blake2_known_answers() -> None:
    # xxHash64 seeds 0 and 1 of b"System" (well-known System pallet prefix).
    assert twox_128(b"System").hex() == "26aa394eea5630e07c48ae0c9558cef7"
    assert twox_256(b"System")[:16] == twox_128(b"System")
    assert len(twox_256(b"System")) == 32
    assert (
        blake2_256(b"").hex() == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
    )
    assert blake2_128_concat(b"ab") == blake2_128(b"ab") + b"ab"
    assert identity(b"xy") == b"xy"


@pytest.mark.parametrize(
    ("name", "length"),
    [
        ("Blake2_128", 16),
        ("Blake2_256", 32),
        ("Blake2_128Concat", 16 + 3),
        ("Twox128", 16),
        ("Twox256", 32),
        ("Twox64Concat", 8 + 3),
        ("Identity", 3),
    ],
)
def test_hashers_by_metadata_name_have_expected_lengths(name: str, length: int) -> None:
    assert len(HASHERS[name](b"abc")) == length
