"""An in-process chain (real runtime, dev-like genesis, in-memory store) with the RPC server on
127.0.0.1, and helpers to author blocks into it; used by the RPC tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio
import trio_websocket

from pychain.chain import Chain
from pychain.chain.pool import TransactionPool
from pychain.frame.metadata import build_metadata
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import sign_extrinsic
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.rpc.api import RpcContext, SubstrateRpc
from pychain.rpc.server import RpcConfig, RpcServer
from pychain.runtime import VERSION, PychainRuntime, RuntimeGenesisConfig
from pychain.storage import MemoryStore

ALICE = Keypair.from_uri("//Alice")
BOB = Keypair.from_uri("//Bob")
ALICE_ED = Keypair.from_uri("//Alice", "ed25519")
UNIT = 10**12


def genesis_config() -> RuntimeGenesisConfig:
    from pychain.pallets.aura.types import AuraGenesisConfig
    from pychain.pallets.balances.types import BalancesGenesis
    from pychain.pallets.grandpa.types import GrandpaGenesisConfig
    from pychain.pallets.sudo.types import SudoGenesisConfig

    return RuntimeGenesisConfig(
        aura=AuraGenesisConfig([ALICE.public_key]),
        grandpa=GrandpaGenesisConfig([(ALICE_ED.public_key, 1)]),
        balances=BalancesGenesis([(p.account_id, 1000 * UNIT) for p in (ALICE, BOB, ALICE_ED)]),
        sudo=SudoGenesisConfig(ALICE.account_id),
    )


@dataclass
class RpcChain:
    assembled: PychainRuntime
    chain: Chain
    pool: TransactionPool
    server: RpcServer
    slot: int = 1

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def transfer(self, pair: Keypair, nonce: int, dest: bytes, value: int, tip: int = 0) -> bytes:
        runtime = self.chain.runtime
        call = runtime.encode_call(
            runtime.make_call("Balances", "transfer_keep_alive", dest=AddressId(dest), value=value)
        )
        return sign_extrinsic(
            pair, call, nonce, Era(), tip, self.chain.genesis_hash,
            VERSION.spec_version, VERSION.transaction_version,
        )

    def author(self, extra: Iterable[bytes] = (), finalize: bool = True) -> bytes:
        """Build, import (and finalize) the next block with the pool's ready transactions."""
        slot = self.slot
        self.slot += 1
        built = self.chain.build_block(
            self.chain.best_hash(),
            self.assembled.pre_digest(slot),
            list(extra) + list(self.pool.ready_extrinsics()),
            self.assembled.inherent_extrinsics(self.assembled.slot_timestamp(slot)),
        )
        self.chain.import_block(built.block, origin="own")
        if finalize:
            self.chain.finalize(built.block.hash(), None)
        return built.block.hash()


@asynccontextmanager
async def rpc_chain(broadcast: Any = None, **config: Any) -> AsyncIterator[RpcChain]:
    assembled = PychainRuntime()
    storage = assembled.build_genesis_storage(genesis_config())
    chain = Chain.open(MemoryStore(), assembled.runtime, assembled.executive, storage)
    pool = TransactionPool(chain, auto_maintain=True)
    ctx = RpcContext(
        chain=chain,
        pool=pool,
        version=VERSION,
        metadata=lambda: build_metadata(assembled.runtime, assembled.executive.extensions),
        broadcast=broadcast,
    )
    rpc = SubstrateRpc(ctx)
    server = RpcServer(rpc.module, RpcConfig(port=0, **config))
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        yield RpcChain(assembled, chain, pool, server)
        nursery.cancel_scope.cancel()


class Client:
    """A minimal JSON-RPC WebSocket client for tests (ids, notifications kept aside)."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    async def raw(self, text: str) -> Any:
        await self.ws.send_message(text)
        while True:
            message = json.loads(await self.ws.get_message())
            if isinstance(message, dict) and "method" in message and "id" not in message:
                self.notifications.append(message)
                continue
            return message

    async def request(self, method: str, *params: Any) -> dict[str, Any]:
        self.next_id += 1
        text = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)})
        reply: dict[str, Any] = await self.raw(text)
        return reply

    async def call(self, method: str, *params: Any) -> Any:
        reply = await self.request(method, *params)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply["result"]

    async def notification(self, timeout: float = 10) -> dict[str, Any]:
        if self.notifications:
            return self.notifications.pop(0)
        with trio.fail_after(timeout):
            message: dict[str, Any] = json.loads(await self.ws.get_message())
        return message


@asynccontextmanager
async def client(port: int) -> AsyncIterator[Client]:
    async with trio_websocket.open_websocket("127.0.0.1", port, "/", use_ssl=False) as ws:
        yield Client(ws)
