"""The Aura pallet (``pallet_aura``): authorities and current slot of Aura block authoring."""

from pychain.pallets.aura.pallet import (
    Aura,
    AuraConfigError,
    AuraError,
    AuraSlotError,
    find_pre_digest_slot,
)
from pychain.pallets.aura.types import (
    AuraConfig,
    AuraConsensusLog,
    AuraGenesisConfig,
    AuthoritiesChange,
    AuthorityId,
    AuthorityList,
    OnDisabled,
)

__all__ = [
    "Aura",
    "AuraConfig",
    "AuraConfigError",
    "AuraConsensusLog",
    "AuraError",
    "AuraGenesisConfig",
    "AuraSlotError",
    "AuthoritiesChange",
    "AuthorityId",
    "AuthorityList",
    "OnDisabled",
    "find_pre_digest_slot",
]
