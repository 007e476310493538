"""The node's network identity: an ed25519 node key and the libp2p peer id derived from it.

Mirrors ``sc-cli``'s ``NodeKeyParams`` and ``sc-network``'s ``NodeKeyConfig::Ed25519``:

* ``--node-key HEX``: the 32-byte ed25519 secret in hex (``0x`` prefix allowed);
* ``--node-key-file PATH``: a file with the secret, either 32 raw bytes or 64 hex characters;
* otherwise ``<chain base path>/network/secret_ed25519`` (32 raw bytes), created with a fresh
  random key on first start, as Substrate does.

The peer id is libp2p's: the multihash (identity) of the protobuf-encoded ed25519 public key,
base58 (``12D3KooW…``). Differences: no secp256k1 node keys; the file is written with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID

from pychain.network.errors import NodeKeyError

__all__ = [
    "NODE_KEY_FILE",
    "node_keypair",
    "peer_id_of",
    "parse_node_key",
    "load_node_key",
]

#: Where Substrate keeps the node key under a chain's base path.
NODE_KEY_FILE = Path("network") / "secret_ed25519"


def node_keypair(secret: bytes) -> KeyPair:
    """The libp2p ed25519 key pair of a 32-byte secret (seed)."""
    if not isinstance(secret, bytes) or len(secret) != 32:
        raise NodeKeyError("a node key is a 32-byte ed25519 secret")
    try:
        return create_new_key_pair(secret)
    except ValueError as exc:
        raise NodeKeyError(f"unusable node key: {exc}") from None


def peer_id_of(secret: bytes) -> str:
    """The base58 libp2p peer id of the node key ``secret``."""
    return str(ID.from_pubkey(node_keypair(secret).public_key).to_base58())


def parse_node_key(text: str) -> bytes:
    """A ``--node-key`` value: 64 hex characters (optionally ``0x``-prefixed)."""
    value = text.strip()
    if value.startswith(("0x", "0X")):
        value = value[2:]
    if len(value) != 64:
        raise NodeKeyError(f"node key must be 64 hex characters, got {len(value)}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise NodeKeyError("node key is not valid hex") from None


def _read_key_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NodeKeyError(f"cannot read node key file {path}: {exc.strerror}") from None
    if len(data) == 32:
        return data
    try:
        return parse_node_key(data.decode("ascii"))
    except (UnicodeDecodeError, NodeKeyError):
        raise NodeKeyError(
            f"node key file {path} holds neither 32 raw bytes nor 64 hex characters"
        ) from None


def load_node_key(
    node_key: str | None = None,
    node_key_file: Path | None = None,
    chain_base_path: Path | None = None,
) -> bytes:
    """The node key by Substrate's precedence: ``--node-key``, ``--node-key-file``, then the
    base path's ``network/secret_ed25519`` (generated and stored on first use). Without any of
    them a fresh random key is returned (an ephemeral identity, like ``--tmp``)."""
    if node_key is not None:
        secret = parse_node_key(node_key)
    elif node_key_file is not None:
        secret = _read_key_file(Path(node_key_file))
    elif chain_base_path is not None:
        path = Path(chain_base_path) / NODE_KEY_FILE
        if path.exists():
            secret = _read_key_file(path)
        else:
            secret = os.urandom(32)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secret)
            except OSError as exc:
                raise NodeKeyError(f"cannot write node key file {path}: {exc.strerror}") from None
    else:
        secret = os.urandom(32)
    node_keypair(secret)  # Verify the secret makes a usable key.
    return secret
