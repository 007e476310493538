"""Fixtures for the pallet tests.

``balances_env``: the Balances/TransactionPayment mock runtime (tests/pallets/balances_mock.py) with
accounts 1..4 endowed (1: 1000, 2: 2000, 3: 3000, 4: 4000; ED 10), block 1 open so that events are
recorded, and every pallet's ``try_state`` checked when the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pallets.balances_mock import BalancesEnv, account, build_env

#: Genesis balances of the ``balances_env`` fixture.
GENESIS_BALANCES = [
    (account(1), 1_000),
    (account(2), 2_000),
    (account(3), 3_000),
    (account(4), 4_000),
]


@pytest.fixture
def balances_env() -> Iterator[BalancesEnv]:
    env = build_env(GENESIS_BALANCES)
    with env.chain:
        env.chain.start_block()
        yield env
        env.chain.check_try_state()
