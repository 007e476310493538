"""The pychain runtime: the pallet table, the runtime version, the signed extensions and genesis.

Counterpart: the Substrate node template's ``runtime/src/lib.rs`` (``construct_runtime!`` with
``System 0, Timestamp 1, Aura 2, Grandpa 3, Balances 4, TransactionPayment 5, Sudo 6``; indices
7 and up are left for the federated-learning pallets), its ``VERSION`` and
``SignedExtra``, and the ``GenesisBuilder`` runtime API (``build_state``: genesis storage from a
``RuntimeGenesisConfig``).

``:code``. A Substrate chain keeps its wasm runtime at ``:code``; pychain's runtime is Python, so
genesis stores a *descriptor* instead: a wasm binary made only of custom sections (no code), i.e.
the wasm magic followed by

* ``runtime_version``: the SCALE ``RuntimeVersion`` (as ``#[sp_version::runtime_version]`` embeds
  it), so tools that read the embedded version (``chain-spec hash``, smoldot) find spec name and
  version and pick the trie layout (``state_version`` 1) without running anything;
* ``runtime_apis``: the API ids and versions (12-byte entries, as ``sp_api`` embeds them);
* ``pychain_runtime``: the JSON of :class:`RuntimeConfig` (slot duration, existential deposit,
  fee model…), which a wasm runtime would have compiled in as constants.

Two chains whose runtimes differ (version or constants) therefore have different genesis hashes,
and :func:`runtime_config_from_code` recovers the configuration from genesis storage (a raw chain
spec) alone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pychain.errors import PychainError
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
from pychain.frame.weights import FeeModel
from pychain.pallets.aura import Aura, AuraConfig, AuraGenesisConfig
from pychain.pallets.balances import Balances, BalancesConfig, BalancesGenesis
from pychain.pallets.federated_learning import FederatedLearning, FederatedLearningConfig
from pychain.pallets.grandpa import Grandpa, GrandpaConfig, GrandpaGenesisConfig
from pychain.pallets.sudo import Sudo, SudoGenesisConfig
from pychain.pallets.system import System, SystemConfig
from pychain.pallets.timestamp import Timestamp, TimestampConfig
from pychain.pallets.transaction_payment import (
    ChargeTransactionPayment,
    TransactionPayment,
    TransactionPaymentConfig,
    TransactionPaymentGenesis,
)
from pychain.primitives.consensus_logs import AURA_ENGINE_ID
from pychain.primitives.extrinsic import STANDARD_EXTENSIONS, UncheckedExtrinsic
from pychain.primitives.hashing import blake2_64
from pychain.primitives.header import PreRuntime
from pychain.primitives.runtime_version import (
    WASM_MAGIC,
    RuntimeVersion,
    wasm_custom_sections,
)
from pychain.primitives.scale import U64

__all__ = [
    "CODE_KEY",
    "EXISTENTIAL_DEPOSIT",
    "PALLET_INDICES",
    "RUNTIME_API_VERSIONS",
    "RuntimeConfigError",
    "RuntimeConfig",
    "RuntimeGenesisConfig",
    "PychainRuntime",
    "UNIT",
    "VERSION",
    "build_runtime",
    "build_genesis_storage",
    "runtime_code",
    "runtime_config_from_code",
]

#: ``sp_core::storage::well_known_keys::CODE``.
CODE_KEY = b":code"

#: One token (12 decimals, as the node template's ``UNIT``).
UNIT = 10**12
#: ``EXISTENTIAL_DEPOSIT = MILLI_UNIT`` (node template).
EXISTENTIAL_DEPOSIT = UNIT // 1000

#: ``construct_runtime!`` indices, frozen (7+ reserved for the federated-learning pallets).
PALLET_INDICES: Mapping[str, int] = {
    "System": 0,
    "Timestamp": 1,
    "Aura": 2,
    "Grandpa": 3,
    "Balances": 4,
    "TransactionPayment": 5,
    "Sudo": 6,
    "FederatedLearning": 8,
}

#: ``RUNTIME_API_VERSIONS``: (name, version) of every runtime API the node exposes.
RUNTIME_API_VERSIONS: tuple[tuple[str, int], ...] = (
    ("Core", 4),
    ("Metadata", 1),
    ("BlockBuilder", 6),
    ("TaggedTransactionQueue", 3),
    ("OffchainWorkerApi", 2),
    ("AuraApi", 1),
    ("GrandpaApi", 3),
    ("AccountNonceApi", 1),
    ("TransactionPaymentApi", 4),
    ("SessionKeys", 1),
)

#: ``VERSION``: the runtime version (``state_version`` 1: trie layout V1).
VERSION = RuntimeVersion(
    spec_name="pychain",
    impl_name="pychain-node",
    authoring_version=1,
    spec_version=100,
    impl_version=1,
    apis=tuple((blake2_64(name.encode()), version) for name, version in RUNTIME_API_VERSIONS),
    transaction_version=1,
    state_version=1,
)

#: Name of the wasm custom section holding the :class:`RuntimeConfig` JSON.
CONFIG_SECTION = "pychain_runtime"


class RuntimeConfigError(PychainError):
    """A runtime configuration, genesis configuration or ``:code`` descriptor is invalid."""


# --------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class RuntimeConfig:
    """The runtime's constants (what a wasm runtime compiles in); carried in ``:code``.

    ``slot_duration`` is Aura's ``SlotDuration`` in ms (Timestamp's ``MinimumPeriod`` is half
    of it); ``existential_deposit`` is Balances' ``ExistentialDeposit``.
    """

    slot_duration: int = 1000
    existential_deposit: int = EXISTENTIAL_DEPOSIT
    fee_model: FeeModel = field(default_factory=FeeModel)
    block_hash_count: int = 2400
    ss58_prefix: int = 42
    max_authorities: int = 32

    def __post_init__(self) -> None:
        # Verify every constant is in range (a bad chain spec must not build a runtime).
        if self.slot_duration < 2:
            raise RuntimeConfigError(f"slot duration {self.slot_duration} ms is below 2 ms")
        if self.existential_deposit <= 0:
            raise RuntimeConfigError("the existential deposit must be positive")
        if self.block_hash_count <= 0 or self.max_authorities <= 0:
            raise RuntimeConfigError("block_hash_count and max_authorities must be positive")
        if not 0 <= self.ss58_prefix < 16384:
            raise RuntimeConfigError(f"SS58 prefix {self.ss58_prefix} is out of range")

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        return data

    @classmethod
    def from_json(cls, data: Any) -> RuntimeConfig:
        """Parse :meth:`to_json` output; unknown keys or wrong types are a typed error."""
        if not isinstance(data, dict):
            raise RuntimeConfigError("runtime config: expected a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RuntimeConfigError(f"runtime config: unknown field(s) {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "fee_model":
                values[name] = _fee_model_from_json(value)
            else:
                values[name] = _json_int(value, f"runtime config {name}")
        return cls(**values)


def _json_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuntimeConfigError(f"{where}: expected an integer, got {value!r:.40}")
    return value


def _fee_model_from_json(data: Any) -> FeeModel:
    if not isinstance(data, dict):
        raise RuntimeConfigError("runtime config fee_model: expected a JSON object")
    known = {f.name for f in dataclasses.fields(FeeModel)}
    if set(data) - known:
        raise RuntimeConfigError(f"runtime config fee_model: unknown {sorted(set(data) - known)}")
    values = {k: _json_int(v, f"fee_model {k}") for k, v in data.items()}
    if values.get("weight_fee_denominator", 1) <= 0:
        raise RuntimeConfigError("fee_model weight_fee_denominator must be positive")
    if any(v < 0 for v in values.values()):
        raise RuntimeConfigError("fee_model values must not be negative")
    return FeeModel(**values)


# ------------------------------------------------------------------------------------- genesis


@dataclass(frozen=True)
class RuntimeGenesisConfig:
    """``RuntimeGenesisConfig``: every pallet's genesis config (``build_state`` input)."""

    aura: AuraGenesisConfig = field(default_factory=AuraGenesisConfig)
    grandpa: GrandpaGenesisConfig = field(default_factory=GrandpaGenesisConfig)
    balances: BalancesGenesis = field(default_factory=BalancesGenesis)
    transaction_payment: TransactionPaymentGenesis = field(
        default_factory=TransactionPaymentGenesis
    )
    sudo: SudoGenesisConfig = field(default_factory=SudoGenesisConfig)


# ---------------------------------------------------------------------------------------- :code


def _custom_section(name: str, payload: bytes) -> bytes:
    encoded_name = name.encode()
    body = _leb128(len(encoded_name)) + encoded_name + payload
    return b"\x00" + _leb128(len(body)) + body


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def runtime_code(config: RuntimeConfig, version: RuntimeVersion = VERSION) -> bytes:
    """The ``:code`` descriptor: a wasm module of custom sections (see the module docstring)."""
    embedded = dataclasses.replace(version, apis=())
    apis = b"".join(api_id + v.to_bytes(4, "little") for api_id, v in version.apis)
    config_json = json.dumps(config.to_json(), sort_keys=True, separators=(",", ":")).encode()
    return (
        WASM_MAGIC
        + _custom_section("runtime_version", embedded.encode())
        + _custom_section("runtime_apis", apis)
        + _custom_section(CONFIG_SECTION, config_json)
    )


def runtime_config_from_code(code: bytes) -> RuntimeConfig:
    """The :class:`RuntimeConfig` carried by a ``:code`` descriptor; typed error if absent."""
    try:
        sections = wasm_custom_sections(code)
    except PychainError as exc:
        raise RuntimeConfigError(f":code: {exc}") from None
    if sections is None or CONFIG_SECTION not in sections:
        raise RuntimeConfigError(":code is not a pychain runtime descriptor")
    try:
        data = json.loads(sections[CONFIG_SECTION])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RuntimeConfigError(f":code: bad {CONFIG_SECTION} section: {exc}") from None
    return RuntimeConfig.from_json(data)


# -------------------------------------------------------------------------------------- runtime


class PychainRuntime:
    """The assembled runtime: pallets (as attributes), the ``Runtime`` table and the executive.

    Pallets are wired through their configs: Timestamp tells Aura the time, Balances keeps its
    account data in System, TransactionPayment charges through Balances.
    """

    def __init__(self, config: RuntimeConfig | None = None) -> None:
        self.config = config or RuntimeConfig()
        cfg = self.config
        self.system = System(
            SystemConfig(
                version=VERSION,
                block_hash_count=cfg.block_hash_count,
                ss58_prefix=cfg.ss58_prefix,
                state_version=VERSION.state_version,
            )
        )
        self.aura = Aura(AuraConfig(cfg.slot_duration, max_authorities=cfg.max_authorities))
        self.timestamp = Timestamp(
            TimestampConfig(minimum_period=cfg.slot_duration // 2, on_timestamp_set=(self.aura,))
        )
        self.grandpa = Grandpa(GrandpaConfig(max_authorities=cfg.max_authorities))
        self.balances = Balances(
            BalancesConfig(account_store=self.system, existential_deposit=cfg.existential_deposit)
        )
        self.transaction_payment = TransactionPayment(
            TransactionPaymentConfig(fee_model=cfg.fee_model, currency=self.balances)
        )
        self.sudo = Sudo()
        self.federated_learning = FederatedLearning(FederatedLearningConfig(currency=self.balances))
        pallets = [
            self.system,
            self.timestamp,
            self.aura,
            self.grandpa,
            self.balances,
            self.transaction_payment,
            self.sudo,
            self.federated_learning,
        ]
        self.runtime = Runtime([(PALLET_INDICES[p.name], p) for p in pallets])
        self.extension_logic: list[ExtensionLogic] = [
            CheckNonZeroSender(),
            NoChecks("CheckSpecVersion"),
            NoChecks("CheckTxVersion"),
            NoChecks("CheckGenesis"),
            CheckMortality(),
            CheckNonce(self.system),
            CheckWeight(self.system),
            ChargeTransactionPayment(self.transaction_payment),
        ]
        self.executive = Executive(self.runtime, STANDARD_EXTENSIONS, self.extension_logic)

    @property
    def version(self) -> RuntimeVersion:
        return VERSION

    # ----------------------------------------------------------------- block-authoring helpers

    def inherent_extrinsics(self, now_ms: int) -> list[bytes]:
        """``BlockBuilder_inherent_extrinsics``: the bare ``Timestamp.set(now)`` extrinsic."""
        call = self.runtime.make_call("Timestamp", "set", now=now_ms)
        return [UncheckedExtrinsic(self.runtime.encode_call(call)).encode()]

    def pre_digest(self, slot: int) -> list[Any]:
        """The pre-runtime digest of a block authored in Aura ``slot``."""
        return [PreRuntime(AURA_ENGINE_ID, U64.encode(slot))]

    def slot_timestamp(self, slot: int) -> int:
        """The timestamp (ms) at the start of ``slot``: what the author puts in ``Timestamp.set``."""
        return slot * self.config.slot_duration

    def code(self) -> bytes:
        """The ``:code`` descriptor of this runtime."""
        return runtime_code(self.config)

    def build_genesis_storage(self, genesis: RuntimeGenesisConfig) -> dict[bytes, bytes]:
        """``GenesisBuilder_build_state``: run every pallet's ``genesis_build`` (runtime order) on
        empty state and return the storage, ``:code`` included."""
        ext = TestExternalities()

        def build() -> dict[bytes, bytes | None]:
            self.system.genesis_build(None)
            self.aura.genesis_build(genesis.aura)
            self.grandpa.genesis_build(genesis.grandpa)
            self.balances.genesis_build(genesis.balances)
            self.transaction_payment.genesis_build(genesis.transaction_payment)
            self.sudo.genesis_build(genesis.sudo)
            return ext.drain()

        changes = ext.execute_with(build)
        storage = {key: value for key, value in changes.items() if value is not None}
        storage[CODE_KEY] = self.code()
        return dict(sorted(storage.items()))


def build_runtime(config: RuntimeConfig | None = None) -> tuple[Runtime, Executive]:
    """``construct_runtime!`` for ``config``: the runtime table and its executive."""
    assembled = PychainRuntime(config)
    return assembled.runtime, assembled.executive


def build_genesis_storage(
    genesis: RuntimeGenesisConfig, config: RuntimeConfig | None = None
) -> dict[bytes, bytes]:
    """Genesis storage of the runtime built with ``config`` (see
    :meth:`PychainRuntime.build_genesis_storage`)."""
    return PychainRuntime(config).build_genesis_storage(genesis)
