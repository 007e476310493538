"""The System pallet: accounts and nonces, block number and hashes, events, weights.

Mirrors ``frame_system`` (polkadot-sdk ``substrate/frame/system``). Storage names, call indices,
event and error indices follow FRAME, so that ``System.Account``, ``System.Events``,
``System.Number`` … have Substrate's keys and encodings.

Differences from FRAME: the extrinsics root is computed by the executive from the block body it
holds in memory (FRAME stores each extrinsic in ``ExtrinsicData`` during the block and removes it in
``finalize``; the root is the same); ``set_code`` does not exist (a Python runtime has no wasm
blob); events carry no topics yet.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pychain.frame.dispatch import (
    DEConsumerRemaining,
    DENoProviders,
    DispatchError,
    DispatchErrorCodec,
    Origin,
    ensure_root,
    ensure_signed,
)
from pychain.frame.externalities import current
from pychain.frame.pallet import Constant, Pallet, TryStateError, call
from pychain.frame.runtime import (
    ApplyExtrinsic,
    EventRecord,
    Finalization,
    Initialization,
    Phase,
    RuntimeEvent,
)
from pychain.frame.storage import StorageMap, StorageValue
from pychain.frame.weights import (
    BlockLength,
    BlockWeights,
    DispatchClass,
    DispatchInfo,
    Weight,
)
from pychain.pallets.system.types import AccountId, AccountInfo, PerDispatchClassWeight
from pychain.pallets.system.weights import remark_weight, set_storage_weight
from pychain.primitives.hashing import blake2_256, storage_prefix
from pychain.primitives.header import Digest, Header
from pychain.primitives.runtime_version import RuntimeVersion
from pychain.primitives.scale import (
    H256,
    U16,
    U32,
    Bytes,
    Enum,
    Struct,
    Tuple,
    Vec,
)
from pychain.trie import ordered_trie_root

#: ``hash69``: the value of ``System.BlockHash(0)`` in genesis states (0x45 repeated).
GENESIS_BLOCK_HASH_PLACEHOLDER = b"\x45" * 32


# --------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SystemConfig:
    """``frame_system::Config`` constants."""

    version: RuntimeVersion
    block_weights: BlockWeights = field(default_factory=BlockWeights)
    block_length: BlockLength = field(default_factory=BlockLength)
    #: How many recent block hashes ``BlockHash`` keeps (``BlockHashCount``).
    block_hash_count: int = 2400
    #: SS58 prefix of the chain (``SS58Prefix``); 42 = generic Substrate.
    ss58_prefix: int = 42
    #: Trie layout of the state (``RuntimeVersion.state_version``).
    state_version: int = 1


# --------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class ExtrinsicSuccess(Struct):
    dispatch_info: DispatchInfo


@dataclass(frozen=True)
class ExtrinsicFailed(Struct):
    dispatch_error: Annotated[Any, DispatchErrorCodec]
    dispatch_info: DispatchInfo


@dataclass(frozen=True)
class CodeUpdated(Struct):
    pass


@dataclass(frozen=True)
class NewAccount(Struct):
    account: Annotated[bytes, AccountId]


@dataclass(frozen=True)
class KilledAccount(Struct):
    account: Annotated[bytes, AccountId]


@dataclass(frozen=True)
class Remarked(Struct):
    sender: Annotated[bytes, AccountId]
    hash: Annotated[bytes, H256]


class SystemError(enum.IntEnum):
    InvalidSpecName = 0
    SpecVersionNeedsToIncrease = 1
    FailedToExtractRuntimeVersion = 2
    NonDefaultComposite = 3
    NonZeroRefCount = 4
    CallFiltered = 5


# --------------------------------------------------------------------------------------- pallet


class System(Pallet):
    """``frame_system``."""

    name = "System"

    # Storage (FRAME names and hashers).
    Account = StorageMap("Blake2_128Concat", AccountId, AccountInfo.codec(), default=AccountInfo())
    ExtrinsicCount = StorageValue(U32)
    BlockWeight = StorageValue(PerDispatchClassWeight.codec(), default=PerDispatchClassWeight())
    AllExtrinsicsLen = StorageValue(U32)
    BlockHash = StorageMap("Twox64Concat", U32, H256, default=bytes(32))
    Number = StorageValue(U32, default=0)
    ParentHash = StorageValue(H256, default=bytes(32))
    Digest = StorageValue(Digest, default=[])
    EventCount = StorageValue(U32, default=0)
    ExecutionPhase = StorageValue(Phase)

    Event = Enum(
        "Event",
        {
            0: ExtrinsicSuccess,
            1: ExtrinsicFailed,
            2: CodeUpdated,
            3: NewAccount,
            4: KilledAccount,
            5: Remarked,
        },
    )
    Error = SystemError

    def __init__(self, config: SystemConfig) -> None:
        super().__init__(config)
        self.config: SystemConfig = config
        self._events_key = storage_prefix("System", "Events")

    def constants(self) -> list[Constant]:
        return [
            Constant("BlockHashCount", U32, self.config.block_hash_count),
            Constant("SS58Prefix", U16, self.config.ss58_prefix),
        ]

    def integrity_test(self) -> None:
        assert self.config.block_hash_count > 0, "BlockHashCount must be positive"

    # -------------------------------------------------------------------------------- genesis

    def genesis_build(self, genesis: Any = None) -> None:
        """``BlockHash(0) = hash69``, ``ParentHash = hash69``, ``Number = 0`` (FRAME genesis)."""
        self.BlockHash.insert(0, GENESIS_BLOCK_HASH_PLACEHOLDER)
        self.ParentHash.put(GENESIS_BLOCK_HASH_PLACEHOLDER)
        self.Number.put(0)

    # ---------------------------------------------------------------------------------- calls

    @call(index=0, weight=lambda remark: remark_weight(len(remark)))
    def remark(self, origin: Origin, remark: Annotated[bytes, Bytes]) -> None:
        """Make some on-chain remark (no effect beyond the fee)."""
        # Verify the origin is signed.
        ensure_signed(origin)

    @call(index=4, weight=lambda items: set_storage_weight(len(items)), dispatch_class=DispatchClass.Operational)
    def set_storage(
        self, origin: Origin, items: Annotated[list[tuple[bytes, bytes]], Vec(Tuple(Bytes, Bytes))]
    ) -> None:
        """Set some raw storage items (root only)."""
        # Verify the origin is root.
        ensure_root(origin)
        ext = current()
        for key, value in items:
            ext.storage_set(key, value)

    @call(index=5, weight=lambda keys: set_storage_weight(len(keys)), dispatch_class=DispatchClass.Operational)
    def kill_storage(self, origin: Origin, keys: Annotated[list[bytes], Vec(Bytes)]) -> None:
        """Kill some raw storage items (root only)."""
        # Verify the origin is root.
        ensure_root(origin)
        ext = current()
        for key in keys:
            ext.storage_clear(key)

    @call(index=6, weight=lambda prefix, subkeys: set_storage_weight(subkeys), dispatch_class=DispatchClass.Operational)
    def kill_prefix(
        self, origin: Origin, prefix: Annotated[bytes, Bytes], subkeys: Annotated[int, U32]
    ) -> None:
        """Kill all storage items under a prefix (root only)."""
        # Verify the origin is root.
        ensure_root(origin)
        current().clear_prefix(prefix, subkeys)

    @call(index=7, weight=lambda remark: remark_weight(len(remark)))
    def remark_with_event(self, origin: Origin, remark: Annotated[bytes, Bytes]) -> None:
        """Make some on-chain remark and emit ``Remarked`` with its hash."""
        # Verify the origin is signed.
        who = ensure_signed(origin)
        self.deposit_event(Remarked(who, blake2_256(remark)))

    # ------------------------------------------------------------------------ block lifecycle

    def initialize(self, number: int, parent_hash: bytes, digest: Sequence[Any]) -> None:
        """``System::initialize``: start block ``number`` on top of ``parent_hash``."""
        self.ExecutionPhase.put(Initialization())
        self.Number.put(number)
        self.Digest.put(list(digest))
        self.ParentHash.put(parent_hash)
        self.BlockHash.insert(number - 1, parent_hash)
        current().storage_clear(self._events_key)
        self.EventCount.kill()
        self.BlockWeight.kill()
        self.AllExtrinsicsLen.kill()

    def note_finished_initialize(self) -> None:
        self.ExecutionPhase.put(ApplyExtrinsic(0))

    def note_applied_extrinsic(
        self, index: int, error: DispatchError | None, info: DispatchInfo
    ) -> None:
        """Record ``ExtrinsicSuccess`` / ``ExtrinsicFailed`` and move to the next extrinsic."""
        if error is None:
            self.deposit_event(ExtrinsicSuccess(info))
        else:
            self.deposit_event(ExtrinsicFailed(error.value, info))
        self.ExecutionPhase.put(ApplyExtrinsic(index + 1))

    def note_finished_extrinsics(self, count: int) -> None:
        self.ExtrinsicCount.put(count)
        self.ExecutionPhase.put(Finalization())

    def finalize(self, extrinsics: Sequence[bytes]) -> Header:
        """``System::finalize``: tidy per-block storage and build the header (roots included)."""
        self.ExecutionPhase.kill()
        self.AllExtrinsicsLen.kill()
        self.ExtrinsicCount.kill()
        number = self.Number.get()
        parent_hash = self.ParentHash.get()
        digest = self.Digest.get()
        to_remove = number - 1 - self.config.block_hash_count
        if to_remove >= 0:
            self.BlockHash.remove(to_remove)
        state_version = self.config.state_version
        extrinsics_root = ordered_trie_root(list(extrinsics), state_version)
        state_root = current().storage_root(state_version)
        return Header(parent_hash, number, state_root, extrinsics_root, tuple(digest))

    def deposit_log(self, item: Any) -> None:
        """Append a digest item to the block being built (e.g. a GRANDPA consensus log)."""
        self.Digest.put([*self.Digest.get(), item])

    # ---------------------------------------------------------------------------------- events

    def deposit_event_record(self, event: RuntimeEvent, topics: list[bytes]) -> None:
        """Append an ``EventRecord`` with the current phase (skipped at genesis, as FRAME)."""
        if self.Number.get() == 0:
            return
        phase = self.ExecutionPhase.get() or Initialization()
        assert self.runtime is not None
        record = self.runtime.event_record_codec.encode(EventRecord(phase, event, topics))
        current().storage_append(self._events_key, record)  # type: ignore[attr-defined]
        self.EventCount.put(self.EventCount.get() + 1)

    def events(self) -> list[EventRecord]:
        """The events of the current block, decoded."""
        raw = current().storage_get(self._events_key)
        if raw is None:
            return []
        assert self.runtime is not None
        return Vec(self.runtime.event_record_codec).decode(raw)

    @property
    def events_key(self) -> bytes:
        return self._events_key

    # -------------------------------------------------------------------------------- accounts

    def account(self, who: bytes) -> AccountInfo:
        info: AccountInfo = self.Account.get(who)
        return info

    def account_nonce(self, who: bytes) -> int:
        return self.account(who).nonce

    def inc_account_nonce(self, who: bytes) -> None:
        info = self.account(who)
        self.Account.insert(who, _replace(info, nonce=info.nonce + 1))

    def account_exists(self, who: bytes) -> bool:
        return self.Account.contains_key(who)

    def inc_providers(self, who: bytes) -> None:
        """One more provider reference; a new account emits ``NewAccount``."""
        info = self.account(who)
        if info.providers == 0 and info.sufficients == 0:
            self.deposit_event(NewAccount(who))
        self.Account.insert(who, _replace(info, providers=info.providers + 1))

    def dec_providers(self, who: bytes) -> None:
        """One less provider; the account is reaped (``KilledAccount``) when nothing holds it."""
        info = self.account(who)
        if info.providers == 0:
            raise DispatchError.other("dec_providers on an account with no providers")
        if info.providers == 1 and info.consumers > 0:
            raise DispatchError(DEConsumerRemaining())
        if info.providers == 1 and info.sufficients == 0:
            self.Account.remove(who)
            self.deposit_event(KilledAccount(who))
        else:
            self.Account.insert(who, _replace(info, providers=info.providers - 1))

    def inc_consumers(self, who: bytes) -> None:
        info = self.account(who)
        if info.providers == 0:
            raise DispatchError(DENoProviders())
        self.Account.insert(who, _replace(info, consumers=info.consumers + 1))

    def dec_consumers(self, who: bytes) -> None:
        info = self.account(who)
        if info.consumers > 0:
            self.Account.insert(who, _replace(info, consumers=info.consumers - 1))

    def mutate_account_data(self, who: bytes, data: Any) -> None:
        """Write an account's ``data`` field, keeping its nonce and reference counts."""
        info = self.account(who)
        self.Account.insert(who, _replace(info, data=data))

    # ---------------------------------------------------------------------------------- weight

    def block_weight(self) -> PerDispatchClassWeight:
        weight: PerDispatchClassWeight = self.BlockWeight.get()
        return weight

    def register_extra_weight_unchecked(self, weight: Weight, dispatch_class: DispatchClass) -> None:
        self.BlockWeight.put(self.block_weight().add(int(dispatch_class), weight))

    def all_extrinsics_len(self) -> int:
        return self.AllExtrinsicsLen.get() or 0

    def note_extrinsic_len(self, length: int) -> None:
        self.AllExtrinsicsLen.put(self.all_extrinsics_len() + length)

    # ------------------------------------------------------------------------------ invariants

    def try_state(self, n: int) -> None:
        for who, info in self.Account.iter():
            if info.providers == 0 and info.sufficients == 0 and info.consumers == 0:
                raise TryStateError(f"System.Account 0x{who.hex()} has no references but exists")
            if info.consumers > 0 and info.providers == 0:
                raise TryStateError(f"System.Account 0x{who.hex()} has consumers but no providers")


def _replace(info: AccountInfo, **changes: Any) -> AccountInfo:
    return dataclasses.replace(info, **changes)
