"""The Prometheus endpoint serves the node metrics in the text format."""

from __future__ import annotations

import trio

from pychain.rpc.prometheus import Timing, node_registry, serve_prometheus


async def http_get(port: int, path: str) -> tuple[str, str]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while chunk := await stream.receive_some(65536):
        data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    return head.split("\r\n")[0], body


def test_metrics_endpoint_reports_heights_pool_and_rpc() -> None:
    state = {"best": 7, "finalized": 5}
    timing = Timing()
    timing.observe(0.5)
    timing.observe(0.25)
    registry = node_registry(
        best=lambda: state["best"],
        finalized=lambda: state["finalized"],
        ready_transactions=lambda: 3,
        peers=lambda: 0,
        rpc_calls=lambda: 42,
        import_time=timing,
    )

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(serve_prometheus, registry, "127.0.0.1", 0)
            status, body = await http_get(port, "/metrics")
            assert status.endswith("200 OK")
            assert 'substrate_block_height{status="best"} 7' in body
            assert 'substrate_block_height{status="finalized"} 5' in body
            assert "substrate_ready_transactions_number 3" in body
            assert "substrate_rpc_calls_total 42" in body
            assert "substrate_block_verification_and_import_time_sum 0.75" in body
            assert "# TYPE substrate_block_height gauge" in body
            state["best"] = 8
            _, body = await http_get(port, "/metrics")
            assert 'substrate_block_height{status="best"} 8' in body
            status, _ = await http_get(port, "/other")
            assert "404" in status
            nursery.cancel_scope.cancel()

    trio.run(main)
