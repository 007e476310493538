"""JSON-RPC 2.0 server over WebSocket and HTTP on one port, in the node's trio loop.

Mirrors what a Substrate node serves with jsonrpsee (``sc-rpc-server``): one TCP port (9944 by
default) where an HTTP request with ``Upgrade: websocket`` becomes a WebSocket connection carrying
JSON-RPC requests and subscription notifications, and a plain ``POST`` carries one request (or a
batch) and gets one response. ``GET /health`` answers like Substrate's health endpoint.

Limits and their errors, with Substrate's defaults (``--rpc-max-request-size`` 15 MiB,
``--rpc-max-connections`` 100, ``--rpc-max-subscriptions-per-connection`` 1024,
``--rpc-message-buffer-capacity-per-connection`` 64):

* malformed JSON → ``-32700``; not a request object → ``-32600``; unknown method → ``-32601``;
  bad params → ``-32602``; a handler failure → ``-32603`` (the node keeps running);
* a request over the size limit → ``-32007`` (jsonrpsee's ``OVERSIZED_REQUEST``); WebSocket
  frames far over it are refused by the WebSocket layer (close code 1009);
* more subscriptions than allowed on one connection → ``-32006`` (``TOO_MANY_SUBSCRIPTIONS``);
* a client that does not read its notifications fills its buffer: the connection is closed
  (code 1008), as jsonrpsee does with a slow consumer, and nothing else is affected;
* unsafe methods are refused with ``-32601`` "Method not found" in ``safe`` mode (Substrate refuses
  them the same way when ``--rpc-methods safe``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio
import trio_websocket

from pychain.errors import PychainError

log = logging.getLogger("pychain.rpc")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
CALL_EXECUTION_FAILED = -32000
TOO_MANY_SUBSCRIPTIONS = -32006
OVERSIZED_REQUEST = -32007
SERVER_IS_BUSY = -32009
TOO_BIG_BATCH = -32010

#: Substrate's defaults.
DEFAULT_MAX_REQUEST_SIZE = 15 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_MAX_SUBSCRIPTIONS = 1024
DEFAULT_MESSAGE_BUFFER = 64
DEFAULT_MAX_BATCH = 1000
MAX_HTTP_HEADER = 16 * 1024


class RpcError(PychainError):
    """A JSON-RPC error to return to the caller: ``code``, ``message`` and optional ``data``."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"Invalid params: {message}")


class Params:
    """Positional (or named) JSON-RPC params with typed accessors raising ``-32602``."""

    def __init__(self, raw: Any, names: tuple[str, ...] = ()) -> None:
        if raw is None:
            raw = []
        if isinstance(raw, dict):
            raw = [raw.get(n) for n in names] if names else list(raw.values())
        if not isinstance(raw, list):
            raise invalid_params("params must be an array or an object")
        self.raw: list[Any] = raw

    def __len__(self) -> int:
        return len(self.raw)

    def get(self, index: int, default: Any = None) -> Any:
        return self.raw[index] if index < len(self.raw) and self.raw[index] is not None else default

    def require(self, index: int, what: str) -> Any:
        value = self.get(index)
        if value is None:
            raise invalid_params(f"missing parameter {index} ({what})")
        return value

    def max(self, count: int) -> None:
        if len(self.raw) > count:
            raise invalid_params(f"expected at most {count} parameter(s), got {len(self.raw)}")


MethodHandler = Callable[[Params], Awaitable[Any]]


class SubscriptionSink:
    """Where a subscription handler sends its notifications."""

    def __init__(self, conn: _Connection, sub_id: str, notification: str) -> None:
        self._conn = conn
        self.id = sub_id
        self.notification = notification
        self.closed = False

    def send(self, result: Any) -> None:
        """Queue one notification; a full buffer closes the connection (slow consumer)."""
        if self.closed:
            return
        self._conn.send(
            {
                "jsonrpc": "2.0",
                "method": self.notification,
                "params": {"subscription": self.id, "result": result},
            }
        )


SubscriptionHandler = Callable[[Any, SubscriptionSink], Awaitable[None]]


@dataclass
class _Method:
    handler: MethodHandler
    unsafe: bool = False


@dataclass
class _Subscription:
    handler: SubscriptionHandler
    notification: str
    unsubscribe: str
    unsafe: bool = False
    #: Runs before the subscription id is returned; its error answers the request itself, and its
    #: result is what the handler receives instead of the params (e.g. a submitted transaction).
    prepare: Callable[[Params], Awaitable[Any]] | None = None


@dataclass
class RpcModule:
    """The registry of methods and subscriptions (jsonrpsee's ``RpcModule``)."""

    methods: dict[str, _Method] = field(default_factory=dict)
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    unsubscribes: dict[str, str] = field(default_factory=dict)

    def register(
        self, name: str, handler: MethodHandler, aliases: tuple[str, ...] = (), unsafe: bool = False
    ) -> None:
        for n in (name, *aliases):
            if n in self.methods or n in self.subscriptions or n in self.unsubscribes:
                raise ValueError(f"RPC method {n} registered twice")
            self.methods[n] = _Method(handler, unsafe)

    def register_subscription(
        self,
        subscribe: str,
        notification: str,
        unsubscribe: str,
        handler: SubscriptionHandler,
        aliases: tuple[str, ...] = (),
        unsubscribe_aliases: tuple[str, ...] = (),
        unsafe: bool = False,
        prepare: Callable[[Params], Awaitable[Any]] | None = None,
    ) -> None:
        for n in (subscribe, *aliases):
            self.subscriptions[n] = _Subscription(handler, notification, unsubscribe, unsafe, prepare)
        for n in (unsubscribe, *unsubscribe_aliases):
            self.unsubscribes[n] = subscribe

    def method_names(self, include_unsafe: bool = True) -> list[str]:
        names = [n for n, m in self.methods.items() if include_unsafe or not m.unsafe]
        names += [n for n, s in self.subscriptions.items() if include_unsafe or not s.unsafe]
        names += list(self.unsubscribes)
        return sorted(names)


@dataclass
class RpcConfig:
    host: str = "127.0.0.1"
    port: int = 9944
    max_request_size: int = DEFAULT_MAX_REQUEST_SIZE
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_subscriptions_per_connection: int = DEFAULT_MAX_SUBSCRIPTIONS
    message_buffer: int = DEFAULT_MESSAGE_BUFFER
    max_batch: int = DEFAULT_MAX_BATCH
    #: "safe" refuses methods registered as unsafe (author_insertKey, author_rotateKeys …).
    methods: str = "safe"


class _SlowConsumer(Exception):
    pass


class _Connection:
    """One WebSocket client: its send queue, its subscriptions and their cancel scopes."""

    def __init__(self, server: RpcServer, ws: trio_websocket.WebSocketConnection | None) -> None:
        self.server = server
        self.ws = ws
        self.send_channel, self.receive_channel = trio.open_memory_channel[str](
            server.config.message_buffer
        )
        self.subscriptions: dict[str, tuple[trio.CancelScope, SubscriptionSink]] = {}
        self.closed_for_slowness = False
        self.on_slow: Callable[[], None] = lambda: None

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.send_channel.send_nowait(json.dumps(message, separators=(",", ":")))
        except trio.WouldBlock:
            self.closed_for_slowness = True
            for scope, sink in self.subscriptions.values():
                sink.closed = True
                scope.cancel()
            self.on_slow()
            raise _SlowConsumer() from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass


class RpcServer:
    """Serves an :class:`RpcModule` on ``config.host:config.port`` (HTTP and WebSocket)."""

    def __init__(self, module: RpcModule, config: RpcConfig | None = None) -> None:
        self.module = module
        self.config = config or RpcConfig()
        self.connections = 0
        self.calls = 0
        self.port: int | None = None
        self._next_sub = 0
        self._listeners: list[trio.SocketListener] = []

    # ------------------------------------------------------------------------------ serving

    async def serve(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled; reports the bound port through ``task_status``."""
        listeners = await trio.open_tcp_listeners(self.config.port, host=self.config.host)
        self._listeners = list(listeners)
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self.port)
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                nursery.start_soon(trio.serve_listeners, self._handle_stream, [listener])

    async def _handle_stream(self, stream: trio.abc.Stream) -> None:
        try:
            head, rest = await _read_http_head(stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError, _BadHttp):
            await trio.aclose_forcefully(stream)
            return
        try:
            request_line, headers = _parse_head(head)
        except _BadHttp:
            await _http_respond(stream, 400, "Bad Request", b"")
            return
        if self.connections >= self.config.max_connections:
            await _http_respond(stream, 503, "Service Unavailable", b"too many connections")
            return
        self.connections += 1
        try:
            if headers.get("upgrade", "").lower() == "websocket":
                await self._serve_websocket(_ReplayStream(stream, head + rest))
            else:
                await self._serve_http(stream, request_line, headers, rest)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self.connections -= 1

    async def _serve_http(
        self, stream: trio.abc.Stream, request_line: str, headers: dict[str, str], body: bytes
    ) -> None:
        method, _, rest = request_line.partition(" ")
        path = rest.split(" ", 1)[0]
        if method == "GET" and path.startswith("/health"):
            health = await self._health()
            await _http_respond(stream, 200, "OK", json.dumps(health).encode(), "application/json")
            return
        if method != "POST":
            await _http_respond(stream, 405, "Method Not Allowed", b"use POST or a WebSocket")
            return
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            await _http_respond(stream, 400, "Bad Request", b"bad Content-Length")
            return
        if length > self.config.max_request_size:
            error = _error_response(None, RpcError(OVERSIZED_REQUEST, "Request is too big"))
            await _http_respond(stream, 413, "Payload Too Large", error.encode(), "application/json")
            return
        while len(body) < length:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return
            body += chunk
        reply = await self.handle_text(body[:length].decode("utf-8", "replace"), None)
        await _http_respond(stream, 200, "OK", (reply or "").encode(), "application/json")

    async def _health(self) -> Any:
        method = self.module.methods.get("system_health")
        if method is None:
            return {"isSyncing": False, "peers": 0, "shouldHavePeers": False}
        return await method.handler(Params([]))

    async def _serve_websocket(self, stream: trio.abc.Stream) -> None:
        async with trio.open_nursery() as nursery:
            request = await trio_websocket.wrap_server_stream(
                nursery, stream, message_queue_size=4,
                max_message_size=self.config.max_request_size * 2 + 1024,
            )
            ws = await request.accept()
            conn = _Connection(self, ws)
            nursery.start_soon(self._writer, conn)
            reader = trio.CancelScope()
            conn.on_slow = reader.cancel
            try:
                with reader:
                    while True:
                        try:
                            message = await ws.get_message()
                        except trio_websocket.ConnectionClosed:
                            break
                        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                        try:
                            reply = await self.handle_text(text, conn, nursery)
                            if reply is not None:
                                conn.send_channel.send_nowait(reply)
                        except (_SlowConsumer, trio.WouldBlock):
                            conn.closed_for_slowness = True
                        if conn.closed_for_slowness:
                            break
                if conn.closed_for_slowness:
                    # Try a clean close; a client that does not read gets its socket dropped.
                    with trio.move_on_after(1):
                        await ws.aclose(code=1008, reason="slow consumer: message buffer full")
                    await trio.aclose_forcefully(stream)
            finally:
                for scope, sink in conn.subscriptions.values():
                    sink.closed = True
                    scope.cancel()
                conn.send_channel.close()
                nursery.cancel_scope.cancel()

    async def _writer(self, conn: _Connection) -> None:
        assert conn.ws is not None
        async for text in conn.receive_channel:
            try:
                await conn.ws.send_message(text)
            except trio_websocket.ConnectionClosed:
                return

    # --------------------------------------------------------------------------- dispatching

    async def handle_text(
        self, text: str, conn: _Connection | None, nursery: trio.Nursery | None = None
    ) -> str | None:
        """Handle one JSON text (single request or batch); returns the response text, if any."""
        if len(text) > self.config.max_request_size:
            return _error_response(None, RpcError(OVERSIZED_REQUEST, "Request is too big"))
        try:
            payload = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return _error_response(None, RpcError(PARSE_ERROR, "Parse error"))
        if isinstance(payload, list):
            if not payload:
                return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request: empty batch"))
            if len(payload) > self.config.max_batch:
                return _error_response(None, RpcError(TOO_BIG_BATCH, "The batch request was too large"))
            replies = []
            for item in payload:
                reply = await self._handle_request(item, conn, nursery)
                if reply is not None:
                    replies.append(reply)
            return "[" + ",".join(replies) + "]" if replies else None
        return await self._handle_request(payload, conn, nursery)

    async def _handle_request(
        self, request: Any, conn: _Connection | None, nursery: trio.Nursery | None
    ) -> str | None:
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            req_id = request.get("id") if isinstance(request, dict) else None
            return _error_response(_valid_id(req_id), RpcError(INVALID_REQUEST, "Invalid request"))
        req_id = request.get("id")
        if not _is_valid_id(req_id):
            return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request: bad id"))
        is_notification = "id" not in request
        name = request.get("method")
        if not isinstance(name, str):
            return _error_response(req_id, RpcError(INVALID_REQUEST, "Invalid request: no method"))
        self.calls += 1
        try:
            params = request.get("params")
            if params is not None and not isinstance(params, (list, dict)):
                raise invalid_params("params must be an array or an object")
            result = await self._call(name, params, conn, nursery)
        except RpcError as exc:
            return None if is_notification else _error_response(req_id, exc)
        except _SlowConsumer:
            raise
        except Exception as exc:  # a handler bug must not take the node down
            log.exception("RPC method %s failed", name)
            return None if is_notification else _error_response(
                req_id, RpcError(INTERNAL_ERROR, f"Internal error: {type(exc).__name__}: {exc}")
            )
        if is_notification:
            return None
        return json.dumps({"jsonrpc": "2.0", "id": req_id, "result": result}, separators=(",", ":"))

    def _refused(self, unsafe: bool) -> bool:
        return unsafe and self.config.methods != "unsafe"

    async def _call(
        self, name: str, raw_params: Any, conn: _Connection | None, nursery: trio.Nursery | None
    ) -> Any:
        method = self.module.methods.get(name)
        if method is not None and not self._refused(method.unsafe):
            return await method.handler(Params(raw_params))
        sub = self.module.subscriptions.get(name)
        if sub is not None and not self._refused(sub.unsafe):
            if conn is None or nursery is None:
                raise RpcError(METHOD_NOT_FOUND, "Subscriptions need a WebSocket connection")
            return await self._subscribe(sub, Params(raw_params), conn, nursery)
        if name in self.module.unsubscribes:
            if conn is None:
                raise RpcError(METHOD_NOT_FOUND, "Subscriptions need a WebSocket connection")
            params = Params(raw_params)
            sub_id = params.require(0, "subscription id")
            entry = conn.subscriptions.pop(str(sub_id), None)
            if entry is None:
                return False
            scope, sink = entry
            sink.closed = True
            scope.cancel()
            return True
        raise RpcError(METHOD_NOT_FOUND, "Method not found", data=name)

    async def _subscribe(
        self, sub: _Subscription, params: Params, conn: _Connection, nursery: trio.Nursery
    ) -> str:
        if len(conn.subscriptions) >= self.config.max_subscriptions_per_connection:
            raise RpcError(
                TOO_MANY_SUBSCRIPTIONS,
                f"Too many subscriptions on the connection (max "
                f"{self.config.max_subscriptions_per_connection})",
            )
        prepared: Any = params
        if sub.prepare is not None:
            prepared = await sub.prepare(params)
        self._next_sub += 1
        sub_id = f"{self._next_sub:016x}"
        sink = SubscriptionSink(conn, sub_id, sub.notification)
        scope = trio.CancelScope()
        conn.subscriptions[sub_id] = (scope, sink)
        # The subscription id must reach the client before its first notification: the handler
        # starts after this response is queued (scheduled, not awaited).
        nursery.start_soon(self._run_subscription, sub, prepared, sink, scope, conn)
        return sub_id

    async def _run_subscription(
        self,
        sub: _Subscription,
        params: Any,
        sink: SubscriptionSink,
        scope: trio.CancelScope,
        conn: _Connection,
    ) -> None:
        await trio.sleep(0)
        with scope:
            try:
                await sub.handler(params, sink)
            except _SlowConsumer:
                pass
            except RpcError as exc:
                log.info("subscription %s ended: %s", sink.id, exc)
            except Exception:
                log.exception("subscription handler %s failed", sub.notification)
        conn.subscriptions.pop(sink.id, None)


# ----------------------------------------------------------------------------------- helpers


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _is_valid_id(value: Any) -> bool:
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _valid_id(value: Any) -> Any:
    return value if _is_valid_id(value) else None


def _error_response(req_id: Any, error: RpcError) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "id": req_id, "error": error.to_json()}, separators=(",", ":")
    )


class _BadHttp(Exception):
    pass


async def _read_http_head(stream: trio.abc.Stream) -> tuple[bytes, bytes]:
    """Read the HTTP request head (up to the blank line); returns (head, bytes after it)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HTTP_HEADER:
            raise _BadHttp("header too large")
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise _BadHttp("connection closed")
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    return buffer[:end], buffer[end:]


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
        raise _BadHttp("bad header") from None
    lines = text.split("\r\n")
    request_line = lines[0]
    if request_line.count(" ") < 2:
        raise _BadHttp("bad request line")
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadHttp("bad header line")
        headers[name.strip().lower()] = value.strip()
    return request_line, headers


async def _http_respond(
    stream: trio.abc.Stream, status: int, reason: str, body: bytes, content_type: str = "text/plain"
) -> None:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        await stream.send_all(head + body)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    await trio.aclose_forcefully(stream)


class _ReplayStream(trio.abc.Stream):
    """A stream that first yields bytes already read (the sniffed HTTP head), then the rest."""

    def __init__(self, inner: trio.abc.Stream, prefix: bytes) -> None:
        self._inner = inner
        self._prefix = prefix

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._inner.send_all(bytes(data))

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            if max_bytes is None:
                out, self._prefix = self._prefix, b""
            else:
                out, self._prefix = self._prefix[:max_bytes], self._prefix[max_bytes:]
            return out
        data: bytes = bytes(await self._inner.receive_some(max_bytes))
        return data

    async def aclose(self) -> None:
        await self._inner.aclose()
