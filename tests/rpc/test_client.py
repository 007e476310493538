"""pychain's blocking RPC client (pychain/rpc/client.py) against a real in-process chain.

The chain and its RPC server run in trio (tests/rpc/chain_fixture.py) with blocks authored and
finalized every 100 ms; the client under test runs in a worker thread
(``trio.to_thread.run_sync``), as a script or a participant process would use it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.chain import Chain
from pychain.chain.pool import TransactionPool
from pychain.frame.metadata import build_metadata
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.primitives.ss58 import ss58_encode
from pychain.rpc.api import POOL_INVALID_TX, RpcContext, SubstrateRpc
from pychain.rpc.client import (
    CallArgsError,
    PychainClient,
    RpcClient,
    RpcClientError,
    RpcConnectionError,
    RpcTimeoutError,
    RuntimeMismatchError,
    WebSocket,
    _mask,
    call_args_from_json,
    value_from_json,
)
from pychain.rpc.server import METHOD_NOT_FOUND, RpcConfig, RpcServer
from pychain.runtime import VERSION, PychainRuntime
from pychain.storage import MemoryStore
from tests.rpc.chain_fixture import ALICE, BOB, UNIT, RpcChain, genesis_config, rpc_chain

T = TypeVar("T")
CHARLIE = Keypair.from_uri("//Charlie")  # not endowed at genesis
AUTHOR_INTERVAL = 0.1


def run_with_chain(work: Callable[[str], T], chain: Any = None) -> T:
    """Start the in-process chain, author a block every 100 ms, run ``work(url)`` in a thread."""
    out: list[T] = []

    async def main() -> None:
        async with (chain or rpc_chain)() as env:

            async def author_loop() -> None:
                while True:
                    await trio.sleep(AUTHOR_INTERVAL)
                    env.author()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(author_loop)
                with trio.fail_after(60):
                    out.append(await trio.to_thread.run_sync(work, f"ws://127.0.0.1:{env.port}"))
                nursery.cancel_scope.cancel()

    trio.run(main)
    return out[0]


def transfer_args(dest: bytes, value: int) -> dict[str, Any]:
    return {"dest": AddressId(dest), "value": value}


# --------------------------------------------------------------------------------- chain reads


def test_client_reads_version_genesis_metadata_and_alice_account() -> None:
    def work(url: str) -> dict[str, Any]:
        with PychainClient(url) as client:
            return {
                "version": client.runtime_version(),
                "genesis": client.genesis_hash(),
                "block0": client.block_hash(0),
                "metadata": client.metadata(),
                "alice": client.account_info(ALICE.account_id),
                "charlie": client.account_info(CHARLIE.account_id),
                "nonce": client.account_nonce(ALICE.account_id),
                "properties": client.properties(),
                "ed": client.runtime.config.existential_deposit,
            }

    got = run_with_chain(work)
    assert got["version"] == VERSION
    assert got["genesis"] == got["block0"] and len(got["genesis"]) == 32
    assert got["metadata"][:5] == b"meta\x0e"  # RuntimeMetadataPrefixed, V14
    assert got["alice"].data.free == 1000 * UNIT and got["alice"].nonce == 0
    assert got["charlie"].data.free == 0 and got["charlie"].providers == 0
    assert got["nonce"] == 0
    assert got["properties"]["tokenDecimals"] == 12
    assert got["ed"] == UNIT // 1000


# ------------------------------------------------------------------------------------ transfers


def test_transfer_finalized_reports_events_and_moves_the_exact_amount() -> None:
    amount = 7 * UNIT + 123

    def work(url: str) -> dict[str, Any]:
        with PychainClient(url) as client:
            bob_before = client.account_info(BOB.account_id).data.free
            alice_before = client.account_info(ALICE.account_id).data.free
            receipt = client.sign_and_submit(
                ALICE,
                "Balances",
                "transfer_keep_alive",
                transfer_args(BOB.account_id, amount),
                wait="finalized",
            )
            assert receipt.block_hash is not None
            return {
                "receipt": receipt,
                "bob_delta": client.account_info(BOB.account_id, receipt.block_hash).data.free
                - bob_before,
                "alice_delta": alice_before
                - client.account_info(ALICE.account_id, receipt.block_hash).data.free,
                "nonce": client.account_nonce(ALICE.account_id),
                "finalized": client.finalized_head(),
            }

    got = run_with_chain(work)
    receipt = got["receipt"]
    names = [event.qualified_name for event in receipt.events]
    assert receipt.status == "finalized" and receipt.success is True and receipt.error is None
    assert "Balances.Transfer" in names and "TransactionPayment.TransactionFeePaid" in names
    assert names[-1] == "System.ExtrinsicSuccess"
    transfer = next(e for e in receipt.events if e.qualified_name == "Balances.Transfer")
    assert transfer.fields == {
        "from": "0x" + ALICE.account_id.hex(),
        "to": "0x" + BOB.account_id.hex(),
        "amount": amount,
    }
    assert receipt.fee is not None and receipt.fee > 0
    assert got["bob_delta"] == amount
    assert got["alice_delta"] == amount + receipt.fee
    assert got["nonce"] == 1
    assert receipt.extrinsic_index == 1  # after the timestamp inherent
    json_out = receipt.to_json()
    assert json_out["feePaid"] == receipt.fee and json_out["success"] is True


def test_transfer_over_the_balance_reports_the_balances_error() -> None:
    def work(url: str) -> dict[str, Any]:
        with PychainClient(url) as client:
            bob_before = client.account_info(BOB.account_id).data.free
            too_much = client.sign_and_submit(
                ALICE,
                "Balances",
                "transfer_allow_death",
                transfer_args(BOB.account_id, 5000 * UNIT),
                wait="inBlock",
            )
            # Keep-alive: the fee is payable, the amount is too, but Alice would drop below the ED.
            free = client.account_info(ALICE.account_id).data.free
            below_ed = client.sign_and_submit(
                ALICE,
                "Balances",
                "transfer_keep_alive",
                transfer_args(BOB.account_id, free - 10**8),
                wait="inBlock",
            )
            return {
                "too_much": too_much,
                "below_ed": below_ed,
                "bob_delta": client.account_info(BOB.account_id).data.free - bob_before,
            }

    got = run_with_chain(work)
    for key, error in (
        ("too_much", "Balances.InsufficientBalance"),
        ("below_ed", "Balances.Expendability"),
    ):
        receipt = got[key]
        assert receipt.success is False, key
        assert receipt.error == error
        names = [event.qualified_name for event in receipt.events]
        assert "System.ExtrinsicFailed" in names and "Balances.Transfer" not in names
        assert receipt.fee is not None and receipt.fee > 0  # a failed dispatch still pays
    assert got["bob_delta"] == 0


def test_unfunded_sender_is_refused_by_the_pool_with_payment_reason() -> None:
    def work(url: str) -> list[RpcClientError]:
        errors = []
        with PychainClient(url) as client:
            for wait in (None, "inBlock"):
                with pytest.raises(RpcClientError) as info:
                    client.sign_and_submit(
                        CHARLIE,
                        "Balances",
                        "transfer_allow_death",
                        transfer_args(BOB.account_id, UNIT),
                        wait=wait,
                    )
                errors.append(info.value)
        return errors

    for error in run_with_chain(work):
        assert error.code == POOL_INVALID_TX
        assert error.data == "Inability to pay some fees (e.g. account balance too low)"


def test_bad_signature_and_stale_nonce_raise_1010_with_the_reason() -> None:
    def work(url: str) -> dict[str, RpcClientError]:
        errors: dict[str, RpcClientError] = {}
        with PychainClient(url) as client:
            xt = client.create_signed_extrinsic(
                ALICE, "Balances", "transfer_keep_alive", transfer_args(BOB.account_id, UNIT)
            )
            tampered = bytearray(xt)
            tampered[-12] ^= 1  # inside the destination: the signature no longer matches
            for name, submit in (
                ("submit", client.submit),
                ("watch", lambda x: client.submit_and_watch(x, "inBlock")),
            ):
                with pytest.raises(RpcClientError) as info:
                    submit(bytes(tampered))
                errors[f"bad_sig_{name}"] = info.value
            client.submit_and_watch(xt, "inBlock")
            stale = client.create_signed_extrinsic(
                ALICE,
                "Balances",
                "transfer_keep_alive",
                transfer_args(BOB.account_id, UNIT),
                nonce=0,
            )
            for name, submit in (
                ("submit", client.submit),
                ("watch", lambda x: client.submit_and_watch(x, "inBlock")),
            ):
                with pytest.raises(RpcClientError) as info:
                    submit(stale)
                errors[f"stale_{name}"] = info.value
        return errors

    errors = run_with_chain(work)
    for name in ("bad_sig_submit", "bad_sig_watch"):
        assert errors[name].code == POOL_INVALID_TX, name
        assert errors[name].data == "Transaction has a bad signature"
    for name in ("stale_submit", "stale_watch"):
        assert errors[name].code == POOL_INVALID_TX, name
        assert errors[name].data == "Transaction is outdated"


def test_immortal_and_tipped_transfers_are_included() -> None:
    def work(url: str) -> Any:
        with PychainClient(url) as client:
            return client.sign_and_submit(
                ALICE,
                "Balances",
                "transfer_keep_alive",
                transfer_args(BOB.account_id, UNIT),
                tip=5000,
                era_period=None,
                wait="inBlock",
            )

    receipt = run_with_chain(work)
    assert receipt.success is True and receipt.status == "inBlock"
    paid = next(e for e in receipt.events if e.name == "TransactionFeePaid")
    assert paid.fields["tip"] == 5000 and paid.fields["actual_fee"] == receipt.fee


# --------------------------------------------------------------------------- runtime mismatch


@asynccontextmanager
async def chain_reporting_spec_101() -> AsyncIterator[RpcChain]:
    """The fixture's chain, but its RPC reports another ``spec_version``."""
    assembled = PychainRuntime()
    storage = assembled.build_genesis_storage(genesis_config())
    chain = Chain.open(MemoryStore(), assembled.runtime, assembled.executive, storage)
    pool = TransactionPool(chain, auto_maintain=True)
    ctx = RpcContext(
        chain=chain,
        pool=pool,
        version=dataclasses.replace(VERSION, spec_version=101),
        metadata=lambda: build_metadata(assembled.runtime, assembled.executive.extensions),
    )
    server = RpcServer(SubstrateRpc(ctx).module, RpcConfig(port=0))
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        yield RpcChain(assembled, chain, pool, server)
        nursery.cancel_scope.cancel()


def test_other_runtime_version_is_refused_before_signing() -> None:
    def work(url: str) -> str:
        with PychainClient(url) as client, pytest.raises(RuntimeMismatchError) as info:
            client.sign_and_submit(
                ALICE, "Balances", "transfer_keep_alive", transfer_args(BOB.account_id, UNIT)
            )
        return str(info.value)

    message = run_with_chain(work, chain_reporting_spec_101)
    assert "spec 101" in message and "spec 100" in message


# ------------------------------------------------------------------------ JSON-RPC and socket


def test_rpc_errors_subscriptions_and_large_frames() -> None:
    def work(url: str) -> dict[str, Any]:
        with RpcClient(url, timeout=10) as rpc:
            with pytest.raises(RpcClientError) as info:
                rpc.request("no_such_method")
            heads = []
            with rpc.subscribe("chain_subscribeNewHeads", [], "chain_unsubscribeNewHeads") as sub:
                for header in sub:
                    heads.append(int(header["number"], 16))
                    if len(heads) == 3:
                        break
            # 70 000-byte key: a client frame with a 64-bit length, masked.
            big = rpc.request("state_getStorage", ["0x" + "ab" * 70_000])
            metadata = rpc.request("state_getMetadata")
            return {"error": info.value, "heads": heads, "big": big, "meta_len": len(metadata)}

    got = run_with_chain(work)
    assert got["error"].code == METHOD_NOT_FOUND
    assert got["heads"] == sorted(got["heads"]) and len(set(got["heads"])) == 3
    assert got["big"] is None
    assert got["meta_len"] > 1 << 15  # a server frame with a 16-bit length


def _raw_server_frames(
    server: socket.socket, frames: list[bytes | float], seen: list[bytes]
) -> None:
    """Accept one WebSocket client, answer the handshake, send ``frames`` (a float: pause that
    many seconds), record what comes back."""
    conn, _ = server.accept()
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key")
        )
        accept = base64.b64encode(
            hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
        )
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        for frame in frames:
            if isinstance(frame, float):
                time.sleep(frame)
            else:
                conn.sendall(frame)
        conn.settimeout(5)
        try:
            while chunk := conn.recv(65536):
                seen.append(chunk)
        except OSError:
            pass


def test_websocket_handles_ping_fragments_64bit_lengths_and_close() -> None:
    big = b"x" * 70_000
    frames: list[bytes | float] = [
        b"\x89\x02hi",  # ping "hi": must be answered with a masked pong "hi"
        b"\x01\x03abc",  # text, not final
        b"\x00\x03def",  # continuation, not final
        b"\x80\x03ghi",  # continuation, final → "abcdefghi"
        b"\x81\x7f" + len(big).to_bytes(8, "big") + big,  # 64-bit length
        b"\x88\x02\x03\xe8",  # close 1000
    ]
    seen: list[bytes] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        thread = threading.Thread(target=_raw_server_frames, args=(server, frames, seen))
        thread.start()
        ws = WebSocket(f"ws://127.0.0.1:{server.getsockname()[1]}", timeout=5)
        assert ws.recv() == "abcdefghi"
        assert ws.recv() == big.decode()
        with pytest.raises(RpcConnectionError, match="code 1000"):
            ws.recv()
        assert ws.closed
        thread.join()
    sent = b"".join(seen)
    # The pong: FIN|0xA, masked length 2, a 4-byte key, then "hi" masked with it.
    assert sent[:2] == b"\x8a\x82" and _mask(sent[6:8], sent[2:6]) == b"hi"
    # The close answer echoes code 1000, masked.
    assert sent[8:10] == b"\x88\x82" and _mask(sent[14:16], sent[10:14]) == b"\x03\xe8"


def test_unreachable_node_raises_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RpcConnectionError, match="cannot connect"):
        RpcClient(f"ws://127.0.0.1:{port}", timeout=2)
    with pytest.raises(RpcConnectionError, match="only ws://"):
        RpcClient("http://127.0.0.1:9944")
    with pytest.raises(RpcConnectionError, match="no host"):
        RpcClient("ws://:9944")


def test_silent_server_times_out() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # accepts the TCP connection (backlog) but never answers
        with pytest.raises(RpcTimeoutError):
            RpcClient(f"ws://127.0.0.1:{server.getsockname()[1]}", timeout=0.3)


def test_server_that_is_not_websocket_is_refused() -> None:
    def answer(server: socket.socket) -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        thread = threading.Thread(target=answer, args=(server,))
        thread.start()
        with pytest.raises(RpcConnectionError, match="upgrade refused"):
            RpcClient(f"ws://127.0.0.1:{server.getsockname()[1]}", timeout=5)
        thread.join()


def test_websocket_timeout_mid_frame_keeps_the_connection_usable() -> None:
    frames: list[bytes | float] = [b"\x81\x05he", 0.5, b"llo", b"\x88\x00"]
    seen: list[bytes] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        thread = threading.Thread(target=_raw_server_frames, args=(server, frames, seen))
        thread.start()
        ws = WebSocket(f"ws://127.0.0.1:{server.getsockname()[1]}", timeout=5)
        with pytest.raises(RpcTimeoutError):
            ws.recv(timeout=0.1)
        assert ws.recv(timeout=5) == "hello"
        with pytest.raises(RpcConnectionError, match="code 1005"):
            ws.recv()
        thread.join()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_mask_matches_rfc6455_bytewise_xor(payload: bytes, key: bytes) -> None:
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert _mask(payload, key) == expected
    assert _mask(expected, key) == payload


# ---------------------------------------------------------------------------- JSON call args


def test_call_args_from_json_builds_typed_values() -> None:
    runtime = PychainRuntime()
    args = call_args_from_json(
        runtime,
        "Balances",
        "transfer_keep_alive",
        {"dest": ss58_encode(BOB.account_id), "value": "1000000000000"},
    )
    assert args == {"dest": AddressId(BOB.account_id), "value": UNIT}
    positional = call_args_from_json(
        runtime, "Balances", "transfer_all", [{"Id": "0x" + BOB.account_id.hex()}, True]
    )
    assert positional == {"dest": AddressId(BOB.account_id), "keep_alive": True}
    remark = call_args_from_json(runtime, "System", "remark", {"remark": "0x0102"})
    assert remark == {"remark": b"\x01\x02"}


def test_json_call_args_encode_like_py_substrate_interface(vectors: Path) -> None:
    data = json.loads(
        (
            vectors / "extrinsics" / "py_substrate_interface_1.8.1_node_template_transfers.json"
        ).read_text()
    )
    call = data["call"]
    runtime = PychainRuntime()
    args = call_args_from_json(
        runtime,
        "Balances",
        "transfer_allow_death",
        {"dest": call["dest_ss58"], "value": call["value"]},
    )
    encoded = runtime.runtime.encode_call(
        runtime.runtime.make_call("Balances", "transfer_allow_death", **args)
    )
    expected = bytes.fromhex(call["encoded"][2:])
    # Same call index and argument bytes; the pallet index is the runtime's own (node template: 5).
    assert encoded[0] == 4 and expected[0] == 5
    assert encoded[1:] == expected[1:]


@pytest.mark.parametrize(
    ("pallet", "call", "args", "message"),
    [
        ("Balances", "transfer_keep_alive", {"dest": "5BadAddress", "value": 1}, "dest"),
        (
            "Balances",
            "transfer_keep_alive",
            {"dest": "0x" + "00" * 32, "value": -1},
            "out of range",
        ),
        ("Balances", "transfer_keep_alive", {"dest": "0x" + "00" * 32}, "missing ['value']"),
        ("Balances", "transfer_keep_alive", {"dest": "0x00", "value": 1}, "32 bytes"),
        ("Balances", "transfer_all", {"dest": {"Nope": 1}, "keep_alive": False}, "no variant"),
        ("Balances", "transfer_all", {"dest": "0x" + "00" * 32, "keep_alive": 1}, "true or false"),
        ("Balances", "no_such_call", {}, "no call"),
        ("Nope", "remark", {}, "no pallet"),
        ("System", "remark", "0x00", "JSON object or array"),
    ],
)
def test_call_args_from_json_rejects_bad_input(
    pallet: str, call: str, args: Any, message: str
) -> None:
    with pytest.raises(CallArgsError) as info:
        call_args_from_json(PychainRuntime(), pallet, call, args)
    assert message in str(info.value)


def test_value_from_json_reads_nested_types() -> None:
    from pychain.primitives.scale import U8, U32, Option, Tuple, Vec

    assert value_from_json(Vec(Tuple(U8, Option(U32))), [[1, None], [2, "0x10"]]) == [
        (1, None),
        (2, 16),
    ]
    with pytest.raises(CallArgsError, match=r"value\[0\]\[0\]"):
        value_from_json(Vec(Tuple(U8, Option(U32))), [[256, None]])
