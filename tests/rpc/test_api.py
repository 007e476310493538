"""Substrate RPC methods against a real in-process chain: shapes, state, author, subscriptions,
and garbage thrown at every method."""

from __future__ import annotations

import json

import trio

from pychain.pallets.system import System
from pychain.primitives.header import Header
from pychain.primitives.runtime_version import RuntimeVersion
from pychain.primitives.scale import U32
from pychain.primitives.ss58 import ss58_encode
from pychain.rpc.api import POOL_ALREADY_IMPORTED, POOL_INVALID_TX
from pychain.rpc.server import INVALID_PARAMS
from pychain.runtime import VERSION
from pychain.trie import verify_proof
from tests.rpc.chain_fixture import ALICE, BOB, UNIT, client, rpc_chain


def run(fn):  # noqa: ANN001, ANN201
    trio.run(fn)


def test_chain_methods_return_substrate_shapes() -> None:
    async def main() -> None:
        async with rpc_chain() as env, client(env.port) as c:
            h1 = env.author()
            genesis = await c.call("chain_getBlockHash", 0)
            assert genesis == "0x" + env.chain.genesis_hash.hex()
            assert await c.call("chain_getBlockHash", [0, 1, 5]) == [genesis, "0x" + h1.hex(), None]
            header = await c.call("chain_getHeader", "0x" + h1.hex())
            assert header["number"] == "0x1" and header["parentHash"] == genesis
            assert len(header["digest"]["logs"]) == 1  # the aura pre-runtime item
            rebuilt = Header(
                bytes.fromhex(header["parentHash"][2:]), int(header["number"], 16),
                bytes.fromhex(header["stateRoot"][2:]), bytes.fromhex(header["extrinsicsRoot"][2:]),
                env.chain.header(h1).digest,
            )
            assert rebuilt.hash() == h1
            block = await c.call("chain_getBlock")
            assert block["block"]["header"] == header
            assert len(block["block"]["extrinsics"]) == 1  # the timestamp inherent
            assert block["justifications"] is None
            assert await c.call("chain_getFinalizedHead") == "0x" + h1.hex()
            assert await c.call("chain_getHeader", "0x" + "00" * 32) is None
            methods = (await c.call("rpc_methods"))["methods"]
            assert "state_call" in methods and "author_submitAndWatchExtrinsic" in methods

    run(main)


def test_state_methods_read_real_storage() -> None:
    async def main() -> None:
        async with rpc_chain() as env, client(env.port) as c:
            version = await c.call("state_getRuntimeVersion")
            assert version["specName"] == VERSION.spec_name and version["stateVersion"] == 1
            assert version["systemVersion"] == version["stateVersion"]
            assert ["0xdf6acb689907609b", 4] in version["apis"]
            key = System.Account.hashed_key(ALICE.account_id)
            raw = await c.call("state_getStorage", "0x" + key.hex())
            info = System.Account.value_codec.decode(bytes.fromhex(raw[2:]))
            assert info.data.free == 1000 * UNIT
            prefix = "0x" + System.Account.prefix.hex()
            keys = await c.call("state_getKeysPaged", prefix, 2)
            assert len(keys) == 2 and keys == sorted(keys)
            rest = await c.call("state_getKeysPaged", prefix, 10, keys[-1])
            assert rest and rest[0] > keys[-1]
            proof = await c.call("state_getReadProof", ["0x" + key.hex()])
            root = env.chain.best_header().state_root
            checked = verify_proof(root, [bytes.fromhex(n[2:]) for n in proof["proof"]], [key])
            assert checked[key] == bytes.fromhex(raw[2:])
            changes = await c.call("state_queryStorageAt", ["0x" + key.hex(), "0x1234"])
            assert changes[0]["changes"] == [["0x" + key.hex(), raw], ["0x1234", None]]
            meta = await c.call("state_getMetadata")
            assert meta.startswith("0x6d6574610e")
            core = await c.call("state_call", "Core_version", "0x")
            assert RuntimeVersion.decode(bytes.fromhex(core[2:])) == VERSION
            nonce = await c.call("state_call", "AccountNonceApi_account_nonce", "0x" + ALICE.account_id.hex())
            assert U32.decode(bytes.fromhex(nonce[2:])) == 0

    run(main)


def test_author_submit_validates_and_reports_pool_errors() -> None:
    async def main() -> None:
        async with rpc_chain() as env, client(env.port) as c:
            xt = env.transfer(ALICE, 0, BOB.account_id, 5 * UNIT)
            tx_hash = await c.call("author_submitExtrinsic", "0x" + xt.hex())
            assert len(bytes.fromhex(tx_hash[2:])) == 32
            assert await c.call("author_pendingExtrinsics") == ["0x" + xt.hex()]
            again = await c.request("author_submitExtrinsic", "0x" + xt.hex())
            assert again["error"]["code"] == POOL_ALREADY_IMPORTED
            bad = bytearray(env.transfer(ALICE, 1, BOB.account_id, UNIT))
            bad[-12] ^= 1  # inside the destination account: the signature no longer matches
            err = await c.request("author_submitExtrinsic", "0x" + bytes(bad).hex())
            assert err["error"]["code"] == POOL_INVALID_TX
            assert "bad signature" in err["error"]["data"]
            assert await c.call("system_accountNextIndex", ss58_encode(ALICE.account_id)) == 1
            env.author()
            assert await c.call("author_pendingExtrinsics") == []
            replay = await c.request("author_submitExtrinsic", "0x" + xt.hex())
            assert replay["error"]["code"] == POOL_INVALID_TX
            assert replay["error"]["data"] == "Transaction is outdated"
            info = await c.call("payment_queryInfo", "0x" + xt.hex())
            assert info["class"] == "normal" and int(info["partialFee"]) > 0

    run(main)


def test_subscriptions_follow_blocks_and_transactions() -> None:
    async def main() -> None:
        async with rpc_chain() as env, client(env.port) as c:
            heads = await c.call("chain_subscribeNewHeads")
            first = await c.notification()
            assert first["method"] == "chain_newHead" and first["params"]["subscription"] == heads
            fin = await c.call("chain_subscribeFinalizedHeads")
            await c.notification()  # current finalized head
            xt = env.transfer(ALICE, 0, BOB.account_id, 2 * UNIT)
            watch = await c.call("author_submitAndWatchExtrinsic", "0x" + xt.hex())
            statuses = []
            block_hash = env.author()
            with trio.fail_after(10):
                while len(statuses) < 3:
                    note = await c.notification()
                    if note["method"] == "author_extrinsicUpdate":
                        assert note["params"]["subscription"] == watch
                        statuses.append(note["params"]["result"])
                    elif note["method"] == "chain_newHead":
                        assert note["params"]["result"]["number"] == "0x1"
                    elif note["method"] == "chain_finalizedHead":
                        assert note["params"]["subscription"] == fin
            assert statuses == ["ready", {"inBlock": "0x" + block_hash.hex()}, {"finalized": "0x" + block_hash.hex()}]
            assert await c.call("chain_unsubscribeNewHeads", heads) is True

    run(main)


def test_garbage_at_every_method_gets_errors_and_node_survives() -> None:
    garbage = [
        [],
        [None],
        ["0xzz"],
        ["0x" + "00" * 31],
        [12345678901234567890],
        [{"a": 1}],
        [[1, 2, 3]],
        ["not hex", "also not", "x", "y", "z"],
        [-1],
        [True],
        ["0x"],
    ]

    async def main() -> None:
        async with rpc_chain() as env, client(env.port) as c:
            methods = (await c.call("rpc_methods"))["methods"]
            for method in methods:
                for params in garbage:
                    reply = await c.request(method, *params)
                    assert "result" in reply or "error" in reply, (method, params, reply)
                    if "error" in reply:
                        assert isinstance(reply["error"]["code"], int)
                        # handler crashes surface as -32603; none should happen
                        assert reply["error"]["code"] != -32603, (method, params, reply)
            # named params object and wrong jsonrpc versions too
            assert (await c.raw(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": {"x": 1}})))
            bad = await c.request("chain_getBlockHash", "0xnothex")
            assert bad["error"]["code"] == INVALID_PARAMS
            assert await c.call("system_health") == {"peers": 0, "isSyncing": False, "shouldHavePeers": False}
            assert env.author()

    run(main)


def test_submit_and_watch_of_an_invalid_transaction_answers_with_the_pool_error() -> None:
    async def main() -> None:
        async with rpc_chain() as env, client(env.port) as c:
            bad = bytearray(env.transfer(ALICE, 0, BOB.account_id, UNIT))
            bad[-12] ^= 1
            reply = await c.request("author_submitAndWatchExtrinsic", "0x" + bytes(bad).hex())
            assert reply["error"]["code"] == POOL_INVALID_TX
            assert "bad signature" in reply["error"]["data"]

    run(main)


def test_state_call_runtime_apis_answer_in_scale() -> None:
    from pychain.frame.dispatch import ValidTransaction
    from pychain.frame.weights import RuntimeDispatchInfo
    from pychain.primitives.scale import U64, FixedBytes, Tuple, Vec
    from tests.rpc.chain_fixture import ALICE_ED

    async def main() -> None:
        async with rpc_chain() as env, client(env.port) as c:
            auth = await c.call("state_call", "GrandpaApi_grandpa_authorities", "0x")
            decoded = Vec(Tuple(FixedBytes(32), U64)).decode(bytes.fromhex(auth[2:]))
            assert decoded == [(ALICE_ED.public_key, 1)]
            slot = await c.call("state_call", "AuraApi_slot_duration", "0x")
            assert U64.decode(bytes.fromhex(slot[2:])) == env.assembled.config.slot_duration
            xt = env.transfer(ALICE, 0, BOB.account_id, UNIT, tip=7)
            best = env.chain.best_hash()
            arg = b"\x02" + xt + best  # TransactionSource::External, the extrinsic, the block hash
            valid = await c.call("state_call", "TaggedTransactionQueue_validate_transaction", "0x" + arg.hex())
            raw = bytes.fromhex(valid[2:])
            assert raw[0] == 0  # Ok(ValidTransaction)
            tags = ValidTransaction.decode(raw[1:])
            assert tags.provides and tags.priority > 0
            info = await c.call("state_call", "TransactionPaymentApi_query_info", "0x" + (xt + len(xt).to_bytes(4, "little")).hex())
            fee = RuntimeDispatchInfo.decode(bytes.fromhex(info[2:])).partial_fee
            assert fee > 0
            bad = bytearray(xt)
            bad[-12] ^= 1
            refused = await c.call("state_call", "TaggedTransactionQueue_validate_transaction", "0x" + (b"\x02" + bytes(bad) + best).hex())
            assert bytes.fromhex(refused[2:])[:3] == b"\x01\x00\x04"  # Err(Invalid(BadProof))
            unknown = await c.request("state_call", "Nope_nothing", "0x")
            assert unknown["error"]["code"] == -32000
            garbage = await c.request("state_call", "AccountNonceApi_account_nonce", "0x01")
            assert garbage["error"]["code"] == -32000

    run(main)


def test_accepted_submissions_are_handed_to_the_network_and_refused_ones_are_not() -> None:
    gossiped: list[bytes] = []

    async def main() -> None:
        async with rpc_chain(broadcast=gossiped.append) as env, client(env.port) as c:
            first = env.transfer(ALICE, 0, BOB.account_id, UNIT)
            second = env.transfer(ALICE, 1, BOB.account_id, UNIT)
            await c.call("author_submitExtrinsic", "0x" + first.hex())
            await c.call("author_submitAndWatchExtrinsic", "0x" + second.hex())
            bad = bytearray(env.transfer(ALICE, 2, BOB.account_id, UNIT))
            bad[-12] ^= 1
            assert "error" in await c.request("author_submitExtrinsic", "0x" + bytes(bad).hex())
            assert gossiped == [first, second]

    run(main)
