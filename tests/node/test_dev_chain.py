"""End to end, in process: a dev node authors blocks on a real clock with short slots; signed
transfers (sr25519 and ed25519) go through the pool into blocks with the expected balances and
events, bad-signature and replayed transactions are refused at submission, and finality follows
the best block with verifiable GRANDPA justifications."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from consensus.grandpa.justification import GRANDPA_ENGINE_ID, GrandpaJustification
from consensus.grandpa.verify import verify_justification
from consensus.grandpa.voter_set import VoterSet
from genesis.presets import ENDOWMENT
from pychain.chain import InvalidPoolTransaction
from pychain.frame.dispatch import InvalidTransaction
from pychain.node import Node
from pychain.primitives.header import Header
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.keys import Keypair
from tests.node.helpers import (
    UNIT,
    block_containing,
    dev_config,
    events_at,
    free_balance,
    transfer,
    wait_for,
)

ALICE = dev_keypair("Alice")
BOB = dev_keypair("Bob")
ED_ACCOUNT = Keypair.from_uri("//NodeTestEd", "ed25519")


def _fee_paid(events: list[Any], who: bytes) -> int:
    fees = [
        e.actual_fee for pallet, name, e in events if name == "TransactionFeePaid" and e.who == who
    ]
    assert len(fees) == 1, events
    return int(fees[0])


def _names(events: list[Any]) -> list[tuple[str, str]]:
    return [(pallet, name) for pallet, name, _ in events]


async def _include(node: Node, xt: bytes) -> bytes:
    node.submit_extrinsic(xt)
    found: list[bytes] = []

    def included() -> bool:
        block = block_containing(node.chain, xt)
        if block is not None:
            found.append(block)
        return block is not None

    await wait_for(included)
    return found[0]


def test_dev_node_includes_transfers_and_finalizes_them() -> None:
    node = Node.open(dev_config())
    observed: dict[str, list[Header]] = {"best": [], "finalized": []}

    async def collect(kind: str, channel: trio.MemoryReceiveChannel[Header]) -> None:
        async for header in channel:
            observed[kind].append(header)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            nursery.start_soon(collect, "best", node.subscribe_best())
            nursery.start_soon(collect, "finalized", node.subscribe_finalized())
            chain = node.chain
            await wait_for(lambda: chain.best()[1] >= 1)

            # An sr25519 transfer from Alice funds an ed25519 account.
            fund = transfer(chain, ALICE, 0, ED_ACCOUNT.account_id, 100 * UNIT)
            fund_block = await _include(node, fund)
            # The ed25519 account pays Bob.
            pay = transfer(chain, ED_ACCOUNT, 0, BOB.account_id, 10 * UNIT)
            pay_block = await _include(node, pay)

            # A bad signature is refused at submission and changes nothing.
            forged = bytearray(transfer(chain, ALICE, 1, BOB.account_id, UNIT))
            # The signature follows the signer's address and the MultiSignature variant byte.
            signature_at = forged.index(ALICE.public_key) + 32 + 1
            forged[signature_at] ^= 0x01
            pool_before = len(node.pool)
            nonce_before = chain.account_nonce(ALICE.account_id)
            with pytest.raises(InvalidPoolTransaction) as bad_proof:
                node.submit_extrinsic(bytes(forged))
            assert bad_proof.value.validity.invalid == InvalidTransaction.BadProof
            # A replayed transaction is stale.
            with pytest.raises(InvalidPoolTransaction) as replay:
                node.submit_extrinsic(fund)
            assert replay.value.validity.invalid == InvalidTransaction.Stale
            assert len(node.pool) == pool_before
            assert chain.account_nonce(ALICE.account_id) == nonce_before == 1

            # Finality catches up with the best block.
            await wait_for(lambda: chain.finalized() == chain.best() and chain.best()[1] >= 3)
            node.stop()

        chain = node.chain
        # Balances: Alice paid 100 UNIT and one fee, the ed25519 account 10 UNIT and one fee.
        fund_events = events_at(chain, fund_block)
        pay_events = events_at(chain, pay_block)
        alice_fee = _fee_paid(fund_events, ALICE.account_id)
        ed_fee = _fee_paid(pay_events, ED_ACCOUNT.account_id)
        assert alice_fee > 0 and ed_fee > 0
        assert free_balance(chain, ALICE.account_id) == ENDOWMENT - 100 * UNIT - alice_fee
        assert free_balance(chain, ED_ACCOUNT.account_id) == 90 * UNIT - ed_fee
        assert free_balance(chain, BOB.account_id) == ENDOWMENT + 10 * UNIT
        # Events of the transfer extrinsics.
        transfers = [e for _, name, e in fund_events + pay_events if name == "Transfer"]
        assert [(t.from_, t.to, t.amount) for t in transfers] == [
            (ALICE.account_id, ED_ACCOUNT.account_id, 100 * UNIT),
            (ED_ACCOUNT.account_id, BOB.account_id, 10 * UNIT),
        ]
        for events in (fund_events, pay_events):
            names = _names(events)
            assert ("TransactionPayment", "TransactionFeePaid") in names
            assert names.count(("System", "ExtrinsicSuccess")) == 2  # inherent + transfer
            assert ("System", "ExtrinsicFailed") not in names
        # Finality followed best: every best head was finalized, each with a justification
        # that verifies against the genesis GRANDPA set (Alice's ed25519 key alone).
        best_numbers = [h.number for h in observed["best"]]
        final_numbers = [h.number for h in observed["finalized"]]
        assert best_numbers == list(range(1, best_numbers[-1] + 1))
        assert final_numbers == best_numbers[: len(final_numbers)]
        assert len(final_numbers) >= 3
        voters = VoterSet([(dev_keypair("Alice", "ed25519").public_key, 1)])
        head = chain.finalized()[0]
        justifications = chain.justifications(head)
        assert [engine for engine, _ in justifications] == [GRANDPA_ENGINE_ID]
        decoded = GrandpaJustification.from_bytes(justifications[0][1])
        number = chain.finalized()[1]
        result = verify_justification(decoded, 0, voters, expected_target=(head, number))
        assert result.target_number == number

    try:
        trio.run(main)
    finally:
        node.close()
    assert not node.base_path.exists()  # a temporary base path is removed at close
