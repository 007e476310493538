"""Helpers for the node tests: signed transfers, balances and events read from a node's chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from pychain.chain import Chain
from pychain.node import Node, NodeConfig
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import sign_extrinsic
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.runtime import UNIT, VERSION

__all__ = [
    "UNIT",
    "dev_config",
    "events_at",
    "free_balance",
    "block_containing",
    "transfer",
    "wait_for",
]


def dev_config(base_path: Path | None = None, **overrides: Any) -> NodeConfig:
    """A ``--dev`` node configuration with short slots (a temp base path unless one is given)."""
    values: dict[str, Any] = {
        "chain": "dev",
        "base_path": base_path,
        "tmp": base_path is None,
        "validator": True,
        "dev_key": "Alice",
        "slot_duration": 150,
        "status_interval": 0.5,
    }
    values.update(overrides)
    return NodeConfig(**values)


def transfer(
    chain: Chain, pair: Keypair, nonce: int, dest: bytes, value: int, tip: int = 0
) -> bytes:
    """A signed ``Balances.transfer_keep_alive(dest, value)`` from ``pair`` (immortal)."""
    runtime = chain.runtime
    call = runtime.encode_call(
        runtime.make_call("Balances", "transfer_keep_alive", dest=AddressId(dest), value=value)
    )
    return sign_extrinsic(
        pair,
        call,
        nonce,
        Era(),
        tip,
        chain.genesis_hash,
        VERSION.spec_version,
        VERSION.transaction_version,
    )


def free_balance(chain: Chain, who: bytes, at: bytes | None = None) -> int:
    system = chain.runtime.system
    free: int = chain.call_at(at, lambda: system.account(who).data.free)
    return free


def events_at(chain: Chain, block_hash: bytes) -> list[Any]:
    """``(pallet, event name, event)`` of every event deposited by ``block_hash``."""
    system = chain.runtime.system
    records = chain.call_at(block_hash, system.events)
    return [(r.event.pallet, type(r.event.event).__name__, r.event.event) for r in records]


def block_containing(chain: Chain, xt: bytes) -> bytes | None:
    """The canonical block whose body holds ``xt`` (newest first), or ``None``."""
    best_hash, best_number = chain.best()
    for number in range(best_number, 0, -1):
        block_hash = chain.hash_at(number)
        assert block_hash is not None
        body = chain.store.body(block_hash) or []
        if xt in body:
            return block_hash
    return None


async def wait_for(predicate: Any, timeout: float = 20.0, step: float = 0.02) -> None:
    """Poll ``predicate()`` until true; fail the test after ``timeout`` seconds."""
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(step)


def open_dev_node(base_path: Path | None = None, **overrides: Any) -> Node:
    return Node.open(dev_config(base_path, **overrides))
