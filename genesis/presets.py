"""Genesis presets ``dev`` and ``local``, and the JSON form of the runtime genesis config.

Counterparts: the Substrate node template's ``development_config_genesis`` /
``local_testnet_genesis`` (``sp_genesis_builder`` presets) and the ``RuntimeGenesisConfig`` JSON
that ``build-spec`` writes under ``genesis.runtimeGenesis`` (pallet keys in lowerCamelCase,
accounts as SS58 strings, u128 balances as JSON numbers, ``FixedU128`` as a decimal string):

* ``dev``: one authority, Alice — Aura ``//Alice`` **sr25519**, GRANDPA ``//Alice`` **ed25519**
  (weight 1) — sudo Alice; the twelve well-known sr25519 accounts (Alice … Ferdie and their
  ``//stash``) endowed with ``1 << 60`` units each, as the node template; slot duration 1000 ms.
* ``local``: the same with Alice and Bob as authorities.

Presets are the second tier of parameters (STYLE §10): protocol constants live in the runtime,
node configuration in the CLI. JSON parsing turns every malformed value into a
:class:`genesis.errors.GenesisError`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from genesis.errors import GenesisError
from pychain.errors import PychainError
from pychain.pallets.aura import AuraGenesisConfig
from pychain.pallets.balances import BalancesGenesis
from pychain.pallets.grandpa import GrandpaGenesisConfig
from pychain.pallets.sudo import SudoGenesisConfig
from pychain.pallets.transaction_payment import FIXED_U128_ONE, TransactionPaymentGenesis
from pychain.primitives.keyring import dev_keypair, dev_names
from pychain.primitives.ss58 import ss58_decode, ss58_encode
from pychain.runtime import RuntimeConfig, RuntimeGenesisConfig

__all__ = [
    "ENDOWMENT",
    "PRESETS",
    "Preset",
    "PresetError",
    "apply_patch",
    "dev_preset",
    "genesis_config_from_json",
    "genesis_config_to_json",
    "get_preset",
    "local_preset",
    "testnet_genesis",
]

#: Each endowed dev account's balance: ``1u128 << 60`` (node template).
ENDOWMENT = 1 << 60
#: ``system_properties`` of pychain chains.
DEFAULT_PROPERTIES: Mapping[str, Any] = {
    "ss58Format": 42,
    "tokenDecimals": 12,
    "tokenSymbol": "UNIT",
}


class PresetError(GenesisError):
    """An unknown preset, or a genesis config JSON that does not parse."""


@dataclass(frozen=True)
class Preset:
    """A named chain: spec metadata, the runtime's constants and its genesis config."""

    name: str
    id: str
    chain_type: str
    runtime_config: RuntimeConfig
    genesis: RuntimeGenesisConfig
    protocol_id: str | None = "pychain"
    properties: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_PROPERTIES))


def testnet_genesis(
    authorities: Sequence[str],
    root: str,
    endowed: Sequence[str],
    endowment: int = ENDOWMENT,
) -> RuntimeGenesisConfig:
    """``testnet_genesis``: Aura (sr25519) and GRANDPA (ed25519, weight 1) keys of the named dev
    accounts, a sudo key, and the endowed accounts."""
    return RuntimeGenesisConfig(
        aura=AuraGenesisConfig([dev_keypair(name, "sr25519").public_key for name in authorities]),
        grandpa=GrandpaGenesisConfig(
            [(dev_keypair(name, "ed25519").public_key, 1) for name in authorities]
        ),
        balances=BalancesGenesis([(dev_keypair(name).account_id, endowment) for name in endowed]),
        transaction_payment=TransactionPaymentGenesis(),
        sudo=SudoGenesisConfig(dev_keypair(root).account_id),
    )


def dev_preset() -> Preset:
    """``--chain dev``: Alice alone authors and finalizes."""
    return Preset(
        name="Development",
        id="dev",
        chain_type="Development",
        runtime_config=RuntimeConfig(slot_duration=1000),
        genesis=testnet_genesis(["Alice"], "Alice", dev_names(include_stash=True)),
    )


def local_preset() -> Preset:
    """``--chain local``: Alice and Bob author and finalize."""
    return Preset(
        name="Local Testnet",
        id="local_testnet",
        chain_type="Local",
        runtime_config=RuntimeConfig(slot_duration=1000),
        genesis=testnet_genesis(["Alice", "Bob"], "Alice", dev_names(include_stash=True)),
    )


#: Presets by ``--chain`` name.
PRESETS = {"dev": dev_preset, "local": local_preset}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (``dev`` or ``local``)."""
    factory = PRESETS.get(name)
    if factory is None:
        raise PresetError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
    return factory()


# ----------------------------------------------------------------------------------------- JSON


def genesis_config_to_json(genesis: RuntimeGenesisConfig, ss58_prefix: int = 42) -> dict[str, Any]:
    """The ``RuntimeGenesisConfig`` JSON (``build-spec`` plain form)."""

    def address(account: bytes) -> str:
        return ss58_encode(account, ss58_prefix)

    return {
        "system": {},
        "aura": {"authorities": [address(key) for key in genesis.aura.authorities]},
        "grandpa": {
            "authorities": [[address(key), weight] for key, weight in genesis.grandpa.authorities]
        },
        "balances": {
            "balances": [[address(who), amount] for who, amount in genesis.balances.balances]
        },
        "transactionPayment": {"multiplier": str(genesis.transaction_payment.multiplier)},
        "sudo": {"key": None if genesis.sudo.key is None else address(genesis.sudo.key)},
    }


_PALLET_KEYS = ("system", "timestamp", "aura", "grandpa", "balances", "transactionPayment", "sudo")


def _section(data: Mapping[str, Any], key: str, fields: Sequence[str]) -> Mapping[str, Any]:
    section = data.get(key, {})
    if not isinstance(section, dict):
        raise PresetError(f"genesis config '{key}': expected an object")
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise PresetError(f"genesis config '{key}': unknown field(s) {', '.join(unknown)}")
    return section


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise PresetError(f"{where}: expected a list")
    return value


def _account(value: Any, where: str) -> bytes:
    """An account id given as SS58 or as 0x-prefixed 32-byte hex."""
    if isinstance(value, str) and value.startswith("0x"):
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raise PresetError(f"{where}: {value!r:.50} is not hex") from None
        if len(raw) != 32:
            raise PresetError(f"{where}: an account id has 32 bytes, got {len(raw)}")
        return raw
    try:
        raw, _prefix = ss58_decode(value)
    except PychainError as exc:
        raise PresetError(f"{where}: {exc}") from None
    if len(raw) != 32:
        raise PresetError(f"{where}: an account id has 32 bytes, got {len(raw)}")
    return raw


def _int(value: Any, where: str, bits: int) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise PresetError(f"{where}: expected an unsigned {bits}-bit integer, got {value!r:.40}")
    return value


def _pair(value: Any, where: str) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise PresetError(f"{where}: expected a [account, number] pair")
    return value[0], value[1]


def genesis_config_from_json(data: Any) -> RuntimeGenesisConfig:
    """Parse the ``RuntimeGenesisConfig`` JSON (inverse of :func:`genesis_config_to_json`)."""
    if not isinstance(data, dict):
        raise PresetError("genesis config: expected a JSON object")
    unknown = sorted(set(data) - set(_PALLET_KEYS))
    if unknown:
        raise PresetError(f"genesis config: unknown pallet(s) {', '.join(unknown)}")
    aura = _section(data, "aura", ["authorities"])
    grandpa = _section(data, "grandpa", ["authorities"])
    balances = _section(data, "balances", ["balances", "devAccounts"])
    payment = _section(data, "transactionPayment", ["multiplier"])
    sudo = _section(data, "sudo", ["key"])
    aura_keys = [
        _account(key, f"aura.authorities[{i}]")
        for i, key in enumerate(_list(aura.get("authorities", []), "aura.authorities"))
    ]
    grandpa_keys = []
    for i, item in enumerate(_list(grandpa.get("authorities", []), "grandpa.authorities")):
        where = f"grandpa.authorities[{i}]"
        key, weight = _pair(item, where)
        grandpa_keys.append((_account(key, where), _int(weight, where, 64)))
    endowed = []
    for i, item in enumerate(_list(balances.get("balances", []), "balances.balances")):
        where = f"balances.balances[{i}]"
        who, amount = _pair(item, where)
        endowed.append((_account(who, where), _int(amount, where, 128)))
    if balances.get("devAccounts") is not None:
        raise PresetError("balances.devAccounts is not supported; list the accounts instead")
    multiplier = _int(payment.get("multiplier", FIXED_U128_ONE), "transactionPayment", 128)
    key = sudo.get("key")
    return RuntimeGenesisConfig(
        aura=AuraGenesisConfig(aura_keys),
        grandpa=GrandpaGenesisConfig(grandpa_keys),
        balances=BalancesGenesis(endowed),
        transaction_payment=TransactionPaymentGenesis(multiplier),
        sudo=SudoGenesisConfig(None if key is None else _account(key, "sudo.key")),
    )


def apply_patch(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``json_merge`` as ``sc_chain_spec`` applies a genesis ``patch``: objects merge key by key
    (``null`` removes a key), anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = apply_patch(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
