"""Fixtures of the testnet tests: free port ranges on 127.0.0.1 and the fake node command."""

from __future__ import annotations

import random
import socket
import sys
from pathlib import Path

import pytest

from pychain.testnet.config import MAX_EXTRA_NODES

FAKE_NODE = [sys.executable, str(Path(__file__).with_name("fake_node.py"))]


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_bases(nodes: int) -> dict[str, int]:
    """Three disjoint free port ranges (p2p, RPC, Prometheus) for ``nodes`` nodes."""
    span = nodes + MAX_EXTRA_NODES
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 60000 - 3 * span)
        if all(_free(p) for p in range(base, base + 3 * span)):
            return {"port": base, "rpc_port": base + span, "prometheus_port": base + 2 * span}
    raise RuntimeError("no free port range found")


@pytest.fixture
def ports() -> dict[str, int]:
    return free_port_bases(8)
