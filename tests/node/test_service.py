"""The node's parts without a running loop (slot authoring, verified import, single-voter
finality, keys, genesis check) on LMDB in temp dirs, and the loop under trio's MockClock."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing

from consensus.aura import BadSeal, SlotNotIncreasing, find_pre_digest, pre_digest, seal_block
from consensus.grandpa.errors import BadSignature
from consensus.grandpa.justification import GRANDPA_ENGINE_ID, GrandpaJustification
from consensus.grandpa.verify import verify_justification
from pychain.chain import BlockBuildError
from pychain.node import (
    Broadcast,
    DatabaseGenesisMismatch,
    Node,
    NodeConfigError,
    load_chain_setup,
)
from pychain.primitives.block import Block
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.keystore import Keystore
from tests.node.helpers import dev_config

ALICE = dev_keypair("Alice")
BOB = dev_keypair("Bob")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    opened = Node.open(dev_config(tmp_path / "a"))
    yield opened
    best = opened.chain.best_hash()
    # Invariants of every pallet hold at the best block after each test.
    opened.chain.call_at(best, lambda: opened.runtime.runtime.try_state(opened.chain.best()[1]))
    opened.close()


def _author(node: Node, slot: int) -> bytes:
    assert node.author is not None
    authored = node.author.author_slot(slot)
    assert authored is not None
    return authored.result.hash


def test_author_slot_imports_a_sealed_block(node: Node) -> None:
    first = _author(node, 10)
    header = node.chain.store.expect_header(first)
    assert node.chain.best() == (first, 1)
    assert find_pre_digest(header.without_seal()) == 10
    assert node.importer.verify(node.chain.block(first)).author == ALICE.public_key  # type: ignore[arg-type]
    # The Timestamp inherent is slot x slot duration.
    now = node.chain.call_at(first, node.runtime.timestamp.Now.get)
    assert now == 10 * node.slot_duration
    # A slot that is not above the best block's is not claimed.
    assert node.author is not None and node.author.author_slot(10) is None
    assert node.chain.best()[1] == 1


def test_other_nodes_block_imports_after_seal_check(node: Node, tmp_path: Path) -> None:
    blocks = [node.chain.block(_author(node, slot)) for slot in (3, 4, 7)]
    follower = Node.open(dev_config(tmp_path / "b", validator=False, dev_key=None))
    try:
        for block in blocks:
            assert block is not None
            follower.import_block(block)
        assert follower.chain.best() == node.chain.best()
        assert follower.author is None and follower.finality is None
    finally:
        follower.close()


def test_block_sealed_by_wrong_key_is_rejected_and_not_stored(node: Node, tmp_path: Path) -> None:
    block = node.chain.block(_author(node, 3))
    assert block is not None
    unsealed = dataclasses.replace(block.header, digest=block.header.digest[:-1])
    forged = seal_block(type(block)(unsealed, block.extrinsics), BOB)
    follower = Node.open(dev_config(tmp_path / "b", validator=False, dev_key=None))
    try:
        with pytest.raises(BadSeal):
            follower.import_block(forged)
        assert follower.chain.best()[1] == 0
        assert follower.chain.header(forged.header.hash()) is None
    finally:
        follower.close()


def test_block_repeating_parent_slot_is_rejected(node: Node) -> None:
    _author(node, 5)
    built = node.chain.build_block(
        node.chain.best_hash(),
        [pre_digest(6)],
        [],
        node.runtime.inherent_extrinsics(6 * node.slot_duration),
    )
    # Claim the parent's slot again (the runtime would refuse it too; Aura refuses it first).
    header = dataclasses.replace(built.block.header, digest=(pre_digest(5),))
    replayed = seal_block(Block(header, built.block.extrinsics), ALICE)
    with pytest.raises(SlotNotIncreasing):
        node.import_block(replayed)
    assert node.chain.best()[1] == 1


def test_block_with_timestamp_of_another_slot_cannot_be_built(node: Node) -> None:
    # The runtime refuses a timestamp outside the block's slot (Aura's OnTimestampSet).
    with pytest.raises(BlockBuildError, match="inherent"):
        node.chain.build_block(
            node.chain.best_hash(),
            [pre_digest(8)],
            [],
            node.runtime.inherent_extrinsics(9 * node.slot_duration),
        )
    assert node.chain.best()[1] == 0


def test_single_voter_finalizes_with_a_verifying_justification(node: Node) -> None:
    assert node.finality is not None
    target = _author(node, 2)
    _author(node, 3)
    head = node.chain.best_hash()
    done = node.finality.finalize(head)
    assert done is not None
    assert node.chain.finalized() == (head, 2)
    assert done.result.finalized == (target, head)  # the ancestor is finalized with it
    stored = node.chain.justifications(head)
    assert [engine for engine, _ in stored] == [GRANDPA_ENGINE_ID]
    justification = GrandpaJustification.from_bytes(stored[0][1])
    assert justification == done.justification
    set_id, voters = node.finality.voter_set()
    result = verify_justification(justification, set_id, voters, expected_target=(head, 2))
    assert result.signers == (dev_keypair("Alice", "ed25519").public_key,)
    # Already final: nothing more to do.
    assert node.finality.finalize(head) is None


def test_local_chain_node_authors_its_slots_only_and_does_not_finalize_alone(
    tmp_path: Path,
) -> None:
    local = Node.open(dev_config(tmp_path / "local", chain="local"))
    try:
        assert local.author is not None and local.finality is not None
        # Authorities are [Alice, Bob]: Alice authors even slots.
        assert local.author.author_slot(7) is None
        assert local.author.author_slot(8) is not None
        assert not local.finality.can_finalize_alone()
        assert local.finality.finalize(local.chain.best_hash()) is None
        assert local.chain.finalized()[1] == 0
    finally:
        local.close()


def test_database_of_another_genesis_is_refused(tmp_path: Path) -> None:
    Node.open(dev_config(tmp_path / "n", slot_duration=150)).close()
    with pytest.raises(DatabaseGenesisMismatch, match="belongs to another chain"):
        Node.open(dev_config(tmp_path / "n", slot_duration=200))
    # The same chain opens again.
    Node.open(dev_config(tmp_path / "n", slot_duration=150)).close()


def test_validator_keys_come_from_the_keystore(tmp_path: Path) -> None:
    base = tmp_path / "k"
    setup = load_chain_setup("dev", 150)
    store = Keystore(base / "chains" / setup.chain_id / "keystore", "pw", scrypt_n=16)
    store.insert("aura", "//Alice", "sr25519")
    store.insert("gran", "//Alice", "ed25519")
    store.insert("aura", "//Bob", "sr25519")  # not an authority: ignored
    node = Node.open(dev_config(base, dev_key=None, password="pw"), setup)
    try:
        assert node.keys.aura is not None and node.keys.aura.public_key == ALICE.public_key
        assert node.keys.grandpa is not None
        assert node.keys.grandpa.public_key == dev_keypair("Alice", "ed25519").public_key
        assert node.author is not None and node.author.author_slot(4) is not None
    finally:
        node.close()


def test_validator_without_authority_keys_does_not_author(tmp_path: Path) -> None:
    node = Node.open(dev_config(tmp_path / "bob", dev_key="Bob"))
    try:
        assert node.author is not None
        assert node.author.author_slot(4) is None  # Bob is not in the dev authority set
        assert node.finality is not None and not node.finality.can_finalize_alone()
    finally:
        node.close()


def test_bad_node_config_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(NodeConfigError):
        dev_config(tmp_path, max_blocks=0)
    with pytest.raises(NodeConfigError):
        dev_config(tmp_path, slot_duration=1)
    with pytest.raises(NodeConfigError):
        dev_config(None, tmp=False)


def test_broadcast_drops_a_slow_subscriber() -> None:
    async def main() -> None:
        hub = Broadcast[int](buffer=2)
        slow = hub.subscribe()
        fast = hub.subscribe()
        got: list[int] = []
        for i in range(3):
            hub.publish(i)
            got.append(await fast.receive())
        assert got == [0, 1, 2]
        assert len(hub) == 1  # the slow one overflowed at the third item
        assert [await slow.receive(), await slow.receive()] == [0, 1]
        with pytest.raises(trio.EndOfChannel):
            await slow.receive()

    trio.run(main)


def test_node_loop_under_mock_clock_authors_consecutive_slots(tmp_path: Path) -> None:
    node = Node.open(dev_config(tmp_path / "m", max_blocks=4, slot_duration=1000))
    try:
        trio.run(node.run, clock=trio.testing.MockClock(autojump_threshold=0))
        chain = node.chain
        assert chain.best()[1] == 4
        assert chain.finalized() == chain.best()
        slots = []
        for number in range(1, 5):
            block_hash = chain.hash_at(number)
            assert block_hash is not None
            slots.append(find_pre_digest(chain.store.expect_header(block_hash).without_seal()))
        assert slots == list(range(slots[0], slots[0] + 4))
        assert node.authored == 4
    finally:
        node.close()


def test_network_block_with_justification_is_finalized_only_if_it_verifies(
    node: Node, tmp_path: Path
) -> None:
    assert node.finality is not None
    head = _author(node, 3)
    node.finality.finalize(head)
    block = node.chain.block(head)
    justification = node.chain.justifications(head)[0]
    assert block is not None
    follower = Node.open(dev_config(tmp_path / "b", validator=False, dev_key=None))
    try:
        # A justification whose signature was altered is refused and nothing is stored.
        engine, data = justification
        forged = bytearray(data)
        forged[-40] ^= 0x01  # inside the precommit's signature
        with pytest.raises(BadSignature):
            follower.import_block(block, (engine, bytes(forged)))
        assert follower.chain.header(head) is None
        # The genuine one imports and finalizes the block.
        follower.import_block(block, justification)
        assert follower.chain.finalized() == (head, 1)
        assert follower.chain.justifications(head) == [justification]
    finally:
        follower.close()
