"""Shared helpers of the network tests: a toy chain, network factories and a trio runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from pychain.errors import PychainError
from pychain.network.libp2p_network import Libp2pNetwork
from pychain.network.memory import MemoryHub, MemoryNetwork
from pychain.network.service import NetworkCore, NetworkEvent
from pychain.primitives.block import Block
from pychain.primitives.hashing import blake2_256
from pychain.primitives.header import Header

GENESIS_A = blake2_256(b"pychain test genesis A")
GENESIS_B = blake2_256(b"pychain test genesis B")
IMPLS = ("memory", "libp2p")


def run(fn: Callable[[], Awaitable[Any]], limit: float = 30.0) -> Any:
    """Run an async test body under trio with an overall deadline."""

    async def main() -> Any:
        with trio.fail_after(limit):
            return await fn()

    return trio.run(main)


def node_key(i: int) -> bytes:
    return bytes([i]) * 32


@dataclass
class Factory:
    """Builds started networks of one implementation (all on one hub for ``memory``)."""

    kind: str
    nursery: trio.Nursery
    hub: MemoryHub = field(default_factory=MemoryHub)

    async def make(self, i: int, genesis: bytes = GENESIS_A, best: Any = None) -> Any:
        """A started network (typed ``Any``: tests also reach test hooks such as
        ``_publish_raw``)."""
        net: NetworkCore
        if self.kind == "memory":
            net = MemoryNetwork(self.hub, node_key(i), genesis, best=best)
            await net.start(self.nursery)
        else:
            net = Libp2pNetwork(node_key(i), genesis, best=best, handshake_timeout=5.0)
            await net.start(self.nursery, ["/ip4/127.0.0.1/tcp/0"])
        return net

    async def stop_all(self, *nets: Any) -> None:
        for net in nets:
            await net.stop()


async def next_event(net: NetworkCore, kind: type, timeout: float = 10.0) -> Any:
    """The next event of type ``kind`` (others are skipped)."""
    with trio.fail_after(timeout):
        while True:
            event: NetworkEvent = await net.events().receive()
            if isinstance(event, kind):
                return event


def make_header(parent: Header | None, salt: bytes = b"") -> Header:
    """A toy header (no execution): state root = hash of parent hash and salt."""
    parent_hash = parent.hash() if parent is not None else bytes(32)
    number = parent.number + 1 if parent is not None else 0
    return Header(parent_hash, number, blake2_256(parent_hash + salt), bytes(32), ())


class ToyChain:
    """An in-memory chain without execution: longest chain wins; ``bad`` hashes are refused."""

    def __init__(self, genesis: Header) -> None:
        self.blocks: dict[bytes, Block] = {genesis.hash(): Block(genesis, ())}
        self.canonical: list[bytes] = [genesis.hash()]
        self.justified: dict[bytes, list[tuple[bytes, bytes]]] = {}
        self.bad: set[bytes] = set()

    def best(self) -> tuple[bytes, int]:
        return self.canonical[-1], len(self.canonical) - 1

    def header(self, block_hash: bytes) -> Header | None:
        block = self.blocks.get(block_hash)
        return block.header if block is not None else None

    def block(self, block_hash: bytes) -> Block | None:
        return self.blocks.get(block_hash)

    def hash_at(self, number: int) -> bytes | None:
        return self.canonical[number] if 0 <= number < len(self.canonical) else None

    def justifications(self, block_hash: bytes) -> list[tuple[bytes, bytes]]:
        return list(self.justified.get(block_hash, []))

    def import_block(
        self, block: Block, justification: tuple[bytes, bytes] | None = None
    ) -> object:
        header = block.header
        if block.hash() in self.bad:
            raise PychainError(f"bad block #{header.number}")
        if header.parent_hash not in self.blocks:
            raise PychainError("unknown parent")
        self.blocks[block.hash()] = block
        if justification is not None:
            self.justified[block.hash()] = [justification]
        if header.number > len(self.canonical) - 1:
            # Re-derive the canonical chain ending at this block.
            chain = [block.hash()]
            cursor = header
            while cursor.number > 0:
                chain.append(cursor.parent_hash)
                cursor = self.blocks[cursor.parent_hash].header
            self.canonical = list(reversed(chain))
        return block.hash()

    def extend(self, count: int, salt: bytes = b"", body: tuple[bytes, ...] = ()) -> list[Block]:
        """Author ``count`` blocks on top of our best."""
        made = []
        for _ in range(count):
            parent = self.blocks[self.canonical[-1]].header
            block = Block(make_header(parent, salt), body)
            self.import_block(block)
            made.append(block)
        return made
