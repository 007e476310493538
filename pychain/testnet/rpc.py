"""A small JSON-RPC 2.0 client over HTTP POST, for polling the testnet's nodes.

Counterpart: what zombienet and polkadot-launch do to watch a network — plain HTTP calls of
``system_health``, ``chain_getHeader``, ``chain_getFinalizedHead`` and ``grandpa_roundState``
(``sc-rpc-api``) — rather than long-lived WebSocket subscriptions, so that a node that was killed
or restarted costs one failed call and nothing to reconnect. Each call opens one connection to
``127.0.0.1:PORT`` with a timeout; every failure is a :class:`TestnetRpcError`.
"""

from __future__ import annotations

import http.client
import itertools
import json
from typing import Any

from pychain.testnet.errors import TestnetRpcError

__all__ = ["http_rpc", "header_number"]

_ids = itertools.count(1)


def http_rpc(
    port: int,
    method: str,
    params: list[Any] | None = None,
    timeout: float = 5.0,
    host: str = "127.0.0.1",
) -> Any:
    """POST one JSON-RPC request to ``http://host:port/`` and return its ``result``."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": list(params or [])}
    ).encode()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", "/", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise TestnetRpcError(f"{method} on port {port}: {type(exc).__name__}: {exc}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise TestnetRpcError(f"{method} on port {port}: HTTP {response.status}")
    try:
        message = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TestnetRpcError(f"{method} on port {port}: the answer is not JSON") from None
    if not isinstance(message, dict):
        raise TestnetRpcError(f"{method} on port {port}: unexpected answer {data[:60]!r}")
    if "error" in message:
        error = message["error"]
        code = error.get("code") if isinstance(error, dict) else None
        text = error.get("message") if isinstance(error, dict) else error
        raise TestnetRpcError(f"{method} on port {port}: {text}", code if isinstance(code, int)
                              else None)
    if "result" not in message:
        raise TestnetRpcError(f"{method} on port {port}: answer without result")
    return message["result"]


def header_number(header: Any) -> int:
    """The block number of a ``chain_getHeader`` answer (hex string, as Substrate sends it)."""
    try:
        value = header["number"]
        return int(value, 16) if isinstance(value, str) else int(value)
    except (KeyError, TypeError, ValueError):
        raise TestnetRpcError(f"unexpected header {header!r:.80}") from None
