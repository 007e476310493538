"""The Balances pallet: free and reserved balances, locks, existential deposit and reaping.

Mirrors ``pallet_balances`` (polkadot-sdk ``substrate/frame/balances``) with the "new logic" account
model (``ExtraFlags`` new-logic bit set):

* an account's data is ``AccountData { free, reserved, frozen, flags }`` in ``System.Account``
  (``AccountStore = System``), written only through the System pallet's interface;
* a provider reference is held while ``free >= ExistentialDeposit`` and a consumer reference while
  ``reserved`` or ``frozen`` is non-zero (``try_mutate_account``); an account whose free balance
  falls below the ED with nothing reserved loses that *dust* (``DustLost``, burned from
  ``TotalIssuance`` as ``DustRemoval = ()`` does) and, without other references, is reaped
  (``System.KilledAccount``);
* ``frozen`` is the largest lock; it applies to free + reserved, so the free balance that must stay
  untouched is ``frozen - reserved`` (``fungible::Inspect::reducible_balance``);
* imbalances are settled at once: ``withdraw``/``slash_reserved``/``burn_from`` lower
  ``TotalIssuance`` and ``deposit_*``/``mint_into`` raise it, as dropping FRAME's imbalance
  objects does, so ``TotalIssuance`` always equals the sum of all accounts' ``free + reserved``.

Calls keep FRAME's indices and the ``Currency``-trait errors of ``pallet_balances``
(``InsufficientBalance``, ``LiquidityRestrictions``, ``ExistentialDeposit``, ``Expendability``).

Differences from FRAME: no named reserves (``Reserves``), holds or freezes storage, and no
``upgrade_accounts`` / ``force_adjust_total_issuance`` calls; exceeding ``MaxLocks`` is refused with
``TooManyFreezes`` (FRAME truncates the list with a warning); a lock holds no consumer reference of
its own (the account's non-zero ``frozen`` holds one, as for reserves); a lock's ``reasons`` select
which withdrawals it restricts (``Fee`` for transaction payment, ``Misc`` for the rest), as the
pre-"new logic" ``misc_frozen``/``fee_frozen`` pair did; zero-value and self transfers are no-ops
without an event (``Currency::transfer``); ``deposit_creating`` below the ED raises
``ExistentialDeposit`` instead of silently returning a zero imbalance.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

from pychain.frame.dispatch import (
    ArithmeticError,
    DECannotLookup,
    DispatchError,
    Origin,
    ensure_root,
    ensure_signed,
)
from pychain.frame.externalities import with_transaction
from pychain.frame.pallet import Constant, Pallet, TryStateError, call
from pychain.frame.storage import StorageMap, StorageValue
from pychain.pallets.balances import weights
from pychain.pallets.balances.types import (
    MAX_BALANCE,
    BalanceLock,
    BalancesError,
    BalancesGenesis,
    BalanceStatus,
    BalanceStatusCodec,
    GenesisConfigError,
    Reasons,
)
from pychain.pallets.system.types import AccountData, AccountId, AccountInfo
from pychain.primitives.multiaddress import MULTI_ADDRESS, AddressId, MultiAddress
from pychain.primitives.scale import U32, U128, Bool, Compact, Enum, Struct, Vec

R = TypeVar("R")

_DEFAULT_DATA = AccountData()


# --------------------------------------------------------------------------------------- config


class AccountStore(Protocol):
    """What Balances needs from the account store (``StoredMap`` + reference counting): the System
    pallet implements it. ``Account`` is iterated by ``try_state`` only."""

    Account: Any

    def account(self, who: bytes) -> AccountInfo: ...

    def mutate_account_data(self, who: bytes, data: Any) -> None: ...

    def inc_providers(self, who: bytes) -> None: ...

    def dec_providers(self, who: bytes) -> None: ...

    def inc_consumers(self, who: bytes) -> None: ...

    def dec_consumers(self, who: bytes) -> None: ...


@dataclass(frozen=True)
class BalancesConfig:
    """``pallet_balances::Config``: the account store and the constants."""

    #: ``AccountStore``: the System pallet.
    account_store: AccountStore
    #: ``ExistentialDeposit``: the minimum free balance an account must keep to exist (> 0).
    existential_deposit: int = 1
    #: ``MaxLocks``: the most locks an account may carry.
    max_locks: int = 50
    #: ``MaxReserves``: the most named reserves (named reserves are not implemented; exposed only).
    max_reserves: int = 50


# --------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Endowed(Struct):
    """An account was created with some free balance."""

    account: Annotated[bytes, AccountId]
    free_balance: Annotated[int, U128]


@dataclass(frozen=True)
class DustLost(Struct):
    """An account was removed whose balance was non-zero but below the ED; the dust is burned."""

    account: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Transfer(Struct):
    """Transfer succeeded (FRAME's field ``from`` is ``from_`` here: ``from`` is a Python keyword)."""

    from_: Annotated[bytes, AccountId]
    to: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class BalanceSet(Struct):
    """A balance was set by root."""

    who: Annotated[bytes, AccountId]
    free: Annotated[int, U128]


@dataclass(frozen=True)
class Reserved(Struct):
    """Some balance was reserved (moved from free to reserved)."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Unreserved(Struct):
    """Some balance was unreserved (moved from reserved to free)."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class ReserveRepatriated(Struct):
    """Some reserved balance was moved to another account (free or reserved there)."""

    from_: Annotated[bytes, AccountId]
    to: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]
    destination_status: Annotated[BalanceStatus, BalanceStatusCodec]


@dataclass(frozen=True)
class Deposit(Struct):
    """Some amount was deposited (e.g. a reward or a fee refund)."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Withdraw(Struct):
    """Some amount was withdrawn from the account (e.g. for transaction fees)."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Slashed(Struct):
    """Some amount was removed from the account (e.g. for misbehaviour)."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Minted(Struct):
    """Some amount was minted into an account."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Burned(Struct):
    """Some amount was burned from an account."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Locked(Struct):
    """Some balance was locked (the account's ``frozen`` rose by ``amount``)."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


@dataclass(frozen=True)
class Unlocked(Struct):
    """Some balance was unlocked (the account's ``frozen`` fell by ``amount``)."""

    who: Annotated[bytes, AccountId]
    amount: Annotated[int, U128]


# --------------------------------------------------------------------------------------- errors


class Error(enum.IntEnum):
    """``pallet_balances::Error`` with FRAME's indices."""

    VestingBalance = 0
    LiquidityRestrictions = 1
    InsufficientBalance = 2
    ExistentialDeposit = 3
    Expendability = 4
    ExistingVestingSchedule = 5
    DeadAccount = 6
    TooManyReserves = 7
    TooManyHolds = 8
    TooManyFreezes = 9
    IssuanceDeactivated = 10
    DeltaZero = 11


# ------------------------------------------------------------------------------------ arithmetic


def _checked_add(a: int, b: int) -> int:
    """``a + b`` as u128, or ``ArithmeticError::Overflow``."""
    total = a + b
    if total > MAX_BALANCE:
        raise DispatchError.arithmetic(ArithmeticError.Overflow)
    return total


def _checked_sub(a: int, b: int) -> int:
    """``a - b`` as u128, or ``ArithmeticError::Underflow``."""
    if b > a:
        raise DispatchError.arithmetic(ArithmeticError.Underflow)
    return a - b


def _check_amount(amount: int) -> None:
    """Amounts given by other pallets must be u128 values."""
    if not 0 <= amount <= MAX_BALANCE:
        raise DispatchError.arithmetic(
            ArithmeticError.Overflow if amount > 0 else ArithmeticError.Underflow
        )


# --------------------------------------------------------------------------------------- pallet


class Balances(Pallet):
    """``pallet_balances`` (single instance)."""

    name = "Balances"

    # Storage (FRAME names and hashers). Account data lives in ``System.Account``.
    TotalIssuance = StorageValue(U128, default=0, docs="The total units issued in the system.")
    InactiveIssuance = StorageValue(
        U128, default=0, docs="The total units of outstanding deactivated balance."
    )
    Locks = StorageMap(
        "Blake2_128Concat",
        AccountId,
        Vec(BalanceLock.codec()),
        default=[],
        docs="Any liquidity locks on some account balances.",
    )

    Event = Enum(
        "Event",
        {
            0: Endowed,
            1: DustLost,
            2: Transfer,
            3: BalanceSet,
            4: Reserved,
            5: Unreserved,
            6: ReserveRepatriated,
            7: Deposit,
            8: Withdraw,
            9: Slashed,
            10: Minted,
            11: Burned,
            17: Locked,
            18: Unlocked,
        },
    )
    Error = Error

    def __init__(self, config: BalancesConfig) -> None:
        super().__init__(config)
        self.config: BalancesConfig = config

    @property
    def store(self) -> AccountStore:
        return self.config.account_store

    def constants(self) -> list[Constant]:
        return [
            Constant(
                "ExistentialDeposit",
                U128,
                self.config.existential_deposit,
                "The minimum amount required to keep an account open.",
            ),
            Constant("MaxLocks", U32, self.config.max_locks, "The maximum number of locks."),
            Constant(
                "MaxReserves",
                U32,
                self.config.max_reserves,
                "The maximum number of named reserves.",
            ),
        ]

    def integrity_test(self) -> None:
        # Verify the ED is a positive u128 (FRAME: "The existential deposit must be greater than zero").
        if not 0 < self.config.existential_deposit <= MAX_BALANCE:
            raise BalancesError("ExistentialDeposit must be in 1..=u128::MAX")
        # Verify MaxLocks / MaxReserves are u32 values.
        if not 0 < self.config.max_locks < 1 << 32 or not 0 <= self.config.max_reserves < 1 << 32:
            raise BalancesError("MaxLocks must be in 1..2^32 and MaxReserves in 0..2^32")

    # -------------------------------------------------------------------------------- genesis

    def genesis_build(self, genesis: BalancesGenesis | None = None) -> None:
        """Endow the genesis accounts (one provider reference each) and set ``TotalIssuance``."""
        genesis = genesis or BalancesGenesis()
        ed = self.config.existential_deposit
        seen: set[bytes] = set()
        total = 0
        for who, amount in genesis.balances:
            # Verify each entry is a 32-byte account id with a u128 amount of at least the ED.
            if not isinstance(who, bytes | bytearray) or len(who) != 32:
                raise GenesisConfigError(f"genesis account {who!r:.80} is not a 32-byte account id")
            if not isinstance(amount, int) or not ed <= amount <= MAX_BALANCE:
                raise GenesisConfigError(
                    f"genesis balance {amount!r} of 0x{bytes(who).hex()} is not in ED..=u128::MAX"
                )
            # Verify no account is endowed twice ("duplicate balances in genesis").
            if bytes(who) in seen:
                raise GenesisConfigError(f"duplicate genesis balance for 0x{bytes(who).hex()}")
            seen.add(bytes(who))
            total += amount
            # Verify the issuance fits in a u128.
            if total > MAX_BALANCE:
                raise GenesisConfigError("genesis total issuance overflows u128")
        for who, amount in genesis.balances:
            self.store.inc_providers(bytes(who))
            self.store.mutate_account_data(bytes(who), AccountData(free=amount))
        self.TotalIssuance.put(total)

    # ---------------------------------------------------------------------------------- calls

    @call(index=0, weight=weights.transfer_allow_death())
    def transfer_allow_death(
        self,
        origin: Origin,
        dest: Annotated[MultiAddress, MULTI_ADDRESS],
        value: Annotated[int, Compact],
    ) -> None:
        """Transfer ``value`` of free balance to ``dest``; the sender may be reaped."""
        # Verify the origin is signed.
        source = ensure_signed(origin)
        # Verify the destination resolves to an account id.
        dest_id = self.lookup(dest)
        self.do_transfer(source, dest_id, value, keep_alive=False)

    @call(index=2, weight=weights.force_transfer())
    def force_transfer(
        self,
        origin: Origin,
        source: Annotated[MultiAddress, MULTI_ADDRESS],
        dest: Annotated[MultiAddress, MULTI_ADDRESS],
        value: Annotated[int, Compact],
    ) -> None:
        """Root: transfer ``value`` from ``source`` to ``dest`` (the source may be reaped)."""
        # Verify the origin is root.
        ensure_root(origin)
        # Verify both addresses resolve.
        source_id = self.lookup(source)
        dest_id = self.lookup(dest)
        self.do_transfer(source_id, dest_id, value, keep_alive=False)

    @call(index=3, weight=weights.transfer_keep_alive())
    def transfer_keep_alive(
        self,
        origin: Origin,
        dest: Annotated[MultiAddress, MULTI_ADDRESS],
        value: Annotated[int, Compact],
    ) -> None:
        """Like ``transfer_allow_death`` but refuses to reap the sender (``Expendability``)."""
        # Verify the origin is signed.
        source = ensure_signed(origin)
        # Verify the destination resolves to an account id.
        dest_id = self.lookup(dest)
        self.do_transfer(source, dest_id, value, keep_alive=True)

    @call(index=4, weight=weights.transfer_all())
    def transfer_all(
        self,
        origin: Origin,
        dest: Annotated[MultiAddress, MULTI_ADDRESS],
        keep_alive: Annotated[bool, Bool],
    ) -> None:
        """Transfer the whole reducible balance (all of it, or all but the ED with ``keep_alive``)."""
        # Verify the origin is signed.
        source = ensure_signed(origin)
        # Verify the destination resolves to an account id.
        dest_id = self.lookup(dest)
        amount = self.reducible_balance(source, keep_alive)
        self.do_transfer(source, dest_id, amount, keep_alive=keep_alive)

    @call(index=5, weight=weights.force_unreserve())
    def force_unreserve(
        self,
        origin: Origin,
        who: Annotated[MultiAddress, MULTI_ADDRESS],
        amount: Annotated[int, U128],
    ) -> None:
        """Root: unreserve up to ``amount`` of ``who``'s reserved balance."""
        # Verify the origin is root.
        ensure_root(origin)
        # Verify the address resolves.
        who_id = self.lookup(who)
        self.unreserve(who_id, amount)

    @call(index=8, weight=weights.force_set_balance())
    def force_set_balance(
        self,
        origin: Origin,
        who: Annotated[MultiAddress, MULTI_ADDRESS],
        new_free: Annotated[int, Compact],
    ) -> None:
        """Root: set ``who``'s free balance (below the ED it is set to zero, reaping the account)."""
        # Verify the origin is root.
        ensure_root(origin)
        # Verify the address resolves.
        who_id = self.lookup(who)
        if new_free < self.config.existential_deposit:
            new_free = 0
        old_free = self.store.account(who_id).data.free
        issuance = self.TotalIssuance.get()
        # Verify the issuance stays a u128.
        if new_free > old_free:
            new_issuance = _checked_add(issuance, new_free - old_free)
        else:
            new_issuance = _checked_sub(issuance, old_free - new_free)

        def set_free(data: AccountData, _is_new: bool) -> tuple[AccountData, None]:
            return dataclasses.replace(data, free=new_free), None

        def apply() -> None:
            self._mutate_account(who_id, set_free)
            self.TotalIssuance.put(new_issuance)

        with_transaction(apply)
        self.deposit_event(BalanceSet(who_id, new_free))

    @call(index=10, weight=weights.burn())
    def burn(
        self, origin: Origin, value: Annotated[int, Compact], keep_alive: Annotated[bool, Bool]
    ) -> None:
        """Burn ``value`` of the sender's free balance, lowering ``TotalIssuance``."""
        # Verify the origin is signed.
        who = ensure_signed(origin)
        self.burn_from(who, value, keep_alive=keep_alive)

    # ------------------------------------------------------------------------ inspection

    def lookup(self, address: MultiAddress) -> bytes:
        """``AccountIdLookup``: only ``MultiAddress::Id`` resolves (no indices pallet)."""
        if isinstance(address, AddressId):
            return bytes(address.account_id)
        raise DispatchError(DECannotLookup(), f"{type(address).__name__} addresses do not resolve")

    def account_data(self, who: bytes) -> AccountData:
        data: AccountData = self.store.account(who).data
        return data

    def minimum_balance(self) -> int:
        return self.config.existential_deposit

    def total_issuance(self) -> int:
        issuance: int = self.TotalIssuance.get()
        return issuance

    def active_issuance(self) -> int:
        """``TotalIssuance - InactiveIssuance``."""
        return max(self.total_issuance() - self.InactiveIssuance.get(), 0)

    def free_balance(self, who: bytes) -> int:
        return self.account_data(who).free

    def reserved_balance(self, who: bytes) -> int:
        return self.account_data(who).reserved

    def total_balance(self, who: bytes) -> int:
        return self.account_data(who).total

    def locks(self, who: bytes) -> list[BalanceLock]:
        locks: list[BalanceLock] = self.Locks.get(who)
        return locks

    def _frozen_for(self, who: bytes, data: AccountData, reason: Reasons) -> int:
        """The largest lock that restricts withdrawals of kind ``reason``."""
        if data.frozen == 0:
            return 0
        return max(
            (lock.amount for lock in self.locks(who) if lock.reasons.restricts(reason)), default=0
        )

    def _untouchable(self, who: bytes, data: AccountData, reason: Reasons) -> int:
        """Free balance that locks keep in place: frozen applies to free + reserved."""
        return max(self._frozen_for(who, data, reason) - data.reserved, 0)

    def can_dec_provider(self, who: bytes) -> bool:
        """``frame_system::can_dec_provider``: no consumer depends on the last provider."""
        info = self.store.account(who)
        return info.consumers == 0 or info.providers > 1

    def reducible_balance(
        self, who: bytes, keep_alive: bool, reason: Reasons = Reasons.Misc
    ) -> int:
        """``fungible::Inspect::reducible_balance`` (polite): free minus what locks keep, and
        minus the ED when the account must (or, having consumers, cannot but) stay alive."""
        data = self.account_data(who)
        untouchable = self._untouchable(who, data, reason)
        if data.free and (keep_alive or not self.can_dec_provider(who)):
            untouchable = max(untouchable, self.config.existential_deposit)
        return max(data.free - untouchable, 0)

    def can_withdraw(
        self, who: bytes, amount: int, keep_alive: bool = True, reason: Reasons = Reasons.Misc
    ) -> bool:
        """Whether ``withdraw(who, amount, reason, keep_alive)`` would succeed (dry run)."""
        try:
            self._check_withdraw(who, self.account_data(who), amount, keep_alive, reason)
        except DispatchError:
            return False
        return True

    def _check_withdraw(
        self, who: bytes, data: AccountData, amount: int, keep_alive: bool, reason: Reasons
    ) -> int:
        """``Currency::withdraw``'s guards; returns the new free balance."""
        _check_amount(amount)
        # Verify the free balance covers the amount.
        if data.free < amount:
            raise self.error(Error.InsufficientBalance)
        new_free = data.free - amount
        ed = self.config.existential_deposit
        # Verify a keep-alive withdrawal does not take a living account below the ED.
        if keep_alive and new_free < ed <= data.free:
            raise self.error(Error.Expendability)
        # Verify locks allow it.
        if amount and new_free < self._untouchable(who, data, reason):
            raise self.error(Error.LiquidityRestrictions)
        return new_free

    # ---------------------------------------------------------------------- account core

    def _mutate_account(
        self, who: bytes, f: Callable[[AccountData, bool], tuple[AccountData, R]]
    ) -> R:
        """``try_mutate_account_handling_dust``: apply ``f(data, is_new) -> (new data, result)``
        and keep the reference counts, dust and events in step. Atomic: nothing is written when
        any step raises."""
        return with_transaction(lambda: self._mutate_account_inner(who, f))

    def _mutate_account_inner(
        self, who: bytes, f: Callable[[AccountData, bool], tuple[AccountData, R]]
    ) -> R:
        store = self.store
        ed = self.config.existential_deposit
        before = store.account(who).data
        is_new = before == _DEFAULT_DATA
        after, result = f(before, is_new)
        for value in (after.free, after.reserved, after.frozen):
            if not 0 <= value <= MAX_BALANCE:
                raise DispatchError.arithmetic(ArithmeticError.Overflow)
        did_provide = before.free >= ed
        does_provide = after.free >= ed
        did_consume = not is_new and (before.reserved > 0 or before.frozen > 0)
        does_consume = after.reserved > 0 or after.frozen > 0
        if not did_provide and does_provide:
            store.inc_providers(who)
        if did_consume and not does_consume:
            store.dec_consumers(who)
        if not did_consume and does_consume:
            store.inc_consumers(who)
        if did_provide and not does_provide:
            # This may reap the account, so it goes last (raises ConsumerRemaining if it cannot).
            store.dec_providers(who)
        dust = 0
        if after.free < ed and after.reserved == 0:
            dust = after.free
            after = dataclasses.replace(_DEFAULT_DATA, frozen=after.frozen)
        info = store.account(who)
        if info.providers > 0 or info.sufficients > 0:
            store.mutate_account_data(who, after)
        if is_new and after != _DEFAULT_DATA:
            self.deposit_event(Endowed(who, after.free))
        if dust:
            self.TotalIssuance.put(_checked_sub(self.TotalIssuance.get(), dust))
            self.deposit_event(DustLost(who, dust))
        return result

    def _adjust_issuance(self, delta: int) -> None:
        """Raise (delta > 0) or lower ``TotalIssuance``, checked."""
        issuance = self.TotalIssuance.get()
        if delta >= 0:
            self.TotalIssuance.put(_checked_add(issuance, delta))
        else:
            self.TotalIssuance.put(_checked_sub(issuance, -delta))

    # ---------------------------------------------------------------------------- transfer

    def do_transfer(self, source: bytes, dest: bytes, value: int, keep_alive: bool) -> None:
        """``Currency::transfer``: move ``value`` of free balance from ``source`` to ``dest``."""
        _check_amount(value)
        if value == 0 or source == dest:
            return
        src = self.account_data(source)
        dst = self.account_data(dest)
        # Verify the source has the funds.
        if src.free < value:
            raise self.error(Error.InsufficientBalance)
        new_src_free = src.free - value
        # Verify the destination's balance stays a u128.
        new_dst_free = _checked_add(dst.free, value)
        ed = self.config.existential_deposit
        # Verify the destination ends with at least the ED.
        if new_dst_free + dst.reserved < ed:
            raise self.error(Error.ExistentialDeposit)
        # Verify locks allow the withdrawal.
        if new_src_free < self._untouchable(source, src, Reasons.Misc):
            raise self.error(Error.LiquidityRestrictions)
        # Verify the source survives unless death is allowed and possible.
        allow_death = not keep_alive and self.can_dec_provider(source)
        if not allow_death and new_src_free + src.reserved < ed:
            raise self.error(Error.Expendability)

        def debit(data: AccountData, _is_new: bool) -> tuple[AccountData, None]:
            return dataclasses.replace(data, free=data.free - value), None

        def credit(data: AccountData, _is_new: bool) -> tuple[AccountData, None]:
            return dataclasses.replace(data, free=_checked_add(data.free, value)), None

        def apply() -> None:
            self._mutate_account(source, debit)
            self._mutate_account(dest, credit)

        with_transaction(apply)
        self.deposit_event(Transfer(source, dest, value))

    # ------------------------------------------------------------------ Currency interface

    def withdraw(
        self,
        who: bytes,
        amount: int,
        reason: Reasons = Reasons.Misc,
        keep_alive: bool = True,
    ) -> None:
        """``Currency::withdraw``: take ``amount`` of free balance out of circulation
        (``TotalIssuance`` falls; the caller decides what the amount pays for). ``Withdraw``."""
        _check_amount(amount)
        if amount == 0:
            return

        def take(data: AccountData, _is_new: bool) -> tuple[AccountData, None]:
            new_free = self._check_withdraw(who, data, amount, keep_alive, reason)
            return dataclasses.replace(data, free=new_free), None

        def apply() -> None:
            self._mutate_account(who, take)
            self._adjust_issuance(-amount)

        with_transaction(apply)
        self.deposit_event(Withdraw(who, amount))

    def deposit_into_existing(self, who: bytes, amount: int) -> None:
        """``Currency::deposit_into_existing``: mint into a living account (``DeadAccount``
        otherwise). ``Deposit``."""
        _check_amount(amount)
        if amount == 0:
            return

        def add(data: AccountData, is_new: bool) -> tuple[AccountData, None]:
            # Verify the account exists.
            if is_new:
                raise self.error(Error.DeadAccount)
            return dataclasses.replace(data, free=_checked_add(data.free, amount)), None

        def apply() -> None:
            self._mutate_account(who, add)
            self._adjust_issuance(amount)

        with_transaction(apply)
        self.deposit_event(Deposit(who, amount))

    def deposit_creating(self, who: bytes, amount: int) -> None:
        """``Currency::deposit_creating``: mint into ``who``, creating the account if the amount
        reaches the ED (``ExistentialDeposit`` otherwise). ``Deposit``."""
        _check_amount(amount)
        if amount == 0:
            return

        def add(data: AccountData, is_new: bool) -> tuple[AccountData, None]:
            # Verify a new account receives at least the ED.
            if is_new and amount < self.config.existential_deposit:
                raise self.error(Error.ExistentialDeposit)
            return dataclasses.replace(data, free=_checked_add(data.free, amount)), None

        def apply() -> None:
            self._mutate_account(who, add)
            self._adjust_issuance(amount)

        with_transaction(apply)
        self.deposit_event(Deposit(who, amount))

    def mint_into(self, who: bytes, amount: int) -> None:
        """``fungible::Mutate::mint_into``: like ``deposit_creating`` with a ``Minted`` event."""
        _check_amount(amount)
        if amount == 0:
            return

        def add(data: AccountData, is_new: bool) -> tuple[AccountData, None]:
            # Verify a new account receives at least the ED.
            if is_new and amount < self.config.existential_deposit:
                raise self.error(Error.ExistentialDeposit)
            return dataclasses.replace(data, free=_checked_add(data.free, amount)), None

        def apply() -> None:
            self._mutate_account(who, add)
            self._adjust_issuance(amount)

        with_transaction(apply)
        self.deposit_event(Minted(who, amount))

    def burn_from(self, who: bytes, amount: int, keep_alive: bool = True) -> None:
        """``fungible::Mutate::burn_from``: destroy ``amount`` of free balance. ``Burned``."""
        _check_amount(amount)
        if amount == 0:
            return

        def take(data: AccountData, _is_new: bool) -> tuple[AccountData, None]:
            new_free = self._check_withdraw(who, data, amount, keep_alive, Reasons.Misc)
            return dataclasses.replace(data, free=new_free), None

        def apply() -> None:
            self._mutate_account(who, take)
            self._adjust_issuance(-amount)

        with_transaction(apply)
        self.deposit_event(Burned(who, amount))

    def deactivate(self, amount: int) -> None:
        """``fungible::Unbalanced::deactivate``: count ``amount`` as inactive issuance (saturating
        at ``TotalIssuance``)."""
        _check_amount(amount)
        inactive = self.InactiveIssuance.get()
        self.InactiveIssuance.put(min(inactive + amount, self.total_issuance()))

    def reactivate(self, amount: int) -> None:
        """``fungible::Unbalanced::reactivate``: the opposite of ``deactivate`` (saturating at 0)."""
        _check_amount(amount)
        self.InactiveIssuance.put(max(self.InactiveIssuance.get() - amount, 0))

    # ----------------------------------------------------------------------------- reserves

    def can_reserve(self, who: bytes, amount: int) -> bool:
        """``ReservableCurrency::can_reserve``: free covers it and locks allow it."""
        if not 0 <= amount <= MAX_BALANCE:
            return False
        data = self.account_data(who)
        if data.free < amount:
            return False
        return data.free - amount >= self._untouchable(who, data, Reasons.Misc)

    def reserve(self, who: bytes, amount: int) -> None:
        """``ReservableCurrency::reserve``: move ``amount`` from free to reserved. ``Reserved``."""
        _check_amount(amount)
        if amount == 0:
            return

        def move(data: AccountData, _is_new: bool) -> tuple[AccountData, None]:
            # Verify the free balance covers it.
            if data.free < amount:
                raise self.error(Error.InsufficientBalance)
            new_free = data.free - amount
            # Verify locks allow it.
            if new_free < self._untouchable(who, data, Reasons.Misc):
                raise self.error(Error.LiquidityRestrictions)
            reserved = _checked_add(data.reserved, amount)
            return dataclasses.replace(data, free=new_free, reserved=reserved), None

        self._mutate_account(who, move)
        self.deposit_event(Reserved(who, amount))

    def unreserve(self, who: bytes, amount: int) -> int:
        """``ReservableCurrency::unreserve``: move up to ``amount`` back to free; returns the part
        that could not be unreserved. ``Unreserved`` (when something moved)."""
        _check_amount(amount)
        if amount == 0:
            return 0
        if self.account_data(who) == _DEFAULT_DATA:
            return amount

        def move(data: AccountData, _is_new: bool) -> tuple[AccountData, int]:
            actual = min(amount, data.reserved)
            free = _checked_add(data.free, actual)
            return dataclasses.replace(data, free=free, reserved=data.reserved - actual), actual

        actual = self._mutate_account(who, move)
        if actual:
            self.deposit_event(Unreserved(who, actual))
        return amount - actual

    def slash_reserved(self, who: bytes, amount: int) -> tuple[int, int]:
        """``ReservableCurrency::slash_reserved``: destroy up to ``amount`` of reserved balance;
        returns ``(slashed, not slashed)``. ``Slashed``."""
        _check_amount(amount)
        if amount == 0 or self.account_data(who) == _DEFAULT_DATA:
            return 0, amount

        def cut(data: AccountData, _is_new: bool) -> tuple[AccountData, int]:
            actual = min(amount, data.reserved)
            return dataclasses.replace(data, reserved=data.reserved - actual), actual

        def apply() -> int:
            actual = self._mutate_account(who, cut)
            self._adjust_issuance(-actual)
            return actual

        actual = with_transaction(apply)
        if actual:
            self.deposit_event(Slashed(who, actual))
        return actual, amount - actual

    def repatriate_reserved(
        self, slashed: bytes, beneficiary: bytes, amount: int, status: BalanceStatus
    ) -> int:
        """``ReservableCurrency::repatriate_reserved``: move up to ``amount`` of ``slashed``'s
        reserved balance to ``beneficiary`` (free or reserved there); returns the part not moved.
        The beneficiary must exist (``DeadAccount``). ``ReserveRepatriated``."""
        _check_amount(amount)
        if amount == 0:
            return 0
        if slashed == beneficiary:
            if status == BalanceStatus.Free:
                return self.unreserve(slashed, amount)
            return amount - min(amount, self.reserved_balance(slashed))
        # Verify the beneficiary exists.
        if self.account_data(beneficiary) == _DEFAULT_DATA:
            raise self.error(Error.DeadAccount)
        actual = min(amount, self.reserved_balance(slashed))

        def credit(data: AccountData, _is_new: bool) -> tuple[AccountData, None]:
            if status == BalanceStatus.Free:
                return dataclasses.replace(data, free=_checked_add(data.free, actual)), None
            return dataclasses.replace(data, reserved=_checked_add(data.reserved, actual)), None

        def debit(data: AccountData, _is_new: bool) -> tuple[AccountData, None]:
            return dataclasses.replace(data, reserved=data.reserved - actual), None

        def apply() -> None:
            self._mutate_account(beneficiary, credit)
            self._mutate_account(slashed, debit)

        with_transaction(apply)
        self.deposit_event(ReserveRepatriated(slashed, beneficiary, actual, status))
        return amount - actual

    # -------------------------------------------------------------------------------- locks

    def set_lock(self, lock_id: bytes, who: bytes, amount: int, reasons: Reasons) -> None:
        """``LockableCurrency::set_lock``: create or replace the lock ``lock_id`` (amount 0 removes
        it). A lock may exceed the balance: then everything is frozen."""
        _check_amount(amount)
        if amount == 0:
            self.remove_lock(lock_id, who)
            return
        new_lock = BalanceLock(bytes(lock_id), amount, reasons)
        locks = self.locks(who)
        if any(lock.id == new_lock.id for lock in locks):
            locks = [new_lock if lock.id == new_lock.id else lock for lock in locks]
        else:
            locks = [*locks, new_lock]
        self._update_locks(who, locks)

    def extend_lock(self, lock_id: bytes, who: bytes, amount: int, reasons: Reasons) -> None:
        """``LockableCurrency::extend_lock``: like ``set_lock`` but never lowers an existing lock
        (larger amount, union of reasons)."""
        _check_amount(amount)
        if amount == 0:
            return
        new_lock = BalanceLock(bytes(lock_id), amount, reasons)
        locks = self.locks(who)
        found = False
        merged = []
        for lock in locks:
            if lock.id == new_lock.id:
                found = True
                union = lock.reasons if lock.reasons == reasons else Reasons.All
                lock = BalanceLock(lock.id, max(lock.amount, amount), union)
            merged.append(lock)
        if not found:
            merged.append(new_lock)
        self._update_locks(who, merged)

    def remove_lock(self, lock_id: bytes, who: bytes) -> None:
        """``LockableCurrency::remove_lock``."""
        locks = [lock for lock in self.locks(who) if lock.id != bytes(lock_id)]
        self._update_locks(who, locks)

    def _update_locks(self, who: bytes, locks: list[BalanceLock]) -> None:
        """Store ``locks`` and set ``frozen`` to their largest amount. ``Locked``/``Unlocked``."""
        # Verify the number of locks stays within MaxLocks.
        if len(locks) > self.config.max_locks:
            raise self.error(Error.TooManyFreezes)
        frozen = max((lock.amount for lock in locks), default=0)

        def freeze(data: AccountData, _is_new: bool) -> tuple[AccountData, int]:
            return dataclasses.replace(data, frozen=frozen), data.frozen

        def apply() -> int:
            previous = self._mutate_account(who, freeze)
            if locks:
                self.Locks.insert(who, locks)
            else:
                self.Locks.remove(who)
            return previous

        previous = with_transaction(apply)
        if frozen > previous:
            self.deposit_event(Locked(who, frozen - previous))
        elif frozen < previous:
            self.deposit_event(Unlocked(who, previous - frozen))

    # --------------------------------------------------------------------------- invariants

    def try_state(self, n: int) -> None:
        """Invariants (``do_try_state`` and the assertions of ``try_mutate_account``):

        * ``TotalIssuance`` equals the sum of ``free + reserved`` over ``System.Account``, and
          ``InactiveIssuance <= TotalIssuance``;
        * every account's free balance is zero, at least the ED, or backed by a reserve;
        * an account with ``free >= ED`` holds a provider reference, one with reserved or frozen
          balance a consumer reference;
        * ``frozen`` equals the largest lock (zero without locks); lock lists are non-empty, within
          ``MaxLocks``, have distinct ids and belong to existing accounts.
        """
        ed = self.config.existential_deposit
        total = 0
        for who, info in self.store.Account.iter():
            data: AccountData = info.data
            total += data.free + data.reserved
            if 0 < data.free < ed and data.reserved == 0:
                raise TryStateError(f"0x{who.hex()}: free {data.free} below ED without reserve")
            if data.free >= ed and info.providers == 0:
                raise TryStateError(f"0x{who.hex()}: free balance without a provider reference")
            if (data.reserved or data.frozen) and info.consumers == 0:
                raise TryStateError(f"0x{who.hex()}: reserved/frozen without a consumer reference")
            lock_max = max((lock.amount for lock in self.locks(who)), default=0)
            if data.frozen != lock_max:
                raise TryStateError(
                    f"0x{who.hex()}: frozen {data.frozen} differs from the largest lock {lock_max}"
                )
        issuance = self.TotalIssuance.get()
        if issuance != total:
            raise TryStateError(f"TotalIssuance {issuance} != sum of balances {total}")
        if self.InactiveIssuance.get() > issuance:
            raise TryStateError("InactiveIssuance exceeds TotalIssuance")
        for who, locks in self.Locks.iter():
            if not locks or len(locks) > self.config.max_locks:
                raise TryStateError(f"0x{who.hex()}: {len(locks)} locks (1..=MaxLocks expected)")
            if len({lock.id for lock in locks}) != len(locks):
                raise TryStateError(f"0x{who.hex()}: duplicate lock ids")
            if self.store.account(who).providers == 0 and self.store.account(who).sufficients == 0:
                raise TryStateError(f"0x{who.hex()}: locks on a dead account")


__all__ = [
    "AccountStore",
    "Balances",
    "BalancesConfig",
    "BalanceSet",
    "Burned",
    "Deposit",
    "DustLost",
    "Endowed",
    "Error",
    "Locked",
    "Minted",
    "ReserveRepatriated",
    "Reserved",
    "Slashed",
    "Transfer",
    "Unlocked",
    "Unreserved",
    "Withdraw",
]
