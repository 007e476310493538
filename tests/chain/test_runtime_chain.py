"""The chain layer with the real pychain runtime: Aura slots, the Timestamp inherent, Balances
transfers with fees from the pool (priority by tip), re-execution by a second node, and fees."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from pychain.chain import BlockBuildError, BuiltBlock, Chain, InvalidBlock
from pychain.chain.pool import TransactionPool
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import STANDARD_EXTENSIONS, UncheckedExtrinsic, sign_extrinsic
from pychain.primitives.header import PreRuntime
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.runtime import (
    VERSION,
    PychainRuntime,
    RuntimeGenesisConfig,
)
from pychain.storage import MemoryStore
from tests.chain.conftest import BACKENDS, open_kv

ALICE = Keypair.from_uri("//Alice")
BOB = Keypair.from_uri("//Bob")
CHARLIE = Keypair.from_uri("//Charlie")
ALICE_ED = Keypair.from_uri("//Alice", "ed25519")
UNIT = 10**12
SLOT_MS = 1000


def genesis_config() -> RuntimeGenesisConfig:
    from pychain.pallets.aura.types import AuraGenesisConfig
    from pychain.pallets.balances.types import BalancesGenesis
    from pychain.pallets.grandpa.types import GrandpaGenesisConfig
    from pychain.pallets.sudo.types import SudoGenesisConfig

    return RuntimeGenesisConfig(
        aura=AuraGenesisConfig([ALICE.public_key]),
        grandpa=GrandpaGenesisConfig([(ALICE_ED.public_key, 1)]),
        balances=BalancesGenesis([(p.account_id, 1000 * UNIT) for p in (ALICE, BOB, CHARLIE)]),
        sudo=SudoGenesisConfig(ALICE.account_id),
    )


GENESIS = PychainRuntime().build_genesis_storage(genesis_config())


def open_runtime_chain(kv: object) -> Chain:
    assembled = PychainRuntime()
    return Chain.open(kv, assembled.runtime, assembled.executive, GENESIS)  # type: ignore[arg-type]


def transfer(
    chain: Chain, pair: Keypair, nonce: int, dest: Keypair, value: int, tip: int = 0
) -> bytes:
    call = chain.runtime.encode_call(
        chain.runtime.make_call(
            "Balances", "transfer_keep_alive", dest=AddressId(dest.account_id), value=value
        )
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


def author(chain: Chain, slot: int, xts: Iterable[bytes] = ()) -> BuiltBlock:
    """Build the block of ``slot`` on the best block: Aura pre-digest + Timestamp inherent."""
    now = slot * SLOT_MS
    call = chain.runtime.encode_call(chain.runtime.make_call("Timestamp", "set", now=now))
    inherent = UncheckedExtrinsic(call, None, STANDARD_EXTENSIONS).encode()
    digest = [PreRuntime(b"aura", slot.to_bytes(8, "little"))]
    return chain.build_block(chain.best_hash(), digest, xts, [inherent])


def free_balance(chain: Chain, pair: Keypair, at: bytes | None = None) -> int:
    system = chain.runtime.system
    free: int = chain.call_at(at, lambda: system.account(pair.account_id).data.free)
    return free


@pytest.mark.parametrize("kind", BACKENDS)
def test_authored_blocks_reexecute_on_a_second_node(kind: str, tmp_path: object) -> None:
    kv = open_kv(kind, tmp_path)  # type: ignore[arg-type]
    author_node = open_runtime_chain(MemoryStore())
    pool = TransactionPool(author_node, auto_maintain=True)
    cheap = pool.submit(transfer(author_node, BOB, 0, CHARLIE, 5 * UNIT))
    rich = pool.submit(transfer(author_node, ALICE, 0, CHARLIE, 7 * UNIT, tip=UNIT))
    # The tip buys priority.
    assert [tx.hash for tx in pool.ready()] == [rich, cheap]
    built = author(author_node, 1, pool.ready_extrinsics())
    assert len(built.included) == 2 and built.skipped == []
    author_node.import_block(built.block, origin="own")
    assert len(pool) == 0
    block2 = author(author_node, 2, [transfer(author_node, ALICE, 1, BOB, UNIT)])
    author_node.import_block(block2.block, origin="own")
    # A second node executes both blocks from the network and reaches the same state.
    follower = open_runtime_chain(kv)
    for b in (built, block2):
        follower.import_block(b.block.encode())
    assert follower.best() == author_node.best()
    assert free_balance(follower, CHARLIE) == 1012 * UNIT
    fee = follower.query_info(transfer(follower, ALICE, 2, BOB, 1))
    assert fee.partial_fee > 0
    paid = 1000 * UNIT - 8 * UNIT - UNIT - free_balance(follower, ALICE)
    assert paid > 2 * fee.partial_fee  # two fees (and the tip) left Alice's account
    kv.close()


def test_block_without_timestamp_inherent_is_rejected() -> None:
    author_node = open_runtime_chain(MemoryStore())
    follower = open_runtime_chain(MemoryStore())
    good = author(author_node, 1)
    author_node.import_block(good.block, origin="own")
    # No Timestamp inherent: the author cannot even build the block.
    digest = [PreRuntime(b"aura", (2).to_bytes(8, "little"))]
    with pytest.raises(BlockBuildError, match="Timestamp must be updated"):
        author_node.build_block(author_node.best_hash(), digest, [], [])
    follower.import_block(good.block)
    assert follower.best() == author_node.best()
    # A tampered body (inherent dropped) fails re-execution on the follower.
    from pychain.primitives.block import Block

    bad = Block(good.block.header, ())
    other = open_runtime_chain(MemoryStore())
    with pytest.raises(InvalidBlock):
        other.import_block(bad)
    assert other.best()[1] == 0
