"""Tests of pychain.primitives.ss58: known addresses, round trips, and every rejection path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.errors import PychainError
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.ss58 import (
    SS58Error,
    network_name,
    parse_network,
    ss58_decode,
    ss58_encode,
)

ALICE = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
ALICE_GENERIC = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
ALICE_POLKADOT = "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"
ALICE_KUSAMA = "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"
# `subkey inspect --scheme ecdsa //Alice`: "Public key (SS58)" of the 33-byte key, and the address.
ALICE_ECDSA_PUBLIC_SS58 = "KW39r9CJjAVzmkf9zQ4YDb2hqfAVGdRqn53eRqyruqpxAP5YL"
ALICE_ECDSA_ADDRESS = "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"


def _raw_address(prefix_bytes: bytes, payload: bytes, checksum: bytes | None = None) -> str:
    body = prefix_bytes + payload
    if checksum is None:
        checksum = hashlib.blake2b(b"SS58PRE" + body, digest_size=64).digest()[:2]
    return base58.b58encode(body + checksum).decode()


def test_alice_known_addresses_encode_and_decode() -> None:
    for prefix, address in ((42, ALICE_GENERIC), (0, ALICE_POLKADOT), (2, ALICE_KUSAMA)):
        assert ss58_encode(ALICE, prefix) == address
        assert ss58_decode(address) == (ALICE, prefix)
    assert ss58_encode(ALICE) == ALICE_GENERIC  # default prefix 42


def test_vector_addresses_decode(vectors: Path) -> None:
    data = json.loads(
        (
            vectors / "extrinsics" / "py_substrate_interface_1.8.1_node_template_transfers.json"
        ).read_text()
    )
    keys = data["keys"]
    for scheme in ("ed25519", "sr25519"):
        payload, prefix = ss58_decode(keys[f"alice_{scheme}_ss58"])
        assert prefix == 42 and "0x" + payload.hex() == keys[f"alice_{scheme}_pub"]
    payload, _ = ss58_decode(data["call"]["dest_ss58"])
    assert "0x" + payload.hex() == data["call"]["dest_pub"]


def test_ecdsa_33_byte_public_key_address() -> None:
    alice = dev_keypair("alice", "ecdsa")
    assert ss58_encode(alice.public_key) == ALICE_ECDSA_PUBLIC_SS58
    assert ss58_decode(ALICE_ECDSA_PUBLIC_SS58) == (alice.public_key, 42)
    assert ss58_encode(alice.account_id) == ALICE_ECDSA_ADDRESS


@settings(max_examples=150, deadline=None)
@given(
    payload=st.one_of(st.binary(min_size=32, max_size=32), st.binary(min_size=33, max_size=33)),
    prefix=st.one_of(st.sampled_from([0, 2, 42, 63, 64, 16383]), st.integers(0, 16383)),
)
def test_round_trip_any_prefix_and_payload(payload: bytes, prefix: int) -> None:
    address = ss58_encode(payload, prefix)
    assert ss58_decode(address) == (payload, prefix)
    assert ss58_decode(address, expected_prefix=prefix) == (payload, prefix)


@pytest.mark.parametrize("prefix", [64, 255, 1284, 16383])
def test_two_byte_prefix_layout_follows_spec(prefix: int) -> None:
    raw = base58.b58decode(ss58_encode(ALICE, prefix))
    first = 0b0100_0000 | ((prefix & 0b1111_1100) >> 2)
    second = (prefix >> 8) | ((prefix & 0b11) << 6)
    assert raw[:2] == bytes([first, second])
    assert raw[2:34] == ALICE and len(raw) == 36


def test_one_byte_prefix_layout() -> None:
    raw = base58.b58decode(ss58_encode(ALICE, 63))
    assert raw[0] == 63 and raw[1:33] == ALICE and len(raw) == 35


def test_bad_checksum_rejected() -> None:
    raw = bytearray(base58.b58decode(ALICE_GENERIC))
    raw[-1] ^= 1
    with pytest.raises(SS58Error, match="checksum"):
        ss58_decode(base58.b58encode(bytes(raw)).decode())
    raw[-1] ^= 1
    raw[5] ^= 0x10  # corrupt the payload instead
    with pytest.raises(SS58Error, match="checksum"):
        ss58_decode(base58.b58encode(bytes(raw)).decode())


@pytest.mark.parametrize("length", [0, 1, 20, 31, 34, 64])
def test_bad_payload_length_rejected(length: int) -> None:
    with pytest.raises(SS58Error):
        ss58_decode(_raw_address(b"\x2a", b"\x07" * length))
    with pytest.raises(SS58Error):
        ss58_encode(b"\x07" * length)


@pytest.mark.parametrize("text", ["0OIl", "5Grwva EF", "", "é", "5" * 3])
def test_bad_base58_or_too_short_rejected(text: str) -> None:
    with pytest.raises(SS58Error):
        ss58_decode(text)


def test_unexpected_prefix_rejected() -> None:
    with pytest.raises(SS58Error, match="expected 0"):
        ss58_decode(ALICE_GENERIC, expected_prefix=0)


def test_invalid_prefix_byte_rejected() -> None:
    with pytest.raises(SS58Error, match="prefix byte"):
        ss58_decode(_raw_address(b"\x80", ALICE))


def test_non_canonical_two_byte_prefix_rejected() -> None:
    # 0x40 0x80 would read as prefix 2, which must be written in one byte.
    with pytest.raises(SS58Error, match="non-canonical"):
        ss58_decode(_raw_address(b"\x40\x80", ALICE))


@pytest.mark.parametrize("prefix", [-1, 16384, True, "42"])
def test_encode_bad_prefix_rejected(prefix: object) -> None:
    with pytest.raises(SS58Error):
        ss58_encode(ALICE, prefix)  # type: ignore[arg-type]


def test_decode_non_str_rejected() -> None:
    with pytest.raises(SS58Error):
        ss58_decode(ALICE)  # type: ignore[arg-type]
    assert issubclass(SS58Error, PychainError)


def test_parse_network_names_and_numbers() -> None:
    assert parse_network("polkadot") == 0
    assert parse_network("Kusama") == 2
    assert parse_network("42") == 42
    assert parse_network("16383") == 16383
    assert network_name(0) == "polkadot" and network_name(7) == "7"
    for bad in ("16384", "-1", "moon", "²"):
        with pytest.raises(SS58Error):
            parse_network(bad)
