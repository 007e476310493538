"""`cli.py node --dev` serves JSON-RPC (WebSocket and HTTP) and Prometheus metrics on its ports."""

from __future__ import annotations

import json
import socket
import time

from tests.clients.node_process import dev_node


def http(port: int, request: bytes) -> tuple[str, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body


def rpc_post(port: int, method: str, params: list) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    status, reply = http(
        port,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    )
    assert status.endswith("200 OK"), status
    return json.loads(reply)


def test_dev_node_serves_rpc_and_metrics() -> None:
    with dev_node(slot_ms=200) as node:
        deadline = time.monotonic() + 30
        while True:
            header = rpc_post(node.rpc_port, "chain_getHeader", [])["result"]
            if int(header["number"], 16) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert int(header["number"], 16) >= 2
        finalized = rpc_post(node.rpc_port, "chain_getFinalizedHead", [])["result"]
        assert rpc_post(node.rpc_port, "chain_getHeader", [finalized])["result"] is not None
        name = rpc_post(node.rpc_port, "system_chain", [])["result"]
        assert name == "Development"
        # unsafe methods are allowed on loopback by default (--rpc-methods auto)
        assert "error" not in rpc_post(node.rpc_port, "system_peers", [])
        status, body = http(node.prometheus_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status.endswith("200 OK")
        text = body.decode()
        best = [ln for ln in text.splitlines() if ln.startswith('substrate_block_height{status="best"}')]
        assert best and int(best[0].split()[-1]) >= 2
        assert "substrate_rpc_calls_total" in text


def test_safe_rpc_methods_refuse_unsafe_ones() -> None:
    with dev_node("--rpc-methods", "safe", slot_ms=200) as node:
        reply = rpc_post(node.rpc_port, "author_rotateKeys", [])
        assert reply["error"]["code"] == -32601
        assert "result" in rpc_post(node.rpc_port, "system_health", [])
