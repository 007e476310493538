"""Types of the Aura pallet (``pallet_aura``): authority ids, the config, and Aura's consensus log.

Aura authority ids are **sr25519** public keys, as in the Substrate node template
(``sp_consensus_aura::sr25519::AuthorityId``); GRANDPA keeps ed25519. ``ConsensusLog`` is
``sp_consensus_aura::ConsensusLog``: 1 ``AuthoritiesChange(Vec<AuthorityId>)``, 2
``OnDisabled(u32)``, carried in ``Consensus(b"aura", …)`` digest items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pychain.primitives.scale import H256, U32, Enum, Struct, Vec

#: ``sp_consensus_aura::sr25519::AuthorityId``: a 32-byte sr25519 public key.
AuthorityId = H256
#: ``BoundedVec<AuthorityId, MaxAuthorities>`` (the bound is checked by the pallet).
AuthorityList = Vec(AuthorityId)


@dataclass(frozen=True)
class AuraConfig:
    """``pallet_aura::Config`` constants.

    ``slot_duration`` (ms) is ``SlotDuration`` (chain-spec configurable; the dev chain uses 1000);
    ``max_authorities`` bounds ``Authorities``; ``allow_multiple_blocks_per_slot`` relaxes the
    "slot must increase" rule to "must not decrease" (``AllowMultipleBlocksPerSlot``).
    """

    slot_duration: int
    max_authorities: int = 32
    allow_multiple_blocks_per_slot: bool = False


@dataclass(frozen=True)
class AuraGenesisConfig:
    """``pallet_aura::GenesisConfig { authorities }`` (sr25519 public keys)."""

    authorities: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class AuthoritiesChange(Struct):
    """``ConsensusLog::AuthoritiesChange`` (index 1): the next authority set."""

    authorities: Annotated[list[bytes], AuthorityList]


@dataclass(frozen=True)
class OnDisabled(Struct):
    """``ConsensusLog::OnDisabled`` (index 2): the authority at this index is disabled."""

    authority_index: Annotated[int, U32]


#: ``sp_consensus_aura::ConsensusLog<AuthorityId>``.
AuraConsensusLog = Enum("ConsensusLog", {1: AuthoritiesChange, 2: OnDisabled})
