"""Shared helpers of the trie tests: reading the vector files and small hypothesis strategies."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st


def hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


# Every scalar read as a string (``1`` stays "1"); libyaml's loader when PyYAML was built with it.
_YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


@functools.lru_cache(maxsize=32)
def load_w3f(path: Path, keys_as_hex: bool) -> list[tuple[bytes, bytes]]:
    """A w3f/polkadot-tests trie fixture: ``keys:`` and ``values:`` lists (values are UTF-8)."""
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=_YAML_LOADER)
    keys = [bytes.fromhex(k) if keys_as_hex else k.encode() for k in data["keys"]]
    values = [v.encode() for v in data["values"]]
    assert len(keys) == len(values)
    return list(zip(keys, values, strict=True))


def load_chainspec_top(path: Path) -> dict[bytes, bytes]:
    raw = json.loads(path.read_text())["genesis"]["raw"]
    return {hex_bytes(k): hex_bytes(v) for k, v in raw["top"].items()}


def load_chainspec_children(path: Path) -> dict[bytes, dict[bytes, bytes]]:
    raw = json.loads(path.read_text())["genesis"]["raw"]
    return {
        hex_bytes(ck): {hex_bytes(k): hex_bytes(v) for k, v in child.items()}
        for ck, child in raw.get("childrenDefault", {}).items()
    }


# Keys over a few bytes that share nibbles a lot, so branches, extensions and splits all occur.
KEYS = st.lists(st.sampled_from([0x00, 0x01, 0x10, 0x11, 0x1F, 0xF0, 0xFF]), max_size=4).map(bytes)
# Values on both sides of the V1 hashing threshold (33 bytes), empty included.
VALUES = st.one_of(st.binary(max_size=3), st.binary(min_size=31, max_size=40))
ENTRIES = st.dictionaries(KEYS, VALUES, max_size=24)
