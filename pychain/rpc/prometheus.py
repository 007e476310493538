"""Prometheus metrics endpoint (``--prometheus-port``, 9615 by default), as a Substrate node serves.

Serves ``GET /metrics`` in the Prometheus text exposition format (version 0.0.4) from a trio task in
the node's loop. Metric names follow Substrate's where it has one: ``substrate_block_height`` with a
``status`` label (``best``, ``finalized``), ``substrate_ready_transactions_number``,
``substrate_sub_libp2p_peers_count``, ``substrate_rpc_calls_total``,
``substrate_block_verification_and_import_time`` (sum and count of seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

log = logging.getLogger("pychain.prometheus")

DEFAULT_PROMETHEUS_PORT = 9615


@dataclass
class Metric:
    """One metric family: its type, help and a function giving ``[(labels, value)]``."""

    name: str
    kind: str  # "gauge" | "counter" | "summary"
    help: str
    samples: Callable[[], list[tuple[dict[str, str], float]]]


@dataclass
class Registry:
    metrics: list[Metric] = field(default_factory=list)

    def gauge(self, name: str, help_text: str, fn: Callable[[], float], **labels: str) -> None:
        self.metrics.append(Metric(name, "gauge", help_text, lambda: [(labels, fn())]))

    def add(self, metric: Metric) -> None:
        self.metrics.append(metric)

    def render(self) -> str:
        lines: list[str] = []
        seen: set[str] = set()
        for metric in self.metrics:
            if metric.name not in seen:
                lines.append(f"# HELP {metric.name} {metric.help}")
                lines.append(f"# TYPE {metric.name} {metric.kind}")
                seen.add(metric.name)
            try:
                samples = metric.samples()
            except Exception:  # a broken metric must not break the endpoint
                log.exception("metric %s failed", metric.name)
                continue
            for labels, value in samples:
                label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
                suffix = f"{{{label_text}}}" if label_text else ""
                lines.append(f"{metric.name}{suffix} {_number(value)}")
        return "\n".join(lines) + "\n"


@dataclass
class Timing:
    """Sum and count of durations (a summary without quantiles)."""

    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        self.total += seconds
        self.count += 1


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def node_registry(
    best: Callable[[], int],
    finalized: Callable[[], int],
    ready_transactions: Callable[[], int],
    peers: Callable[[], int],
    rpc_calls: Callable[[], int],
    import_time: Timing,
) -> Registry:
    """The standard set of node metrics."""
    registry = Registry()
    registry.add(
        Metric(
            "substrate_block_height",
            "gauge",
            "Block height info of the chain",
            lambda: [({"status": "best"}, best()), ({"status": "finalized"}, finalized())],
        )
    )
    registry.gauge(
        "substrate_ready_transactions_number",
        "Number of transactions in the ready queue",
        lambda: ready_transactions(),
    )
    registry.gauge("substrate_sub_libp2p_peers_count", "Number of connected peers", lambda: peers())
    registry.add(
        Metric("substrate_rpc_calls_total", "counter", "Number of RPC calls", lambda: [({}, rpc_calls())])
    )
    registry.add(
        Metric(
            "substrate_block_verification_and_import_time",
            "summary",
            "Time taken to verify and import blocks (seconds)",
            lambda: [],
        )
    )
    registry.add(
        Metric(
            "substrate_block_verification_and_import_time_sum",
            "gauge",
            "Total seconds spent verifying and importing blocks",
            lambda: [({}, import_time.total)],
        )
    )
    registry.add(
        Metric(
            "substrate_block_verification_and_import_time_count",
            "gauge",
            "Number of blocks verified and imported",
            lambda: [({}, import_time.count)],
        )
    )
    return registry


async def serve_prometheus(
    registry: Registry,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PROMETHEUS_PORT,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``GET /metrics`` until cancelled; reports the bound port through ``task_status``."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    task_status.started(listeners[0].socket.getsockname()[1])

    async def handle(stream: trio.abc.Stream) -> None:
        try:
            request = b""
            with trio.move_on_after(5):
                while b"\r\n\r\n" not in request and len(request) < 8192:
                    chunk = await stream.receive_some(4096)
                    if not chunk:
                        break
                    request += chunk
            line = request.split(b"\r\n", 1)[0].decode("latin-1", "replace")
            parts = line.split(" ")
            if len(parts) >= 2 and parts[0] == "GET" and parts[1].split("?")[0] == "/metrics":
                body = registry.render().encode()
                status = "200 OK"
                content_type = "text/plain; version=0.0.4"
            else:
                body = b"not found: use GET /metrics\n"
                status = "404 Not Found"
                content_type = "text/plain"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            await stream.send_all(head + body)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await trio.aclose_forcefully(stream)

    await trio.serve_listeners(handle, listeners)
