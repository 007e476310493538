"""The JSON-RPC server on 127.0.0.1: protocol errors, limits, subscriptions, HTTP and WebSocket."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio_websocket

from pychain.rpc.server import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    OVERSIZED_REQUEST,
    PARSE_ERROR,
    TOO_MANY_SUBSCRIPTIONS,
    Params,
    RpcConfig,
    RpcModule,
    RpcServer,
    SubscriptionSink,
)


def make_module() -> RpcModule:
    module = RpcModule()

    async def echo(params: Params) -> Any:
        params.max(1)
        return params.require(0, "value")

    async def boom(params: Params) -> Any:
        raise ZeroDivisionError("handler bug")

    async def secret(params: Params) -> Any:
        return "ok"

    async def ticks(params: Params, sink: SubscriptionSink) -> None:
        count = int(params.get(0, 3))
        for i in range(count):
            sink.send(i)
            await trio.sleep(0)
        await trio.sleep_forever()

    module.register("echo", echo, aliases=("echo_alias",))
    module.register("boom", boom)
    module.register("author_insertKey", secret, unsafe=True)
    module.register_subscription("sub_ticks", "sub_tick", "unsub_ticks", ticks)
    return module


async def start(nursery: trio.Nursery, **config: Any) -> RpcServer:
    server = RpcServer(make_module(), RpcConfig(port=0, **config))
    await nursery.start(server.serve)
    return server


async def ws_call(ws: trio_websocket.WebSocketConnection, text: str) -> Any:
    await ws.send_message(text)
    return json.loads(await ws.get_message())


async def http_post(port: int, body: bytes) -> tuple[int, Any]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    request = (
        f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    await stream.send_all(request)
    data = b""
    while True:
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(payload) if payload else None


def test_protocol_errors_over_websocket() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            server = await start(nursery)
            async with trio_websocket.open_websocket("127.0.0.1", server.port, "/", use_ssl=False) as ws:
                ok = await ws_call(ws, '{"jsonrpc":"2.0","id":1,"method":"echo","params":[5]}')
                assert ok == {"jsonrpc": "2.0", "id": 1, "result": 5}
                alias = await ws_call(ws, '{"jsonrpc":"2.0","id":"a","method":"echo_alias","params":["x"]}')
                assert alias["result"] == "x"
                assert (await ws_call(ws, "{not json"))["error"]["code"] == PARSE_ERROR
                assert (await ws_call(ws, '{"id":1,"method":"echo"}'))["error"]["code"] == INVALID_REQUEST
                assert (await ws_call(ws, '[]'))["error"]["code"] == INVALID_REQUEST
                unknown = await ws_call(ws, '{"jsonrpc":"2.0","id":2,"method":"nope"}')
                assert unknown["error"]["code"] == METHOD_NOT_FOUND and unknown["id"] == 2
                bad = await ws_call(ws, '{"jsonrpc":"2.0","id":3,"method":"echo","params":[1,2]}')
                assert bad["error"]["code"] == INVALID_PARAMS
                bad2 = await ws_call(ws, '{"jsonrpc":"2.0","id":3,"method":"echo","params":7}')
                assert bad2["error"]["code"] == INVALID_PARAMS
                crash = await ws_call(ws, '{"jsonrpc":"2.0","id":4,"method":"boom"}')
                assert crash["error"]["code"] == INTERNAL_ERROR
                refused = await ws_call(ws, '{"jsonrpc":"2.0","id":5,"method":"author_insertKey"}')
                assert refused["error"]["code"] == METHOD_NOT_FOUND
                batch = await ws_call(
                    ws,
                    '[{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]},'
                    '{"jsonrpc":"2.0","method":"echo","params":[2]},'
                    '{"jsonrpc":"2.0","id":2,"method":"nope"}]',
                )
                assert [r.get("result") for r in batch] == [1, None]
                # still alive after all of that
                assert (await ws_call(ws, '{"jsonrpc":"2.0","id":9,"method":"echo","params":[9]}'))["result"] == 9
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_unsafe_methods_allowed_in_unsafe_mode_and_oversize_refused() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            server = await start(nursery, methods="unsafe", max_request_size=200)
            async with trio_websocket.open_websocket("127.0.0.1", server.port, "/", use_ssl=False) as ws:
                ok = await ws_call(ws, '{"jsonrpc":"2.0","id":5,"method":"author_insertKey"}')
                assert ok["result"] == "ok"
                big = '{"jsonrpc":"2.0","id":6,"method":"echo","params":["' + "x" * 300 + '"]}'
                assert (await ws_call(ws, big))["error"]["code"] == OVERSIZED_REQUEST
            status, body = await http_post(server.port, big.encode())
            assert status == 413 and body["error"]["code"] == OVERSIZED_REQUEST
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_subscriptions_notify_unsubscribe_and_limit() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            server = await start(nursery, max_subscriptions_per_connection=2)
            async with trio_websocket.open_websocket("127.0.0.1", server.port, "/", use_ssl=False) as ws:
                first = await ws_call(ws, '{"jsonrpc":"2.0","id":1,"method":"sub_ticks","params":[2]}')
                sub_id = first["result"]
                notes = [json.loads(await ws.get_message()) for _ in range(2)]
                assert [n["params"]["result"] for n in notes] == [0, 1]
                assert all(n["method"] == "sub_tick" and n["params"]["subscription"] == sub_id for n in notes)
                await ws_call(ws, '{"jsonrpc":"2.0","id":2,"method":"sub_ticks","params":[0]}')
                third = await ws_call(ws, '{"jsonrpc":"2.0","id":3,"method":"sub_ticks","params":[0]}')
                assert third["error"]["code"] == TOO_MANY_SUBSCRIPTIONS
                unsub = await ws_call(ws, json.dumps({"jsonrpc": "2.0", "id": 4, "method": "unsub_ticks", "params": [sub_id]}))
                assert unsub["result"] is True
                again = await ws_call(ws, json.dumps({"jsonrpc": "2.0", "id": 5, "method": "unsub_ticks", "params": [sub_id]}))
                assert again["result"] is False
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_slow_consumer_is_disconnected_and_server_survives() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            server = await start(nursery, message_buffer=4)
            async with trio_websocket.open_websocket("127.0.0.1", server.port, "/", use_ssl=False) as ws:
                await ws.send_message('{"jsonrpc":"2.0","id":1,"method":"sub_ticks","params":[100000]}')
                await trio.sleep(3)  # do not read: the server's buffer fills
                with pytest.raises(trio_websocket.ConnectionClosed):
                    with trio.fail_after(30):
                        while True:
                            await ws.get_message()
                assert server.connections <= 1
            async with trio_websocket.open_websocket("127.0.0.1", server.port, "/", use_ssl=False) as ws:
                assert (await ws_call(ws, '{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}'))["result"] == 1
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_http_post_and_health() -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            server = await start(nursery)
            status, body = await http_post(server.port, b'{"jsonrpc":"2.0","id":1,"method":"echo","params":[3]}')
            assert status == 200 and body["result"] == 3
            status, body = await http_post(server.port, b"garbage")
            assert body["error"]["code"] == PARSE_ERROR
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := await stream.receive_some(4096):
                data += chunk
            assert json.loads(data.partition(b"\r\n\r\n")[2])["isSyncing"] is False
            # garbage on the socket does not hurt the server
            junk = await trio.open_tcp_stream("127.0.0.1", server.port)
            await junk.send_all(b"\x00\x01\x02 not http\r\n\r\n")
            await junk.aclose()
            status, body = await http_post(server.port, b'{"jsonrpc":"2.0","id":2,"method":"echo","params":[4]}')
            assert body["result"] == 4
            nursery.cancel_scope.cancel()

    trio.run(main)
