"""The Grandpa pallet (``pallet_grandpa``): GRANDPA authority set, changes and equivocations."""

from pychain.pallets.grandpa.pallet import (
    Grandpa,
    GrandpaConfigError,
    GrandpaError,
    GrandpaEvent,
    NewAuthorities,
    OffenceKey,
    PausedEvent,
    ResumedEvent,
)
from pychain.pallets.grandpa.types import (
    AUTHORITIES_VERSION,
    GRANDPA_AUTHORITIES_KEY,
    GrandpaConfig,
    GrandpaGenesisConfig,
    Live,
    MembershipProof,
    Paused,
    PendingPause,
    PendingResume,
    StoredPendingChange,
    StoredState,
    encode_versioned_authority_list,
)

__all__ = [
    "AUTHORITIES_VERSION",
    "GRANDPA_AUTHORITIES_KEY",
    "Grandpa",
    "GrandpaConfig",
    "GrandpaConfigError",
    "GrandpaError",
    "GrandpaEvent",
    "GrandpaGenesisConfig",
    "Live",
    "MembershipProof",
    "NewAuthorities",
    "OffenceKey",
    "Paused",
    "PausedEvent",
    "PendingPause",
    "PendingResume",
    "ResumedEvent",
    "StoredPendingChange",
    "StoredState",
    "encode_versioned_authority_list",
]
