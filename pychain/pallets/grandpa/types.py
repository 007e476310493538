"""Types of the Grandpa pallet (``pallet_grandpa``): stored state, pending change, config, genesis
and the key-ownership proof.

* ``StoredState`` (``pallet_grandpa::StoredState<N>``): 0 ``Live``, 1 ``PendingPause { scheduled_at,
  delay }``, 2 ``Paused``, 3 ``PendingResume { scheduled_at, delay }``.
* ``StoredPendingChange`` (``pallet_grandpa::StoredPendingChange<N, Limit>``): ``scheduled_at u32,
  delay u32, next_authorities BoundedAuthorityList, forced Option<u32>``.
* ``MembershipProof`` (``sp_session::MembershipProof``): ``session u32, trie_nodes Vec<Vec<u8>>,
  validator_count u32`` — the ``KeyOwnerProof`` of Polkadot-like runtimes.
* The well-known ``:grandpa_authorities`` value is ``VersionedAuthorityList``: ``0x01 ++
  AuthorityList`` (``sp_consensus_grandpa::AUTHORITIES_VERSION`` = 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pychain.primitives.consensus_logs import AuthorityList
from pychain.primitives.scale import U32, Bytes, Enum, Option, Struct, Vec

#: ``sp_core::storage::well_known_keys::GRANDPA_AUTHORITIES``.
GRANDPA_AUTHORITIES_KEY = b":grandpa_authorities"
#: ``sp_consensus_grandpa::AUTHORITIES_VERSION``: the first byte of the well-known value.
AUTHORITIES_VERSION = 1


def encode_versioned_authority_list(authorities: Sequence[tuple[bytes, int]]) -> bytes:
    """``VersionedAuthorityList``: ``0x01 ++ SCALE(Vec<(AuthorityId, u64)>)``."""
    return bytes([AUTHORITIES_VERSION]) + AuthorityList.encode(list(authorities))


@dataclass(frozen=True)
class Live(Struct):
    """``StoredState::Live``: GRANDPA is running."""


@dataclass(frozen=True)
class PendingPause(Struct):
    """``StoredState::PendingPause``: pause ``delay`` blocks after ``scheduled_at``."""

    scheduled_at: Annotated[int, U32]
    delay: Annotated[int, U32]


@dataclass(frozen=True)
class Paused(Struct):
    """``StoredState::Paused``."""


@dataclass(frozen=True)
class PendingResume(Struct):
    """``StoredState::PendingResume``: resume ``delay`` blocks after ``scheduled_at``."""

    scheduled_at: Annotated[int, U32]
    delay: Annotated[int, U32]


#: ``StoredState<BlockNumber>``.
StoredState = Enum("StoredState", {0: Live, 1: PendingPause, 2: Paused, 3: PendingResume})


def _as_authority_tuple(value: Sequence[tuple[bytes, int]]) -> tuple[tuple[bytes, int], ...]:
    return tuple((bytes(key), int(weight)) for key, weight in value)


@dataclass(frozen=True)
class StoredPendingChange(Struct):
    """A scheduled authority-set change (``StoredPendingChange``)."""

    scheduled_at: Annotated[int, U32]
    delay: Annotated[int, U32]
    next_authorities: Annotated[Sequence[tuple[bytes, int]], AuthorityList]
    forced: Annotated[int | None, Option(U32)] = None

    def __post_init__(self) -> None:
        if not isinstance(self.next_authorities, tuple):
            object.__setattr__(self, "next_authorities", _as_authority_tuple(self.next_authorities))


@dataclass(frozen=True)
class MembershipProof(Struct):
    """``sp_session::MembershipProof``: which session the key belonged to, with a trie proof.

    Without ``pallet_session::historical`` pychain checks ownership against the current set
    directly and requires ``trie_nodes`` to be empty (see the pallet).
    """

    session: Annotated[int, U32]
    trie_nodes: Annotated[list[bytes], Vec(Bytes)]
    validator_count: Annotated[int, U32]


@dataclass(frozen=True)
class GrandpaConfig:
    """``pallet_grandpa::Config`` constants.

    ``max_authorities`` (``MaxAuthorities``) bounds the set; ``max_set_id_session_entries``
    (``MaxSetIdSessionEntries``, 0 = unbounded) bounds ``SetIdSession``;
    ``equivocation_report_longevity`` is how long an unsigned report stays valid in the pool.
    """

    max_authorities: int = 32
    max_set_id_session_entries: int = 0
    equivocation_report_longevity: int = 64


@dataclass(frozen=True)
class GrandpaGenesisConfig:
    """``pallet_grandpa::GenesisConfig { authorities: Vec<(ed25519 AuthorityId, u64 weight)> }``."""

    authorities: list[tuple[bytes, int]] = field(default_factory=list)
