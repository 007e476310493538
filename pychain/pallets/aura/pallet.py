"""The Aura pallet: the authority set and the current slot of Aura block authoring.

Mirrors ``pallet_aura`` (polkadot-sdk ``substrate/frame/aura``): storage ``Authorities``
(``BoundedVec<AuthorityId>``, sr25519 keys as in the node template) and ``CurrentSlot`` (u64);
``on_initialize`` reads the ``PreRuntime(b"aura", slot)`` digest item the author put in the header
and requires the slot to increase; ``OnTimestampSet`` checks ``now / SlotDuration == CurrentSlot``;
the author of slot ``s`` is ``authorities[s % n]`` (Polkadot spec, "Block Production", Aura).

Differences from FRAME: FRAME panics when the slot does not increase or the timestamp disagrees
with it. Here ``on_initialize`` raises :class:`AuraSlotError` (a ``BlockExecutionError``, as is a
malformed slot item, which FRAME silently ignores) and the timestamp check fails the ``Timestamp.set``
inherent with the pallet error ``SlotMismatch`` (so the executive refuses the block). There is no
session pallet yet: :meth:`Aura.change_authorities` is the ``OneSessionHandler`` entry point a future
session pallet will call; ``DisabledValidators`` is not modelled.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from pychain.frame.dispatch import FrameError
from pychain.frame.executive import BlockExecutionError
from pychain.frame.pallet import Constant, Pallet, TryStateError
from pychain.frame.storage import StorageValue
from pychain.frame.weights import Weight
from pychain.pallets.aura.types import (
    AuraConfig,
    AuraConsensusLog,
    AuraGenesisConfig,
    AuthoritiesChange,
    AuthorityList,
)
from pychain.pallets.aura.weights import on_initialize_weight
from pychain.primitives.consensus_logs import AURA_ENGINE_ID
from pychain.primitives.header import Consensus, PreRuntime
from pychain.primitives.scale import U64, ScaleDecodeError

_U64_MAX = (1 << 64) - 1


class AuraConfigError(FrameError):
    """Invalid Aura constants or authority set (FRAME: ``integrity_test`` / genesis panics)."""


class AuraSlotError(BlockExecutionError):
    """The block's Aura slot is malformed or does not increase."""


class AuraError(enum.IntEnum):
    """pychain's names for FRAME's Aura assertions that surface in a dispatch."""

    #: The timestamp's slot (``now / SlotDuration``) differs from ``CurrentSlot``.
    SlotMismatch = 0


def find_pre_digest_slot(digest: Sequence[Any]) -> int | None:
    """The slot of the first ``PreRuntime(b"aura", …)`` item of ``digest`` (``None`` if absent).

    Raises :class:`AuraSlotError` when the item is not exactly a ``u64``.
    """
    for item in digest:
        if isinstance(item, PreRuntime) and item.engine == AURA_ENGINE_ID:
            try:
                return U64.decode(item.data)
            except ScaleDecodeError as exc:
                raise AuraSlotError(f"malformed Aura pre-runtime digest: {exc}") from None
    return None


class Aura(Pallet):
    """``pallet_aura``."""

    name = "Aura"

    # Storage.
    Authorities = StorageValue(AuthorityList, default=[], docs="The current authority set.")
    CurrentSlot = StorageValue(U64, default=0, docs="The current slot of this block.")

    Error = AuraError

    def __init__(self, config: AuraConfig) -> None:
        super().__init__(config)
        self.config: AuraConfig = config

    def constants(self) -> list[Constant]:
        return [
            Constant("SlotDuration", U64, self.config.slot_duration, "Slot duration in ms."),
        ]

    def integrity_test(self) -> None:
        if self.config.slot_duration <= 0:
            raise AuraConfigError("Aura: SlotDuration must be positive")

    # -------------------------------------------------------------------------------- genesis

    def genesis_build(self, genesis: AuraGenesisConfig | None) -> None:
        """``initialize_authorities``: set the genesis authority set (once)."""
        authorities = list(genesis.authorities) if genesis is not None else []
        if not authorities:
            return
        # Verify genesis does not overwrite an authority set.
        if self.Authorities.get():
            raise AuraConfigError("Aura: authorities are already initialized")
        self._check_authorities(authorities, AuraConfigError)
        self.Authorities.put(authorities)

    def _check_authorities(
        self, authorities: Sequence[bytes], error: type[FrameError] = AuraConfigError
    ) -> None:
        if len(authorities) > self.config.max_authorities:
            raise error(
                f"Aura: {len(authorities)} authorities exceed MaxAuthorities "
                f"{self.config.max_authorities}"
            )
        if len(set(authorities)) != len(authorities):
            raise error("Aura: duplicate authority")

    # ---------------------------------------------------------------------------------- hooks

    def on_initialize(self, n: int) -> Weight:
        """Take the slot from the block's pre-runtime digest and require it to increase."""
        assert self.runtime is not None
        new_slot = find_pre_digest_slot(self.runtime.system.Digest.get())
        if new_slot is None:
            return on_initialize_weight(found_slot=False)
        current_slot = self.CurrentSlot.get()
        # Verify the slot increases (or, when allowed, does not decrease).
        if self.config.allow_multiple_blocks_per_slot:
            if new_slot < current_slot:
                raise AuraSlotError(f"block {n}: slot {new_slot} < current slot {current_slot}")
        elif new_slot <= current_slot:
            raise AuraSlotError(f"block {n}: slot {new_slot} must be > current slot {current_slot}")
        self.CurrentSlot.put(new_slot)
        return on_initialize_weight(found_slot=True)

    # ------------------------------------------------------------------------ OnTimestampSet

    def on_timestamp_set(self, moment: int) -> None:
        """``OnTimestampSet``: the timestamp's slot must be the block's slot."""
        timestamp_slot = moment // self.config.slot_duration
        current_slot = self.CurrentSlot.get()
        # Verify the timestamp falls in the slot the block was authored in.
        if timestamp_slot != current_slot:
            raise self.error(
                AuraError.SlotMismatch,
                f"timestamp slot {timestamp_slot} does not match CurrentSlot {current_slot}",
            )

    # ------------------------------------------------------------------------------ interface

    def authorities(self) -> list[bytes]:
        result: list[bytes] = self.Authorities.get()
        return result

    def slot_duration(self) -> int:
        """``AuraApi_slot_duration`` (ms)."""
        return self.config.slot_duration

    def slot_author(self, slot: int) -> bytes | None:
        """The authority expected to author ``slot``: ``authorities[slot % n]`` (None if empty)."""
        authorities = self.authorities()
        if not authorities:
            return None
        return authorities[slot % len(authorities)]

    def find_author(self, digest: Sequence[Any]) -> int | None:
        """``FindAuthor``: the index of the author of a block with ``digest`` (None if no slot)."""
        slot = find_pre_digest_slot(digest)
        authorities = self.authorities()
        if slot is None or not authorities:
            return None
        return slot % len(authorities)

    def change_authorities(self, new: Sequence[bytes]) -> None:
        """``OneSessionHandler::on_new_session`` with ``changed``: store the new set and announce it
        with ``Consensus(b"aura", AuthoritiesChange)``."""
        authorities = list(new)
        self._check_authorities(authorities)
        if authorities == self.authorities():
            return
        self.Authorities.put(authorities)
        assert self.runtime is not None
        log = AuraConsensusLog.encode(AuthoritiesChange(authorities))
        self.runtime.system.deposit_log(Consensus(AURA_ENGINE_ID, log))

    # ----------------------------------------------------------------------------- invariants

    def try_state(self, n: int) -> None:
        """``do_try_state``: a slot below u64::MAX, a non-empty set within the bound, no duplicate."""
        assert self.runtime is not None
        digest_slot = find_pre_digest_slot(self.runtime.system.Digest.get())
        current_slot = digest_slot if digest_slot is not None else self.CurrentSlot.get()
        if not self.config.allow_multiple_blocks_per_slot and current_slot >= _U64_MAX:
            raise TryStateError("Aura: current slot has reached its maximum value")
        authorities = self.authorities()
        if not authorities:
            raise TryStateError("Aura: authorities must be non-empty")
        self._check_authorities(authorities, TryStateError)
