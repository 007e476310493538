"""Tests of pychain.primitives.keystore on a real temporary folder."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from pychain.primitives.keyring import dev_keypair
from pychain.primitives.keys import CryptoError
from pychain.primitives.keystore import (
    CorruptKeyFileError,
    KeyNotFoundError,
    Keystore,
    KeystoreError,
    WrongPasswordError,
)
from pychain.primitives.ss58 import ss58_encode

FAST_N = 1 << 10  # keep scrypt cheap in tests; the default is 2^15


def _store(path: Path, password: str = "correct horse") -> Keystore:
    return Keystore(path, password, scrypt_n=FAST_N)


def test_insert_then_load_round_trip(tmp_path: Path) -> None:
    store = _store(tmp_path / "ks")
    pair = store.insert("aura", "//Alice")
    assert pair.public_key == dev_keypair("alice").public_key
    loaded = store.load("aura", pair.public_key)
    assert loaded.public_key == pair.public_key
    assert pair.verify(b"block", loaded.sign(b"block"))


@pytest.mark.parametrize(
    "scheme, suri", [("ed25519", "//Bob//x"), ("ecdsa", "//Eve"), ("sr25519", "//Dave/soft")]
)
def test_round_trip_every_scheme(tmp_path: Path, scheme: str, suri: str) -> None:
    store = _store(tmp_path)
    pair = store.insert("gran", suri, scheme)
    loaded = store.load("gran", pair.public_key)
    assert loaded.scheme == scheme and loaded.public_key == pair.public_key
    assert loaded.verify(b"vote", pair.sign(b"vote"))


def test_wrong_password_raises_typed_error(tmp_path: Path) -> None:
    pair = _store(tmp_path, "right").insert("acco", "//Charlie")
    with pytest.raises(WrongPasswordError):
        _store(tmp_path, "wrong").load("acco", pair.public_key)
    assert issubclass(WrongPasswordError, CryptoError)


def test_key_file_is_private_and_named_like_substrate(tmp_path: Path) -> None:
    store = _store(tmp_path / "ks")
    pair = store.insert("aura", "//Alice")
    path = tmp_path / "ks" / ("61757261" + pair.public_key.hex())  # hex("aura") ++ hex(public)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ks").stat().st_mode) == 0o700
    document = json.loads(path.read_text())
    assert document["scheme"] == "sr25519" and document["keyType"] == "aura"
    assert document["ss58Address"] == ss58_encode(pair.account_id)
    assert "//Alice" not in path.read_text()  # the secret is encrypted
    assert set(document["crypto"]) == {"kdf", "kdfParams", "cipher", "nonce", "ciphertext", "tag"}


def test_keys_lists_by_type_and_remove_deletes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    alice = store.insert("aura", "//Alice")
    bob = store.insert("gran", "//Bob", "ed25519")
    store.insert("flcn", "//Ferdie")
    assert {e.key_type for e in store.keys()} == {"aura", "gran", "flcn"}
    (gran,) = store.keys("gran")
    assert gran.public_key == bob.public_key and gran.scheme == "ed25519"
    assert store.has_key("aura", alice.public_key)
    store.remove("aura", alice.public_key)
    assert not store.has_key("aura", alice.public_key)
    assert [e.key_type for e in store.keys()] == ["flcn", "gran"]
    with pytest.raises(KeyNotFoundError):
        store.remove("aura", alice.public_key)
    with pytest.raises(KeyNotFoundError):
        store.load("aura", alice.public_key)


def test_generate_stores_a_loadable_key(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pair = store.generate("imon", "sr25519")
    assert pair.phrase is not None
    assert store.load("imon", pair.public_key).public_key == pair.public_key


def test_unrelated_files_are_ignored(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pair = store.insert("aura", "//Alice")
    (tmp_path / "README").write_text("not a key")
    (tmp_path / ".61757261.tmp").write_text("{}")
    assert [entry.public_key for entry in store.keys()] == [pair.public_key]


def test_empty_keystore_lists_nothing(tmp_path: Path) -> None:
    assert _store(tmp_path / "missing").keys() == []


def test_tampered_ciphertext_rejected(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pair = store.insert("aura", "//Alice")
    (path,) = tmp_path.iterdir()
    document = json.loads(path.read_text())
    ciphertext = bytearray.fromhex(document["crypto"]["ciphertext"][2:])
    ciphertext[0] ^= 1
    document["crypto"]["ciphertext"] = "0x" + ciphertext.hex()
    path.write_text(json.dumps(document))
    with pytest.raises(WrongPasswordError):
        store.load("aura", pair.public_key)


def test_relabelled_key_file_rejected(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pair = store.insert("aura", "//Alice")
    (path,) = tmp_path.iterdir()
    document = json.loads(path.read_text())
    document["keyType"] = "gran"
    (tmp_path / ("6772616e" + pair.public_key.hex())).write_text(json.dumps(document))
    with pytest.raises(WrongPasswordError):  # the key type is authenticated data
        store.load("gran", pair.public_key)


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"version": 2}', '{"version": 1, "keyType": "aura", "scheme": "rsa"}'],
)
def test_corrupt_key_file_rejected(tmp_path: Path, content: str) -> None:
    store = _store(tmp_path)
    public = dev_keypair("alice").public_key
    tmp_path.joinpath("61757261" + public.hex()).write_text(content)
    with pytest.raises(CorruptKeyFileError):
        store.load("aura", public)


def test_out_of_bounds_scrypt_params_rejected(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pair = store.insert("aura", "//Alice")
    (path,) = tmp_path.iterdir()
    document = json.loads(path.read_text())
    document["crypto"]["kdfParams"]["n"] = 1 << 30
    path.write_text(json.dumps(document))
    with pytest.raises(CorruptKeyFileError):
        store.load("aura", pair.public_key)


@pytest.mark.parametrize("key_type", ["AURA", "gr", "grandpa", "ab!c"])
def test_bad_key_type_rejected(tmp_path: Path, key_type: str) -> None:
    with pytest.raises(KeystoreError):
        _store(tmp_path).insert(key_type, "//Alice")


def test_bad_scrypt_cost_rejected(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError):
        Keystore(tmp_path, "pw", scrypt_n=1000)


def test_default_cost_round_trip(tmp_path: Path) -> None:
    store = Keystore(tmp_path, "pw")
    pair = store.insert("acco", "//Alice", "ed25519")
    assert json.loads(next(tmp_path.iterdir()).read_text())["crypto"]["kdfParams"]["n"] == 1 << 15
    assert store.load("acco", pair.public_key).public_key == pair.public_key
