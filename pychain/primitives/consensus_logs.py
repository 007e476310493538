"""Consensus engine ids and the digest logs pychain understands.

Counterparts:

* ``sp_consensus_grandpa::{GRANDPA_ENGINE_ID, ConsensusLog, ScheduledChange, AuthorityList}``
  (Polkadot specification, section "Grandpa Consensus Messages" of "Consensus Message"): a
  ``Consensus(b"FRNK", log)`` digest item carries one of

      1 ScheduledChange { next_authorities: Vec<(AuthorityId [u8; 32], u64 weight)>, delay: u32 }
      2 ForcedChange(u32 median_last_finalized, ScheduledChange)
      3 OnDisabled(u64 authority_index)
      4 Pause(u32 delay)
      5 Resume(u32 delay)

* ``sp_consensus_aura``: ``PreRuntime(b"aura", Slot)`` where ``Slot`` is a ``u64``.
* BABE (``b"BABE"``) pre-runtime digests, seals and every other engine's data stay opaque bytes.

:func:`find_scheduled_change` and :func:`find_forced_change` mirror ``sc_consensus_grandpa``'s
functions of the same name: logs that do not decode are ignored there, as in Substrate. The
:func:`describe_digest_item` view (used by ``pychain inspect header``) instead reports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pychain.primitives.header import (
    Consensus,
    DigestItemValue,
    Header,
    Other,
    PreRuntime,
    RuntimeEnvironmentUpdated,
)
from pychain.primitives.scale import (
    H256,
    U32,
    U64,
    Codec,
    Enum,
    ScaleError,
    Struct,
    Tuple,
    Vec,
)

__all__ = [
    "GRANDPA_ENGINE_ID",
    "AURA_ENGINE_ID",
    "BABE_ENGINE_ID",
    "AuthorityList",
    "ScheduledChange",
    "ForcedChange",
    "OnDisabled",
    "Pause",
    "Resume",
    "GrandpaLog",
    "GrandpaConsensusLog",
    "decode_grandpa_log",
    "decode_aura_slot",
    "find_scheduled_change",
    "find_forced_change",
    "find_aura_slot",
    "engine_name",
    "describe_grandpa_log",
    "describe_digest_item",
]

#: ``sp_consensus_grandpa::GRANDPA_ENGINE_ID``.
GRANDPA_ENGINE_ID = b"FRNK"
#: ``sp_consensus_aura::AURA_ENGINE_ID``.
AURA_ENGINE_ID = b"aura"
#: ``sp_consensus_babe::BABE_ENGINE_ID``.
BABE_ENGINE_ID = b"BABE"

#: ``AuthorityList = Vec<(AuthorityId, AuthorityWeight)>``: ed25519 public keys and u64 weights.
AuthorityList: Codec[list[tuple[bytes, int]]] = Vec(Tuple(H256, U64))


def _authorities_tuple(value: Any) -> tuple[tuple[bytes, int], ...]:
    return tuple((bytes(key), weight) for key, weight in value)


@dataclass(frozen=True)
class ScheduledChange(Struct):
    """Index 1: a new authority set, enacted ``delay`` blocks after this block is finalized."""

    next_authorities: Annotated[Sequence[tuple[bytes, int]], AuthorityList]
    delay: Annotated[int, U32]

    def __post_init__(self) -> None:
        if not isinstance(self.next_authorities, tuple):
            object.__setattr__(self, "next_authorities", _authorities_tuple(self.next_authorities))


@dataclass(frozen=True)
class ForcedChange(Struct):
    """Index 2: a change enacted ``change.delay`` blocks after this block, finalized or not.

    ``median_last_finalized`` is the block number the new set starts finalizing from.
    """

    median_last_finalized: Annotated[int, U32]
    change: ScheduledChange


@dataclass(frozen=True)
class OnDisabled(Struct):
    """Index 3: the authority at ``authority_index`` in the current set is disabled."""

    authority_index: Annotated[int, U64]


@dataclass(frozen=True)
class Pause(Struct):
    """Index 4: pause GRANDPA ``delay`` blocks after this block."""

    delay: Annotated[int, U32]


@dataclass(frozen=True)
class Resume(Struct):
    """Index 5: resume GRANDPA ``delay`` blocks after this block."""

    delay: Annotated[int, U32]


#: A decoded GRANDPA consensus log.
GrandpaLog = ScheduledChange | ForcedChange | OnDisabled | Pause | Resume

#: ``sp_consensus_grandpa::ConsensusLog<u32>`` codec (indices frozen as there).
GrandpaConsensusLog: Enum = Enum(
    "ConsensusLog",
    {1: ScheduledChange, 2: ForcedChange, 3: OnDisabled, 4: Pause, 5: Resume},
)


def decode_grandpa_log(data: bytes) -> GrandpaLog:
    """Decode the data of a ``Consensus(b"FRNK", …)`` item; raises ``ScaleDecodeError``."""
    log: GrandpaLog = GrandpaConsensusLog.decode(data)
    return log


def decode_aura_slot(data: bytes) -> int:
    """Decode the data of a ``PreRuntime(b"aura", …)`` item: the slot, a ``u64``."""
    return U64.decode(data)


def _grandpa_logs(header: Header) -> list[GrandpaLog]:
    logs = []
    for data in header.consensus_logs(GRANDPA_ENGINE_ID):
        try:
            logs.append(decode_grandpa_log(data))
        except ScaleError:
            continue
    return logs


def find_scheduled_change(header: Header) -> ScheduledChange | None:
    """The first GRANDPA ``ScheduledChange`` in ``header``'s digest, if any."""
    for log in _grandpa_logs(header):
        if isinstance(log, ScheduledChange):
            return log
    return None


def find_forced_change(header: Header) -> ForcedChange | None:
    """The first GRANDPA ``ForcedChange`` in ``header``'s digest, if any."""
    for log in _grandpa_logs(header):
        if isinstance(log, ForcedChange):
            return log
    return None


def find_aura_slot(header: Header) -> int | None:
    """The Aura slot of ``header`` (its ``PreRuntime(b"aura", slot)`` item), or ``None``.

    Raises ``ScaleDecodeError`` when the item is present but is not exactly a ``u64``.
    """
    data = header.pre_runtime(AURA_ENGINE_ID)
    return None if data is None else decode_aura_slot(data)


# ------------------------------------------------------------------------------ JSON views


def engine_name(engine: bytes) -> str:
    """An engine id as text when it is printable ASCII (``"FRNK"``), else as ``0x`` hex."""
    if all(0x20 < b < 0x7F for b in engine):
        return engine.decode("ascii")
    return "0x" + engine.hex()


def _change_json(change: ScheduledChange) -> dict[str, Any]:
    return {
        "next_authorities": [
            {"id": "0x" + key.hex(), "weight": weight} for key, weight in change.next_authorities
        ],
        "delay": change.delay,
    }


def describe_grandpa_log(log: GrandpaLog) -> dict[str, Any]:
    """A JSON-ready view of a GRANDPA consensus log."""
    if isinstance(log, ScheduledChange):
        return {"type": "ScheduledChange", **_change_json(log)}
    if isinstance(log, ForcedChange):
        return {
            "type": "ForcedChange",
            "median_last_finalized": log.median_last_finalized,
            **_change_json(log.change),
        }
    if isinstance(log, OnDisabled):
        return {"type": "OnDisabled", "authority_index": log.authority_index}
    if isinstance(log, Pause):
        return {"type": "Pause", "delay": log.delay}
    return {"type": "Resume", "delay": log.delay}


def describe_digest_item(item: DigestItemValue) -> dict[str, Any]:
    """A JSON-ready view of a digest item: type, engine, data hex, and what pychain decodes.

    GRANDPA consensus logs gain ``"grandpa"`` and Aura pre-runtime items ``"slot"``; when such
    data does not decode, ``"decode_error"`` says why instead.
    """
    if isinstance(item, RuntimeEnvironmentUpdated):
        return {"type": "RuntimeEnvironmentUpdated"}
    if isinstance(item, Other):
        return {"type": "Other", "data": "0x" + item.data.hex()}
    view: dict[str, Any] = {
        "type": type(item).__name__,
        "engine": engine_name(item.engine),
        "data": "0x" + item.data.hex(),
    }
    try:
        if isinstance(item, Consensus) and item.engine == GRANDPA_ENGINE_ID:
            view["grandpa"] = describe_grandpa_log(decode_grandpa_log(item.data))
        elif isinstance(item, PreRuntime) and item.engine == AURA_ENGINE_ID:
            view["slot"] = decode_aura_slot(item.data)
    except ScaleError as exc:
        view["decode_error"] = str(exc)
    return view
