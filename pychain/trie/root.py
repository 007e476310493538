"""From-scratch trie roots: ``trie_root`` and ``ordered_trie_root``.

Mirrors ``sp_trie::LayoutV0/LayoutV1::trie_root`` and ``ordered_trie_root`` (``trie_root::
trie_root_inner``): the key set is sorted once and the trie is built bottom-up by splitting the
sorted range on common prefixes, so every node is encoded and hashed exactly once (no per-insert
node rewriting). Polkadot spec, "State Storage and the Trie" ("Merkle Proof", "Trie structure");
the extrinsics root is the ordered trie root with keys ``Compact<u32>`` indices (spec "Block
Format", ``extrinsics_root``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping

from pychain.primitives.hashing import blake2_256
from pychain.primitives.scale import encode_compact
from pychain.trie.codec import (
    BRANCH_WITH_VALUE,
    BRANCH_WITHOUT_VALUE,
    EMPTY_TRIE_ROOT,
    HASHED_VALUE_BRANCH,
    HASHED_VALUE_LEAF,
    HEX_DIGITS,
    LEAF,
    MAX_INLINE_VALUE,
    NIBBLE_INDEX,
    check_state_version,
    encode_header,
    pack_nibbles,
)
from pychain.trie.errors import TrieError

__all__ = ["Entries", "trie_root", "ordered_trie_root", "build_trie_nodes", "sorted_entries"]

#: What a from-scratch root accepts: a mapping or an iterable of (key, value) pairs (last wins).
Entries = Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]]

#: Message for tries nested deeper than Python's recursion limit (thousands of keys, each a
#: prefix of the next); Substrate has no such limit, real states never come near it.
TOO_DEEP = "trie nested too deeply (chains of keys each a prefix of the next)"

_BYTES_LIKE = (bytes, bytearray, memoryview)
# The hex character following each nibble character (bisect bound of a child's key range).
_NEXT_DIGIT = {c: HEX_DIGITS[i + 1] for i, c in enumerate(HEX_DIGITS[:-1])}


def _as_bytes(item: object, what: str) -> bytes:
    if type(item) is bytes:
        return item
    if isinstance(item, _BYTES_LIKE):
        return bytes(item)
    raise TrieError(f"trie {what} must be bytes, got {type(item).__name__}")


def sorted_entries(entries: Entries) -> tuple[list[str], list[bytes]]:
    """Validate entries and return (hex keys, values) sorted by key (the byte order)."""
    if isinstance(entries, Mapping):
        pairs = entries.items()
    else:
        try:
            pairs = dict(entries).items()
        except (TypeError, ValueError) as exc:
            raise TrieError(f"entries must be a mapping or (key, value) pairs: {exc}") from None
    items = sorted((_as_bytes(k, "key").hex(), _as_bytes(v, "value")) for k, v in pairs)
    return [k for k, _ in items], [v for _, v in items]


class _Builder:
    """Encodes the trie of a sorted key range; optionally records the nodes a store would hold."""

    __slots__ = ("keys", "values", "hashed_values", "sink")

    def __init__(
        self,
        keys: list[str],
        values: list[bytes],
        state_version: int,
        sink: dict[bytes, bytes] | None,
    ) -> None:
        self.keys = keys
        self.values = values
        self.hashed_values = check_state_version(state_version) == 1
        self.sink = sink

    def value_part(self, value: bytes) -> tuple[bool, bytes]:
        if self.hashed_values and len(value) >= MAX_INLINE_VALUE:
            value_hash = blake2_256(value)
            if self.sink is not None:
                self.sink[value_hash] = value
            return True, value_hash
        return False, encode_compact(len(value)) + value

    def child_ref(self, enc: bytes) -> bytes:
        if len(enc) < 32:
            return bytes((len(enc) << 2,)) + enc
        node_hash = blake2_256(enc)
        if self.sink is not None:
            self.sink[node_hash] = enc
        return b"\x80" + node_hash

    def build(self, lo: int, hi: int, depth: int) -> bytes:
        """Encoding of the node holding keys[lo:hi], which all share their first ``depth`` nibbles."""
        keys = self.keys
        first = keys[lo]
        if hi - lo == 1:
            partial = first[depth:]
            hashed, value_part = self.value_part(self.values[lo])
            kind = HASHED_VALUE_LEAF if hashed else LEAF
            return encode_header(kind, len(partial)) + pack_nibbles(partial) + value_part
        last = keys[hi - 1]
        common = depth
        stop = min(len(first), len(last))
        while common < stop and first[common] == last[common]:
            common += 1
        partial = first[depth:common]
        value_part = b""
        kind = BRANCH_WITHOUT_VALUE
        if len(first) == common:
            hashed, value_part = self.value_part(self.values[lo])
            kind = HASHED_VALUE_BRANCH if hashed else BRANCH_WITH_VALUE
            lo += 1
        bitmap = 0
        refs = []
        prefix = first[:common]
        while lo < hi:
            digit = keys[lo][common]
            nxt = _NEXT_DIGIT.get(digit)
            end = hi if nxt is None else bisect_left(keys, prefix + nxt, lo, hi)
            bitmap |= 1 << NIBBLE_INDEX[digit]
            refs.append(self.child_ref(self.build(lo, end, common + 1)))
            lo = end
        return b"".join(
            (
                encode_header(kind, len(partial)),
                pack_nibbles(partial),
                bitmap.to_bytes(2, "little"),
                value_part,
                *refs,
            )
        )


def _build_root_node(
    keys: list[str], values: list[bytes], state_version: int, sink: dict[bytes, bytes] | None
) -> bytes:
    try:
        return _Builder(keys, values, state_version, sink).build(0, len(keys), 0)
    except RecursionError:
        raise TrieError(TOO_DEEP) from None


def build_trie_nodes(entries: Entries, state_version: int = 0) -> tuple[bytes, dict[bytes, bytes]]:
    """Root and every node a store needs for this key set: hash -> encoding (and value nodes).

    The root node is always included under its hash, even when shorter than 32 bytes.
    """
    keys, values = sorted_entries(entries)
    if not keys:
        return EMPTY_TRIE_ROOT, {}
    sink: dict[bytes, bytes] = {}
    enc = _build_root_node(keys, values, state_version, sink)
    root = blake2_256(enc)
    sink[root] = enc
    return root, sink


def trie_root(entries: Entries, state_version: int = 0) -> bytes:
    """Root of the trie holding exactly ``entries`` (layout V0, or V1 when ``state_version`` = 1)."""
    keys, values = sorted_entries(entries)
    if not keys:
        check_state_version(state_version)
        return EMPTY_TRIE_ROOT
    return blake2_256(_build_root_node(keys, values, state_version, None))


def ordered_trie_root(values: Iterable[bytes], state_version: int = 0) -> bytes:
    """Root of the trie mapping SCALE ``Compact<u32>`` index -> item (the extrinsics root)."""
    if isinstance(values, _BYTES_LIKE) or isinstance(values, str):
        raise TrieError("ordered_trie_root expects a sequence of byte strings, not one string")
    try:
        items = list(values)
    except TypeError:
        raise TrieError("ordered_trie_root expects a sequence of byte strings") from None
    if len(items) > 0xFFFF_FFFF:
        raise TrieError("ordered_trie_root supports at most 2^32 - 1 items")
    return trie_root({encode_compact(i): v for i, v in enumerate(items)}, state_version)
