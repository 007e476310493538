"""Block store: headers, bodies, justifications, the canonical index and chain metadata.

Mirrors ``sc-client-db``'s blockchain database (``BlockchainDb``: ``header``, ``body``,
``justifications``, ``hash(number)``, ``info()`` with best/finalized/genesis, the leaf set and
the children index) over a :class:`~pychain.storage.KeyValueStore` (LMDB for a node, the
in-memory twin for tests). Columns (DESIGN.md §5, :mod:`pychain.storage.kv`):

* ``headers``: block hash -> SCALE ``Header``; ``bodies``: block hash -> SCALE ``Vec<extrinsic>``;
* ``justifications``: block hash -> SCALE ``Justifications = Vec<(ConsensusEngineId [u8;4],
  Vec<u8>)>``;
* ``canonical``: block number as u32 big-endian -> hash of the best chain's block at that height;
* ``meta``: ``best``, ``finalized``, ``genesis`` (hashes), ``leaves`` (concatenated hashes) and
  ``children:`` ++ hash -> concatenated child hashes.

Every write goes into a caller's :class:`~pychain.storage.WriteBatch`, so a block import is one
write transaction (reads do not see a batch's writes until it commits). Differences from Substrate:
no separate number->hash lookup for non-canonical blocks (the number is in the header), no pruning
of bodies or displaced leaves' branches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pychain.chain.errors import StoreCorrupted, UnknownBlock
from pychain.primitives.block import Block, decode_body, encode_body
from pychain.primitives.header import Header
from pychain.primitives.scale import Bytes, FixedBytes, ScaleDecodeError, Tuple, Vec
from pychain.storage.kv import (
    COL_BODIES,
    COL_CANONICAL,
    COL_HEADERS,
    COL_JUSTIFICATIONS,
    COL_META,
    KeyValueStore,
    WriteBatch,
)

__all__ = ["BlockStore", "Justification", "JUSTIFICATIONS", "number_key"]

#: One justification: (consensus engine id, e.g. ``b"FRNK"``, encoded justification).
Justification = tuple[bytes, bytes]

#: ``sp_runtime::Justifications``: ``Vec<(ConsensusEngineId, EncodedJustification)>``.
JUSTIFICATIONS = Vec(Tuple(FixedBytes(4), Bytes))

META_BEST = b"best"
META_FINALIZED = b"finalized"
META_GENESIS = b"genesis"
META_LEAVES = b"leaves"
META_CHILDREN = b"children:"

#: How many decoded headers the store keeps in memory (they never change once written).
HEADER_CACHE_SIZE = 4096

HASH_LEN = 32


def number_key(number: int) -> bytes:
    """Key of the canonical index: the block number as u32 big-endian (sorts numerically)."""
    return number.to_bytes(4, "big")


def _split_hashes(raw: bytes | None) -> list[bytes]:
    if not raw:
        return []
    if len(raw) % HASH_LEN:
        raise StoreCorrupted(f"hash list of {len(raw)} bytes is not a multiple of {HASH_LEN}")
    return [raw[i : i + HASH_LEN] for i in range(0, len(raw), HASH_LEN)]


class BlockStore:
    """The blockchain database (``sc_client_db::BlockchainDb``) over a key-value store."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv
        self._headers: dict[bytes, Header] = {}

    # ------------------------------------------------------------------------------ reads

    def header(self, block_hash: bytes) -> Header | None:
        """The header of ``block_hash``, or ``None`` if unknown."""
        cached = self._headers.get(block_hash)
        if cached is not None:
            return cached
        raw = self.kv.get(COL_HEADERS, block_hash)
        if raw is None:
            return None
        try:
            header = Header.decode(raw)
        except ScaleDecodeError as exc:
            raise StoreCorrupted(f"stored header 0x{block_hash.hex()} does not decode") from exc
        if len(self._headers) >= HEADER_CACHE_SIZE:
            self._headers.pop(next(iter(self._headers)))
        self._headers[block_hash] = header
        return header

    def expect_header(self, block_hash: bytes) -> Header:
        """The header of ``block_hash``; :class:`UnknownBlock` if there is none."""
        header = self.header(block_hash)
        if header is None:
            raise UnknownBlock(f"unknown block 0x{block_hash.hex()}")
        return header

    def contains(self, block_hash: bytes) -> bool:
        return block_hash in self._headers or self.kv.contains(COL_HEADERS, block_hash)

    def number(self, block_hash: bytes) -> int | None:
        header = self.header(block_hash)
        return None if header is None else header.number

    def body(self, block_hash: bytes) -> list[bytes] | None:
        """The extrinsics of ``block_hash`` (each length-prefixed), or ``None``."""
        raw = self.kv.get(COL_BODIES, block_hash)
        if raw is None:
            return None
        try:
            return decode_body(raw)
        except ScaleDecodeError as exc:
            raise StoreCorrupted(f"stored body 0x{block_hash.hex()} does not decode") from exc

    def block(self, block_hash: bytes) -> Block | None:
        header = self.header(block_hash)
        body = self.body(block_hash)
        if header is None or body is None:
            return None
        return Block(header, tuple(body))

    def justifications(self, block_hash: bytes) -> list[Justification]:
        """The justifications stored with ``block_hash`` (empty when none)."""
        raw = self.kv.get(COL_JUSTIFICATIONS, block_hash)
        if raw is None:
            return []
        try:
            pairs: list[Any] = JUSTIFICATIONS.decode(raw)
        except ScaleDecodeError as exc:
            raise StoreCorrupted(f"justifications of 0x{block_hash.hex()} do not decode") from exc
        return [(bytes(engine), bytes(data)) for engine, data in pairs]

    def hash_at(self, number: int) -> bytes | None:
        """The canonical (best chain) block hash at ``number``, or ``None``."""
        if not 0 <= number < 1 << 32:
            return None
        return self.kv.get(COL_CANONICAL, number_key(number))

    def _meta_hash(self, key: bytes) -> bytes | None:
        return self.kv.get(COL_META, key)

    def genesis_hash(self) -> bytes | None:
        return self._meta_hash(META_GENESIS)

    def best(self) -> tuple[bytes, int]:
        """(hash, number) of the best block."""
        return self._pointer(META_BEST)

    def finalized(self) -> tuple[bytes, int]:
        """(hash, number) of the last finalized block."""
        return self._pointer(META_FINALIZED)

    def _pointer(self, key: bytes) -> tuple[bytes, int]:
        block_hash = self._meta_hash(key)
        if block_hash is None:
            raise StoreCorrupted(f"meta entry {key.decode()} is missing (no genesis written?)")
        header = self.header(block_hash)
        if header is None:
            raise StoreCorrupted(
                f"meta {key.decode()} points at unknown block 0x{block_hash.hex()}"
            )
        return block_hash, header.number

    def leaves(self) -> list[bytes]:
        """Blocks without children (heads of every fork still alive), in insertion order."""
        return _split_hashes(self.kv.get(COL_META, META_LEAVES))

    def children(self, block_hash: bytes) -> list[bytes]:
        return _split_hashes(self.kv.get(COL_META, META_CHILDREN + block_hash))

    def is_canonical(self, block_hash: bytes, number: int) -> bool:
        return self.hash_at(number) == block_hash

    def ancestor_at(self, block_hash: bytes, number: int) -> bytes | None:
        """The ancestor of ``block_hash`` at height ``number`` (itself if equal), or ``None``.

        Follows parent links until it meets the canonical chain, then reads the index.
        """
        header = self.expect_header(block_hash)
        if number > header.number or number < 0:
            return None
        current_hash, current = block_hash, header
        while current.number > number:
            if self.is_canonical(current_hash, current.number):
                return self.hash_at(number)
            current_hash = current.parent_hash
            current = self.expect_header(current_hash)
        return current_hash

    def is_descendant(self, ancestor: bytes, descendant: bytes) -> bool:
        """Whether ``descendant`` is ``ancestor`` or built on it (via parent links)."""
        number = self.number(ancestor)
        if number is None or not self.contains(descendant):
            return False
        return self.ancestor_at(descendant, number) == ancestor

    def route(self, old: bytes, new: bytes) -> tuple[list[bytes], list[bytes]]:
        """``sp_blockchain::tree_route``: (retracted from ``old``, enacted towards ``new``).

        Retracted blocks are listed from ``old`` downwards, enacted ones upwards to ``new``;
        the common ancestor is in neither.
        """
        retracted: list[bytes] = []
        enacted: list[bytes] = []
        a, b = self.expect_header(old), self.expect_header(new)
        a_hash, b_hash = old, new
        while a.number > b.number:
            retracted.append(a_hash)
            a_hash, a = a.parent_hash, self.expect_header(a.parent_hash)
        while b.number > a.number:
            enacted.append(b_hash)
            b_hash, b = b.parent_hash, self.expect_header(b.parent_hash)
        while a_hash != b_hash:
            retracted.append(a_hash)
            enacted.append(b_hash)
            a_hash, a = a.parent_hash, self.expect_header(a.parent_hash)
            b_hash, b = b.parent_hash, self.expect_header(b.parent_hash)
        enacted.reverse()
        return retracted, enacted

    # ----------------------------------------------------------------------------- writes

    def insert_block(
        self,
        batch: WriteBatch,
        header: Header,
        body: Sequence[bytes],
        justifications: Sequence[Justification] = (),
    ) -> bytes:
        """Add a block (header, body, justifications, children index, leaf set) to ``batch``."""
        block_hash = header.hash()
        batch.put(COL_HEADERS, block_hash, header.encode())
        batch.put(COL_BODIES, block_hash, encode_body(list(body)))
        if justifications:
            batch.put(COL_JUSTIFICATIONS, block_hash, JUSTIFICATIONS.encode(list(justifications)))
        if header.number > 0:
            siblings = self.children(header.parent_hash)
            if block_hash not in siblings:
                siblings.append(block_hash)
            batch.put(COL_META, META_CHILDREN + header.parent_hash, b"".join(siblings))
        leaves = [h for h in self.leaves() if h not in (header.parent_hash, block_hash)]
        leaves.append(block_hash)
        batch.put(COL_META, META_LEAVES, b"".join(leaves))
        return block_hash

    def set_genesis(self, batch: WriteBatch, genesis_hash: bytes) -> None:
        """Record the genesis block as genesis, best, finalized and canonical #0."""
        batch.put(COL_META, META_GENESIS, genesis_hash)
        batch.put(COL_META, META_BEST, genesis_hash)
        batch.put(COL_META, META_FINALIZED, genesis_hash)
        batch.put(COL_CANONICAL, number_key(0), genesis_hash)

    def set_best(
        self, batch: WriteBatch, header: Header, old_best_number: int
    ) -> tuple[list[bytes], list[bytes]]:
        """Make ``header``'s block the best one: rewrite the canonical index down to the fork.

        ``header`` may be in ``batch`` only (not committed yet); its ancestors must be stored.
        Returns (retracted, enacted) canonical hashes, as :meth:`route`.
        """
        block_hash = header.hash()
        enacted = [block_hash]
        retracted: list[bytes] = []
        number = header.number
        for n in range(old_best_number, number, -1):
            old = self.hash_at(n)
            if old is not None:
                retracted.append(old)
                batch.delete(COL_CANONICAL, number_key(n))
        batch.put(COL_CANONICAL, number_key(number), block_hash)
        old_at = self.hash_at(number)
        if old_at is not None and old_at != block_hash:
            retracted.append(old_at)
        parent_hash = header.parent_hash
        n = number - 1
        while n >= 0:
            canonical = self.hash_at(n)
            if canonical == parent_hash:
                break
            if canonical is not None:
                retracted.append(canonical)
            enacted.append(parent_hash)
            batch.put(COL_CANONICAL, number_key(n), parent_hash)
            parent_hash = self.expect_header(parent_hash).parent_hash
            n -= 1
        batch.put(COL_META, META_BEST, block_hash)
        enacted.reverse()
        return retracted, enacted

    def set_finalized(
        self, batch: WriteBatch, block_hash: bytes, justification: Justification | None = None
    ) -> None:
        """Record ``block_hash`` as finalized, storing ``justification`` with it if given."""
        batch.put(COL_META, META_FINALIZED, block_hash)
        if justification is not None:
            existing = [j for j in self.justifications(block_hash) if j[0] != justification[0]]
            existing.append(justification)
            batch.put(COL_JUSTIFICATIONS, block_hash, JUSTIFICATIONS.encode(existing))

    def set_leaves(self, batch: WriteBatch, leaves: Sequence[bytes]) -> None:
        batch.put(COL_META, META_LEAVES, b"".join(leaves))
