"""Real genesis storage (raw chain specs from ../shared/vectors/chainspecs) through the stores
and the overlay: the layer must hold, order and clear real Substrate state exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pychain.primitives.hashing import storage_prefix, twox_128
from pychain.storage import DictBackend, KeyValueStore, KvColumnBackend, OverlayedChanges
from tests.storage.conftest import BACKENDS, open_store

SPECS = ["kusama.json", "substrate-node-template.json"]
STATE = "state"


def _genesis_top(vectors: Path, name: str) -> dict[bytes, bytes]:
    spec = json.loads((vectors / "chainspecs" / name).read_text())
    top = spec["genesis"]["raw"]["top"]
    return {bytes.fromhex(k[2:]): bytes.fromhex(v[2:]) for k, v in top.items()}


def _load(kind: str, tmp_path: Path, top: dict[bytes, bytes]) -> KeyValueStore:
    store = open_store(kind, tmp_path, [STATE])
    with store.batch() as b:
        for key, value in top.items():
            b.put(STATE, key, value)
    return store


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("spec", SPECS)
def test_genesis_state_round_trips_in_key_order(
    vectors: Path, tmp_path: Path, kind: str, spec: str
) -> None:
    top = _genesis_top(vectors, spec)
    store = _load(kind, tmp_path, top)
    try:
        assert list(store.iter_prefix(STATE)) == sorted(top.items())
        code = top[b":code"]
        assert store.get(STATE, b":code") == code and len(code) > 100_000
    finally:
        store.close()


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("spec", SPECS)
def test_overlay_clear_system_prefix_on_genesis_matches_data(
    vectors: Path, tmp_path: Path, kind: str, spec: str
) -> None:
    top = _genesis_top(vectors, spec)
    store = _load(kind, tmp_path, top)
    try:
        over_store = OverlayedChanges(KvColumnBackend(store, STATE))
        over_dict = OverlayedChanges(DictBackend(top))
        system = twox_128(b"System")
        account = storage_prefix("System", "Account")
        expected_gone = sorted(k for k in top if k.startswith(system))
        assert expected_gone, "the genesis state has System keys"
        for ov in (over_store, over_dict):
            ov.start_transaction()
            ov.set(account + b"\x01" * 48, b"new account")
            result = ov.clear_prefix(system)
            assert result.backend == len(expected_gone)
            assert result.unique == len(expected_gone) + 1
            ov.commit_transaction()
        remaining = sorted((k, v) for k, v in top.items() if not k.startswith(system))
        assert list(over_store.iter_prefix()) == remaining
        assert list(over_dict.iter_prefix()) == remaining
        drained = over_store.drain()
        assert drained == over_dict.drain()
        assert all(v is None for v in drained.values())
        assert list(drained) == sorted(expected_gone + [account + b"\x01" * 48])
    finally:
        store.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_next_key_walk_over_genesis_visits_every_key(
    vectors: Path, tmp_path: Path, kind: str
) -> None:
    top = _genesis_top(vectors, "substrate-node-template.json")
    store = _load(kind, tmp_path, top)
    try:
        ov = OverlayedChanges(KvColumnBackend(store, STATE))
        walked = []
        key = ov.next_key(b"")
        while key is not None:
            walked.append(key)
            key = ov.next_key(key)
        assert walked == sorted(top)
    finally:
        store.close()
