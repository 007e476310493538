"""Network partitions between groups of testnet nodes on loopback, with nftables.

Counterparts: zombienet's/chaos-mesh's ``network partition`` and CometBFT e2e's ``disconnect``
perturbation. All nodes share 127.0.0.1, so addresses cannot tell nodes apart and ports only
identify the *listening* side of a connection. Instead each node process runs with its own group
id (``Popen(group=…)``, uid unchanged) and nftables (netfilter, ``meta skgid``) marks every
connection with the nodes that sent on it:

* at install (before any node starts), table ``inet <name>`` gets an ``output`` chain whose rules
  set bit *i* of the connection's conntrack mark when node *i*'s socket sends a packet — after
  the TCP handshake, a connection between nodes *i* and *j* carries bits *i* and *j*;
* :meth:`Partitioner.partition` adds one rule dropping every packet whose mark has a bit in both
  groups (``ct mark & A != 0 and ct mark & B != 0``), which cuts established connections and new
  dials alike, in both directions;
* :meth:`Partitioner.heal` deletes that rule (TCP retransmits then resume stalled connections);
  :meth:`Partitioner.close` deletes the whole table, and runs on exit of the context manager.

Limits: needs root and the ``nft`` tool (Debian package ``nftables``); at most 32 nodes (the mark
has 32 bits). Only loopback traffic of the testnet's own processes is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence

from pychain.testnet.errors import PartitionError

__all__ = ["GID_BASE", "MAX_PARTITION_NODES", "Partitioner", "node_gid"]

#: Group ids of node processes: GID_BASE + node index (unused by Debian's system groups).
GID_BASE = 61000
#: The conntrack mark has 32 bits, one per node.
MAX_PARTITION_NODES = 32


def node_gid(index: int) -> int:
    """The group id node ``index`` runs under when partitions are enabled."""
    if not 0 <= index < MAX_PARTITION_NODES:
        raise PartitionError(f"partitions support nodes 0..{MAX_PARTITION_NODES - 1}, not {index}")
    return GID_BASE + index


def _mask(indices: Iterable[int]) -> int:
    mask = 0
    for index in indices:
        node_gid(index)
        mask |= 1 << index
    return mask


class Partitioner:
    """One nftables table that can cut the testnet into two groups and heal it."""

    def __init__(self, nodes: int, table: str | None = None) -> None:
        if not 1 <= nodes <= MAX_PARTITION_NODES:
            raise PartitionError(f"partitions support 1..{MAX_PARTITION_NODES} nodes")
        self.nodes = nodes
        self.table = table or f"pychain_testnet_{os.getpid()}"
        self._installed = False
        self._drop_handle: int | None = None

    @staticmethod
    def available() -> str | None:
        """``None`` when nftables can be used here, else why not."""
        if shutil.which("nft") is None:
            return "the nft tool is not installed (apt-get install nftables)"
        if os.geteuid() != 0:
            return "nftables rules need root"
        return None

    def _nft(self, *args: str) -> str:
        try:
            done = subprocess.run(
                ["nft", *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PartitionError(f"nft {' '.join(args)}: {exc}") from None
        if done.returncode != 0:
            raise PartitionError(f"nft {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def install(self) -> None:
        """Create the table and the per-node marking rules (before the nodes start)."""
        reason = self.available()
        if reason is not None:
            raise PartitionError(reason)
        self._nft("add", "table", "inet", self.table)
        self._installed = True
        self._nft(
            "add", "chain", "inet", self.table, "output",
            "{ type filter hook output priority 0; policy accept; }",
        )
        for index in range(self.nodes):
            self._nft(
                "add", "rule", "inet", self.table, "output", "meta", "skgid",
                str(node_gid(index)), "ct", "mark", "set", "ct", "mark", "or", hex(1 << index),
            )

    def partition(self, group_a: Sequence[int], group_b: Sequence[int]) -> None:
        """Drop all traffic between the nodes of ``group_a`` and those of ``group_b``."""
        if not self._installed:
            raise PartitionError("install() the partitioner before starting the nodes")
        if self._drop_handle is not None:
            raise PartitionError("a partition is already in place; heal() it first")
        mask_a, mask_b = _mask(group_a), _mask(group_b)
        if not mask_a or not mask_b or mask_a & mask_b:
            raise PartitionError("a partition needs two non-empty, disjoint groups")
        out = self._nft(
            "--echo", "--handle", "add", "rule", "inet", self.table, "output",
            "ct", "mark", "and", hex(mask_a), "!=", "0",
            "ct", "mark", "and", hex(mask_b), "!=", "0", "drop",
        )
        handle = out.rsplit("# handle", 1)
        if len(handle) == 2:
            handle[1] = handle[1].split()[0] if handle[1].split() else ""
        if len(handle) != 2 or not handle[1].strip().isdigit():
            raise PartitionError(f"nft did not report the rule's handle: {out.strip()!r:.80}")
        self._drop_handle = int(handle[1].strip())

    @property
    def partitioned(self) -> bool:
        return self._drop_handle is not None

    def heal(self) -> None:
        """Remove the partition (the marking rules stay)."""
        if self._drop_handle is None:
            return
        self._nft("delete", "rule", "inet", self.table, "output", "handle", str(self._drop_handle))
        self._drop_handle = None

    def close(self) -> None:
        """Delete the table (always call it: the context manager does)."""
        if not self._installed:
            return
        self._drop_handle = None
        self._installed = False
        self._nft("delete", "table", "inet", self.table)

    def __enter__(self) -> Partitioner:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
