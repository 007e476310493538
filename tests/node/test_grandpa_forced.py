"""GRANDPA forced authority-set changes enacted on import (``authorities.rs``'s
``apply_forced_changes``; Polkadot spec, "Authority Set Changes"), over the in-process
:class:`~pychain.network.memory.MemoryNetwork` cluster of :mod:`tests.node.test_multinode`."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from consensus.grandpa.errors import JustificationError
from consensus.grandpa.justification import GRANDPA_ENGINE_ID, GrandpaJustification
from consensus.grandpa.messages import Commit, Precommit, SignedPrecommit, localized_payload
from consensus.grandpa.verify import verify_justification
from consensus.grandpa.voter_set import VoterSet
from pychain.chain import Justification
from pychain.node import Node, NodeConfig
from pychain.node.grandpa import NodeGrandpa, enacted_forced_change, set_at
from pychain.primitives.consensus_logs import find_forced_change
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import sign_extrinsic
from pychain.primitives.header import Header
from pychain.primitives.keyring import dev_keypair
from pychain.runtime import VERSION
from tests.node.helpers import block_containing
from tests.node.test_multinode import (
    AUTHORITIES,
    NAMES,
    SLOT_MS,
    Cluster,
    assert_consistent_finality,
    justified_blocks,
    local_setup,
    run_cluster,
    sealed_block,
    wait_until,
)

DELAY = 3


def test_forced_change_on_import_resumes_stalled_finality_under_set_one(tmp_path: Path) -> None:
    names = NAMES[:4]
    # The two validators left alive plus Eve, who holds a GRANDPA key outside set 0.
    new_names = ("Alice", "Bob", "Eve")
    new_set = [(dev_keypair(name, "ed25519").public_key, 1) for name in new_names]

    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(names):
            await cluster.start(i, name)
        eve = await cluster.start(4, "Eve")
        await wait_until(lambda: min(cluster.finalized()) >= 3)
        # Two of four stopped: set 0 has no supermajority left, finality stalls.
        await cluster.stop(3)
        await cluster.stop(2)
        live = list(cluster.nodes.values())
        stalled_at = max(cluster.finalized())
        start_best = max(cluster.best())
        await wait_until(lambda: min(cluster.best()) >= start_best + 6, timeout=120)
        assert max(cluster.finalized()) == stalled_at
        median = stalled_at

        node = cluster.nodes[0]
        runtime = node.runtime.runtime
        inner = runtime.make_call(
            "Grandpa", "schedule_change", next_authorities=new_set, delay=DELAY, forced=median
        )
        call = runtime.encode_call(runtime.make_call("Sudo", "sudo", call=inner))
        alice = dev_keypair("Alice")
        nonce = node.chain.account_nonce(alice.account_id)
        xt = sign_extrinsic(
            alice, call, nonce, Era(), 0, node.chain.genesis_hash, VERSION.spec_version,
            VERSION.transaction_version,
        )
        node.submit_extrinsic(xt)

        def switched() -> bool:
            return all(n.grandpa is not None and n.grandpa.set_id == 1 for n in live)

        await wait_until(switched, timeout=120)
        included = block_containing(node.chain, xt)
        assert included is not None
        scheduled = node.chain.store.expect_header(included)
        forced_log = find_forced_change(scheduled)
        assert forced_log is not None and forced_log.median_last_finalized == median
        enacted_at = scheduled.number + DELAY
        # The switch happened on import, while the old set was still stalled.
        assert max(cluster.finalized()) == stalled_at
        for n in live:
            assert n.grandpa is not None and n.grandpa.voter is not None
            assert sorted(n.grandpa.voter.voters) == sorted(new_set)
            assert n.grandpa.set_history[-1].set_id == 1
            assert n.grandpa.set_history[-1].first_block == enacted_at + 1
        assert eve.grandpa is not None and eve.grandpa.voter is not None
        assert eve.grandpa.voter.local_id == dev_keypair("Eve", "ed25519").public_key
        enacting_hash = node.chain.hash_at(enacted_at)
        assert enacting_hash is not None
        enacting = node.chain.store.expect_header(enacting_hash)
        assert enacted_forced_change(node.chain, enacting) == (scheduled.number, forced_log)

        # Finality resumes under set 1, past the enactment block.
        await wait_until(lambda: min(cluster.finalized()) >= enacted_at + 4, timeout=120)
        assert_consistent_finality(live)
        _, old_voters = set_at(node.chain, node.runtime, node.chain.genesis_hash)
        checked = 0
        for number, justification in justified_blocks(node):
            if number <= stalled_at:
                continue
            # Every justification after the stall is set 1's, none is set 0's.
            header = node.chain.store.expect_header(justification.target[0])
            node.verify_justification(header, (GRANDPA_ENGINE_ID, justification.encode()))
            verify_justification(justification, 1, VoterSet(new_set))
            with pytest.raises(JustificationError):
                verify_justification(justification, 0, old_voters)
            checked += 1
        assert checked >= 3

    run_cluster(tmp_path, names, body)


def test_standard_change_waits_for_finality_not_applied_on_import(tmp_path: Path) -> None:
    names = NAMES[:4]
    new_set = [(dev_keypair(name, "ed25519").public_key, 1) for name in ("Alice", "Bob", "Eve")]

    async def body(cluster: Cluster) -> None:
        for i, name in enumerate(names):
            await cluster.start(i, name)
        await wait_until(lambda: min(cluster.finalized()) >= 3)
        await cluster.stop(3)
        await cluster.stop(2)
        live = list(cluster.nodes.values())
        stalled_at = max(cluster.finalized())
        node = cluster.nodes[0]
        runtime = node.runtime.runtime
        inner = runtime.make_call(
            "Grandpa", "schedule_change", next_authorities=new_set, delay=1, forced=None
        )
        call = runtime.encode_call(runtime.make_call("Sudo", "sudo", call=inner))
        alice = dev_keypair("Alice")
        xt = sign_extrinsic(
            alice, call, node.chain.account_nonce(alice.account_id), Era(), 0,
            node.chain.genesis_hash, VERSION.spec_version, VERSION.transaction_version,
        )
        node.submit_extrinsic(xt)
        # The best chain enacts set 1 in its state, but a standard change needs finality.
        await wait_until(
            lambda: all(n.grandpa is not None
                        and n.grandpa.env.set_id_at(n.chain.best_hash()) == 1 for n in live),
            timeout=120,
        )
        start_best = max(cluster.best())
        await wait_until(lambda: min(cluster.best()) >= start_best + 4, timeout=120)
        assert all(n.grandpa is not None and n.grandpa.set_id == 0 for n in live)
        assert max(cluster.finalized()) == stalled_at

    run_cluster(tmp_path, names, body)


# ------------------------------------------------------------------- two forks, one node


def _change_xt(node: Node, authorities: list[str], delay: int, forced: int | None) -> bytes:
    """``Sudo.sudo(Grandpa.schedule_change(...))`` signed by Alice (nonce 0: fresh forks)."""
    runtime = node.runtime.runtime
    new_set = [(dev_keypair(name, "ed25519").public_key, 1) for name in authorities]
    inner = runtime.make_call(
        "Grandpa", "schedule_change", next_authorities=new_set, delay=delay, forced=forced
    )
    call = runtime.encode_call(runtime.make_call("Sudo", "sudo", call=inner))
    return sign_extrinsic(
        dev_keypair("Alice"), call, 0, Era(), 0, node.chain.genesis_hash,
        VERSION.spec_version, VERSION.transaction_version,
    )


def _justification(header: Header, set_id: int, names: tuple[str, ...]) -> Justification:
    """A round-1 justification of ``header`` signed by the ed25519 keys of ``names``."""
    target = Precommit(header.hash(), header.number)
    payload = localized_payload(1, set_id, target)
    signed = []
    for name in names:
        key = dev_keypair(name, "ed25519")
        signed.append(SignedPrecommit(target, key.sign(payload), key.public_key))
    commit = Commit(header.hash(), header.number, signed)
    return GRANDPA_ENGINE_ID, GrandpaJustification(1, commit, []).encode()


def test_forced_change_applies_per_fork_and_justifies_its_enacting_block(tmp_path: Path) -> None:
    setup = local_setup(AUTHORITIES)
    config = NodeConfig(chain="local", base_path=tmp_path / "a", validator=False)
    forced_names = ("Alice", "Bob", "Eve")
    standard_names = ("Alice", "Bob", "Ferdie")
    with Node.open(config, setup) as node:
        genesis = node.chain.genesis_hash
        # Fork A: a forced change (median 0, delay 1) logged in A1, enacted by A2.
        a1 = sealed_block(node, genesis, 1, [_change_xt(node, list(forced_names), 1, 0)])
        node.import_block(a1)
        a2 = sealed_block(node, a1.hash(), 2)
        node.import_block(a2)
        # Fork B: a standard change logged in B1, enacted by B2, then longer than A.
        b1 = sealed_block(node, genesis, 3, [_change_xt(node, list(standard_names), 1, None)])
        node.import_block(b1)
        b2 = sealed_block(node, b1.hash(), 5)
        node.import_block(b2)
        b3 = sealed_block(node, b2.hash(), 6)
        node.import_block(b3)
        assert node.chain.best_hash() == b3.hash()

        forced_log = find_forced_change(a1.header)
        assert forced_log is not None
        assert enacted_forced_change(node.chain, a2.header) == (1, forced_log)
        assert enacted_forced_change(node.chain, a1.header) is None
        assert enacted_forced_change(node.chain, b2.header) is None
        set_a, voters_a = set_at(node.chain, node.runtime, a2.hash())
        set_b, voters_b = set_at(node.chain, node.runtime, b2.hash())
        assert (set_a, set_b) == (1, 1)
        assert sorted(k for k, _ in voters_a) != sorted(k for k, _ in voters_b)

        # A2 enacts a forced change: the new set may justify it; B2 only by the old set.
        node.verify_justification(a2.header, _justification(a2.header, 1, forced_names))
        node.verify_justification(a2.header, _justification(a2.header, 0, AUTHORITIES[:3]))
        with pytest.raises(JustificationError):
            node.verify_justification(b2.header, _justification(b2.header, 1, standard_names))
        node.verify_justification(b2.header, _justification(b2.header, 0, AUTHORITIES[:3]))
        # Set 1 does not justify A1 (below the enacting block, old set only).
        with pytest.raises(JustificationError):
            node.verify_justification(a1.header, _justification(a1.header, 1, forced_names))

        async def voter_sets() -> list[int]:
            grandpa = NodeGrandpa(
                node.chain, node.runtime, node.kv, None, None, SLOT_MS, lambda _m: None
            )
            grandpa.voter = grandpa._new_voter()
            # Best is fork B: its standard change waits for finality, the voter stays in set 0.
            seen = [grandpa.set_id]
            # Fork A becomes best: its forced change applies on import, from base #0.
            a3 = sealed_block(node, a2.hash(), 7)
            node.import_block(a3)
            a4 = sealed_block(node, a3.hash(), 9)
            node.import_block(a4)
            assert node.chain.best_hash() == a4.hash()
            grandpa._sync_with_chain()
            seen.append(grandpa.set_id)
            assert grandpa.voter is not None
            assert grandpa.voter.finalized == (genesis, 0)
            assert sorted(grandpa.voter.voters) == sorted(voters_a)
            return seen

        assert trio.run(voter_sets) == [0, 1]
