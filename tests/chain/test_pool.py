"""Tests of the transaction pool: validation, ready/future, ordering, limits, maintenance, watchers."""

from __future__ import annotations

import pytest

from pychain.chain import (
    AlreadyImported,
    Chain,
    InvalidPoolTransaction,
    PoolFull,
    TooLowPriority,
    TransactionTooLarge,
)
from pychain.chain.pool import PoolLimits, TransactionPool, TxStatus
from pychain.frame.dispatch import InvalidTransaction
from pychain.primitives.hashing import blake2_256
from pychain.storage import MemoryStore
from tests.chain.conftest import ALICE, BOB, CHARLIE, Env, open_chain, remark


@pytest.fixture
def chain(env: Env) -> Chain:
    return env.chain


@pytest.fixture
def tipped() -> Chain:
    """A chain whose runtime orders transactions by tip."""
    return open_chain(MemoryStore(), tip_priority=True)


def author(chain: Chain, pool: TransactionPool) -> bytes:
    """Build a block from the pool's ready queue on the best block and import it."""
    built = chain.build_block(chain.best_hash(), (), pool.ready_extrinsics())
    pool.remove_invalid(built.invalid and [blake2_256(x) for x in built.invalid])
    chain.import_block(built.block, origin="own")
    return built.block.hash()


def test_submit_nonce_gap_is_future_until_filled(chain: Chain) -> None:
    pool = TransactionPool(chain)
    second = pool.submit_and_watch(remark(chain, ALICE, 1))
    assert second.kinds == ["future"]
    assert list(pool.ready()) == [] and pool.status().future == 1
    first = pool.submit(remark(chain, ALICE, 0))
    assert pool.is_ready(first) and pool.is_ready(second.hash)
    assert second.kinds == ["future", "ready"]
    assert [tx.hash for tx in pool.ready()] == [first, second.hash]


def test_ready_is_ordered_by_tip_within_dependencies(tipped: Chain) -> None:
    pool = TransactionPool(tipped)
    low = pool.submit(remark(tipped, BOB, 0, tip=1))
    alice0 = pool.submit(remark(tipped, ALICE, 0, tip=5))
    alice1 = pool.submit(remark(tipped, ALICE, 1, tip=100))
    high = pool.submit(remark(tipped, CHARLIE, 0, tip=50))
    # Alice's nonce 1 pays most but needs nonce 0 first.
    assert [tx.hash for tx in pool.ready()] == [high, alice0, alice1, low]


def test_duplicate_submission_is_rejected(chain: Chain) -> None:
    pool = TransactionPool(chain)
    xt = remark(chain, ALICE, 0)
    pool.submit(xt)
    with pytest.raises(AlreadyImported):
        pool.submit(xt)
    assert len(pool) == 1


def test_invalid_transaction_is_rejected_with_reason(chain: Chain) -> None:
    pool = TransactionPool(chain)
    xt = bytearray(remark(chain, ALICE, 0))
    xt[-1] ^= 1  # a byte of the remark: the signature no longer covers the call
    with pytest.raises(InvalidPoolTransaction) as info:
        pool.submit(bytes(xt))
    assert info.value.validity.invalid == InvalidTransaction.BadProof
    with pytest.raises(InvalidPoolTransaction):
        pool.submit(b"\x08\x01\x02")
    assert len(pool) == 0


def test_same_tag_needs_higher_priority_and_usurps(tipped: Chain) -> None:
    pool = TransactionPool(tipped)
    old = pool.submit_and_watch(remark(tipped, ALICE, 0, b"a", tip=10))
    with pytest.raises(TooLowPriority):
        pool.submit(remark(tipped, ALICE, 0, b"b", tip=10))
    new = pool.submit(remark(tipped, ALICE, 0, b"c", tip=11))
    assert old.events[-1] == TxStatus("usurped", by=new)
    assert old.done and [tx.hash for tx in pool.ready()] == [new]


def test_size_limits_evict_lowest_priority(tipped: Chain) -> None:
    size = len(remark(tipped, ALICE, 0, tip=1))
    pool = TransactionPool(tipped, PoolLimits(ready_count=2, max_tx_bytes=size + 8))
    cheap = pool.submit_and_watch(remark(tipped, ALICE, 0, tip=1))
    pool.submit(remark(tipped, BOB, 0, tip=5))
    pool.submit(remark(tipped, CHARLIE, 0, tip=9))
    assert cheap.events[-1].kind == "dropped" and cheap.hash not in pool
    with pytest.raises(PoolFull):
        pool.submit(remark(tipped, ALICE, 0, b"x", tip=2))
    assert pool.status().ready == 2
    with pytest.raises(TransactionTooLarge):
        pool.submit(remark(tipped, ALICE, 0, b"y" * 64))


def test_future_limit_drops_newest_lowest(chain: Chain) -> None:
    pool = TransactionPool(chain, PoolLimits(future_count=1))
    pool.submit(remark(chain, ALICE, 5))
    with pytest.raises(PoolFull):
        pool.submit(remark(chain, BOB, 5))
    assert pool.status().future == 1


def test_included_transactions_leave_the_pool_then_finalize(chain: Chain) -> None:
    pool = TransactionPool(chain, auto_maintain=True)
    w0 = pool.submit_and_watch(remark(chain, ALICE, 0))
    w1 = pool.submit_and_watch(remark(chain, ALICE, 1))
    # A rival for nonce 0 validated at genesis, submitted at the old block: becomes stale.
    rival = pool.submit_and_watch(remark(chain, BOB, 0))
    built = chain.build_block(chain.best_hash(), (), [w0_xt := pool.get(w0.hash).data])  # type: ignore[union-attr]
    assert built.included == [w0_xt]
    block_hash = chain.import_block(built.block, origin="own").hash
    assert w0.events[-1] == TxStatus("inBlock", block=block_hash)
    assert w0.hash not in pool
    # Alice's nonce 1 is now ready without requirements; Bob's nonce 0 is still valid.
    assert pool.is_ready(w1.hash) and pool.get(w1.hash).requires == ()  # type: ignore[union-attr]
    assert pool.is_ready(rival.hash)
    # A second transaction with a used nonce is dropped when the block including it lands.
    again = remark(chain, ALICE, 1, b"other")
    with pytest.raises(TooLowPriority):
        pool.submit(again)
    chain.finalize(block_hash)
    assert w0.kinds == ["ready", "inBlock", "finalized"] and w0.done


def test_resubmission_after_inclusion_is_stale(chain: Chain) -> None:
    pool = TransactionPool(chain, auto_maintain=True)
    xt = remark(chain, ALICE, 0)
    pool.submit(xt)
    author(chain, pool)
    assert len(pool) == 0
    with pytest.raises(InvalidPoolTransaction) as info:
        pool.submit(xt)
    assert info.value.validity.invalid == InvalidTransaction.Stale


def test_transaction_included_elsewhere_is_dropped_as_invalid(chain: Chain) -> None:
    pool = TransactionPool(chain, auto_maintain=True)
    watched = pool.submit_and_watch(remark(chain, ALICE, 0, b"mine"))
    # Another author includes a different transaction with the same nonce.
    built = chain.build_block(chain.best_hash(), (), [remark(chain, ALICE, 0, b"theirs")])
    chain.import_block(built.block, origin="own")
    assert watched.events[-1].kind == "invalid" and watched.events[-1].reason == "Invalid.Stale"
    assert len(pool) == 0


def test_reorg_resubmits_retracted_transactions(chain: Chain) -> None:
    pool = TransactionPool(chain, auto_maintain=True)
    g = chain.genesis_hash
    watched = pool.submit_and_watch(remark(chain, BOB, 0))
    a1 = author(chain, pool)
    assert watched.events[-1] == TxStatus("inBlock", block=a1)
    # A longer fork without Bob's transaction takes over.
    b1 = chain.build_block(g, (), [remark(chain, ALICE, 0, b"B")]).block
    chain.import_block(b1, origin="own")
    b2 = chain.build_block(b1.hash(), (), []).block
    chain.import_block(b2, origin="own")
    assert chain.best()[0] == b2.hash()
    assert watched.kinds[-2:] == ["retracted", "ready"]
    assert pool.is_ready(watched.hash)


def test_pending_lists_ready_then_future(chain: Chain) -> None:
    pool = TransactionPool(chain)
    future = remark(chain, ALICE, 2)
    ready = remark(chain, BOB, 0)
    pool.submit(future)
    pool.submit(ready)
    assert pool.pending() == [ready, future]


def test_longevity_expiry_drops_mortal_transactions(chain: Chain) -> None:
    from pychain.primitives.era import Era
    from pychain.primitives.extrinsic import sign_extrinsic

    pool = TransactionPool(chain, auto_maintain=True)
    author(chain, pool)  # block 1, so that a mortal era can be born at block 1
    birth = chain.best_hash()
    call = chain.runtime.encode_call(chain.runtime.make_call("System", "remark", remark=b"m"))
    era = Era.mortal(4, 1)
    xt = sign_extrinsic(BOB, call, 5, era, 0, chain.genesis_hash, 100, 1, birth_hash=birth)
    watched = pool.submit_and_watch(xt)  # nonce gap: stays future until it dies
    assert watched.kinds == ["future"]
    for _ in range(4):
        author(chain, pool)
    assert watched.done and watched.events[-1].kind == "invalid"
