"""Tests of the Balances pallet (``pallet_balances``): calls, errors, ED and reaping, reserves,
locks, the Currency interface, genesis (against the node template's real genesis), real encoded
calls, and a stateful property test keeping ``TotalIssuance`` equal to the sum of balances.

Every test using ``balances_env`` runs ``try_state`` of all pallets when it ends.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pychain.frame.dispatch import (
    ArithmeticError,
    DECannotLookup,
    DEConsumerRemaining,
    DENoProviders,
    DispatchError,
    ModuleError,
    Origin,
)
from pychain.frame.pallet import TryStateError
from pychain.frame.testing import assert_noop, assert_ok
from pychain.pallets.balances import (
    MAX_BALANCE,
    BalanceLock,
    Balances,
    BalancesConfig,
    BalancesError,
    BalanceSet,
    BalanceStatus,
    Burned,
    Deposit,
    DustLost,
    Endowed,
    Error,
    GenesisConfigError,
    Locked,
    Minted,
    Reasons,
    Reserved,
    ReserveRepatriated,
    Slashed,
    Transfer,
    Unlocked,
    Unreserved,
    Withdraw,
)
from pychain.pallets.system import AccountInfo, KilledAccount, NewAccount, System, SystemConfig
from pychain.primitives.hashing import storage_prefix
from pychain.primitives.multiaddress import AddressIndex, AddressRaw
from pychain.primitives.runtime_version import RuntimeVersion
from pychain.primitives.scale import U128
from tests.pallets.balances_mock import BALANCES_INDEX, ED, BalancesEnv, account, addr, build_env
from tests.pallets.conftest import GENESIS_BALANCES

A1, A2, A3, A4 = (account(n) for n in (1, 2, 3, 4))
NEW = account(9)
GENESIS_ISSUANCE = sum(amount for _, amount in GENESIS_BALANCES)
LOCK_ID = b"staking "


def signed(who: bytes) -> Origin:
    return Origin.signed(who)


def call(env: BalancesEnv, origin: Origin, name: str, **kwargs: object) -> object:
    return env.chain.call(origin, "Balances", name, **kwargs)


def err(env: BalancesEnv, error: Error) -> DispatchError:
    return env.balances.error(error)


def balances_events(env: BalancesEnv) -> list[object]:
    return [e.event for e in env.chain.events() if e.pallet == "Balances"]


# ----------------------------------------------------------------------------------- transfers


def test_transfer_allow_death_moves_funds_and_emits_transfer(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=300))
    assert env.free(A1) == 700
    assert env.free(A2) == 2_300
    assert env.balances.total_issuance() == GENESIS_ISSUANCE
    env.chain.assert_last_event("Balances", Transfer(A1, A2, 300))


def test_transfer_to_new_account_endows_it_with_a_provider(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(NEW), value=ED))
    info = env.system.account(NEW)
    assert (info.providers, info.data.free) == (1, ED)
    events = [(e.pallet, e.event) for e in env.chain.events()]
    assert events == [
        ("System", NewAccount(NEW)),
        ("Balances", Endowed(NEW, ED)),
        ("Balances", Transfer(A1, NEW, ED)),
    ]


def test_transfer_below_ed_to_new_account_fails_as_noop(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(NEW), value=ED - 1),
        err(env, Error.ExistentialDeposit),
    )
    assert not env.system.account_exists(NEW)


def test_transfer_more_than_free_fails_with_insufficient_balance(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=1_001),
        err(env, Error.InsufficientBalance),
    )


def test_transfer_allow_death_reaps_sender_and_burns_dust(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=995))
    assert not env.system.account_exists(A1)
    assert env.free(A2) == 2_995
    assert env.balances.total_issuance() == GENESIS_ISSUANCE - 5
    events = [(e.pallet, e.event) for e in env.chain.events()]
    assert events == [
        ("System", KilledAccount(A1)),
        ("Balances", DustLost(A1, 5)),
        ("Balances", Transfer(A1, A2, 995)),
    ]


def test_transfer_of_everything_reaps_without_dust(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=1_000))
    assert not env.system.account_exists(A1)
    assert not any(isinstance(e, DustLost) for e in balances_events(env))
    assert env.balances.total_issuance() == GENESIS_ISSUANCE


def test_transfer_keep_alive_refuses_to_reap_sender(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, signed(A1), "transfer_keep_alive", dest=addr(A2), value=991),
        err(env, Error.Expendability),
    )


def test_transfer_keep_alive_leaving_exactly_ed_succeeds(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, signed(A1), "transfer_keep_alive", dest=addr(A2), value=990))
    assert env.free(A1) == ED
    env.chain.assert_last_event("Balances", Transfer(A1, A2, 990))


@pytest.mark.parametrize("name", ["transfer_allow_death", "transfer_keep_alive"])
def test_transfer_from_root_or_none_origin_is_bad_origin(
    balances_env: BalancesEnv, name: str
) -> None:
    env = balances_env
    for origin in (Origin.root(), Origin.none()):
        assert_noop(
            lambda o=origin: call(env, o, name, dest=addr(A2), value=1),  # type: ignore[misc]
            DispatchError.bad_origin(),
        )


@pytest.mark.parametrize("address", [AddressIndex(3), AddressRaw(b"\x01" * 32)])
def test_transfer_to_non_id_address_cannot_lookup(
    balances_env: BalancesEnv, address: object
) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, signed(A1), "transfer_allow_death", dest=address, value=1),
        DispatchError(DECannotLookup()),
    )


def test_transfer_of_zero_or_to_self_changes_nothing(balances_env: BalancesEnv) -> None:
    env = balances_env
    root = env.chain.storage_root()
    assert_ok(lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=0))
    assert_ok(lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A1), value=500))
    assert env.chain.storage_root() == root
    assert balances_events(env) == []


def test_transfer_with_reserve_cannot_drop_last_provider(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.reserve(A1, 5)
    # free 995, reserved 5: sending 990 keeps total >= ED but drops the provider while a
    # consumer (the reserve) remains.
    assert_noop(
        lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=990),
        DispatchError(DEConsumerRemaining()),
    )
    # Below the ED in total the transfer is refused outright: the account cannot die.
    assert_noop(
        lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=995),
        err(env, Error.Expendability),
    )


# -------------------------------------------------------------------------------- transfer_all


def test_transfer_all_allow_death_empties_and_reaps_sender(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, signed(A1), "transfer_all", dest=addr(NEW), keep_alive=False))
    assert not env.system.account_exists(A1)
    assert env.free(NEW) == 1_000
    env.chain.assert_last_event("Balances", Transfer(A1, NEW, 1_000))


def test_transfer_all_keep_alive_leaves_ed(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, signed(A1), "transfer_all", dest=addr(A2), keep_alive=True))
    assert env.free(A1) == ED
    env.chain.assert_last_event("Balances", Transfer(A1, A2, 1_000 - ED))


def test_transfer_all_respects_locks_and_consumers(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.set_lock(LOCK_ID, A1, 300, Reasons.All)
    assert_ok(lambda: call(env, signed(A1), "transfer_all", dest=addr(A2), keep_alive=False))
    # The lock keeps 300 and its consumer reference keeps the account alive.
    assert env.free(A1) == 300
    assert env.free(A2) == 2_700


def test_transfer_all_below_ed_to_new_account_fails(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.set_lock(LOCK_ID, A1, 1_000 - ED + 1, Reasons.All)
    # Only ED - 1 is transferable: not enough to create the destination.
    assert env.balances.reducible_balance(A1, keep_alive=False) == ED - 1
    assert_noop(
        lambda: call(env, signed(A1), "transfer_all", dest=addr(NEW), keep_alive=False),
        err(env, Error.ExistentialDeposit),
    )


def test_transfer_all_unsigned_is_bad_origin(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, Origin.none(), "transfer_all", dest=addr(A2), keep_alive=False),
        DispatchError.bad_origin(),
    )


# ------------------------------------------------------------------------------------ force_*


def test_force_transfer_by_root_moves_funds(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(
        lambda: call(
            env, Origin.root(), "force_transfer", source=addr(A2), dest=addr(A3), value=2_000
        )
    )
    assert not env.system.account_exists(A2)
    assert env.free(A3) == 5_000
    env.chain.assert_last_event("Balances", Transfer(A2, A3, 2_000))


def test_force_transfer_by_signed_origin_is_bad_origin(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, signed(A2), "force_transfer", source=addr(A2), dest=addr(A3), value=1),
        DispatchError.bad_origin(),
    )


def test_force_transfer_bad_source_address_cannot_lookup(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(
            env, Origin.root(), "force_transfer", source=AddressIndex(0), dest=addr(A3), value=1
        ),
        DispatchError(DECannotLookup()),
    )


def test_force_unreserve_by_root_unreserves(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    assert_ok(lambda: call(env, Origin.root(), "force_unreserve", who=addr(A1), amount=150))
    data = env.balances.account_data(A1)
    assert (data.free, data.reserved) == (750, 250)
    env.chain.assert_last_event("Balances", Unreserved(A1, 150))


def test_force_unreserve_by_signed_origin_is_bad_origin(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    assert_noop(
        lambda: call(env, signed(A1), "force_unreserve", who=addr(A1), amount=150),
        DispatchError.bad_origin(),
    )


def test_force_set_balance_raises_and_lowers_issuance(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, Origin.root(), "force_set_balance", who=addr(A1), new_free=5_000))
    assert env.free(A1) == 5_000
    assert env.balances.total_issuance() == GENESIS_ISSUANCE + 4_000
    env.chain.assert_last_event("Balances", BalanceSet(A1, 5_000))
    assert_ok(lambda: call(env, Origin.root(), "force_set_balance", who=addr(A2), new_free=100))
    assert env.balances.total_issuance() == GENESIS_ISSUANCE + 4_000 - 1_900


def test_force_set_balance_below_ed_reaps_account(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, Origin.root(), "force_set_balance", who=addr(A1), new_free=ED - 1))
    assert not env.system.account_exists(A1)
    assert env.balances.total_issuance() == GENESIS_ISSUANCE - 1_000
    env.chain.assert_has_event("System", KilledAccount(A1))
    env.chain.assert_last_event("Balances", BalanceSet(A1, 0))


def test_force_set_balance_creates_new_account(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, Origin.root(), "force_set_balance", who=addr(NEW), new_free=77))
    assert env.system.account(NEW).providers == 1
    env.chain.assert_has_event("Balances", Endowed(NEW, 77))


def test_force_set_balance_overflowing_issuance_fails(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, Origin.root(), "force_set_balance", who=addr(NEW), new_free=MAX_BALANCE),
        DispatchError.arithmetic(ArithmeticError.Overflow),
    )


def test_force_set_balance_by_signed_origin_is_bad_origin(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, signed(A1), "force_set_balance", who=addr(A1), new_free=1),
        DispatchError.bad_origin(),
    )


# --------------------------------------------------------------------------------------- burn


def test_burn_lowers_balance_and_issuance(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_ok(lambda: call(env, signed(A1), "burn", value=400, keep_alive=True))
    assert env.free(A1) == 600
    assert env.balances.total_issuance() == GENESIS_ISSUANCE - 400
    env.chain.assert_last_event("Balances", Burned(A1, 400))


def test_burn_keep_alive_refuses_to_reap(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, signed(A1), "burn", value=995, keep_alive=True),
        err(env, Error.Expendability),
    )
    assert_ok(lambda: call(env, signed(A1), "burn", value=995, keep_alive=False))
    assert not env.system.account_exists(A1)
    assert env.balances.total_issuance() == GENESIS_ISSUANCE - 1_000


def test_burn_by_root_is_bad_origin(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: call(env, Origin.root(), "burn", value=1, keep_alive=True),
        DispatchError.bad_origin(),
    )


# ------------------------------------------------------------------------- currency interface


def test_withdraw_emits_withdraw_and_burns(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.withdraw(A2, 500, Reasons.Fee, keep_alive=True)
    assert env.free(A2) == 1_500
    assert env.balances.total_issuance() == GENESIS_ISSUANCE - 500
    env.chain.assert_last_event("Balances", Withdraw(A2, 500))


def test_withdraw_errors_leave_state_unchanged(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(lambda: env.balances.withdraw(A1, 1_001), err(env, Error.InsufficientBalance))
    assert_noop(
        lambda: env.balances.withdraw(A1, 995, keep_alive=True), err(env, Error.Expendability)
    )
    assert not env.balances.can_withdraw(A1, 995, keep_alive=True)
    assert env.balances.can_withdraw(A1, 995, keep_alive=False)


def test_deposit_into_existing_requires_a_living_account(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(lambda: env.balances.deposit_into_existing(NEW, 100), err(env, Error.DeadAccount))
    env.balances.deposit_into_existing(A1, 100)
    assert env.free(A1) == 1_100
    assert env.balances.total_issuance() == GENESIS_ISSUANCE + 100
    env.chain.assert_last_event("Balances", Deposit(A1, 100))


def test_deposit_creating_below_ed_fails_and_at_ed_creates(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: env.balances.deposit_creating(NEW, ED - 1), err(env, Error.ExistentialDeposit)
    )
    env.balances.deposit_creating(NEW, ED)
    assert env.free(NEW) == ED
    assert balances_events(env)[-2:] == [Endowed(NEW, ED), Deposit(NEW, ED)]


def test_mint_into_overflowing_issuance_fails(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: env.balances.mint_into(NEW, MAX_BALANCE - GENESIS_ISSUANCE + 1),
        DispatchError.arithmetic(ArithmeticError.Overflow),
    )
    env.balances.mint_into(NEW, MAX_BALANCE - GENESIS_ISSUANCE)
    assert env.balances.total_issuance() == MAX_BALANCE
    env.chain.assert_last_event("Balances", Minted(NEW, MAX_BALANCE - GENESIS_ISSUANCE))


def test_amount_outside_u128_is_refused(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: env.balances.withdraw(A1, -1), DispatchError.arithmetic(ArithmeticError.Underflow)
    )
    assert_noop(
        lambda: env.balances.reserve(A1, MAX_BALANCE + 1),
        DispatchError.arithmetic(ArithmeticError.Overflow),
    )


def test_inactive_issuance_saturates_between_zero_and_total(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.deactivate(GENESIS_ISSUANCE + 5)
    assert env.balances.InactiveIssuance.get() == GENESIS_ISSUANCE
    assert env.balances.active_issuance() == 0
    env.balances.reactivate(GENESIS_ISSUANCE + 5)
    assert env.balances.InactiveIssuance.get() == 0


# ------------------------------------------------------------------------------------ reserves


def test_reserve_moves_free_to_reserved_with_a_consumer(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    info = env.system.account(A1)
    assert (info.data.free, info.data.reserved, info.consumers) == (600, 400, 1)
    assert env.balances.total_balance(A1) == 1_000
    env.chain.assert_last_event("Balances", Reserved(A1, 400))


def test_reserve_more_than_free_fails(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert not env.balances.can_reserve(A1, 1_001)
    assert_noop(lambda: env.balances.reserve(A1, 1_001), err(env, Error.InsufficientBalance))


def test_reserve_leaving_free_below_ed_keeps_the_provider(balances_env: BalancesEnv) -> None:
    env = balances_env
    # The reserve's consumer needs the provider that only a free balance >= ED gives.
    assert_noop(lambda: env.balances.reserve(A1, 995), DispatchError(DEConsumerRemaining()))


def test_unreserve_returns_what_was_not_reserved_and_drops_consumer(
    balances_env: BalancesEnv,
) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    assert env.balances.unreserve(A1, 1_000) == 600
    info = env.system.account(A1)
    assert (info.data.free, info.data.reserved, info.consumers) == (1_000, 0, 0)
    env.chain.assert_last_event("Balances", Unreserved(A1, 400))
    assert env.balances.unreserve(NEW, 5) == 5


def test_slash_reserved_burns_up_to_the_reserve(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    assert env.balances.slash_reserved(A1, 500) == (400, 100)
    assert env.balances.total_issuance() == GENESIS_ISSUANCE - 400
    assert env.balances.reserved_balance(A1) == 0
    env.chain.assert_last_event("Balances", Slashed(A1, 400))
    assert env.balances.slash_reserved(NEW, 5) == (0, 5)


@pytest.mark.parametrize("status", [BalanceStatus.Free, BalanceStatus.Reserved])
def test_repatriate_reserved_moves_to_beneficiary(
    balances_env: BalancesEnv, status: BalanceStatus
) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    assert env.balances.repatriate_reserved(A1, A2, 500, status) == 100
    beneficiary = env.balances.account_data(A2)
    moved = (beneficiary.free - 2_000, beneficiary.reserved)
    assert moved == ((400, 0) if status == BalanceStatus.Free else (0, 400))
    assert env.balances.reserved_balance(A1) == 0
    assert env.balances.total_issuance() == GENESIS_ISSUANCE
    env.chain.assert_last_event("Balances", ReserveRepatriated(A1, A2, 400, status))


def test_repatriate_reserved_to_dead_account_fails(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    assert_noop(
        lambda: env.balances.repatriate_reserved(A1, NEW, 100, BalanceStatus.Free),
        err(env, Error.DeadAccount),
    )


def test_repatriate_reserved_to_self_unreserves(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    assert env.balances.repatriate_reserved(A1, A1, 100, BalanceStatus.Reserved) == 0
    assert env.balances.repatriate_reserved(A1, A1, 100, BalanceStatus.Free) == 0
    assert env.balances.reserved_balance(A1) == 300


# --------------------------------------------------------------------------------------- locks


def test_set_lock_freezes_and_restricts_transfers(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.set_lock(LOCK_ID, A1, 600, Reasons.All)
    assert env.balances.account_data(A1).frozen == 600
    assert env.system.account(A1).consumers == 1
    env.chain.assert_last_event("Balances", Locked(A1, 600))
    assert_noop(
        lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=401),
        err(env, Error.LiquidityRestrictions),
    )
    assert_ok(lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=400))


def test_frozen_is_the_largest_lock_and_remove_unlocks(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.set_lock(b"lock-one", A1, 300, Reasons.All)
    env.balances.set_lock(b"lock-two", A1, 500, Reasons.Misc)
    assert env.balances.account_data(A1).frozen == 500
    env.balances.remove_lock(b"lock-two", A1)
    assert env.balances.account_data(A1).frozen == 300
    env.chain.assert_last_event("Balances", Unlocked(A1, 200))
    env.balances.set_lock(b"lock-one", A1, 0, Reasons.All)
    assert env.balances.Locks.get(A1) == []
    assert not env.balances.Locks.contains_key(A1)
    assert env.system.account(A1).consumers == 0


def test_set_lock_replaces_and_extend_lock_never_lowers(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.set_lock(LOCK_ID, A1, 500, Reasons.Fee)
    env.balances.set_lock(LOCK_ID, A1, 200, Reasons.Fee)
    assert env.balances.locks(A1) == [BalanceLock(LOCK_ID, 200, Reasons.Fee)]
    env.balances.extend_lock(LOCK_ID, A1, 100, Reasons.Misc)
    assert env.balances.locks(A1) == [BalanceLock(LOCK_ID, 200, Reasons.All)]
    env.balances.extend_lock(b"other   ", A1, 50, Reasons.Misc)
    assert len(env.balances.locks(A1)) == 2


def test_lock_reasons_select_restricted_withdrawals(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.set_lock(LOCK_ID, A1, 900, Reasons.Fee)
    # A fee-only lock does not restrict transfers ...
    assert env.balances.can_withdraw(A1, 500, reason=Reasons.Misc)
    # ... but does restrict fee payment.
    assert not env.balances.can_withdraw(A1, 500, reason=Reasons.Fee)
    assert_noop(
        lambda: env.balances.withdraw(A1, 500, Reasons.Fee), err(env, Error.LiquidityRestrictions)
    )


def test_lock_counts_reserved_funds(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.reserve(A1, 400)
    env.balances.set_lock(LOCK_ID, A1, 500, Reasons.All)
    # frozen 500 covers the 400 reserved plus 100 of free balance.
    assert env.balances.reducible_balance(A1, keep_alive=False) == 500
    assert_ok(lambda: call(env, signed(A1), "transfer_allow_death", dest=addr(A2), value=500))


def test_too_many_locks_fail_with_too_many_freezes(balances_env: BalancesEnv) -> None:
    env = balances_env
    for i in range(env.balances.config.max_locks):
        env.balances.set_lock(bytes([i]) * 8, A1, 10 + i, Reasons.All)
    assert_noop(
        lambda: env.balances.set_lock(b"overflow", A1, 5, Reasons.All),
        err(env, Error.TooManyFreezes),
    )


def test_lock_on_dead_account_fails_with_no_providers(balances_env: BalancesEnv) -> None:
    env = balances_env
    assert_noop(
        lambda: env.balances.set_lock(LOCK_ID, NEW, 5, Reasons.All), DispatchError(DENoProviders())
    )


# ------------------------------------------------------------------------------ genesis, misc


def test_genesis_endows_accounts_with_one_provider_and_sets_issuance(
    balances_env: BalancesEnv,
) -> None:
    env = balances_env
    for who, amount in GENESIS_BALANCES:
        info = env.system.account(who)
        assert (info.providers, info.consumers, info.data.free) == (1, 0, amount)
    assert env.balances.total_issuance() == GENESIS_ISSUANCE


@pytest.mark.parametrize(
    "balances",
    [
        [(account(1), 100), (account(1), 100)],
        [(account(1), ED - 1)],
        [(account(1), MAX_BALANCE), (account(2), ED)],
        [(b"short", 100)],
    ],
)
def test_genesis_with_invalid_balances_is_refused(balances: list[tuple[bytes, int]]) -> None:
    with pytest.raises(GenesisConfigError):
        build_env(balances)


def test_genesis_matches_node_template_spec(vectors: Path) -> None:
    """Building genesis with the node template's endowed accounts gives its System.Account
    entries (flags aside: that runtime predates the new-logic bit) and its TotalIssuance bytes."""
    spec = json.loads((vectors / "chainspecs" / "substrate-node-template.json").read_text())
    top = {
        bytes.fromhex(k[2:]): bytes.fromhex(v[2:]) for k, v in spec["genesis"]["raw"]["top"].items()
    }
    account_prefix = storage_prefix("System", "Account")
    expected = {
        key[len(account_prefix) + 16 :]: AccountInfo.decode(value)
        for key, value in top.items()
        if key.startswith(account_prefix)
    }
    assert len(expected) == 12
    env = build_env([(who, info.data.free) for who, info in sorted(expected.items())], 500)
    with env.chain:
        for who, want in expected.items():
            got = env.system.account(who)
            assert (got.nonce, got.consumers, got.providers, got.sufficients) == (
                want.nonce,
                want.consumers,
                want.providers,
                want.sufficients,
            )
            assert (got.data.free, got.data.reserved, got.data.frozen) == (
                want.data.free,
                want.data.reserved,
                want.data.frozen,
            )
        issuance_key = storage_prefix("Balances", "TotalIssuance")
        assert U128.encode(env.balances.TotalIssuance.get()) == top[issuance_key]
        env.chain.check_try_state()


@pytest.mark.parametrize(
    ("file", "call_field", "name"),
    [
        (
            "py_substrate_interface_1.8.1_node_template_transfers.json",
            ("call", "encoded"),
            "transfer_allow_death",
        ),
        (
            "polkadot_js_16.5.6_polkadot1002005_transfers.json",
            ("call_encoded",),
            "transfer_keep_alive",
        ),
    ],
)
def test_real_encoded_transfer_calls_decode_and_reencode(
    vectors: Path, file: str, call_field: tuple[str, ...], name: str
) -> None:
    data = json.loads((vectors / "extrinsics" / file).read_text())
    value: object = data
    for part in call_field:
        value = value[part]  # type: ignore[index]
    encoded = bytes.fromhex(str(value)[2:])
    env = build_env([])
    decoded = env.runtime.decode_call(encoded)
    bob = bytes.fromhex("8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48")
    assert (decoded.pallet, decoded.name) == ("Balances", name)
    assert decoded.args == (addr(bob), 10**12)
    assert env.runtime.encode_call(decoded) == encoded


def test_constants_expose_ed_and_limits(balances_env: BalancesEnv) -> None:
    constants = {c.name: c for c in balances_env.balances.constants()}
    assert constants["ExistentialDeposit"].value == ED
    assert constants["ExistentialDeposit"].codec.encode(ED) == ED.to_bytes(16, "little")
    assert constants["MaxLocks"].value == balances_env.balances.config.max_locks
    assert "MaxReserves" in constants


def test_zero_existential_deposit_fails_integrity_test() -> None:
    system = System(SystemConfig(version=RuntimeVersion("t", "t", 1, 1, 1, [], 1, 1)))
    with pytest.raises(BalancesError):
        Balances(BalancesConfig(account_store=system, existential_deposit=0)).integrity_test()


def test_event_and_error_indices_are_frame_s(balances_env: BalancesEnv) -> None:
    event_codec = Balances.Event
    assert event_codec is not None
    assert event_codec.encode(Transfer(A1, A2, 5))[0] == 2
    assert event_codec.encode(DustLost(A1, 5))[0] == 1
    assert event_codec.encode(Withdraw(A1, 5))[0] == 8
    assert (Error.InsufficientBalance, Error.Expendability, Error.DeltaZero) == (2, 4, 11)
    error = err(balances_env, Error.InsufficientBalance)
    assert error.encode() == bytes([3, 5, 2, 0, 0, 0])
    assert [c.index for c in Balances.get_calls().values()] == [0, 2, 3, 4, 5, 8, 10]


def test_try_state_detects_issuance_mismatch(balances_env: BalancesEnv) -> None:
    env = balances_env
    env.balances.TotalIssuance.put(GENESIS_ISSUANCE + 1)
    with pytest.raises(TryStateError, match="TotalIssuance"):
        env.balances.try_state(1)
    env.balances.TotalIssuance.put(GENESIS_ISSUANCE)


def test_try_state_detects_frozen_without_lock(balances_env: BalancesEnv) -> None:
    env = balances_env
    data = env.balances.account_data(A1)
    env.system.mutate_account_data(A1, type(data)(data.free, data.reserved, 5, data.flags))
    with pytest.raises(TryStateError):
        env.balances.try_state(1)
    env.system.mutate_account_data(A1, data)


# ------------------------------------------------------------------------------- property test

AMOUNTS = st.integers(min_value=0, max_value=3_000) | st.integers(min_value=985, max_value=1_000)
ACCOUNTS = st.integers(min_value=1, max_value=5)


class BalancesMachine(RuleBasedStateMachine):
    """Random transfers, reserves and locks: ``TotalIssuance`` always equals the sum of balances
    (``try_state``), and it only ever falls by the dust that ``DustLost`` reports."""

    def __init__(self) -> None:
        super().__init__()
        self.env = build_env(GENESIS_BALANCES)
        self._ctx = self.env.chain
        self._ctx.__enter__()
        self.env.chain.start_block()
        self.expected_issuance = GENESIS_ISSUANCE
        self.seen_events = 0

    def _run(self, fn: object) -> None:
        try:
            fn()  # type: ignore[operator]
        except DispatchError as exc:
            # Only the pallet's own refusals and System's reference-count refusals are expected.
            assert isinstance(exc.value, ModuleError | DEConsumerRemaining | DENoProviders), exc
            assert not isinstance(exc.value, ModuleError) or exc.value.index == BALANCES_INDEX
        events = self.env.chain.events()
        for record in events[self.seen_events :]:
            if isinstance(record.event, DustLost):
                self.expected_issuance -= record.event.amount
        self.seen_events = len(events)

    @rule(src=ACCOUNTS, dst=ACCOUNTS, value=AMOUNTS, keep_alive=st.booleans())
    def transfer(self, src: int, dst: int, value: int, keep_alive: bool) -> None:
        name = "transfer_keep_alive" if keep_alive else "transfer_allow_death"
        self._run(
            lambda: call(self.env, signed(account(src)), name, dest=addr(account(dst)), value=value)
        )

    @rule(src=ACCOUNTS, dst=ACCOUNTS, keep_alive=st.booleans())
    def transfer_all(self, src: int, dst: int, keep_alive: bool) -> None:
        self._run(
            lambda: call(
                self.env,
                signed(account(src)),
                "transfer_all",
                dest=addr(account(dst)),
                keep_alive=keep_alive,
            )
        )

    @rule(who=ACCOUNTS, value=AMOUNTS)
    def reserve(self, who: int, value: int) -> None:
        self._run(lambda: self.env.balances.reserve(account(who), value))

    @rule(who=ACCOUNTS, value=AMOUNTS)
    def unreserve(self, who: int, value: int) -> None:
        self._run(lambda: self.env.balances.unreserve(account(who), value))

    @rule(who=ACCOUNTS, value=AMOUNTS)
    def lock(self, who: int, value: int) -> None:
        self._run(lambda: self.env.balances.set_lock(LOCK_ID, account(who), value, Reasons.All))

    @invariant()
    def issuance_is_sum_of_balances(self) -> None:
        self.env.chain.check_try_state()
        total = sum(info.data.total for _, info in self.env.system.Account.iter())
        assert self.env.balances.total_issuance() == total == self.expected_issuance

    def teardown(self) -> None:
        self._ctx.__exit__(None, None, None)


BalancesMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_operations_keep_issuance_equal_to_balances = BalancesMachine.TestCase
