"""Node key loading (Substrate precedence) and peer ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from pychain.network.errors import NodeKeyError
from pychain.network.identity import NODE_KEY_FILE, load_node_key, parse_node_key, peer_id_of

# Substrate's well-known local-testnet bootnode: `--node-key 0000…0001` has this peer id.
SUBSTRATE_KEY_1 = "0000000000000000000000000000000000000000000000000000000000000001"
SUBSTRATE_PEER_1 = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"


def test_peer_id_of_substrate_node_key_matches_known_bootnode() -> None:
    assert peer_id_of(parse_node_key(SUBSTRATE_KEY_1)) == SUBSTRATE_PEER_1


def test_parse_node_key_accepts_0x_prefix() -> None:
    assert parse_node_key("0x" + SUBSTRATE_KEY_1) == bytes(31) + b"\x01"


@pytest.mark.parametrize("bad", ["", "zz" * 32, "00" * 31, "00" * 33])
def test_parse_node_key_with_bad_text_raises(bad: str) -> None:
    with pytest.raises(NodeKeyError):
        parse_node_key(bad)


def test_node_key_flag_wins_over_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(b"\x07" * 32)
    assert load_node_key(SUBSTRATE_KEY_1, key_file) == bytes(31) + b"\x01"
    assert load_node_key(None, key_file) == b"\x07" * 32


def test_node_key_file_in_hex_is_read(tmp_path: Path) -> None:
    key_file = tmp_path / "key.hex"
    key_file.write_text(SUBSTRATE_KEY_1 + "\n")
    assert load_node_key(node_key_file=key_file) == bytes(31) + b"\x01"


def test_node_key_file_with_garbage_raises(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(b"\x01\x02\x03")
    with pytest.raises(NodeKeyError, match="neither"):
        load_node_key(node_key_file=key_file)
    with pytest.raises(NodeKeyError, match="cannot read"):
        load_node_key(node_key_file=tmp_path / "missing")


def test_base_path_key_is_generated_once_and_reused(tmp_path: Path) -> None:
    first = load_node_key(chain_base_path=tmp_path)
    stored = tmp_path / NODE_KEY_FILE
    assert stored.read_bytes() == first
    assert stored.stat().st_mode & 0o777 == 0o600
    assert load_node_key(chain_base_path=tmp_path) == first


def test_no_source_gives_fresh_random_keys() -> None:
    assert load_node_key() != load_node_key()
