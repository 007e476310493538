"""The live status table of ``cli.py testnet``, drawn with ``rich``.

Counterpart: zombienet's and polkadot-launch's console summaries and Substrate's informant line
(``Idle (3 peers), best: #12 (0x…), finalized #10 (0x…)``), one row per node: name, pid,
peers, best, finalized, lag (best − finalized), GRANDPA round and set id
(``grandpa_roundState``), status.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from pychain.testnet.network import NodeStatus

__all__ = ["status_table"]

_STYLES = {"running": "green", "syncing": "yellow", "starting": "yellow", "killed": "red"}


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)


def status_table(rows: Sequence[NodeStatus], title: str = "pychain testnet") -> Table:
    """A ``rich`` table of the nodes' statuses."""
    table = Table(title=title)
    for column in ("node", "pid", "peers", "best", "finalized", "lag", "round", "set", "status"):
        table.add_column(column, justify="left" if column in ("node", "status") else "right")
    for row in rows:
        lag = None if row.best is None or row.finalized is None else row.best - row.finalized
        style = _STYLES.get(row.status, "red")
        table.add_row(
            row.name,
            _cell(row.pid),
            _cell(row.peers),
            _cell(row.best),
            _cell(row.finalized),
            _cell(lag),
            _cell(row.round),
            _cell(row.set_id),
            f"[{style}]{row.status}[/{style}]",
        )
    return table
