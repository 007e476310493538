"""pychain's own JSON-RPC client: a small blocking WebSocket client and chain helpers over it.

Counterparts: what ``py-substrate-interface`` (``SubstrateInterface``) and ``subxt``'s legacy RPC
client do for a script: call Substrate's JSON-RPC methods (``sc-rpc-api``: ``state_*``,
``chain_*``, ``author_*``, ``system_*``), follow subscriptions, build and sign extrinsics, and
read back the events of an included extrinsic.

Two layers:

* :class:`RpcClient` — JSON-RPC 2.0 (request ids, error objects, subscription notifications) over
  a minimal WebSocket client written here on a plain blocking ``socket``: the RFC 6455 opening
  handshake (section 4.1, with the ``Sec-WebSocket-Accept`` check of 4.2.2), framing with client
  masking (section 5.2/5.3), fragmented messages (5.4), ping/pong (5.5.2/5.5.3) and the close
  handshake (5.5.1). It is synchronous on purpose: scripts, the CLI and the federated-learning
  participant processes call it without an event loop, and tests run it in a worker thread
  (``trio.to_thread.run_sync``) beside an in-process node. Every call has a timeout; there is no
  reconnection (a dropped connection is a :class:`RpcConnectionError`). Only ``ws://`` URLs are
  supported (no TLS).
* :class:`PychainClient` — helpers for a pychain node: runtime version, genesis hash, metadata,
  storage and ``System.Account``, nonces, ``submit``, ``submit_and_watch`` (waits for ``inBlock``
  or ``finalized`` and decodes the extrinsic's events from ``System.Events`` at that block), and
  ``sign_and_submit`` (a mortal era of 64 blocks by default, signed over its birth block's hash).
  Because the node's runtime is Python, the client builds the same
  :class:`pychain.runtime.PychainRuntime` locally (with the constants read from the node's
  ``:code`` descriptor) to encode calls and decode events and errors, instead of interpreting
  metadata V14; it first checks that the node's runtime version (spec name, spec version,
  transaction version) is the one this code implements, and refuses with
  :class:`RuntimeMismatchError` otherwise.

Errors: every failure is a :class:`RpcClientError` (``code``/``message``/``data``; ``code`` is the
JSON-RPC error code the node returned, ``None`` for failures found on this side), with subclasses
for transport failures, timeouts, a runtime mismatch and a transaction that left the pool without
being included. A failed *dispatch* is not an exception: the :class:`ExtrinsicReceipt` says
``success=False`` and names the error (``Balances.InsufficientBalance``).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import json
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

from pychain.chain.errors import InvalidPoolTransaction
from pychain.errors import PychainError
from pychain.frame.dispatch import (
    DispatchErrorCodec,
    InvalidTransaction,
    ModuleError,
    TransactionValidityError,
    UnknownTransaction,
)
from pychain.frame.runtime import ApplyExtrinsic, EventRecord, RuntimeCall
from pychain.pallets.system import System
from pychain.pallets.system.types import AccountInfo
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import Signer, sign_extrinsic
from pychain.primitives.hashing import blake2_256, storage_prefix
from pychain.primitives.multiaddress import MULTI_ADDRESS, AddressId
from pychain.primitives.runtime_version import RuntimeVersion
from pychain.primitives.scale import (
    Array,
    Bool,
    Bytes,
    CEnum,
    Codec,
    CompactOf,
    Enum,
    FixedBytes,
    Option,
    Str,
    Struct,
    StructCodec,
    Tuple,
    Vec,
)
from pychain.primitives.ss58 import SS58Error, ss58_decode, ss58_encode
from pychain.rpc.api import pool_error
from pychain.runtime import CODE_KEY, VERSION, PychainRuntime, runtime_config_from_code

__all__ = [
    "RpcClientError",
    "RpcConnectionError",
    "RpcTimeoutError",
    "RuntimeMismatchError",
    "TransactionNotIncluded",
    "CallArgsError",
    "value_from_json",
    "call_args_from_json",
    "json_value",
    "WebSocket",
    "RpcClient",
    "Subscription",
    "EventInfo",
    "ExtrinsicReceipt",
    "PychainClient",
    "DEFAULT_URL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_ERA_PERIOD",
]

#: Substrate's default RPC endpoint.
DEFAULT_URL = "ws://127.0.0.1:9944"
#: Seconds a request (or a wait for a notification) may take.
DEFAULT_TIMEOUT = 30.0
#: Mortal era length used by :meth:`PychainClient.sign_and_submit` (polkadot.js' default is 64).
DEFAULT_ERA_PERIOD = 64
#: The largest WebSocket message accepted (metadata is a few hundred KiB).
MAX_MESSAGE_SIZE = 64 * 1024 * 1024

#: RFC 6455 section 1.3: appended to the key before hashing in ``Sec-WebSocket-Accept``.
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONTINUATION = 0x0
_OP_TEXT = 0x1
_OP_BINARY = 0x2
_OP_CLOSE = 0x8
_OP_PING = 0x9
_OP_PONG = 0xA
_MAX_HANDSHAKE = 16 * 1024

#: The runtime API that says why a transaction is invalid.
VALIDATE_API = "TaggedTransactionQueue_validate_transaction"
#: ``System.Events`` storage key.
EVENTS_KEY = storage_prefix("System", "Events")
#: Final statuses of ``author_extrinsicUpdate`` that mean "not included".
_FAILED_STATUSES = ("invalid", "dropped", "usurped", "finalityTimeout")


# ----------------------------------------------------------------------------------------- errors


class RpcClientError(PychainError):
    """Root of the client's errors: a JSON-RPC error returned by the node (``code`` is its
    error code, e.g. 1010 "Invalid Transaction" with the reason in ``data``) or, with ``code``
    ``None``, a failure found on this side."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        self.code = code
        self.message = message
        self.data = data
        text = message if code is None else f"{message} ({code})"
        if data is not None:
            text += f": {data}"
        super().__init__(text)


class RpcConnectionError(RpcClientError):
    """The node cannot be reached, the handshake failed or the connection was lost."""


class RpcTimeoutError(RpcConnectionError):
    """No answer within the timeout."""


class RuntimeMismatchError(RpcClientError):
    """The node runs a runtime this client cannot encode calls or decode events for."""


class TransactionNotIncluded(RpcClientError):
    """A watched transaction ended ``invalid``, ``dropped``, ``usurped`` or
    ``finalityTimeout`` instead of reaching the awaited status."""


# -------------------------------------------------------------------------------------- websocket


class WebSocket:
    """A minimal blocking RFC 6455 client connection (text messages only).

    ``recv`` answers pings and reassembles fragmented messages; a close frame from the server
    is answered and reported as :class:`RpcConnectionError`.
    """

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        host, port, path = _parse_ws_url(url)
        self.url = url
        self._buffer = bytearray()
        self._fragments: list[bytes] = []
        self._closed = False
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise RpcConnectionError(f"cannot connect to {url}: {exc.strerror or exc}") from None
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._handshake(host, port, path, time.monotonic() + timeout)
        except BaseException:
            self._sock.close()
            raise

    # -------------------------------------------------------------------- handshake (4.1)

    def _handshake(self, host: str, port: int, path: str, deadline: float) -> None:
        key = base64.b64encode(os.urandom(16))
        request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "\r\n"
        ).encode()
        self._send_raw(request, deadline)
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > _MAX_HANDSHAKE:
                raise RpcConnectionError(f"{self.url}: handshake response too long")
            self._fill(deadline)
        end = self._buffer.index(b"\r\n\r\n") + 4
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[:end]
        lines = head.split("\r\n")
        status = lines[0].split(" ", 2)
        # Verify the server switched protocols (RFC 6455 4.2.2: status 101).
        if len(status) < 2 or status[1] != "101":
            raise RpcConnectionError(f"{self.url}: WebSocket upgrade refused: {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        # Verify the accept key proves the server read our key.
        expected = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise RpcConnectionError(f"{self.url}: bad Sec-WebSocket-Accept in the handshake")

    # ------------------------------------------------------------------------ raw socket

    def _send_raw(self, data: bytes, deadline: float) -> None:
        try:
            self._sock.settimeout(_remaining(deadline))
            self._sock.sendall(data)
        except TimeoutError:
            raise RpcTimeoutError(f"{self.url}: timed out sending") from None
        except OSError as exc:
            self._closed = True
            raise RpcConnectionError(f"{self.url}: connection lost: {exc}") from None

    def _fill(self, deadline: float) -> None:
        try:
            self._sock.settimeout(_remaining(deadline))
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise RpcTimeoutError(f"{self.url}: timed out waiting for the node") from None
        except OSError as exc:
            self._closed = True
            raise RpcConnectionError(f"{self.url}: connection lost: {exc}") from None
        if not chunk:
            self._closed = True
            raise RpcConnectionError(f"{self.url}: the node closed the connection")
        self._buffer += chunk

    # ---------------------------------------------------------------------- framing (5.2)

    def _send_frame(self, opcode: int, payload: bytes, deadline: float) -> None:
        header = bytearray([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header.append(0x80 | length)
        elif length < 1 << 16:
            header.append(0x80 | 126)
            header += length.to_bytes(2, "big")
        else:
            header.append(0x80 | 127)
            header += length.to_bytes(8, "big")
        mask = os.urandom(4)
        header += mask
        self._send_raw(bytes(header) + _mask(payload, mask), deadline)

    def send(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Send one text message."""
        if self._closed:
            raise RpcConnectionError(f"{self.url}: the connection is closed")
        self._send_frame(_OP_TEXT, text.encode("utf-8"), time.monotonic() + timeout)

    def recv(self, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Receive the next complete text (or binary, decoded as UTF-8) message.

        A timeout leaves the connection usable: bytes of a partly received frame stay buffered
        and fragments already received are kept for the next call.
        """
        if self._closed:
            raise RpcConnectionError(f"{self.url}: the connection is closed")
        deadline = time.monotonic() + timeout
        while True:
            frame = self._take_frame(deadline)
            if frame is None:
                self._fill(deadline)
                continue
            fin, opcode, payload = frame
            if opcode == _OP_PING:
                self._send_frame(_OP_PONG, payload, deadline)
                continue
            if opcode == _OP_PONG:
                continue
            if opcode == _OP_CLOSE:
                self._answer_close(payload, deadline)
            # Verify the opcode is a data frame, and continuations continue something.
            if opcode not in (_OP_TEXT, _OP_BINARY, _OP_CONTINUATION) or (
                (opcode == _OP_CONTINUATION) != bool(self._fragments)
            ):
                self._fail_close(1002, deadline)
                raise RpcConnectionError(f"{self.url}: unexpected WebSocket opcode {opcode}")
            self._fragments.append(payload)
            if fin:
                message = b"".join(self._fragments)
                self._fragments = []
                try:
                    return message.decode("utf-8")
                except UnicodeDecodeError:
                    raise RpcConnectionError(f"{self.url}: message is not UTF-8") from None

    def _take_frame(self, deadline: float) -> tuple[bool, int, bytes] | None:
        """Remove one complete frame from the buffer: ``(fin, opcode, unmasked payload)``, or
        ``None`` (nothing consumed) while the buffer holds only part of a frame."""
        buf = self._buffer
        if len(buf) < 2:
            return None
        fin, opcode, length, pos = bool(buf[0] & 0x80), buf[0] & 0x0F, buf[1] & 0x7F, 2
        if length >= 126:
            width = 2 if length == 126 else 8
            if len(buf) < pos + width:
                return None
            length = int.from_bytes(buf[pos : pos + width], "big")
            pos += width
        mask: bytes | None = None
        if buf[1] & 0x80:
            if len(buf) < pos + 4:
                return None
            mask = bytes(buf[pos : pos + 4])
            pos += 4
        # Verify the message stays within the size limit before buffering all of it.
        if length + sum(len(part) for part in self._fragments) > MAX_MESSAGE_SIZE:
            self._fail_close(1009, deadline)
            raise RpcConnectionError(f"{self.url}: message over {MAX_MESSAGE_SIZE} bytes")
        if len(buf) < pos + length:
            return None
        payload = bytes(buf[pos : pos + length])
        del buf[: pos + length]
        return fin, opcode, payload if mask is None else _mask(payload, mask)

    def _answer_close(self, payload: bytes, deadline: float) -> NoReturn:
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        reason = payload[2:].decode("utf-8", "replace")
        try:
            self._send_frame(_OP_CLOSE, payload[:2], deadline)
        except RpcConnectionError:
            pass
        self._closed = True
        self._sock.close()
        suffix = f", {reason}" if reason else ""
        raise RpcConnectionError(
            f"{self.url}: the node closed the connection (code {code}{suffix})"
        )

    def _fail_close(self, code: int, deadline: float) -> None:
        try:
            self._send_frame(_OP_CLOSE, code.to_bytes(2, "big"), deadline)
        except RpcConnectionError:
            pass
        self._closed = True
        self._sock.close()

    def close(self) -> None:
        """Start the close handshake (code 1000) and drop the socket."""
        if self._closed:
            return
        try:
            self._send_frame(_OP_CLOSE, (1000).to_bytes(2, "big"), time.monotonic() + 1.0)
        except RpcConnectionError:
            pass
        self._closed = True
        self._sock.close()

    @property
    def closed(self) -> bool:
        return self._closed


def _mask(payload: bytes, mask: bytes) -> bytes:
    """RFC 6455 5.3: XOR with the 4-byte key, repeated."""
    if not payload:
        return b""
    count = len(payload)
    key = (mask * (count // 4 + 1))[:count]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        count, "little"
    )


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise RpcTimeoutError("timed out")
    return left


def _parse_ws_url(url: str) -> tuple[str, int, str]:
    if not isinstance(url, str):
        raise RpcConnectionError(f"bad node URL {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RpcConnectionError(f"bad node URL {url!r}: {exc}") from None
    if parts.scheme != "ws":
        raise RpcConnectionError(f"bad node URL {url!r}: only ws:// is supported")
    if not parts.hostname:
        raise RpcConnectionError(f"bad node URL {url!r}: no host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname, port if port is not None else 80, path


# -------------------------------------------------------------------------------------- JSON-RPC


class RpcClient:
    """JSON-RPC 2.0 over one WebSocket connection, blocking, with per-call timeouts.

    Requests get increasing integer ids; notifications that arrive while waiting for a response
    are queued by subscription id and handed out by :class:`Subscription`. A lock makes one
    client usable from several threads (calls are serialised).
    """

    def __init__(self, url: str = DEFAULT_URL, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._ws = WebSocket(url, timeout)
        self._next_id = 0
        self._lock = threading.RLock()
        self._notifications: dict[str, deque[Any]] = {}

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._ws.close()

    # ------------------------------------------------------------------------ requests

    def request(
        self, method: str, params: list[Any] | None = None, timeout: float | None = None
    ) -> Any:
        """Call ``method`` and return its ``result``; a JSON-RPC error is an
        :class:`RpcClientError` with the node's code, message and data."""
        with self._lock:
            self._next_id += 1
            req_id = self._next_id
            text = json.dumps(
                {"jsonrpc": "2.0", "id": req_id, "method": method, "params": list(params or [])}
            )
            deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
            self._ws.send(text, _remaining(deadline))
            while True:
                message = self._receive(deadline)
                if message.get("id") != req_id:
                    continue  # a late answer to a request that timed out
                if "error" in message:
                    raise _error_from_json(method, message["error"])
                if "result" not in message:
                    raise RpcClientError(f"{method}: response without result or error")
                return message["result"]

    def _receive(self, deadline: float) -> dict[str, Any]:
        """The next response; notifications met on the way are queued."""
        while True:
            text = self._ws.recv(_remaining(deadline))
            try:
                message = json.loads(text)
            except json.JSONDecodeError:
                raise RpcClientError(f"the node sent invalid JSON: {text[:80]!r}") from None
            if not isinstance(message, dict):
                raise RpcClientError(f"the node sent an unexpected message: {text[:80]!r}")
            if "id" not in message and "method" in message:
                params = message.get("params")
                if isinstance(params, dict) and "subscription" in params:
                    sub_id = str(params["subscription"])
                    self._notifications.setdefault(sub_id, deque()).append(params.get("result"))
                continue
            return message

    # -------------------------------------------------------------------- subscriptions

    def subscribe(
        self, method: str, params: list[Any] | None, unsubscribe: str, timeout: float | None = None
    ) -> Subscription:
        """Start a subscription; iterate the returned :class:`Subscription` for its results."""
        sub_id = self.request(method, params, timeout)
        if not isinstance(sub_id, str | int):
            raise RpcClientError(f"{method}: expected a subscription id, got {sub_id!r:.60}")
        sub = Subscription(self, str(sub_id), unsubscribe)
        self._notifications.setdefault(sub.id, deque())
        return sub

    def next_notification(self, sub_id: str, timeout: float | None = None) -> Any:
        """The next result of subscription ``sub_id`` (waits up to ``timeout``)."""
        with self._lock:
            queue = self._notifications.setdefault(sub_id, deque())
            deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
            while not queue:
                text = self._ws.recv(_remaining(deadline))
                try:
                    message = json.loads(text)
                except json.JSONDecodeError:
                    raise RpcClientError(f"the node sent invalid JSON: {text[:80]!r}") from None
                params = message.get("params") if isinstance(message, dict) else None
                if isinstance(params, dict) and "subscription" in params:
                    other = str(params["subscription"])
                    self._notifications.setdefault(other, deque()).append(params.get("result"))
            return queue.popleft()

    def unsubscribe(self, sub_id: str, method: str) -> bool:
        self._notifications.pop(sub_id, None)
        if self._ws.closed:
            return False
        return bool(self.request(method, [sub_id]))


def _error_from_json(method: str, error: Any) -> RpcClientError:
    if not isinstance(error, dict):
        return RpcClientError(f"{method}: malformed error {error!r:.80}")
    code = error.get("code")
    message = str(error.get("message", "unknown error"))
    return RpcClientError(message, code if isinstance(code, int) else None, error.get("data"))


class Subscription:
    """A live subscription: iterate it (each item waits up to the client's timeout), or call
    :meth:`next` with a timeout; :meth:`close` unsubscribes."""

    def __init__(self, client: RpcClient, sub_id: str, unsubscribe: str) -> None:
        self.client = client
        self.id = sub_id
        self.unsubscribe_method = unsubscribe
        self.closed = False

    def next(self, timeout: float | None = None) -> Any:
        return self.client.next_notification(self.id, timeout)

    def __iter__(self) -> Iterator[Any]:
        while not self.closed:
            yield self.next()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.client.unsubscribe(self.id, self.unsubscribe_method)
        except RpcClientError:
            pass  # the subscription may have ended on the node's side already

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------- receipts


@dataclass(frozen=True)
class EventInfo:
    """One decoded event: ``pallet``, variant ``name`` and its fields as JSON-ready values."""

    pallet: str
    name: str
    fields: dict[str, Any]
    value: Struct = field(repr=False, compare=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.pallet}.{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {"event": self.qualified_name, "fields": self.fields}


@dataclass(frozen=True)
class ExtrinsicReceipt:
    """What became of a submitted extrinsic.

    ``block_hash`` is ``None`` when it was submitted without waiting; ``success`` is then
    ``None`` too. ``error`` names a failed dispatch (``"Balances.InsufficientBalance"``,
    ``"Token.FundsUnavailable"``, ``"BadOrigin"``); ``fee`` is the ``actual_fee`` of
    ``TransactionPayment.TransactionFeePaid`` (tip included).
    """

    extrinsic_hash: bytes
    block_hash: bytes | None = None
    status: str = "submitted"
    extrinsic_index: int | None = None
    events: tuple[EventInfo, ...] = ()
    success: bool | None = None
    error: str | None = None
    fee: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "extrinsicHash": "0x" + self.extrinsic_hash.hex(),
            "blockHash": None if self.block_hash is None else "0x" + self.block_hash.hex(),
            "status": self.status,
            "extrinsicIndex": self.extrinsic_index,
            "success": self.success,
            "error": self.error,
            "feePaid": self.fee,
            "events": [event.to_json() for event in self.events],
        }


def json_value(value: Any) -> Any:
    """Decoded SCALE values → JSON-ready values (bytes as ``0x`` hex, enums by name, structs
    as objects, enum variants as ``{"Variant": fields}``)."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bool | int | str) or value is None:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name.rstrip("_"): json_value(getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
        return fields
    if isinstance(value, Mapping):
        return {str(json_value(k)): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return str(value)


# ------------------------------------------------------------------------------ JSON call args


class CallArgsError(RpcClientError):
    """JSON call arguments that do not fit the call's argument types."""


def value_from_json(codec: Codec[Any], value: Any, where: str = "value") -> Any:
    """A JSON value → the Python value ``codec`` encodes (the inverse of :func:`json_value`).

    Integers may be JSON numbers or decimal/``0x`` strings; byte strings are ``0x`` hex (a
    32-byte one may also be an SS58 address); ``MultiAddress`` accepts an SS58 address or
    ``0x`` account id (``Id``) or ``{"Variant": value}``; other enums take
    ``{"Variant": {fields}}`` or the bare variant name for unit variants; C-like enums take the
    variant name or its index; structs take an object of their fields.
    """
    if codec is Bool:
        if not isinstance(value, bool):
            raise CallArgsError(f"{where}: expected true or false, got {value!r:.40}")
        return value
    if codec is Str:
        if not isinstance(value, str):
            raise CallArgsError(f"{where}: expected a string, got {value!r:.40}")
        return value
    if codec is Bytes:
        return _json_bytes(value, where)
    if isinstance(codec, FixedBytes):
        if isinstance(value, str) and not value.startswith("0x") and codec.size == 32:
            return _account_from_text(value, where)
        data = _json_bytes(value, where)
        if len(data) != codec.size:
            raise CallArgsError(f"{where}: expected {codec.size} bytes, got {len(data)}")
        return data
    if isinstance(codec, CompactOf) or hasattr(codec, "lo") and hasattr(codec, "hi"):
        return _json_int(codec, value, where)
    if isinstance(codec, CEnum):
        return _json_c_enum(codec, value, where)
    if codec is MULTI_ADDRESS and isinstance(value, str):
        return AddressId(_account_from_text(value, where))
    if isinstance(codec, Enum):
        return _json_enum(codec, value, where)
    if isinstance(codec, StructCodec):
        return _json_struct(codec, value, where)
    if isinstance(codec, Option):
        return None if value is None else value_from_json(codec.item, value, where)
    if isinstance(codec, Vec | Array):
        if not isinstance(value, list):
            raise CallArgsError(f"{where}: expected a JSON array, got {value!r:.40}")
        return [value_from_json(codec.item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(codec, Tuple):
        if not isinstance(value, list) or len(value) != len(codec.items):
            raise CallArgsError(f"{where}: expected an array of {len(codec.items)} item(s)")
        return tuple(
            value_from_json(c, v, f"{where}[{i}]")
            for i, (c, v) in enumerate(zip(codec.items, value, strict=True))
        )
    raise CallArgsError(f"{where}: arguments of type {codec.name} cannot be given as JSON")


def call_args_from_json(
    runtime: PychainRuntime, pallet: str, call: str, args: Any
) -> dict[str, Any]:
    """Named arguments of ``pallet.call`` from a JSON object (or a positional JSON array)."""
    try:
        call_def = runtime.runtime.call_def(RuntimeCall(pallet, call))
    except PychainError as exc:
        raise CallArgsError(str(exc)) from None
    names, codecs = call_def.arg_names, call_def.arg_codecs
    if isinstance(args, list):
        if len(args) != len(names):
            raise CallArgsError(f"{pallet}.{call} takes {len(names)} argument(s), got {len(args)}")
        args = dict(zip(names, args, strict=True))
    if not isinstance(args, dict):
        raise CallArgsError("call arguments must be a JSON object or array")
    unknown = sorted(set(args) - set(names))
    missing = [n for n in names if n not in args]
    if unknown or missing:
        raise CallArgsError(
            f"{pallet}.{call}({', '.join(names)}): missing {missing or '-'}, "
            f"unexpected {unknown or '-'}"
        )
    return {
        name: value_from_json(codec, args[name], name)
        for name, codec in zip(names, codecs, strict=True)
    }


def _json_bytes(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise CallArgsError(f"{where}: expected 0x-prefixed hex, got {value!r:.40}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise CallArgsError(f"{where}: not valid hex") from None


def _account_from_text(value: str, where: str) -> bytes:
    if value.startswith("0x"):
        data = _json_bytes(value, where)
        if len(data) != 32:
            raise CallArgsError(f"{where}: an account id is 32 bytes, got {len(data)}")
        return data
    try:
        account, _ = ss58_decode(value)
    except SS58Error as exc:
        raise CallArgsError(f"{where}: {exc}") from None
    if len(account) != 32:
        raise CallArgsError(f"{where}: an account id is 32 bytes, got {len(account)}")
    return account


def _json_int(codec: Codec[Any], value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise CallArgsError(f"{where}: expected an integer, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value, 16) if value.startswith("0x") else int(value, 10)
        except ValueError:
            raise CallArgsError(f"{where}: not an integer: {value!r:.40}") from None
    if not isinstance(value, int):
        raise CallArgsError(f"{where}: expected an integer, got {value!r:.40}")
    if isinstance(codec, CompactOf):
        lo, hi = 0, (1 << codec.bits) - 1
    else:
        lo, hi = int(getattr(codec, "lo")), int(getattr(codec, "hi"))  # noqa: B009
    if not lo <= value <= hi:
        raise CallArgsError(f"{where}: {value} is out of range for {codec.name}")
    return value


def _json_c_enum(codec: CEnum, value: Any, where: str) -> Any:
    members = list(codec.enum_cls)
    for member in members:
        if value == member.name or (
            isinstance(value, int) and not isinstance(value, bool) and value == int(member)
        ):
            return member
    names = ", ".join(m.name for m in members)
    raise CallArgsError(f"{where}: {value!r:.40} is not one of {names}")


def _json_enum(codec: Enum, value: Any, where: str) -> Any:
    by_name = {name: codec.variants[index] for index, name in codec.variant_names.items()}
    if isinstance(value, str) and value in by_name:
        name, fields = value, None
    elif isinstance(value, dict) and len(value) == 1:
        ((name, fields),) = value.items()
    else:
        raise CallArgsError(f'{where}: expected {{"Variant": value}} for {codec.name}')
    cls = by_name.get(name)
    if cls is None:
        raise CallArgsError(f"{where}: {codec.name} has no variant {name!r}; {', '.join(by_name)}")
    struct_codec = cls.codec()
    if fields is None:
        fields = {}
    elif not isinstance(fields, dict) and len(struct_codec.field_names) == 1:
        fields = {struct_codec.field_names[0]: fields}
    return _json_struct(struct_codec, fields, f"{where}.{name}")


def _json_struct(codec: StructCodec[Any], value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise CallArgsError(f"{where}: expected a JSON object for {codec.name}")
    names = codec.field_names
    # JSON names drop the trailing underscore that Python keywords need (``from_`` → ``from``).
    given = {(k + "_" if k + "_" in names and k not in names else k): v for k, v in value.items()}
    unknown = sorted(set(given) - set(names))
    missing = [n for n in names if n not in given]
    if unknown or missing:
        raise CallArgsError(
            f"{where}: {codec.name} fields are {', '.join(names) or 'none'} "
            f"(missing {missing or '-'}, unexpected {unknown or '-'})"
        )
    values = {
        n: value_from_json(c, given[n], f"{where}.{n}")
        for n, c in zip(names, codec.field_codecs, strict=True)
    }
    try:
        return codec.cls(**values)
    except (TypeError, ValueError, PychainError) as exc:
        raise CallArgsError(f"{where}: {exc}") from None


# --------------------------------------------------------------------------------- chain helpers


class PychainClient:
    """Chain-level helpers for a pychain node (see the module docstring).

    The local runtime (:attr:`runtime`) is built on first use, after checking the node's
    runtime version.
    """

    def __init__(self, url: str = DEFAULT_URL, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.rpc = RpcClient(url, timeout)
        self.timeout = timeout
        self._runtime: PychainRuntime | None = None
        self._genesis: bytes | None = None
        self._version: RuntimeVersion | None = None

    def __enter__(self) -> PychainClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.rpc.close()

    # -------------------------------------------------------------------------- basics

    def runtime_version(self, at: bytes | None = None) -> RuntimeVersion:
        """``state_getRuntimeVersion`` as a :class:`RuntimeVersion`."""
        raw = self.rpc.request("state_getRuntimeVersion", [] if at is None else [_hex(at)])
        try:
            return RuntimeVersion(
                spec_name=str(raw["specName"]),
                impl_name=str(raw["implName"]),
                authoring_version=int(raw["authoringVersion"]),
                spec_version=int(raw["specVersion"]),
                impl_version=int(raw["implVersion"]),
                apis=tuple((_unhex(api_id, "api id"), int(v)) for api_id, v in raw["apis"]),
                transaction_version=int(raw.get("transactionVersion", 1)),
                state_version=int(raw.get("stateVersion", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RpcClientError(f"state_getRuntimeVersion: unexpected answer ({exc})") from None

    def genesis_hash(self) -> bytes:
        if self._genesis is None:
            self._genesis = _unhex(self.rpc.request("chain_getBlockHash", [0]), "genesis hash")
        return self._genesis

    def block_hash(self, number: int | None = None) -> bytes | None:
        raw = self.rpc.request("chain_getBlockHash", [] if number is None else [number])
        return None if raw is None else _unhex(raw, "block hash")

    def best_number(self) -> int:
        header = self.rpc.request("chain_getHeader")
        return _hex_int(header, "header number")

    def finalized_head(self) -> bytes:
        return _unhex(self.rpc.request("chain_getFinalizedHead"), "finalized head")

    def metadata(self, at: bytes | None = None) -> bytes:
        """``state_getMetadata``: the SCALE ``RuntimeMetadataPrefixed`` bytes."""
        return _unhex(
            self.rpc.request("state_getMetadata", [] if at is None else [_hex(at)]), "metadata"
        )

    def properties(self) -> dict[str, Any]:
        raw = self.rpc.request("system_properties")
        return raw if isinstance(raw, dict) else {}

    def get_storage(self, key: bytes, at: bytes | None = None) -> bytes | None:
        """``state_getStorage``: the raw value at ``key`` (``None`` when absent)."""
        params: list[Any] = [_hex(key)] if at is None else [_hex(key), _hex(at)]
        raw = self.rpc.request("state_getStorage", params)
        return None if raw is None else _unhex(raw, "storage value")

    # ------------------------------------------------------------------------- runtime

    @property
    def runtime(self) -> PychainRuntime:
        """The local twin of the node's runtime (checked against the node's version)."""
        if self._runtime is None:
            version = self.runtime_version()
            self._version = version
            ours = (VERSION.spec_name, VERSION.spec_version, VERSION.transaction_version)
            theirs = (version.spec_name, version.spec_version, version.transaction_version)
            # Verify the node runs the runtime this code implements.
            if ours != theirs:
                raise RuntimeMismatchError(
                    f"the node runs {theirs[0]} spec {theirs[1]} (transaction version "
                    f"{theirs[2]}); this client implements {ours[0]} spec {ours[1]} "
                    f"(transaction version {ours[2]})"
                )
            code = self.get_storage(CODE_KEY)
            if code is None:
                raise RuntimeMismatchError("the node's state has no :code")
            try:
                config = runtime_config_from_code(code)
            except PychainError as exc:
                raise RuntimeMismatchError(
                    f"cannot read the node's runtime constants: {exc}"
                ) from None
            self._runtime = PychainRuntime(config)
        return self._runtime

    def account_info(self, account_id: bytes, at: bytes | None = None) -> AccountInfo:
        """``System.Account`` of ``account_id`` (the default, empty info when absent)."""
        raw = self.get_storage(System.Account.hashed_key(bytes(account_id)), at)
        if raw is None:
            return AccountInfo()
        try:
            info: AccountInfo = System.Account.value_codec.decode(raw)
        except PychainError as exc:
            raise RpcClientError(f"System.Account value does not decode: {exc}") from None
        return info

    def account_nonce(self, account_id: bytes) -> int:
        """``system_accountNextIndex``: the next nonce, counting the account's pool transactions."""
        prefix = self.runtime.config.ss58_prefix
        nonce = self.rpc.request(
            "system_accountNextIndex", [ss58_encode(bytes(account_id), prefix)]
        )
        if isinstance(nonce, bool) or not isinstance(nonce, int):
            raise RpcClientError(f"system_accountNextIndex: expected an integer, got {nonce!r:.40}")
        return nonce

    def events(self, block_hash: bytes) -> list[EventRecord]:
        """``System.Events`` at ``block_hash``, decoded with the runtime's event codec."""
        raw = self.get_storage(EVENTS_KEY, block_hash)
        if raw is None:
            return []
        try:
            records: list[EventRecord] = Vec(self.runtime.runtime.event_record_codec).decode(raw)
        except PychainError as exc:
            raise RpcClientError(
                f"System.Events at 0x{block_hash.hex()} do not decode: {exc}"
            ) from None
        return records

    def event_info(self, record: EventRecord) -> EventInfo:
        pallet = self.runtime.runtime.pallet(record.event.pallet)
        codec = pallet.Event
        name = codec.variant_names[codec.index_of(record.event.event)]
        fields = json_value(record.event.event)
        return EventInfo(record.event.pallet, name, fields, record.event.event)

    def dispatch_error_name(self, error: Any) -> str:
        """``DispatchError`` → ``Pallet.ErrorName`` for module errors (through the runtime's
        pallet ``Error`` enums), ``Variant.Detail`` or ``Variant`` for the others."""
        if isinstance(error, ModuleError):
            pallet = self.runtime.runtime.pallets_by_index.get(error.index)
            if pallet is None:
                return f"Module(index={error.index}, error=0x{error.error.hex()})"
            errors = pallet.Error
            code = error.error[0]
            if errors is not None and code in {int(e) for e in errors}:
                return f"{pallet.name}.{errors(code).name}"
            return f"{pallet.name}.Error({code})"
        variant = DispatchErrorCodec.variant_names[DispatchErrorCodec.index_of(error)]
        detail = getattr(error, "error", None)
        return f"{variant}.{detail.name}" if isinstance(detail, enum.Enum) else variant

    # -------------------------------------------------------------------------- submit

    def submit(self, extrinsic: bytes) -> bytes:
        """``author_submitExtrinsic``: the extrinsic hash (a pool refusal is error 1010…)."""
        result = self.rpc.request("author_submitExtrinsic", [_hex(extrinsic)])
        return _unhex(result, "extrinsic hash")

    def submit_and_watch(
        self, extrinsic: bytes, until: str = "finalized", timeout: float | None = None
    ) -> ExtrinsicReceipt:
        """``author_submitAndWatchExtrinsic`` until ``inBlock`` or ``finalized``, then read the
        extrinsic's events in that block."""
        if until not in ("inBlock", "finalized"):
            raise RpcClientError(f"until must be 'inBlock' or 'finalized', got {until!r}")
        xt_hash = blake2_256(extrinsic)
        deadline = time.monotonic() + (self.timeout * 4 if timeout is None else timeout)
        sub = self.rpc.subscribe(
            "author_submitAndWatchExtrinsic", [_hex(extrinsic)], "author_unwatchExtrinsic"
        )
        block_hash: bytes | None = None
        with sub:
            while True:
                status = sub.next(_remaining_or_timeout(deadline))
                if isinstance(status, str):
                    if status == "invalid":
                        raise self._invalid_reason(extrinsic)
                    if status in _FAILED_STATUSES:
                        raise TransactionNotIncluded(f"transaction {status}", data=status)
                    continue
                if not isinstance(status, dict) or len(status) != 1:
                    continue
                ((kind, value),) = status.items()
                if kind in _FAILED_STATUSES:
                    raise TransactionNotIncluded(f"transaction {kind}", data=value)
                if kind in ("inBlock", "finalized"):
                    block_hash = _unhex(value, "block hash")
                    if kind == until or kind == "finalized":
                        break
        return self.receipt(xt_hash, extrinsic, block_hash, until)

    def _invalid_reason(self, extrinsic: bytes) -> RpcClientError:
        """Why the pool refused a watched extrinsic.

        pychain's server answers a refused ``author_submitAndWatchExtrinsic`` with an
        ``invalid`` notification (Substrate answers the request with error 1010 instead), so the
        reason is asked of the runtime through ``TaggedTransactionQueue_validate_transaction``
        and reported as the 1010 error ``author_submitExtrinsic`` would have given.
        """
        best = _unhex(self.rpc.request("chain_getBlockHash"), "best hash")
        data = b"\x02" + extrinsic + best  # TransactionSource::External, the extrinsic, at best
        raw = _unhex(self.rpc.request("state_call", [VALIDATE_API, _hex(data)]), "validity")
        validity = _decode_validity_error(raw)
        if validity is None:
            return TransactionNotIncluded("transaction invalid", data="invalid")
        error = pool_error(InvalidPoolTransaction(validity))
        return RpcClientError(error.message, error.code, error.data)

    def receipt(
        self, xt_hash: bytes, extrinsic: bytes, block_hash: bytes, status: str
    ) -> ExtrinsicReceipt:
        """The :class:`ExtrinsicReceipt` of ``extrinsic`` included in ``block_hash``."""
        block = self.rpc.request("chain_getBlock", [_hex(block_hash)])
        if not isinstance(block, dict):
            raise RpcClientError(f"block 0x{block_hash.hex()} is unknown to the node")
        try:
            extrinsics = [_unhex(x, "extrinsic") for x in block["block"]["extrinsics"]]
        except (KeyError, TypeError):
            raise RpcClientError("chain_getBlock: unexpected answer") from None
        if extrinsic not in extrinsics:
            raise RpcClientError(
                f"extrinsic 0x{xt_hash.hex()} is not in block 0x{block_hash.hex()}"
            )
        index = extrinsics.index(extrinsic)
        events = [
            r
            for r in self.events(block_hash)
            if isinstance(r.phase, ApplyExtrinsic) and r.phase.index == index
        ]
        infos = tuple(self.event_info(r) for r in events)
        success: bool | None = None
        error: str | None = None
        fee: int | None = None
        for info in infos:
            if info.qualified_name == "System.ExtrinsicSuccess":
                success = True
            elif info.qualified_name == "System.ExtrinsicFailed":
                success = False
                failed: Any = info.value
                error = self.dispatch_error_name(failed.dispatch_error)
            elif info.qualified_name == "TransactionPayment.TransactionFeePaid":
                paid: Any = info.value
                fee = int(paid.actual_fee)
        return ExtrinsicReceipt(xt_hash, block_hash, status, index, infos, success, error, fee)

    # --------------------------------------------------------------------------- sign

    def create_signed_extrinsic(
        self,
        keypair: Signer,
        pallet: str,
        call: str,
        args: Mapping[str, Any],
        tip: int = 0,
        era_period: int | None = DEFAULT_ERA_PERIOD,
        nonce: int | None = None,
    ) -> bytes:
        """Encode ``pallet.call(**args)`` with the runtime and sign it: nonce from
        ``system_accountNextIndex`` unless given, a mortal era of ``era_period`` blocks from the
        best block (``None``: immortal) signed over its birth block's hash."""
        runtime = self.runtime
        try:
            encoded = runtime.runtime.encode_call(runtime.runtime.make_call(pallet, call, **args))
        except PychainError as exc:
            raise RpcClientError(f"cannot encode {pallet}.{call}: {exc}") from None
        if nonce is None:
            nonce = self.account_nonce(keypair.account_id)
        birth_hash: bytes | None = None
        if era_period is None:
            era = Era.immortal()
        else:
            current = self.best_number()
            try:
                era = Era.mortal(era_period, current)
            except PychainError as exc:
                raise RpcClientError(f"bad era: {exc}") from None
            birth_hash = self.block_hash(era.birth(current))
            if birth_hash is None:
                raise RpcClientError(f"the node does not know block {era.birth(current)}")
        version = self._version or self.runtime_version()
        try:
            return sign_extrinsic(
                keypair,
                encoded,
                nonce,
                era,
                tip,
                self.genesis_hash(),
                version.spec_version,
                version.transaction_version,
                birth_hash,
            )
        except PychainError as exc:
            raise RpcClientError(f"cannot sign {pallet}.{call}: {exc}") from None

    def sign_and_submit(
        self,
        keypair: Signer,
        pallet: str,
        call: str,
        args: Mapping[str, Any],
        tip: int = 0,
        era_period: int | None = DEFAULT_ERA_PERIOD,
        wait: str | None = "finalized",
        nonce: int | None = None,
    ) -> ExtrinsicReceipt:
        """Sign ``pallet.call(**args)`` and submit it; ``wait`` is ``None`` (return after the
        pool accepted it), ``"inBlock"`` or ``"finalized"``."""
        extrinsic = self.create_signed_extrinsic(
            keypair, pallet, call, args, tip, era_period, nonce
        )
        if wait is None:
            return ExtrinsicReceipt(self.submit(extrinsic))
        return self.submit_and_watch(extrinsic, wait)


def _decode_validity_error(raw: bytes) -> TransactionValidityError | None:
    """``TransactionValidity`` bytes → the error, or ``None`` when valid or not understood."""
    if len(raw) < 3 or raw[0] != 1:
        return None
    kind, reason = raw[1], raw[2]
    custom = raw[3] if len(raw) > 3 else 0
    try:
        if kind == 0:
            return TransactionValidityError(invalid=InvalidTransaction(reason), custom=custom)
        if kind == 1:
            return TransactionValidityError(unknown=UnknownTransaction(reason), custom=custom)
    except ValueError:
        return None
    return None


def _remaining_or_timeout(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise RpcTimeoutError("timed out waiting for the transaction's status")
    return left


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def _unhex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcClientError(f"expected {what} as 0x hex, got {value!r:.60}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RpcClientError(f"{what} is not valid hex") from None


def _hex_int(header: Any, what: str) -> int:
    try:
        value = header["number"]
        return int(value, 16) if isinstance(value, str) else int(value)
    except (KeyError, TypeError, ValueError):
        raise RpcClientError(f"unexpected {what}: {header!r:.80}") from None
