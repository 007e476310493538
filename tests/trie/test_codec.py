"""Node codec: headers, partial-key packing, decoding and rejection of malformed nodes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.primitives.hashing import blake2_256
from pychain.trie import InvalidNode, Trie, TrieError, build_trie_nodes, decode_node
from pychain.trie.codec import (
    BRANCH_WITH_VALUE,
    BRANCH_WITHOUT_VALUE,
    HASHED_VALUE_BRANCH,
    HASHED_VALUE_LEAF,
    LEAF,
    check_state_version,
    encode_header,
    pack_nibbles,
)
from tests.trie.helpers import ENTRIES


@pytest.mark.parametrize(
    ("kind", "count", "expected"),
    [
        (LEAF, 0, "40"),
        (LEAF, 62, "7e"),
        (LEAF, 63, "7f00"),
        (LEAF, 64, "7f01"),
        (BRANCH_WITHOUT_VALUE, 62, "be"),
        (BRANCH_WITH_VALUE, 63 + 254, "fffe"),
        (BRANCH_WITH_VALUE, 63 + 255, "ffff00"),
        (BRANCH_WITH_VALUE, 63 + 256, "ffff01"),
        (HASHED_VALUE_LEAF, 30, "3e"),
        (HASHED_VALUE_LEAF, 31, "3f00"),
        (HASHED_VALUE_BRANCH, 14, "1e"),
        (HASHED_VALUE_BRANCH, 15, "1f00"),
        (HASHED_VALUE_BRANCH, 15 + 300, "1fff2d"),
    ],
)
def test_encode_header_kind_and_length_bytes_match_spec(
    kind: int, count: int, expected: str
) -> None:
    assert encode_header(kind, count).hex() == expected


def test_encode_header_too_long_partial_is_rejected() -> None:
    with pytest.raises(InvalidNode):
        encode_header(LEAF, 65536)


def test_pack_nibbles_odd_count_puts_first_nibble_alone() -> None:
    assert pack_nibbles("abc") == bytes([0x0A, 0xBC])
    assert pack_nibbles("ab") == bytes([0xAB])
    assert pack_nibbles("") == b""


@pytest.mark.parametrize("count", [0, 1, 14, 15, 16, 31, 32, 62, 63, 64, 317, 318, 319, 1000])
@pytest.mark.parametrize("hashed", [False, True])
def test_decode_leaf_roundtrips_any_partial_length(count: int, hashed: bool) -> None:
    partial = ("0123456789abcdef" * 70)[:count]
    kind = HASHED_VALUE_LEAF if hashed else LEAF
    tail = bytes(range(32)) if hashed else b"\x0cabc"
    enc = encode_header(kind, count) + pack_nibbles(partial) + tail
    node = decode_node(enc)
    assert node.children is None
    assert node.partial == partial
    if hashed:
        assert node.value is None and node.value_hash == bytes(range(32))
    else:
        assert node.value == b"abc" and node.value_hash is None


@settings(max_examples=150, deadline=None)
@given(ENTRIES, st.sampled_from([0, 1]))
def test_decode_every_built_node_reencodes_to_same_bytes(
    entries: dict[bytes, bytes], v: int
) -> None:
    root, nodes = build_trie_nodes(entries, v)
    encoder = Trie(state_version=v)
    long_values = {blake2_256(x) for x in entries.values() if len(x) >= 33} if v else set()
    for node_hash, enc in nodes.items():
        if node_hash in long_values:
            continue  # a V1 value node holds the raw value, not a node
        node = decode_node(enc)
        node.mark_dirty()
        assert encoder._encode(node) == enc


@pytest.mark.parametrize(
    ("enc", "reason"),
    [
        ("", "empty"),
        ("00", "empty node"),
        ("01", "unknown node header"),
        ("0f", "unknown node header"),
        ("41", "truncated partial key"),
        ("411f04", "padding"),
        ("4101", "bad value length"),
        ("41010801", "truncated value"),
        ("4101040102", "trailing"),
        ("7f", "truncated partial-key length"),
        ("7f" + "ff" * 300, "exceeds"),
        ("2001", "truncated value hash"),
        ("80", "truncated child bitmap"),
        ("800000", "branch without children"),
        ("800100", "child reference"),
        ("800100" + "10" + "400401", "truncated child reference"),
        ("800100" + "84" + "00" * 33, "child reference of 33 bytes"),
        ("8001000c40040100", "trailing"),
        ("80010000", "empty node encoding"),
    ],
)
def test_decode_malformed_node_raises_invalid_node(enc: str, reason: str) -> None:
    with pytest.raises(InvalidNode, match=reason):
        decode_node(bytes.fromhex(enc))


def test_decode_branch_with_inline_and_hashed_children() -> None:
    inline = bytes.fromhex("400401")  # leaf, empty partial, value 0x01
    enc = bytes.fromhex("c1020300") + b"\x04\xaa" + bytes([len(inline) << 2]) + inline
    enc += b"\x80" + bytes(range(32))
    node = decode_node(enc)
    assert node.partial == "2" and node.value == b"\xaa"
    assert node.children is not None
    first, second = node.children[0], node.children[1]
    assert first is not None and not isinstance(first, bytes) and first.value == b"\x01"
    assert second == bytes(range(32))
    assert all(c is None for c in node.children[2:])


@pytest.mark.parametrize("bad", [2, -1, True, "1"])
def test_state_version_other_than_0_or_1_is_rejected(bad: object) -> None:
    with pytest.raises(TrieError):
        check_state_version(bad)  # type: ignore[arg-type]
