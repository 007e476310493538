"""A minimal runtime for framework tests: System plus a ``Demo`` pallet with a call that writes
storage and then fails, so rollback and fee/nonce stickiness can be observed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated

from pychain.frame.dispatch import Origin, ensure_signed
from pychain.frame.executive import Executive
from pychain.frame.ext import TestExternalities
from pychain.frame.extensions import (
    CheckMortality,
    CheckNonce,
    CheckNonZeroSender,
    CheckWeight,
    NoChecks,
)
from pychain.frame.pallet import Pallet, call
from pychain.frame.runtime import Runtime
from pychain.frame.storage import StorageValue
from pychain.frame.weights import Weight
from pychain.pallets.system import AccountData, AccountInfo, System, SystemConfig
from pychain.primitives.extrinsic import STANDARD_EXTENSIONS
from pychain.primitives.runtime_version import RuntimeVersion
from pychain.primitives.scale import U32, Enum, Struct

VERSION = RuntimeVersion("demo", "demo", 1, 7, 1, [], 3, 1)


@dataclass(frozen=True)
class Stored(Struct):
    value: Annotated[int, U32]


class DemoError(enum.IntEnum):
    TooBig = 0
    Unlucky = 3


class Demo(Pallet):
    name = "Demo"
    Value = StorageValue(U32, default=0)
    Event = Enum("Event", {0: Stored})
    Error = DemoError

    @call(index=0, weight=Weight(10_000_000, 0))
    def store(self, origin: Origin, value: Annotated[int, U32]) -> None:
        """Store ``value``; values over 100 are written and then refused (to test rollback)."""
        ensure_signed(origin)
        self.Value.put(value)
        self.deposit_event(Stored(value))
        # Verify the value is small (after writing, so the rollback is observable).
        if value > 100:
            raise self.error(DemoError.TooBig)


def build() -> tuple[Runtime, Executive, System]:
    system = System(SystemConfig(version=VERSION))
    runtime = Runtime([(0, system), (9, Demo())])
    logic = [
        CheckNonZeroSender(),
        NoChecks("CheckSpecVersion"),
        NoChecks("CheckTxVersion"),
        NoChecks("CheckGenesis"),
        CheckMortality(),
        CheckNonce(system),
        CheckWeight(system),
        NoChecks("ChargeTransactionPayment"),
    ]
    return runtime, Executive(runtime, STANDARD_EXTENSIONS, logic), system


def genesis_ext(system: System, accounts: list[bytes]) -> TestExternalities:
    ext = TestExternalities()

    def build_genesis() -> None:
        system.genesis_build()
        for who in accounts:
            system.Account.insert(who, AccountInfo(providers=1, data=AccountData(free=10**15)))

    ext.execute_with(build_genesis)
    ext.commit_all()
    return ext
