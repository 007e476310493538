"""The node's GRANDPA environment over a real chain: persistence before sending, restart without
double votes, justifications, best-chain limits at authority-set changes, gossip mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from consensus.grandpa.environment import VoteMessage
from consensus.grandpa.errors import GrandpaError
from consensus.grandpa.justification import GrandpaJustification
from consensus.grandpa.messages import (
    Commit,
    Precommit,
    Prevote,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.voter import Voter
from consensus.grandpa.voter_set import VoterSet
from pychain.network import messages as net
from pychain.node import Node, NodeConfig
from pychain.node.errors import NodeError
from pychain.node.grandpa import (
    VOTER_STATE_KEY,
    ChainEnvironment,
    decode_voter_state,
    encode_voter_state,
    from_network,
    gossip_duration_ms,
    set_at,
    to_network,
)
from pychain.primitives.keyring import dev_keypair
from pychain.storage.kv import COL_META
from tests.node.test_multinode import NAMES, local_setup

AUTHORITIES = NAMES[:4]


def open_node(path: Path, key: str = "Alice") -> Node:
    config = NodeConfig(chain="local", base_path=path, validator=True, dev_key=key)
    return Node.open(config, local_setup(AUTHORITIES))


def author_next(node: Node) -> bytes:
    """Author the next block whose slot is Alice's (slot % 4 == 0)."""
    assert node.author is not None
    best = node.importer.slot_of(node.chain.best_hash()) or 0
    slot = (best // 4 + 1) * 4
    authored = node.author.author_slot(slot)
    assert authored is not None
    return authored.result.hash


def environment(node: Node, sent: list[Any]) -> ChainEnvironment:
    env = ChainEnvironment(node.chain, node.runtime, node.kv, node.pool, 50, sent.append)
    return env


def test_vote_is_persisted_before_it_is_sent(tmp_path: Path) -> None:
    with open_node(tmp_path) as node:
        block1 = author_next(node)
        persisted_at_send: list[bool] = []

        def send(message: Any) -> None:
            raw = node.kv.get(COL_META, VOTER_STATE_KEY)
            state = decode_voter_state(raw) if raw is not None else None
            if isinstance(message, VoteMessage):
                votes = state.votes.get(message.round) if state is not None else None
                persisted_at_send.append(
                    votes is not None
                    and votes.prevote is not None
                    and votes.prevote.signature == message.message.signature
                )

        env = ChainEnvironment(node.chain, node.runtime, node.kv, node.pool, 50, send)
        _, voters = set_at(node.chain, node.runtime, node.chain.genesis_hash)
        voter = Voter(env, voters, 0, node.keys.grandpa)
        voter.start(0)
        voter.tick(100)  # the prevote deadline (2T) passed
        assert persisted_at_send == [True]
        state = env.load_voter_state()
        assert state is not None and state.votes[1].prevote is not None
        assert state.votes[1].prevote.prevote == Prevote(block1, 1)


def test_restarted_voter_resends_its_vote_instead_of_a_new_one(tmp_path: Path) -> None:
    with open_node(tmp_path) as node:
        block1 = author_next(node)
        _, voters = set_at(node.chain, node.runtime, node.chain.genesis_hash)
        first: list[Any] = []
        voter = Voter(environment(node, first), voters, 0, node.keys.grandpa)
        voter.start(0)
        voter.tick(100)
        (sent,) = [m for m in first if isinstance(m, VoteMessage)]
        assert sent.message.message == Prevote(block1, 1)
        # The chain grows, then the voter restarts over the same database.
        author_next(node)
        again: list[Any] = []
        restarted = Voter(environment(node, again), voters, 0, node.keys.grandpa)
        restarted.start(1000)
        restarted.tick(1100)
        votes = [m for m in again if isinstance(m, VoteMessage) and m.round == 1]
        assert votes and all(m.message == sent.message for m in votes)


def test_voter_state_encoding_round_trips(tmp_path: Path) -> None:
    with open_node(tmp_path) as node:
        author_next(node)
        env = environment(node, [])
        _, voters = set_at(node.chain, node.runtime, node.chain.genesis_hash)
        voter = Voter(env, voters, 0, node.keys.grandpa)
        voter.start(0)
        voter.tick(100)
        voter.tick(200)
        state = env.load_voter_state()
        assert state is not None
        assert decode_voter_state(encode_voter_state(state)) == state
        with pytest.raises(NodeError):
            decode_voter_state(b"\x01\x02")


def test_best_chain_stops_at_the_block_enacting_a_set_change(tmp_path: Path) -> None:
    with open_node(tmp_path) as node:
        hashes = [author_next(node) for _ in range(3)]
        env = environment(node, [])
        assert env.best_chain_containing(node.chain.genesis_hash) == (hashes[-1], 3)
        # Pretend the voter votes in set 7: block 1 already "leaves" it, so votes stop there.
        env.set_id = 7
        assert env.best_chain_containing(node.chain.genesis_hash) == (hashes[0], 1)
        assert env.best_chain_containing(b"\x09" * 32) is None
        assert env.ancestry(node.chain.genesis_hash, hashes[2]) == [hashes[1], hashes[0]]


def test_finalize_block_stores_a_verifiable_justification(tmp_path: Path) -> None:
    with open_node(tmp_path) as node:
        hashes = [author_next(node) for _ in range(3)]
        env = environment(node, [])
        commit_precommits = []
        # Three voters precommit: two for block 3, one for block 2; the commit target is block 2.
        for name, (target, number) in zip(
            AUTHORITIES[:3], [(hashes[2], 3), (hashes[2], 3), (hashes[1], 2)], strict=True
        ):
            pair = dev_keypair(name, "ed25519")
            vote = Precommit(target, number)
            signature = pair.sign(localized_payload(4, 0, vote))
            commit_precommits.append(SignedPrecommit(vote, signature, pair.public_key))
        commit = Commit(hashes[1], 2, commit_precommits)
        env.finalize_block(hashes[1], 2, 4, commit)
        assert node.chain.finalized() == (hashes[1], 2)
        (justification,) = node.chain.justifications(hashes[1])
        header = node.chain.store.expect_header(hashes[1])
        node.verify_justification(header, justification)
        assert node.justifications_verified == 1
        # A justification is refused against the wrong block.
        with pytest.raises(GrandpaError):
            node.verify_justification(node.chain.store.expect_header(hashes[2]), justification)


def test_gossip_mapping_round_trips_and_rejects_garbage() -> None:
    pair = dev_keypair("Alice", "ed25519")
    vote = Prevote(b"\x01" * 32, 5)
    from consensus.grandpa.messages import SignedMessage

    message = VoteMessage(3, 0, SignedMessage(vote, pair.sign(b"x"), pair.public_key))
    assert from_network(to_network(message)) == message
    assert from_network(net.Neighbor(b"\x00")) is None
    with pytest.raises(GrandpaError):
        from_network(net.Vote(b"\x00\x01"))


def test_gossip_duration_is_a_bounded_quarter_slot() -> None:
    assert gossip_duration_ms(250) == 62
    assert gossip_duration_ms(6000) == 333
    assert gossip_duration_ms(10) == 20


def test_voter_set_at_genesis_has_the_four_authorities(tmp_path: Path) -> None:
    with open_node(tmp_path) as node:
        set_id, voters = set_at(node.chain, node.runtime, node.chain.genesis_hash)
        assert set_id == 0
        assert isinstance(voters, VoterSet) and len(voters) == 4
        assert node.grandpa is None  # no network: the networked voter is not assembled


def test_keystore_gran_key_outside_the_set_is_kept_for_later_sets(tmp_path: Path) -> None:
    from pychain.node.config import select_keys
    from pychain.primitives.keystore import Keystore

    keystore = tmp_path / "keystore"
    store = Keystore(keystore, "")
    store.insert("gran", "//Eve", "ed25519")
    store.insert("aura", "//Eve", "sr25519")
    config = NodeConfig(chain="local", base_path=tmp_path, validator=True)
    aura = [dev_keypair(name, "sr25519").public_key for name in AUTHORITIES]
    grandpa = [dev_keypair(name, "ed25519").public_key for name in AUTHORITIES]
    keys = select_keys(config, keystore, aura, grandpa)
    eve = dev_keypair("Eve", "ed25519").public_key
    assert keys.aura is None and keys.grandpa is None
    assert [k.public_key for k in keys.grandpa_all] == [eve]
    # Once Eve is in the set, the same keystore yields her as the current GRANDPA key.
    keys = select_keys(config, keystore, aura, [*grandpa, eve])
    assert keys.grandpa is not None and keys.grandpa.public_key == eve


def test_justification_keeps_only_precommits_on_the_target_chain(tmp_path: Path) -> None:
    from tests.node.test_multinode import sealed_block

    with open_node(tmp_path) as node:
        hashes = [author_next(node) for _ in range(2)]
        fork = sealed_block(node, node.chain.genesis_hash, 1)
        node.import_block(fork)
        targets = [(hashes[1], 2), (hashes[0], 1), (hashes[1], 2), (fork.hash(), 1)]
        precommits = []
        for name, (target, number) in zip(AUTHORITIES, targets, strict=True):
            pair = dev_keypair(name, "ed25519")
            vote = Precommit(target, number)
            precommits.append(
                SignedPrecommit(vote, pair.sign(localized_payload(2, 0, vote)), pair.public_key)
            )
        env = environment(node, [])
        env.finalize_block(hashes[0], 1, 2, Commit(hashes[0], 1, precommits))
        (stored,) = node.chain.justifications(hashes[0])
        justification = GrandpaJustification.from_bytes(stored[1])
        assert [s.id for s in justification.commit.precommits] == [
            dev_keypair(name, "ed25519").public_key for name in AUTHORITIES[:3]
        ]
        assert [h.hash() for h in justification.votes_ancestries] == [hashes[1]]
