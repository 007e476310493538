"""Node codec of the Substrate state trie (layouts V0 and V1).

Mirrors ``sp_trie::NodeCodec`` / ``sp_trie::node_header`` (Polkadot spec, "State Storage and the
Trie", sections "Node Header", "Node Value" and "Node Encoding"):

* header: the first bits give the node kind -- ``01`` leaf, ``10`` branch without value, ``11``
  branch with value, ``001`` leaf with hashed value (V1), ``0001`` branch with hashed value (V1);
  ``0x00`` is the empty trie. The other 6, 5 or 4 bits hold the partial-key length in nibbles; when
  it reaches the maximum those bits can hold, the rest follows in bytes, each 255 meaning "add and
  continue" and a byte below 255 "add and stop" (bounded at 65535 nibbles);
* partial key: nibbles packed two a byte, an odd count putting the leading nibble alone (high half
  zero) in the first byte;
* leaf: ``header ++ partial ++ value``; branch: ``header ++ partial ++ u16 LE child bitmap ++
  [value] ++ children``; value = ``compact(len) ++ bytes``, or in V1 for values of 33 bytes or more
  the 32-byte blake2-256 hash of the value without a length prefix (the value itself is then a
  separate "value node" in the database);
* child reference: an encoding shorter than 32 bytes is inlined as ``compact(len) ++ encoding``,
  otherwise ``compact(32) ++ blake2_256(encoding)``.

Nibble paths are kept as lower-case hex strings (one character per nibble), which makes prefix
tests, slicing and packing run in C. The in-memory :class:`Node` is shared by the incremental trie,
the proof code and the decoder.
"""

from __future__ import annotations

from pychain.primitives.hashing import blake2_256
from pychain.primitives.scale import ScaleDecodeError, decode_compact, encode_compact
from pychain.trie.errors import InvalidNode, TrieError

__all__ = [
    "EMPTY_NODE",
    "EMPTY_TRIE_ROOT",
    "HASH_LENGTH",
    "MAX_INLINE_VALUE",
    "NIBBLE_SIZE_BOUND",
    "LEAF",
    "BRANCH_WITHOUT_VALUE",
    "BRANCH_WITH_VALUE",
    "HASHED_VALUE_LEAF",
    "HASHED_VALUE_BRANCH",
    "Node",
    "encode_header",
    "pack_nibbles",
    "decode_node",
    "check_state_version",
]

#: Encoding of the empty trie (``trie_constants::EMPTY_TRIE``).
EMPTY_NODE = b"\x00"
#: Root of the empty trie: blake2-256(0x00) (the root is always hashed).
EMPTY_TRIE_ROOT = blake2_256(EMPTY_NODE)
#: Length of a node hash (blake2-256).
HASH_LENGTH = 32
#: Layout V1 stores values of at least this many bytes as a hash (``TRIE_VALUE_NODE_THRESHOLD``).
MAX_INLINE_VALUE = 33
#: Largest partial-key length in nibbles a header may declare (``NIBBLE_SIZE_BOUND`` = u16::MAX).
NIBBLE_SIZE_BOUND = 65535

# Header kind prefixes (``trie_constants``), already shifted into place.
LEAF = 0b01 << 6
BRANCH_WITHOUT_VALUE = 0b10 << 6
BRANCH_WITH_VALUE = 0b11 << 6
HASHED_VALUE_LEAF = 0b001 << 5
HASHED_VALUE_BRANCH = 0b0001 << 4

# Largest nibble count each kind's first byte can hold (all its low bits set).
_MAX_IN_FIRST_BYTE = {
    LEAF: 63,
    BRANCH_WITHOUT_VALUE: 63,
    BRANCH_WITH_VALUE: 63,
    HASHED_VALUE_LEAF: 31,
    HASHED_VALUE_BRANCH: 15,
}

HEX_DIGITS = "0123456789abcdef"
#: Nibble value of each hex character of a path.
NIBBLE_INDEX = {c: i for i, c in enumerate(HEX_DIGITS)}


def check_state_version(state_version: int) -> int:
    """Return ``state_version`` if it is 0 or 1 (``StateVersion::V0``/``V1``), else raise."""
    if state_version not in (0, 1) or isinstance(state_version, bool):
        raise TrieError(f"state_version must be 0 or 1, got {state_version!r}")
    return int(state_version)


def encode_header(kind: int, nibble_count: int) -> bytes:
    """Node header: kind bits and the partial-key length in nibbles (spec "Node Header")."""
    limit = _MAX_IN_FIRST_BYTE[kind]
    if nibble_count < limit:
        return bytes((kind | nibble_count,))
    if nibble_count > NIBBLE_SIZE_BOUND:
        raise InvalidNode(f"partial key of {nibble_count} nibbles exceeds {NIBBLE_SIZE_BOUND}")
    out = bytearray((kind | limit,))
    rest = nibble_count - limit
    while rest >= 255:
        out.append(255)
        rest -= 255
    out.append(rest)
    return bytes(out)


def pack_nibbles(path: str) -> bytes:
    """Pack a hex nibble path two nibbles a byte; an odd count leaves the first nibble alone."""
    if len(path) & 1:
        return bytes.fromhex("0" + path)
    return bytes.fromhex(path)


def inline_value(value: bytes) -> bytes:
    """An inline value: ``compact(len) ++ value``."""
    return encode_compact(len(value)) + value


class Node:
    """A trie node in memory: a leaf (``children is None``) or a branch (16 child slots).

    ``partial`` is the partial key as hex nibbles. ``value`` is the stored value (``None``: none, or
    not yet read when ``value_hash`` is set). ``value_hash`` is set when the node's current encoding
    holds its value hashed (V1). A child slot holds ``None``, a loaded :class:`Node`, or the 32-byte
    hash of a child not yet read from the store. ``enc`` caches the encoding (``None`` = dirty),
    ``hash`` its blake2-256 once known, and ``stored`` says the encoding is already in the store.
    """

    __slots__ = ("partial", "value", "value_hash", "children", "enc", "hash", "stored")

    def __init__(
        self,
        partial: str,
        value: bytes | None,
        value_hash: bytes | None = None,
        children: list[Node | bytes | None] | None = None,
    ) -> None:
        self.partial = partial
        self.value = value
        self.value_hash = value_hash
        self.children = children
        self.enc: bytes | None = None
        self.hash: bytes | None = None
        self.stored = False

    def has_value(self) -> bool:
        return self.value is not None or self.value_hash is not None

    def mark_dirty(self) -> None:
        """Forget the cached encoding after a change (the path to the root is dirtied too)."""
        self.enc = None
        self.hash = None
        self.stored = False

    def __repr__(self) -> str:
        kind = "Leaf" if self.children is None else "Branch"
        return f"<{kind} partial={self.partial!r} value={self.value!r}>"


# ------------------------------------------------------------------------------------- decoding


def _decode_nibble_count(data: bytes, pos: int, first: int, limit: int) -> tuple[int, int]:
    count = first & limit
    if count < limit:
        return count, pos
    while True:
        if pos >= len(data):
            raise InvalidNode("truncated partial-key length")
        byte = data[pos]
        pos += 1
        count += byte
        if count > NIBBLE_SIZE_BOUND:
            raise InvalidNode(f"partial-key length exceeds {NIBBLE_SIZE_BOUND} nibbles")
        if byte < 255:
            return count, pos


def _read_compact(data: bytes, pos: int, what: str) -> tuple[int, int]:
    try:
        return decode_compact(data, pos, 32)
    except ScaleDecodeError as exc:
        raise InvalidNode(f"bad {what} length: {exc.reason}") from exc


def _read_value(data: bytes, pos: int, hashed: bool) -> tuple[bytes | None, bytes | None, int]:
    """Read a node value; returns (value, value_hash, end)."""
    if hashed:
        end = pos + HASH_LENGTH
        if end > len(data):
            raise InvalidNode("truncated value hash")
        return None, data[pos:end], end
    length, pos = _read_compact(data, pos, "value")
    end = pos + length
    if end > len(data):
        raise InvalidNode("truncated value")
    return data[pos:end], None, end


def decode_node(data: bytes) -> Node:
    """Decode one node encoding (inline children decoded recursively, hashed ones kept as hashes).

    Raises :class:`InvalidNode` for the empty node, unknown header kinds, a non-zero padding
    nibble, truncated data, an empty child bitmap, bad child references and trailing bytes.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    if not data:
        raise InvalidNode("empty node encoding")
    first = data[0]
    top = first & 0xC0
    if top == LEAF:
        is_leaf, has_value, hashed, limit = True, True, False, 63
    elif top == BRANCH_WITHOUT_VALUE:
        is_leaf, has_value, hashed, limit = False, False, False, 63
    elif top == BRANCH_WITH_VALUE:
        is_leaf, has_value, hashed, limit = False, True, False, 63
    elif first & 0xE0 == HASHED_VALUE_LEAF:
        is_leaf, has_value, hashed, limit = True, True, True, 31
    elif first & 0xF0 == HASHED_VALUE_BRANCH:
        is_leaf, has_value, hashed, limit = False, True, True, 15
    elif first == 0:
        raise InvalidNode("the empty node 0x00 can only stand for the empty trie's root")
    else:
        raise InvalidNode(f"unknown node header 0x{first:02x}")
    count, pos = _decode_nibble_count(data, 1, first, limit)
    nbytes = (count + 1) >> 1
    end = pos + nbytes
    if end > len(data):
        raise InvalidNode("truncated partial key")
    partial = data[pos:end].hex()
    if count & 1:
        if partial[0] != "0":
            raise InvalidNode("non-zero padding nibble in partial key")
        partial = partial[1:]
    pos = end
    if is_leaf:
        value, value_hash, pos = _read_value(data, pos, hashed)
        if pos != len(data):
            raise InvalidNode(f"{len(data) - pos} trailing byte(s) after leaf")
        node = Node(partial, value, value_hash)
    else:
        if pos + 2 > len(data):
            raise InvalidNode("truncated child bitmap")
        bitmap = data[pos] | (data[pos + 1] << 8)
        pos += 2
        if bitmap == 0:
            raise InvalidNode("branch without children")
        value = value_hash = None
        if has_value:
            value, value_hash, pos = _read_value(data, pos, hashed)
        children: list[Node | bytes | None] = [None] * 16
        for i in range(16):
            if not bitmap & (1 << i):
                continue
            length, pos = _read_compact(data, pos, "child reference")
            end = pos + length
            if end > len(data):
                raise InvalidNode("truncated child reference")
            if length == HASH_LENGTH:
                children[i] = data[pos:end]
            elif length < HASH_LENGTH:
                child = decode_node(data[pos:end])
                child.enc = data[pos:end]
                child.stored = True
                children[i] = child
            else:
                raise InvalidNode(f"child reference of {length} bytes")
            pos = end
        if pos != len(data):
            raise InvalidNode(f"{len(data) - pos} trailing byte(s) after branch")
        node = Node(partial, value, value_hash, children)
    node.enc = data
    node.stored = True
    return node
