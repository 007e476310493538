"""Tests of the chain client: genesis, import pipeline, fork choice, finality, state queries."""

from __future__ import annotations

import dataclasses

import pytest

from pychain.chain import (
    BadStateRoot,
    BlockBuildError,
    Chain,
    ChainError,
    GenesisMismatch,
    InvalidBlock,
    NotDescendantOfFinalized,
    UnknownParent,
)
from pychain.frame.dispatch import InvalidTransaction, TransactionValidityError
from pychain.primitives.block import Block
from pychain.primitives.hashing import blake2_128_concat, storage_prefix
from pychain.storage import MemoryStore
from pychain.trie import trie_root, verify_proof
from tests.chain.conftest import (
    ALICE,
    BOB,
    Env,
    genesis_storage,
    open_chain,
    open_kv,
    remark,
    snapshot,
)

ACCOUNT_PREFIX = storage_prefix("System", "Account")


def account_key(pair: object) -> bytes:
    return ACCOUNT_PREFIX + blake2_128_concat(pair.account_id)  # type: ignore[attr-defined]


def grow(builder: Chain, parent: bytes, *xts: bytes) -> Block:
    """Build a child of ``parent`` on ``builder`` and import it there; returns the block."""
    built = builder.build_block(parent, (), list(xts))
    assert built.included == list(xts)
    builder.import_block(built.block, origin="own")
    return built.block


@pytest.fixture
def builder() -> Chain:
    """A second node on the same genesis, used to author blocks for ``env.chain`` to import."""
    return open_chain(MemoryStore())


# --------------------------------------------------------------------------------- genesis


def test_genesis_written_with_best_and_finalized(env: Env) -> None:
    chain = env.chain
    header = chain.header(chain.genesis_hash)
    assert header is not None and header.number == 0 and header.parent_hash == bytes(32)
    assert header.state_root == trie_root(genesis_storage(), 1)
    assert chain.best() == (chain.genesis_hash, 0)
    assert chain.finalized() == (chain.genesis_hash, 0)
    assert chain.hash_at(0) == chain.genesis_hash


def test_genesis_resumed_keeps_imported_blocks(env: Env, builder: Chain) -> None:
    block = grow(builder, builder.genesis_hash, remark(builder, ALICE, 0))
    env.chain.import_block(block)
    chain = env.reopen()
    assert chain.genesis_hash == env.chain.genesis_hash
    assert chain.best() == (block.hash(), 1)
    assert chain.state_at().root == block.header.state_root


def test_open_with_other_genesis_raises_genesis_mismatch(env: Env) -> None:
    other = genesis_storage((ALICE,))
    kv = env.kv
    if env.kind == "lmdb":  # reopen the database from disk
        env.kv.close()
        kv = open_kv(env.kind, env.path)
    before = snapshot(kv)
    with pytest.raises(GenesisMismatch):
        open_chain(kv, other)
    assert snapshot(kv) == before
    kv.close()


# ---------------------------------------------------------------------------------- import


def test_import_valid_block_from_network_executes_it(env: Env, builder: Chain) -> None:
    block = grow(builder, builder.genesis_hash, remark(builder, ALICE, 0))
    result = env.chain.import_block(block.encode())
    assert result.status == "imported" and result.is_new_best
    assert env.chain.best() == (block.hash(), 1)
    assert env.chain.hash_at(1) == block.hash()
    assert env.chain.block(block.hash()) == block
    assert env.chain.account_nonce(ALICE.account_id) == 1
    assert env.chain.account_nonce(ALICE.account_id, env.chain.genesis_hash) == 0


def test_import_known_block_reports_known(env: Env, builder: Chain) -> None:
    block = grow(builder, builder.genesis_hash)
    env.chain.import_block(block)
    before = snapshot(env.kv)
    assert env.chain.import_block(block).status == "known"
    assert snapshot(env.kv) == before


def test_import_bad_state_root_writes_nothing(env: Env, builder: Chain) -> None:
    block = grow(builder, builder.genesis_hash, remark(builder, ALICE, 0))
    bad = Block(dataclasses.replace(block.header, state_root=b"\x01" * 32), block.extrinsics)
    before = snapshot(env.kv)
    with pytest.raises(BadStateRoot) as info:
        env.chain.import_block(bad)
    assert info.value.computed == block.header.state_root
    assert snapshot(env.kv) == before
    assert env.chain.best()[1] == 0


def test_import_unknown_parent_writes_nothing(env: Env, builder: Chain) -> None:
    block = grow(builder, builder.genesis_hash)
    orphan = Block(dataclasses.replace(block.header, parent_hash=b"\x07" * 32), block.extrinsics)
    before = snapshot(env.kv)
    with pytest.raises(UnknownParent):
        env.chain.import_block(orphan)
    assert snapshot(env.kv) == before


def test_import_bad_extrinsic_writes_nothing(env: Env, builder: Chain) -> None:
    xt = bytearray(remark(builder, ALICE, 0))
    block = grow(builder, builder.genesis_hash, bytes(xt))
    xt[-10] ^= 0xFF  # corrupt the signed call: the signature no longer verifies
    bad = Block(block.header, (bytes(xt),))
    before = snapshot(env.kv)
    with pytest.raises(InvalidBlock) as info:
        env.chain.import_block(bad)
    assert not isinstance(info.value, BadStateRoot)
    assert snapshot(env.kv) == before


def test_import_wrong_number_or_garbage_raises_invalid_block(env: Env, builder: Chain) -> None:
    block = grow(builder, builder.genesis_hash)
    skipped = Block(dataclasses.replace(block.header, number=5), block.extrinsics)
    before = snapshot(env.kv)
    with pytest.raises(InvalidBlock):
        env.chain.import_block(skipped)
    with pytest.raises(InvalidBlock):
        env.chain.import_block(b"\x01\x02\x03")
    assert snapshot(env.kv) == before


def test_own_block_import_skips_execution(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = env.chain
    built = chain.build_block(chain.genesis_hash, (), [remark(chain, ALICE, 0)])

    def refuse(block: Block) -> None:
        raise AssertionError("an own block must not be executed again")

    monkeypatch.setattr(chain.executive, "execute_block", refuse)
    result = chain.import_block(built.block, origin="own")
    assert result.is_new_best
    assert chain.state_at().root == built.post_state.root
    assert chain.account_nonce(ALICE.account_id) == 1


def test_build_block_skips_invalid_transactions_and_reports_them(env: Env) -> None:
    chain = env.chain
    good = remark(chain, ALICE, 0)
    future = remark(chain, BOB, 3)
    stale_later = remark(chain, ALICE, 0, b"again")
    built = chain.build_block(chain.genesis_hash, (), [good, future, stale_later, b"\x00"])
    assert built.included == [good]
    assert [xt for xt, _ in built.skipped] == [future, stale_later, b"\x00"]
    reasons = [err.invalid for err in (e for _, e in built.skipped)]  # type: ignore[attr-defined]
    assert reasons[:2] == [InvalidTransaction.Future, InvalidTransaction.Stale]
    assert built.invalid == [future, stale_later, b"\x00"]
    assert built.block.extrinsics == (good,)


def test_build_block_with_failing_inherent_raises(env: Env) -> None:
    with pytest.raises(BlockBuildError):
        env.chain.build_block(env.chain.genesis_hash, (), [], [remark(env.chain, BOB, 7)])
    with pytest.raises(BlockBuildError):
        env.chain.build_block(b"\x09" * 32)


# ------------------------------------------------------------------------ fork choice


def test_fork_choice_keeps_first_seen_then_longest_chain(env: Env, builder: Chain) -> None:
    g = builder.genesis_hash
    a1 = grow(builder, g, remark(builder, ALICE, 0, b"A"))
    b1 = grow(builder, g, remark(builder, ALICE, 0, b"B"))
    b2 = grow(builder, b1.hash(), remark(builder, ALICE, 1, b"B"))
    chain = env.chain
    assert chain.import_block(a1).is_new_best
    tie = chain.import_block(b1)
    assert not tie.is_new_best and chain.best()[0] == a1.hash()
    reorg = chain.import_block(b2)
    assert reorg.is_new_best
    assert reorg.retracted == (a1.hash(),)
    assert reorg.enacted == (b1.hash(), b2.hash())
    assert chain.best() == (b2.hash(), 2)
    assert chain.hash_at(1) == b1.hash() and chain.hash_at(2) == b2.hash()
    assert sorted(chain.store.leaves()) == sorted([a1.hash(), b2.hash()])
    assert chain.store.children(g) == [a1.hash(), b1.hash()]
    assert chain.store.is_descendant(b1.hash(), b2.hash())
    assert not chain.store.is_descendant(a1.hash(), b2.hash())
    # The state follows the best chain: Alice's nonce is 2 on B, 1 on A.
    assert chain.account_nonce(ALICE.account_id) == 2
    assert chain.account_nonce(ALICE.account_id, a1.hash()) == 1


def test_no_reorg_below_finalized(env: Env, builder: Chain) -> None:
    g = builder.genesis_hash
    a1 = grow(builder, g, remark(builder, ALICE, 0, b"A"))
    b1 = grow(builder, g, remark(builder, ALICE, 0, b"B"))
    b2 = grow(builder, b1.hash(), remark(builder, ALICE, 1, b"B"))
    chain = env.chain
    chain.import_block(a1)
    chain.finalize(a1.hash(), (b"FRNK", b"proof"))
    assert chain.finalized() == (a1.hash(), 1)
    assert chain.justifications(a1.hash()) == [(b"FRNK", b"proof")]
    before = snapshot(env.kv)
    with pytest.raises(NotDescendantOfFinalized):
        chain.import_block(b1)
    assert snapshot(env.kv) == before
    with pytest.raises(UnknownParent):
        chain.import_block(b2)
    assert chain.best() == (a1.hash(), 1)


def test_finalizing_a_fork_moves_best_to_it(env: Env, builder: Chain) -> None:
    g = builder.genesis_hash
    a1 = grow(builder, g, remark(builder, ALICE, 0, b"A"))
    a2 = grow(builder, a1.hash(), remark(builder, ALICE, 1, b"A"))
    b1 = grow(builder, g, remark(builder, ALICE, 0, b"B"))
    chain = env.chain
    for block in (a1, a2, b1):
        chain.import_block(block)
    assert chain.best() == (a2.hash(), 2)
    result = chain.finalize(b1.hash())
    assert result.finalized == (b1.hash(),)
    assert result.retracted == (a2.hash(), a1.hash())
    assert chain.best() == (b1.hash(), 1)
    assert chain.hash_at(1) == b1.hash() and chain.hash_at(2) is None
    assert chain.store.leaves() == [b1.hash()]
    with pytest.raises(NotDescendantOfFinalized):
        chain.finalize(a1.hash())


def test_import_with_justification_finalizes(env: Env, builder: Chain) -> None:
    a1 = grow(builder, builder.genesis_hash)
    env.chain.import_block(a1, justification=(b"FRNK", b"\x01\x02"))
    assert env.chain.finalized() == (a1.hash(), 1)
    assert env.chain.justifications(a1.hash()) == [(b"FRNK", b"\x01\x02")]


# ---------------------------------------------------------------------- state queries


def test_state_queries_and_read_proof_verify(env: Env, builder: Chain) -> None:
    block = grow(builder, builder.genesis_hash, remark(builder, ALICE, 0))
    env.chain.import_block(block)
    state = env.chain.state_at(block.hash())
    key = account_key(ALICE)
    absent = ACCOUNT_PREFIX + b"\x00" * 48
    value = state.get(key)
    assert value is not None
    proof = state.read_proof([key, absent])
    assert verify_proof(block.header.state_root, proof, [key, absent]) == {
        key: value,
        absent: None,
    }
    # The genesis state still answers with the old value.
    assert env.chain.state_at(env.chain.genesis_hash).get(key) != value
    assert trie_root(dict(state.pairs()), 1) == block.header.state_root


def test_keys_paged_walks_a_prefix_in_pages(env: Env) -> None:
    state = env.chain.state_at()
    every = [k for k, _ in state.pairs(ACCOUNT_PREFIX)]
    assert len(every) == 3 and every == sorted(every)
    first = state.keys_paged(ACCOUNT_PREFIX, 2)
    rest = state.keys_paged(ACCOUNT_PREFIX, 10, first[-1])
    assert first + rest == every
    assert state.keys_paged(ACCOUNT_PREFIX, 0) == []
    assert state.keys_paged(b"\xff\xff", 5) == []


def test_runtime_apis_answer_at_a_block(env: Env) -> None:
    chain = env.chain
    xt = remark(chain, ALICE, 0)
    valid = chain.validate_transaction(xt)
    assert valid.requires == [] and len(valid.provides) == 1
    built = chain.build_block(chain.genesis_hash, (), [xt])
    chain.import_block(built.block, origin="own")
    with pytest.raises(TransactionValidityError) as info:
        chain.validate_transaction(xt)
    assert info.value.invalid == InvalidTransaction.Stale
    assert chain.validate_transaction(xt, chain.genesis_hash).provides == valid.provides
    fee = chain.query_info(xt)
    assert fee.partial_fee > 0 and fee.weight.ref_time > 0
    with pytest.raises(TransactionValidityError):
        chain.query_info(b"\x04\x00")


def test_justification_for_known_block_finalizes_it(env: Env, builder: Chain) -> None:
    a1 = grow(builder, builder.genesis_hash)
    env.chain.import_block(a1)
    assert env.chain.import_block(a1, justification=(b"FRNK", b"j")).status == "known"
    assert env.chain.finalized() == (a1.hash(), 1)
    with pytest.raises(ChainError):
        env.chain.finalize(a1.hash(), (b"FRNKX", b"j"))
    with pytest.raises(InvalidBlock):
        env.chain.import_block(42)  # type: ignore[arg-type]


def test_build_block_stops_when_asked(env: Env) -> None:
    chain = env.chain
    xts = [remark(chain, ALICE, 0), remark(chain, BOB, 0)]
    calls: list[int] = []

    def after_one() -> bool:
        calls.append(1)
        return len(calls) > 1

    built = chain.build_block(chain.genesis_hash, (), xts, should_stop=after_one)
    assert built.included == xts[:1] and built.skipped == []
