"""A small test runtime for the Balances and TransactionPayment tests: System (0), Balances (5),
TransactionPayment (6), the standard signed extensions, in-memory state.

Like a FRAME pallet's ``mock.rs``: ``new_test_ext``-style genesis with endowed accounts, the
executive for signed extrinsics, and short helpers. Balances sits at index 5 (as in the Polkadot
runtime and the node template of the shared vectors) so real encoded transfer calls decode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from pychain.frame.executive import Executive
from pychain.frame.ext import TestExternalities
from pychain.frame.extensions import (
    CheckMortality,
    CheckNonce,
    CheckNonZeroSender,
    CheckWeight,
    ExtensionLogic,
    NoChecks,
)
from pychain.frame.runtime import Runtime
from pychain.frame.testing import TestChain
from pychain.frame.weights import FeeModel
from pychain.pallets.balances import Balances, BalancesConfig, BalancesGenesis
from pychain.pallets.system import GENESIS_BLOCK_HASH_PLACEHOLDER, System, SystemConfig
from pychain.pallets.transaction_payment import (
    ChargeTransactionPayment,
    TransactionPayment,
    TransactionPaymentConfig,
)
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import STANDARD_EXTENSIONS, sign_extrinsic
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.primitives.runtime_version import RuntimeVersion

#: Existential deposit of the mock (small, so dust and reaping are easy to reach).
ED = 10
BALANCES_INDEX = 5
PAYMENT_INDEX = 6
SPEC_VERSION = 100
TX_VERSION = 1


def account(n: int) -> bytes:
    """A plain 32-byte account id for calls dispatched with explicit origins."""
    return bytes([n]) * 32


def addr(who: bytes) -> AddressId:
    """``MultiAddress::Id(who)``."""
    return AddressId(who)


@dataclass
class BalancesEnv:
    """The mock runtime, its pallets and a :class:`TestChain` over its genesis state."""

    runtime: Runtime
    executive: Executive
    system: System
    balances: Balances
    payment: TransactionPayment
    chain: TestChain

    @property
    def genesis_hash(self) -> bytes:
        hash_: bytes = self.system.BlockHash.get(0)
        return hash_

    def free(self, who: bytes) -> int:
        return self.balances.free_balance(who)

    def sign(self, keypair: Keypair, call: object, nonce: int, tip: int = 0) -> bytes:
        """An immortal signed extrinsic of ``call`` (a RuntimeCall) for this chain."""
        encoded = self.runtime.encode_call(call)  # type: ignore[arg-type]
        return sign_extrinsic(
            keypair, encoded, nonce, Era(), tip, self.genesis_hash, SPEC_VERSION, TX_VERSION
        )


def build_env(
    endowed: Sequence[tuple[bytes, int]],
    existential_deposit: int = ED,
    fee_model: FeeModel | None = None,
    max_locks: int = 4,
    genesis_hash: bytes = GENESIS_BLOCK_HASH_PLACEHOLDER,
    nonces: Sequence[tuple[bytes, int]] = (),
) -> BalancesEnv:
    """Build the runtime and its genesis (``endowed`` balances; optional nonces for accounts)."""
    version = RuntimeVersion("pychain-test", "pychain-test", 1, SPEC_VERSION, 1, [], TX_VERSION, 1)
    system = System(SystemConfig(version=version))
    balances = Balances(
        BalancesConfig(
            account_store=system, existential_deposit=existential_deposit, max_locks=max_locks
        )
    )
    payment = TransactionPayment(
        TransactionPaymentConfig(currency=balances, fee_model=fee_model or FeeModel())
    )
    runtime = Runtime([(0, system), (BALANCES_INDEX, balances), (PAYMENT_INDEX, payment)])
    logic: list[ExtensionLogic] = [
        CheckNonZeroSender(),
        NoChecks("CheckSpecVersion"),
        NoChecks("CheckTxVersion"),
        NoChecks("CheckGenesis"),
        CheckMortality(),
        CheckNonce(system),
        CheckWeight(system),
        ChargeTransactionPayment(payment),
    ]
    executive = Executive(runtime, STANDARD_EXTENSIONS, logic)
    ext = TestExternalities()

    def genesis() -> None:
        system.genesis_build()
        system.BlockHash.insert(0, genesis_hash)
        balances.genesis_build(BalancesGenesis(list(endowed)))
        payment.genesis_build()
        for who, nonce in nonces:
            info = system.account(who)
            system.Account.insert(who, dataclasses.replace(info, nonce=nonce))

    ext.execute_with(genesis)
    ext.commit_all()
    chain = TestChain(runtime, executive, ext)
    return BalancesEnv(runtime, executive, system, balances, payment, chain)
