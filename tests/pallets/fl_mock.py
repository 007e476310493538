"""A test runtime for the FederatedLearning pallet: System (0), Balances (5), FederatedLearning (8),
in-memory state, accounts endowed in genesis.

Like a FRAME pallet's ``mock.rs``: ``build_fl_env`` builds the runtime and its genesis, and the
helpers make task parameters, descriptors and updates short to write. FederatedLearning sits at
index 8, where ``pychain/runtime.py`` is to put it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pychain.frame.dispatch import Origin
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
from pychain.pallets.balances import Balances, BalancesConfig, BalancesGenesis
from pychain.pallets.federated_learning import (
    FederatedLearning,
    FederatedLearningConfig,
    Mean,
    ModelDescriptor,
    TaskParams,
    Weighting,
)
from pychain.pallets.system import GENESIS_BLOCK_HASH_PLACEHOLDER, System, SystemConfig
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import STANDARD_EXTENSIONS, sign_extrinsic
from pychain.primitives.keys import Keypair
from pychain.primitives.runtime_version import RuntimeVersion

ED = 1
SPEC_VERSION = 100
TX_VERSION = 1
BALANCES_INDEX = 5
FL_INDEX = 8
#: Genesis balance of every endowed account.
ENDOWMENT = 10**12
OWNER = bytes([0xAA]) * 32


def account(n: int) -> bytes:
    """A plain 32-byte account id; contributors are 1..N."""
    return bytes([n]) * 32


def signed(who: bytes) -> Origin:
    return Origin.signed(who)


def descriptor(d: int) -> ModelDescriptor:
    """A one-layer model of ``d`` parameters (``[d]``)."""
    return ModelDescriptor(b"linear", [[d]], d)


def params(**overrides: Any) -> TaskParams:
    """Task parameters with small defaults: mean, stake weighting, 3 rounds of 4 blocks, bound
    1000, 3 participants minimum, no commit-reveal, no outlier threshold, no slashing."""
    base = TaskParams(
        min_stake=100,
        rule=Mean(),
        weighting=Weighting.Stake,
        rounds=3,
        round_length=4,
        scale_bits=16,
        bound=1000,
        min_participants=3,
        commit_reveal=False,
        outlier_threshold=0,
        max_strikes=0,
        slash_fraction=0,
    )
    return replace(base, **overrides)


def vec(values: Sequence[int]) -> NDArray[np.int32]:
    return np.asarray(values, dtype=np.int32)


@dataclass
class FLEnv:
    """The mock runtime, its pallets and a :class:`TestChain` over its genesis state."""

    runtime: Runtime
    system: System
    balances: Balances
    fl: FederatedLearning
    chain: TestChain

    def call(self, who: bytes, name: str, **kwargs: Any) -> Any:
        return self.chain.call(signed(who), "FederatedLearning", name, **kwargs)

    def sign(self, keypair: Keypair, name: str, nonce: int, **kwargs: Any) -> bytes:
        """An immortal signed extrinsic calling ``FederatedLearning.name(**kwargs)``."""
        call = self.runtime.make_call("FederatedLearning", name, **kwargs)
        genesis_hash: bytes = self.system.BlockHash.get(0)
        return sign_extrinsic(
            keypair,
            self.runtime.encode_call(call),
            nonce,
            Era(),
            0,
            genesis_hash,
            SPEC_VERSION,
            TX_VERSION,
        )

    def free(self, who: bytes) -> int:
        return self.balances.free_balance(who)

    def reserved(self, who: bytes) -> int:
        return self.balances.reserved_balance(who)

    def fl_events(self) -> list[Any]:
        return [e.event for e in self.chain.events() if e.pallet == "FederatedLearning"]

    def create_task(
        self,
        d: int = 4,
        pool: int = 9_000,
        owner: bytes = OWNER,
        initial: Sequence[int] | None = None,
        **overrides: Any,
    ) -> int:
        task_id: int = self.fl.NextTaskId.get()
        model = vec(initial if initial is not None else [0] * d)
        self.call(
            owner,
            "create_task",
            descriptor=descriptor(d),
            initial_model=model,
            reward_pool=pool,
            params=params(**overrides),
        )
        return task_id

    def join(self, task: int, who: bytes, stake: int = 1_000) -> None:
        self.call(who, "join_task", task=task, stake=stake)

    def submit(self, task: int, who: bytes, update: Sequence[int], samples: int = 10) -> None:
        state = self.fl.RoundState.get(task)
        self.call(
            who,
            "submit_update",
            task=task,
            round=state.round,
            update=vec(update),
            num_samples=samples,
        )

    def run_to(self, n: int) -> None:
        self.chain.run_to_block(n)

    def round_end(self, task: int) -> int:
        end: int = self.fl.RoundState.get(task).end
        return end

    def close_round(self, task: int) -> list[Any]:
        """Run blocks until the open round of ``task`` has closed; returns the pallet's events of
        the closing block (deposited by ``on_finalize``) and leaves the next block open."""
        self.run_to(self.round_end(task))
        self.chain.finish_block()
        events = self.fl_events()
        self.chain.start_block()
        return events


def build_fl_env(endowed: Sequence[bytes], max_participants: int = 16) -> FLEnv:
    """Build the runtime and its genesis (every account in ``endowed`` gets ``ENDOWMENT``)."""
    version = RuntimeVersion("pychain-test", "pychain-test", 1, SPEC_VERSION, 1, [], TX_VERSION, 1)
    system = System(SystemConfig(version=version))
    balances = Balances(BalancesConfig(account_store=system, existential_deposit=ED))
    fl = FederatedLearning(
        FederatedLearningConfig(currency=balances, max_participants=max_participants)
    )
    runtime = Runtime([(0, system), (BALANCES_INDEX, balances), (FL_INDEX, fl)])
    logic: list[ExtensionLogic] = [
        CheckNonZeroSender(),
        NoChecks("CheckSpecVersion"),
        NoChecks("CheckTxVersion"),
        NoChecks("CheckGenesis"),
        CheckMortality(),
        CheckNonce(system),
        CheckWeight(system),
        NoChecks("ChargeTransactionPayment"),
    ]
    executive = Executive(runtime, STANDARD_EXTENSIONS, logic)
    ext = TestExternalities()

    def genesis() -> None:
        system.genesis_build()
        system.BlockHash.insert(0, GENESIS_BLOCK_HASH_PLACEHOLDER)
        balances.genesis_build(BalancesGenesis([(who, ENDOWMENT) for who in endowed]))

    ext.execute_with(genesis)
    ext.commit_all()
    return FLEnv(runtime, system, balances, fl, TestChain(runtime, executive, ext))
