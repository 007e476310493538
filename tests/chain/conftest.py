"""Fixtures for the chain-layer tests: a System-only runtime, its genesis, stores and chains.

The same suite runs on LMDB (a temp dir, for real) and on the in-memory twin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pychain.chain import Chain
from pychain.frame.dispatch import ValidTransaction
from pychain.frame.executive import Executive
from pychain.frame.ext import TestExternalities
from pychain.frame.extensions import (
    CheckContext,
    CheckMortality,
    CheckNonce,
    CheckNonZeroSender,
    CheckWeight,
    NoChecks,
)
from pychain.frame.runtime import Runtime
from pychain.pallets.system import AccountData, AccountInfo, System, SystemConfig
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import STANDARD_EXTENSIONS, sign_extrinsic
from pychain.primitives.keys import Keypair
from pychain.primitives.runtime_version import RuntimeVersion
from pychain.storage import DEFAULT_COLUMNS, KeyValueStore, LmdbStore, MemoryStore

BACKENDS = ("lmdb", "memory")
SPEC_VERSION = 100
TX_VERSION = 1

ALICE = Keypair.from_uri("//Alice")
BOB = Keypair.from_uri("//Bob")
CHARLIE = Keypair.from_uri("//Charlie")


class TipPriority(NoChecks):
    """``ChargeTransactionPayment``'s ordering part only: priority = tip (no fee is charged)."""

    def __init__(self) -> None:
        super().__init__("ChargeTransactionPayment")

    def validate(self, ctx: CheckContext) -> ValidTransaction:
        return ValidTransaction(priority=int(ctx.extra.get("ChargeTransactionPayment", 0)))


def make_runtime(tip_priority: bool = False) -> tuple[Runtime, Executive]:
    """A runtime of the System pallet alone with the standard extensions (System-only
    ``ChargeTransactionPayment`` is a no-op, or orders by tip with ``tip_priority``)."""
    version = RuntimeVersion("pychain", "pychain", 1, SPEC_VERSION, 1, [], TX_VERSION, 1)
    system = System(SystemConfig(version=version))
    runtime = Runtime([(0, system)])
    logic = [
        CheckNonZeroSender(),
        NoChecks("CheckSpecVersion"),
        NoChecks("CheckTxVersion"),
        NoChecks("CheckGenesis"),
        CheckMortality(),
        CheckNonce(system),
        CheckWeight(system),
        TipPriority() if tip_priority else NoChecks("ChargeTransactionPayment"),
    ]
    return runtime, Executive(runtime, STANDARD_EXTENSIONS, logic)


def genesis_storage(endowed: tuple[Keypair, ...] = (ALICE, BOB, CHARLIE)) -> dict[bytes, bytes]:
    """Genesis state: System's genesis plus an account (providers = 1) for each keypair."""
    runtime, _ = make_runtime()
    ext = TestExternalities()

    def build() -> None:
        runtime.system.genesis_build()
        for pair in endowed:
            info = AccountInfo(providers=1, data=AccountData(free=10**12))
            runtime.system.Account.insert(pair.account_id, info)

    ext.execute_with(build)
    return {k: v for k, v in ext.drain().items() if v is not None}


def open_kv(kind: str, path: Path) -> KeyValueStore:
    if kind == "lmdb":
        return LmdbStore(path / "db", DEFAULT_COLUMNS, durable=False, map_size=1 << 24)
    return MemoryStore(DEFAULT_COLUMNS)


def open_chain(
    kv: KeyValueStore, genesis: dict[bytes, bytes] | None = None, tip_priority: bool = False
) -> Chain:
    runtime, executive = make_runtime(tip_priority)
    return Chain.open(kv, runtime, executive, genesis if genesis is not None else genesis_storage())


def remark(chain: Chain, pair: Keypair, nonce: int, text: bytes = b"hi", tip: int = 0) -> bytes:
    """A signed ``System.remark_with_event`` for ``chain``."""
    call = chain.runtime.encode_call(
        chain.runtime.make_call("System", "remark_with_event", remark=text)
    )
    return sign_extrinsic(
        pair, call, nonce, Era(), tip, chain.genesis_hash, SPEC_VERSION, TX_VERSION
    )


def snapshot(kv: KeyValueStore) -> dict[str, dict[bytes, bytes]]:
    """Every column's content (to prove that a failed import wrote nothing)."""
    return {col: dict(kv.iter_prefix(col)) for col in kv.columns}


@dataclass
class Env:
    """A chain on a fresh store of one backend kind, plus a way to reopen it."""

    kind: str
    path: Path
    kv: KeyValueStore
    chain: Chain
    reopen: Callable[[], Chain]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    kind: str = request.param
    kv = open_kv(kind, tmp_path)
    chain = open_chain(kv)
    holder = {"kv": kv}

    def reopen() -> Chain:
        if kind == "lmdb":
            holder["kv"].close()
            holder["kv"] = open_kv(kind, tmp_path)
        return open_chain(holder["kv"])

    env = Env(kind, tmp_path, kv, chain, reopen)
    yield env
    # Invariants hold at the best block after every test (try_state, as pallet tests do).
    if not getattr(env.kv, "closed", False):
        best_hash, number = env.chain.best()
        runtime = env.chain.runtime
        env.chain.call_at(best_hash, lambda: runtime.try_state(number))
    holder["kv"].close()
