"""A stand-in for ``cli.py node`` used to test the orchestration alone (not the consensus).

It accepts the node flags the testnet passes (``--chain --base-path --name --validator --port
--rpc-port --prometheus-port --bootnodes --node-key --equivocate --offline-after``), checks that
the chain spec loads and that a validator's keystore holds its aura and gran keys, listens on its
p2p port, prints Substrate's start-up log lines and serves the JSON-RPC methods the testnet polls
over HTTP POST: a block every 100 ms, finalized = best − 1, peers = bootnodes that answer ``ok``
over TCP. SIGTERM stops it with exit status 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BLOCK_S = 0.1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chain", required=True)
    parser.add_argument("--base-path", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--validator", action="store_true")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rpc-port", type=int, required=True)
    parser.add_argument("--prometheus-port", type=int, required=True)
    parser.add_argument("--bootnodes", nargs="*", default=[])
    parser.add_argument("--node-key", required=True)
    parser.add_argument("--equivocate", action="store_true")
    parser.add_argument("--offline-after", type=float, default=None)
    args = parser.parse_args()

    from genesis.build_spec import genesis_block_of, load_chain
    from pychain.network.identity import parse_node_key, peer_id_of

    definition = load_chain(args.chain)
    genesis_hash = "0x" + genesis_block_of(definition).hash.hex()
    chain_id = definition.metadata["id"]
    if args.validator:
        keystore = Path(args.base_path) / "chains" / chain_id / "keystore"
        files = [p.name for p in keystore.iterdir()] if keystore.is_dir() else []
        for key_type in ("61757261", "6772616e"):  # "aura", "gran" as hex prefixes
            if not any(name.startswith(key_type) for name in files):
                print(f"missing {key_type} key in {keystore}: {files}", flush=True)
                return 1
    print(f"Local node identity is: {peer_id_of(parse_node_key(args.node_key))}", flush=True)

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen()
    print(f"Listening on /ip4/127.0.0.1/tcp/{args.port}", flush=True)

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            try:
                conn.sendall(b"ok")
            except OSError:
                pass
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    ports = [int(addr.split("/tcp/")[1].split("/")[0]) for addr in args.bootnodes]
    started = time.monotonic()

    def best() -> int:
        return int((time.monotonic() - started) / BLOCK_S)

    def peers() -> int:
        count = 0
        for port in ports:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.3) as conn:
                    if conn.recv(2) == b"ok":
                        count += 1
            except OSError:
                pass
        return count

    def header(number: int) -> dict[str, Any]:
        return {"number": hex(number), "parentHash": "0x" + "00" * 32}

    def answer(method: str, params: list[Any]) -> Any:
        if method == "system_health":
            return {"peers": peers(), "isSyncing": False, "shouldHavePeers": True}
        if method == "chain_getHeader":
            if params:
                return header(int(params[0][2:], 16))
            return header(best())
        if method == "chain_getFinalizedHead":
            return "0x" + max(best() - 1, 0).to_bytes(32, "big").hex()
        if method == "chain_getBlockHash":
            number = params[0] if params else best()
            if number == 0:
                return genesis_hash
            # FAKE_NODE_FORK=<name>: that node holds another chain from #3 on.
            fork = os.environ.get("FAKE_NODE_FORK") == args.name and number >= 3
            return "0x" + hashlib.blake2b(f"{fork}:{number}".encode(), digest_size=32).hexdigest()
        if method == "grandpa_roundState":
            return {"setId": 0, "best": {"round": best()}, "background": []}
        raise KeyError(method)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                body = {"jsonrpc": "2.0", "id": request["id"],
                        "result": answer(request["method"], request["params"])}
            except KeyError:
                body = {"jsonrpc": "2.0", "id": request["id"],
                        "error": {"code": -32601, "message": "Method not found"}}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", args.rpc_port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"Running JSON-RPC server: addr=127.0.0.1:{args.rpc_port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    limit = args.offline_after
    logged = -1
    while not stop.wait(0.05):
        if limit is not None and time.monotonic() - started > limit:
            print("Going offline", flush=True)
            break
        number = best()
        if number // 10 > logged:
            logged = number // 10
            print(f"Imported #{number} (0x{number:064x})", flush=True)
    server.shutdown()
    print("Shutting down", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
