"""Use a pychain node from py-substrate-interface 1.8.1, unmodified (run as a script).

Usage: python py_check.py ws://127.0.0.1:9944 → prints one JSON line with what it saw.
"""

from __future__ import annotations

import json
import sys

from substrateinterface import Keypair, KeypairType, SubstrateInterface


def transfer(substrate: SubstrateInterface, sender: Keypair, dest: str, value: int) -> dict:
    call = substrate.compose_call(
        call_module="Balances",
        call_function="transfer_keep_alive",
        call_params={"dest": dest, "value": value},
    )
    extrinsic = substrate.create_signed_extrinsic(call=call, keypair=sender)
    receipt = substrate.submit_extrinsic(extrinsic, wait_for_finalization=True)
    return {
        "success": receipt.is_success,
        "fee": receipt.total_fee_amount,
        "events": [f"{e.value['module_id']}.{e.value['event_id']}" for e in receipt.triggered_events],
        "block": receipt.block_hash,
    }


def main(url: str) -> None:
    substrate = SubstrateInterface(url=url)
    alice = Keypair.create_from_uri("//Alice")
    bob = Keypair.create_from_uri("//Bob")
    # substrate-interface derives no ed25519 paths: a fresh ed25519 account from a new mnemonic
    alice_ed = Keypair.create_from_mnemonic(
        Keypair.generate_mnemonic(), crypto_type=KeypairType.ED25519
    )
    out: dict = {"chain": substrate.chain, "properties": substrate.properties}
    out["alice_free"] = substrate.query("System", "Account", [alice.ss58_address]).value["data"]["free"]
    bob_before = substrate.query("System", "Account", [bob.ss58_address]).value["data"]["free"]
    out["sr25519"] = transfer(substrate, alice, bob.ss58_address, 10**12)
    # fund the ed25519 account, then send from it
    out["fund_ed25519"] = transfer(substrate, alice, alice_ed.ss58_address, 100 * 10**12)
    out["ed25519"] = transfer(substrate, alice_ed, bob.ss58_address, 2 * 10**12)
    bob_after = substrate.query("System", "Account", [bob.ss58_address]).value["data"]["free"]
    out["bob_delta"] = bob_after - bob_before
    accounts = substrate.query_map("System", "Account", page_size=3)
    out["accounts"] = sorted(str(key.value) for key, _ in accounts)
    substrate.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9944")
