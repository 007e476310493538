"""The Grandpa pallet: the GRANDPA authority set, its scheduled changes, pauses and equivocations.

Mirrors ``pallet_grandpa`` (polkadot-sdk ``substrate/frame/grandpa``; Polkadot spec, "Finality"):
storage ``Authorities``, ``CurrentSetId``, ``State``, ``PendingChange``, ``NextForced``,
``Stalled``, ``SetIdSession``; calls ``report_equivocation`` (0), ``report_equivocation_unsigned``
(1), ``note_stalled`` (2); events ``NewAuthorities`` (0), ``Paused`` (1), ``Resumed`` (2); errors
as FRAME (``PauseFailed`` 0 … ``DuplicateOffenceReport`` 6). ``on_finalize`` signals a scheduled
change with a ``Consensus(b"FRNK", ScheduledChange | ForcedChange)`` digest log in the block that
scheduled it and enacts it ``delay`` blocks later; pauses and resumes work the same way.

Differences from FRAME:

* ``schedule_change`` is also a **root call** (index 3) so that governance (``Sudo.sudo``) can
  rotate the set: pychain has no session pallet, which is what calls it in FRAME runtimes.
* ``CurrentSetId`` is incremented when a change is *enacted* (FRAME, driven by sessions, increments
  it when the change is scheduled; with ``delay = 0`` both coincide). ``SetIdSession(id)`` is
  ``id``: without sessions each authority set counts as its own session.
* Enacting a change also rewrites the well-known ``:grandpa_authorities`` value (written at genesis
  as in Substrate), so the two never disagree.
* Equivocation reports: without ``pallet_session::historical`` the key-ownership proof (an
  ``sp_session::MembershipProof``) is checked against the *current* set (its session must be
  ``SetIdSession(set_id)``, ``set_id`` the current one, ``validator_count`` the set's size,
  ``trie_nodes`` empty, the offender a member). There is no offences/staking pallet yet: an
  accepted report is recorded in ``EquivocationReports`` (a pychain item keyed by
  ``(set_id, round, offender)``, FRAME keeps this in ``pallet_offences``) so a second report of
  the same offence fails with ``DuplicateOffenceReport``; the reporter pays the fee (FRAME refunds
  it with ``Pays::No`` after a valid report).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pychain.frame.dispatch import (
    MAX_LONGEVITY,
    DispatchError,
    FrameError,
    InvalidTransaction,
    Origin,
    ValidTransaction,
    ensure_none,
    ensure_root,
    ensure_signed,
    invalid,
)
from pychain.frame.externalities import current
from pychain.frame.pallet import Constant, Pallet, TryStateError, call
from pychain.frame.storage import StorageMap, StorageValue
from pychain.frame.weights import DispatchClass
from pychain.pallets.grandpa.types import (
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
from pychain.pallets.grandpa.weights import (
    note_stalled_weight,
    report_equivocation_weight,
    schedule_change_weight,
)
from pychain.primitives.consensus_logs import (
    GRANDPA_ENGINE_ID,
    AuthorityList,
    ForcedChange,
    GrandpaConsensusLog,
    GrandpaLog,
    Pause,
    Resume,
    ScheduledChange,
)
from pychain.primitives.grandpa import EquivocationProof, check_equivocation_proof
from pychain.primitives.header import Consensus
from pychain.primitives.scale import H256, U32, U64, Enum, Option, Struct, Tuple, Vec

#: ``(set_id, round, offender)``: the identity of a GRANDPA equivocation offence.
OffenceKey = Tuple(U64, U64, H256)


class GrandpaConfigError(FrameError):
    """An invalid Grandpa genesis (FRAME: a genesis panic)."""


class GrandpaError(enum.IntEnum):
    """``pallet_grandpa::Error`` (indices as FRAME)."""

    PauseFailed = 0
    ResumeFailed = 1
    ChangePending = 2
    TooSoon = 3
    InvalidKeyOwnershipProof = 4
    InvalidEquivocationProof = 5
    DuplicateOffenceReport = 6


@dataclass(frozen=True)
class NewAuthorities(Struct):
    """``Event::NewAuthorities``: a new authority set has been applied."""

    authority_set: Annotated[Sequence[tuple[bytes, int]], AuthorityList]


@dataclass(frozen=True)
class PausedEvent(Struct):
    """``Event::Paused``: the current authority set has been paused."""


@dataclass(frozen=True)
class ResumedEvent(Struct):
    """``Event::Resumed``: the current authority set has been resumed."""


#: ``pallet_grandpa::Event``.
GrandpaEvent = Enum(
    "Event",
    {0: NewAuthorities, 1: PausedEvent, 2: ResumedEvent},
    names={0: "NewAuthorities", 1: "Paused", 2: "Resumed"},
)


class Grandpa(Pallet):
    """``pallet_grandpa``."""

    name = "Grandpa"

    # Storage (FRAME names and hashers).
    State = StorageValue(StoredState, default=Live(), docs="State of the current authority set.")
    PendingChange = StorageValue(StoredPendingChange.codec(), docs="Pending change, if any.")
    NextForced = StorageValue(U32, docs="Next block number where a forced change may happen.")
    Stalled = StorageValue(Tuple(U32, U32), docs="`(further_wait, median)` if stalled.")
    CurrentSetId = StorageValue(
        U64,
        default=0,
        docs="The number of changes (both in terms of "
        "keys and underlying economic responsibilities) in the set.",
    )
    SetIdSession = StorageMap("Twox64Concat", U64, U32, docs="Session of each set id.")
    Authorities = StorageValue(AuthorityList, default=[], docs="The current authority set.")
    # pychain addition (FRAME: pallet_offences): offences already reported.
    EquivocationReports = StorageMap(
        "Twox64Concat", OffenceKey, Vec(H256), docs="Reporters of each known offence."
    )

    Event = GrandpaEvent
    Error = GrandpaError

    def __init__(self, config: GrandpaConfig | None = None) -> None:
        config = config or GrandpaConfig()
        super().__init__(config)
        self.config: GrandpaConfig = config

    def constants(self) -> list[Constant]:
        return [
            Constant("MaxAuthorities", U32, self.config.max_authorities),
            Constant("MaxSetIdSessionEntries", U64, self.config.max_set_id_session_entries),
        ]

    # -------------------------------------------------------------------------------- genesis

    def genesis_build(self, genesis: GrandpaGenesisConfig | None) -> None:
        """``CurrentSetId = 0``, ``SetIdSession(0) = 0``, the authorities in ``Authorities`` and
        in the well-known ``:grandpa_authorities``."""
        self.CurrentSetId.put(0)
        self.SetIdSession.insert(0, 0)
        authorities = list(genesis.authorities) if genesis is not None else []
        if not authorities:
            return
        # Verify genesis does not overwrite an authority set.
        if self.Authorities.get():
            raise GrandpaConfigError("Grandpa: authorities are already initialized")
        self._put_authorities(authorities)

    def _put_authorities(self, authorities: Sequence[tuple[bytes, int]]) -> None:
        self.Authorities.put(list(authorities))
        current().storage_set(GRANDPA_AUTHORITIES_KEY, encode_versioned_authority_list(authorities))

    # ---------------------------------------------------------------------------------- hooks

    def on_finalize(self, n: int) -> None:
        """Signal and enact scheduled authority-set changes, pauses and resumes."""
        pending: StoredPendingChange | None = self.PendingChange.get()
        if pending is not None:
            # The block that scheduled the change carries its digest log.
            if n == pending.scheduled_at:
                change = ScheduledChange(pending.next_authorities, pending.delay)
                if pending.forced is not None:
                    self._deposit_log(ForcedChange(pending.forced, change))
                else:
                    self._deposit_log(change)
            # ``delay`` blocks later the change is enacted.
            if n == pending.scheduled_at + pending.delay:
                self._enact(pending)
        state = self.State.get()
        if isinstance(state, PendingPause):
            if n == state.scheduled_at:
                self._deposit_log(Pause(state.delay))
            if n == state.scheduled_at + state.delay:
                self.State.put(Paused())
                self.deposit_event(PausedEvent())
        elif isinstance(state, PendingResume):
            if n == state.scheduled_at:
                self._deposit_log(Resume(state.delay))
            if n == state.scheduled_at + state.delay:
                self.State.put(Live())
                self.deposit_event(ResumedEvent())

    def _enact(self, pending: StoredPendingChange) -> None:
        self._put_authorities(pending.next_authorities)
        set_id = self.CurrentSetId.get() + 1
        self.CurrentSetId.put(set_id)
        self.SetIdSession.insert(set_id, set_id & 0xFFFF_FFFF)
        limit = self.config.max_set_id_session_entries
        if limit and set_id >= limit:
            self.SetIdSession.remove(set_id - limit)
        self.PendingChange.kill()
        self.deposit_event(NewAuthorities(pending.next_authorities))

    def _deposit_log(self, log: GrandpaLog) -> None:
        assert self.runtime is not None
        data = GrandpaConsensusLog.encode(log)
        self.runtime.system.deposit_log(Consensus(GRANDPA_ENGINE_ID, data))

    # ---------------------------------------------------------------------------------- calls

    @call(
        index=0,
        weight=lambda equivocation_proof, key_owner_proof: report_equivocation_weight(
            key_owner_proof.validator_count
        ),
    )
    def report_equivocation(
        self,
        origin: Origin,
        equivocation_proof: Annotated[EquivocationProof, EquivocationProof.codec()],
        key_owner_proof: Annotated[MembershipProof, MembershipProof.codec()],
    ) -> None:
        """Report voter equivocation (a signed transaction)."""
        # Verify the origin is signed.
        reporter = ensure_signed(origin)
        self.do_report_equivocation(reporter, equivocation_proof, key_owner_proof)

    @call(
        index=1,
        weight=lambda equivocation_proof, key_owner_proof: report_equivocation_weight(
            key_owner_proof.validator_count
        ),
    )
    def report_equivocation_unsigned(
        self,
        origin: Origin,
        equivocation_proof: Annotated[EquivocationProof, EquivocationProof.codec()],
        key_owner_proof: Annotated[MembershipProof, MembershipProof.codec()],
    ) -> None:
        """Report voter equivocation as an unsigned extrinsic (submitted by a validator's node)."""
        # Verify the origin is None (validated by ``validate_unsigned``).
        ensure_none(origin)
        self.do_report_equivocation(None, equivocation_proof, key_owner_proof)

    @call(index=2, weight=note_stalled_weight(), dispatch_class=DispatchClass.Operational)
    def note_stalled(
        self,
        origin: Origin,
        delay: Annotated[int, U32],
        best_finalized_block_number: Annotated[int, U32],
    ) -> None:
        """Note that the current authority set has stalled (root): a forced change of ``delay``
        blocks from ``best_finalized_block_number`` should follow."""
        # Verify the origin is root.
        ensure_root(origin)
        self.Stalled.put((delay, best_finalized_block_number))

    @call(
        index=3,
        weight=lambda next_authorities, delay, forced: schedule_change_weight(
            len(next_authorities)
        ),
        dispatch_class=DispatchClass.Operational,
    )
    def schedule_change(
        self,
        origin: Origin,
        next_authorities: Annotated[list[tuple[bytes, int]], AuthorityList],
        delay: Annotated[int, U32],
        forced: Annotated[int | None, Option(U32)],
    ) -> None:
        """pychain: schedule an authority-set change (root; FRAME's ``schedule_change``
        function as a call, for governance)."""
        # Verify the origin is root.
        ensure_root(origin)
        self.do_schedule_change(next_authorities, delay, forced)

    # ---------------------------------------------------------------------- internal functions

    def _block_number(self) -> int:
        assert self.runtime is not None
        number: int = self.runtime.system.Number.get()
        return number

    def do_schedule_change(
        self, next_authorities: Sequence[tuple[bytes, int]], delay: int, forced: int | None
    ) -> None:
        """``Pallet::schedule_change``: one pending change at a time; a forced change no sooner
        than twice the previous forced change's delay after it."""
        # Verify no change is pending.
        if self.PendingChange.exists():
            raise self.error(GrandpaError.ChangePending)
        scheduled_at = self._block_number()
        if forced is not None:
            next_forced = self.NextForced.get()
            # Verify the previous forced change is far enough behind.
            if next_forced is not None and next_forced > scheduled_at:
                raise self.error(GrandpaError.TooSoon)
            self.NextForced.put(scheduled_at + 2 * delay)
        self.PendingChange.put(
            StoredPendingChange(scheduled_at, delay, tuple(next_authorities), forced)
        )

    def schedule_pause(self, in_blocks: int) -> None:
        """``Pallet::schedule_pause``: pause GRANDPA ``in_blocks`` from now (only when live)."""
        # Verify GRANDPA is live.
        if not isinstance(self.State.get(), Live):
            raise self.error(GrandpaError.PauseFailed)
        self.State.put(PendingPause(self._block_number(), in_blocks))

    def schedule_resume(self, in_blocks: int) -> None:
        """``Pallet::schedule_resume``: resume GRANDPA ``in_blocks`` from now (only when paused)."""
        # Verify GRANDPA is paused.
        if not isinstance(self.State.get(), Paused):
            raise self.error(GrandpaError.ResumeFailed)
        self.State.put(PendingResume(self._block_number(), in_blocks))

    def check_equivocation_report(
        self, proof: EquivocationProof, key_owner_proof: MembershipProof
    ) -> None:
        """``EquivocationReportSystem::check_evidence`` plus the ownership check; raises the
        pallet error that applies."""
        set_id = proof.set_id
        session = self.SetIdSession.get(set_id)
        # Verify the set is known and the ownership proof is for its session.
        if session is None or session != key_owner_proof.session:
            raise self.error(GrandpaError.InvalidEquivocationProof, "unknown set or session")
        # Verify the two votes differ and are both validly signed.
        if not check_equivocation_proof(proof):
            raise self.error(GrandpaError.InvalidEquivocationProof, "votes or signatures")
        authorities = [key for key, _ in self.grandpa_authorities()]
        # Verify the offender belongs to the (current) set the proof claims.
        if (
            set_id != self.CurrentSetId.get()
            or key_owner_proof.trie_nodes
            or key_owner_proof.validator_count != len(authorities)
            or proof.offender not in authorities
        ):
            raise self.error(GrandpaError.InvalidKeyOwnershipProof)
        # Verify this offence was not reported already.
        if self.EquivocationReports.contains_key((set_id, proof.round, proof.offender)):
            raise self.error(GrandpaError.DuplicateOffenceReport)

    def do_report_equivocation(
        self,
        reporter: bytes | None,
        proof: EquivocationProof,
        key_owner_proof: MembershipProof,
    ) -> None:
        self.check_equivocation_report(proof, key_owner_proof)
        reporters = [reporter] if reporter is not None else []
        self.EquivocationReports.insert((proof.set_id, proof.round, proof.offender), reporters)

    def validate_unsigned(self, call: Any) -> ValidTransaction:
        """Accept ``report_equivocation_unsigned`` with a valid, new report: top priority, not
        propagated (FRAME accepts only locally produced reports), one per offence."""
        # Verify the call is the unsigned report.
        if call.name != "report_equivocation_unsigned":
            raise invalid(InvalidTransaction.Call, f"Grandpa.{call.name} is not unsigned")
        proof, key_owner_proof = call.args
        try:
            self.check_equivocation_report(proof, key_owner_proof)
        except DispatchError as exc:
            stale = exc == self.error(GrandpaError.DuplicateOffenceReport)
            reason = InvalidTransaction.Stale if stale else InvalidTransaction.BadProof
            raise invalid(reason, str(exc)) from None
        tag = b"GrandpaEquivocation" + OffenceKey.encode(
            (proof.set_id, proof.round, proof.offender)
        )
        return ValidTransaction(
            priority=MAX_LONGEVITY,
            provides=[tag],
            longevity=self.config.equivocation_report_longevity,
            propagate=False,
        )

    # ------------------------------------------------------------------ GrandpaApi / interface

    def grandpa_authorities(self) -> list[tuple[bytes, int]]:
        """``GrandpaApi_grandpa_authorities``: ``(ed25519 id, weight)`` of the current set."""
        return [(bytes(key), int(weight)) for key, weight in self.Authorities.get()]

    def current_set_id(self) -> int:
        """``GrandpaApi_current_set_id``."""
        set_id: int = self.CurrentSetId.get()
        return set_id

    # ----------------------------------------------------------------------------- invariants

    def try_state(self, n: int) -> None:
        authorities = self.grandpa_authorities()
        raw = current().storage_get(GRANDPA_AUTHORITIES_KEY)
        # ``:grandpa_authorities`` mirrors ``Authorities``.
        if authorities and raw != encode_versioned_authority_list(authorities):
            raise TryStateError("Grandpa: :grandpa_authorities differs from Authorities")
        if len({key for key, _ in authorities}) != len(authorities):
            raise TryStateError("Grandpa: duplicate authority")
        # The current set has a session entry.
        if not self.SetIdSession.contains_key(self.CurrentSetId.get()):
            raise TryStateError("Grandpa: no SetIdSession entry for the current set id")
        # A pending change is never left behind its enactment block.
        pending = self.PendingChange.get()
        if pending is not None and pending.scheduled_at + pending.delay < n:
            raise TryStateError("Grandpa: pending change is past its enactment block")
