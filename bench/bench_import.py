"""Block import cost: the chain layer's pipeline against bare execution of the same blocks.

Blocks of signed ``Balances.transfer_keep_alive`` calls (plus the Timestamp inherent and the
Aura pre-digest) are authored once by an in-memory node on the real pychain runtime, over a
genesis with many endowed accounts. Then, each against a baseline run in the same process:

* **network import** (``Chain.import_block``: decode, checks, execution on an overlay over the
  parent's trie read from LMDB, incremental state root, one LMDB write transaction) versus the
  **baseline**: ``Executive.execute_block`` on ``TestExternalities`` (a dict state with a
  from-scratch trie root, no database) -- the ratio is what the database-backed pipeline costs or
  saves compared with recomputing the root over the whole state;
* **own import** (post-state kept by ``build_block``; no re-execution) versus network import;
* **transfers per second** (:func:`run_transfers`): one block of 1,000 signed transfers (200 in
  quick mode) imported into a fresh LMDB chain, printed next to the raw sr25519 and ed25519
  verification rates measured in the same run.

Figures are printed, never asserted. ``run(quick=True)`` uses a small state and few blocks.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path

from pychain.chain import BuiltBlock, Chain
from pychain.frame.ext import TestExternalities
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import STANDARD_EXTENSIONS, UncheckedExtrinsic, sign_extrinsic
from pychain.primitives.hashing import blake2_256
from pychain.primitives.header import PreRuntime
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.runtime import VERSION, PychainRuntime, RuntimeGenesisConfig
from pychain.storage import DEFAULT_COLUMNS, LmdbStore, MemoryStore

UNIT = 10**12
SENDERS = [Keypair.from_uri(f"//{n}") for n in ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")]


def _genesis(accounts: int) -> dict[bytes, bytes]:
    from pychain.pallets.aura.types import AuraGenesisConfig
    from pychain.pallets.balances.types import BalancesGenesis

    endowed = [(p.account_id, 10**6 * UNIT) for p in SENDERS]
    endowed += [(blake2_256(i.to_bytes(4, "little")), UNIT) for i in range(accounts)]
    config = RuntimeGenesisConfig(
        aura=AuraGenesisConfig([SENDERS[0].public_key]), balances=BalancesGenesis(endowed)
    )
    return PychainRuntime().build_genesis_storage(config)


def _open(kv: object, genesis: dict[bytes, bytes]) -> Chain:
    assembled = PychainRuntime()
    return Chain.open(kv, assembled.runtime, assembled.executive, genesis)  # type: ignore[arg-type]


def _author(chain: Chain, blocks: int, per_sender: int, accounts: int) -> list[BuiltBlock]:
    out: list[BuiltBlock] = []
    nonce = 0
    runtime = chain.runtime
    for slot in range(1, blocks + 1):
        xts = []
        for k in range(per_sender):
            for s, pair in enumerate(SENDERS):
                dest = blake2_256(((slot * 7919 + k * 31 + s) % accounts).to_bytes(4, "little"))
                call = runtime.encode_call(
                    runtime.make_call(
                        "Balances", "transfer_keep_alive", dest=AddressId(dest), value=UNIT
                    )
                )
                xts.append(
                    sign_extrinsic(
                        pair,
                        call,
                        nonce + k,
                        Era(),
                        0,
                        chain.genesis_hash,
                        VERSION.spec_version,
                        VERSION.transaction_version,
                    )
                )
        nonce += per_sender
        set_call = runtime.encode_call(runtime.make_call("Timestamp", "set", now=slot * 1000))
        inherent = UncheckedExtrinsic(set_call, None, STANDARD_EXTENSIONS).encode()
        digest = [PreRuntime(b"aura", slot.to_bytes(8, "little"))]
        built = chain.build_block(chain.best_hash(), digest, xts, [inherent])
        assert not built.skipped, built.skipped[:1]
        chain.import_block(built.block, origin="own")
        out.append(built)
    return out


def run(quick: bool) -> None:
    accounts, blocks, per_sender = (300, 4, 2) if quick else (5000, 12, 10)
    genesis = _genesis(accounts)
    print(
        f"state: {len(genesis)} keys; {blocks} blocks of {per_sender * len(SENDERS)} transfers",
        flush=True,
    )
    built = _author(_open(MemoryStore(), genesis), blocks, per_sender, accounts)

    # Baseline: bare execution over a dict state with a from-scratch root.
    assembled = PychainRuntime()
    ext = TestExternalities(genesis)
    start = time.perf_counter()
    executive = assembled.executive
    for b in built:
        block = b.block
        ext.execute_with(partial(executive.execute_block, block))
        ext.commit_all()
    baseline = (time.perf_counter() - start) / blocks

    with tempfile.TemporaryDirectory() as tmp:
        kv = LmdbStore(Path(tmp) / "db", DEFAULT_COLUMNS, durable=True)
        chain = _open(kv, genesis)
        start = time.perf_counter()
        for b in built:
            chain.import_block(b.block.encode())
        network = (time.perf_counter() - start) / blocks
        kv.close()

    with tempfile.TemporaryDirectory() as tmp:
        kv = LmdbStore(Path(tmp) / "db", DEFAULT_COLUMNS, durable=True)
        author = _open(kv, genesis)
        fresh = _author_timed(author, built)
        kv.close()

    print(f"baseline execute_block + from-scratch root: {baseline * 1e3:8.1f} ms/block")
    print(f"network import (LMDB, incremental root):    {network * 1e3:8.1f} ms/block")
    print(f"  ratio network import / baseline:           {network / baseline:8.2f}")
    print(f"own import (no re-execution, LMDB):         {fresh * 1e3:8.1f} ms/block")
    print(f"  ratio own import / network import:         {fresh / network:8.2f}")
    run_transfers(quick)


def _author_timed(chain: Chain, reference: list[BuiltBlock]) -> float:
    """Seconds per own import: rebuild each block's post-state, then time only the import."""
    total = 0.0
    for b in reference:
        header = b.block.header
        again = chain.build_block(
            header.parent_hash,
            [d for d in header.digest if isinstance(d, PreRuntime)],
            b.block.extrinsics[1:],
            b.block.extrinsics[:1],
        )
        assert again.block.hash() == b.block.hash()
        start = time.perf_counter()
        chain.import_block(again.block, origin="own")
        total += time.perf_counter() - start
    return total / len(reference)


# ------------------------------------------------------------------ transfers per second (node)
#
# Added by the node work (issue "single-node dev chain"): one block of N signed
# ``Balances.transfer_keep_alive`` calls (sequential nonces of the six dev senders) imported from
# its encoding into a fresh LMDB-backed chain -- decode, signature checks, execution, incremental
# root and one write transaction -- reported as transfers/s next to the raw signature
# verification rates of the same run (the floor no import can beat).


def _transfer_block(count: int, accounts: int) -> tuple[dict[bytes, bytes], bytes]:
    """Genesis storage and the encoding of a block of ``count`` transfers (slot 1)."""
    genesis = _genesis(accounts)
    chain = _open(MemoryStore(), genesis)
    runtime = chain.runtime
    xts = []
    for i in range(count):
        pair = SENDERS[i % len(SENDERS)]
        dest = blake2_256((i % accounts).to_bytes(4, "little"))
        call = runtime.encode_call(
            runtime.make_call("Balances", "transfer_keep_alive", dest=AddressId(dest), value=UNIT)
        )
        xts.append(
            sign_extrinsic(
                pair,
                call,
                i // len(SENDERS),
                Era(),
                0,
                chain.genesis_hash,
                VERSION.spec_version,
                VERSION.transaction_version,
            )
        )
    set_call = runtime.encode_call(runtime.make_call("Timestamp", "set", now=1000))
    inherent = UncheckedExtrinsic(set_call, None, STANDARD_EXTENSIONS).encode()
    digest = [PreRuntime(b"aura", (1).to_bytes(8, "little"))]
    built = chain.build_block(chain.best_hash(), digest, xts, [inherent])
    assert not built.skipped and len(built.included) == count, built.skipped[:1]
    return genesis, built.block.encode()


def _verify_rate(scheme: str, seconds: float) -> float:
    """Signature verifications per second of ``keys.verify_signature`` on one core."""
    from pychain.primitives.keys import verify_signature

    pair = Keypair.from_uri("//Alice", scheme)
    message = bytes(range(100))  # about a signed transfer's payload
    signature = pair.sign(message)
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            verify_signature(scheme, pair.public_key, message, signature)
        done += 100
    return done / (time.perf_counter() - start)


def import_transfer_rate(count: int, accounts: int = 300) -> float:
    """Transfers per second of ``Chain.import_block`` for one block of ``count`` transfers."""
    genesis, encoded = _transfer_block(count, accounts)
    with tempfile.TemporaryDirectory() as tmp:
        kv = LmdbStore(Path(tmp) / "db", DEFAULT_COLUMNS, durable=True)
        chain = _open(kv, genesis)
        start = time.perf_counter()
        chain.import_block(encoded)
        elapsed = time.perf_counter() - start
        kv.close()
    return count / elapsed


def run_transfers(quick: bool) -> None:
    count = 200 if quick else 1000
    rate = import_transfer_rate(count)
    seconds = 0.2 if quick else 1.0
    sr = _verify_rate("sr25519", seconds)
    ed = _verify_rate("ed25519", seconds)
    print(f"block of {count} signed transfers imported (LMDB):  {rate:10.0f} transfers/s")
    print(f"raw sr25519 verify:                              {sr:10.0f} /s")
    print(f"raw ed25519 verify:                              {ed:10.0f} /s")
    print(f"  ratio import / sr25519 verify:                  {rate / sr:10.3f}")
