"""The testnet's chain spec and keystores: N authorities, sudo Alice, endowed accounts.

Counterparts: the node template's ``local_testnet_config`` / ``testnet_genesis`` (Aura sr25519 and
GRANDPA ed25519 authorities, a sudo key, endowed accounts), ``build-spec --raw`` and
``key insert --key-type aura|gran`` (Substrate docs, "Add trusted nodes"). The spec is written raw
(genesis storage built here by the runtime), so every node loads the same genesis and no node may
rebuild it with different constants; the slot duration is part of the runtime's ``:code``.

Differences: authorities may be any secret URI (``//Validator7``), not only the dev accounts, and
each authority's GRANDPA weight is its ``stake``; contributor accounts (``//Contributor1`` …) are
endowed next to the twelve dev accounts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genesis.build_spec import ChainDefinition, chain_spec_document
from genesis.presets import DEFAULT_PROPERTIES, ENDOWMENT, testnet_genesis
from pychain.errors import PychainError
from pychain.pallets.aura import AuraGenesisConfig
from pychain.pallets.balances import BalancesGenesis
from pychain.pallets.grandpa import GrandpaGenesisConfig
from pychain.primitives.keyring import dev_names
from pychain.primitives.keys import Keypair
from pychain.primitives.keystore import Keystore
from pychain.runtime import RuntimeConfig, RuntimeGenesisConfig
from pychain.testnet.config import TestnetConfig
from pychain.testnet.errors import TestnetConfigError, TestnetError

__all__ = ["build_genesis", "chain_spec", "insert_session_keys", "keystore_dir", "write_chain_spec"]

#: scrypt cost of the testnet keystores: the node's default password is empty and the keys are
#: public dev keys, so a cheap cost only saves start-up time.
TESTNET_SCRYPT_N = 1 << 4


def _pair(suri: str, scheme: str) -> Keypair:
    try:
        return Keypair.from_uri(suri, scheme)
    except PychainError as exc:
        raise TestnetConfigError(f"secret URI {suri!r:.40}: {exc}") from None


def build_genesis(config: TestnetConfig) -> RuntimeGenesisConfig:
    """``testnet_genesis`` for the config's authorities (weights = stakes), endowing the dev
    accounts, every validator's account and every contributor's account."""
    base = testnet_genesis(["Alice"], "Alice", dev_names(include_stash=True))
    authorities = [i for i, v in enumerate(config.validators) if v.authority]
    aura = [_pair(config.validator_suri(i), "sr25519").public_key for i in authorities]
    grandpa = [
        (_pair(config.validator_suri(i), "ed25519").public_key, config.validators[i].stake)
        for i in authorities
    ]
    endowed = [who for who, _ in base.balances.balances]
    extra = [config.validator_suri(i) for i in range(len(config.validators))]
    extra += [config.contributor_suri(i) for i in range(len(config.contributors))]
    for suri in extra:
        account = _pair(suri, "sr25519").account_id
        if account not in endowed:
            endowed.append(account)
    return RuntimeGenesisConfig(
        aura=AuraGenesisConfig(aura),
        grandpa=GrandpaGenesisConfig(grandpa),
        balances=BalancesGenesis([(who, ENDOWMENT) for who in endowed]),
        transaction_payment=base.transaction_payment,
        sudo=base.sudo,
    )


def chain_spec(config: TestnetConfig) -> dict[str, Any]:
    """The raw chain-spec document (``build-spec --raw``) of the testnet."""
    definition = ChainDefinition(
        metadata={
            "name": config.chain_name,
            "id": config.chain_id,
            "chainType": "Local",
            "bootNodes": [],
            "telemetryEndpoints": None,
            "protocolId": "pychain",
            "properties": dict(DEFAULT_PROPERTIES),
            "codeSubstitutes": {},
        },
        runtime_config=RuntimeConfig(slot_duration=config.slot_duration),
        genesis=build_genesis(config),
    )
    try:
        return chain_spec_document(definition, raw=True)
    except PychainError as exc:
        raise TestnetError(f"cannot build the testnet chain spec: {exc}") from None


def write_chain_spec(config: TestnetConfig, path: Path) -> Path:
    """Write :func:`chain_spec` as JSON to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chain_spec(config), indent=1) + "\n", encoding="utf-8")
    return path


def keystore_dir(base_path: Path, chain_id: str) -> Path:
    """``BASE/chains/<chain id>/keystore``, where a Substrate node looks for its keys."""
    return base_path / "chains" / chain_id / "keystore"


def insert_session_keys(base_path: Path, chain_id: str, suri: str, password: str = "") -> None:
    """``key insert --key-type aura --scheme sr25519`` and ``--key-type gran --scheme ed25519``
    of ``suri`` into the node's keystore."""
    store = Keystore(keystore_dir(base_path, chain_id), password, scrypt_n=TESTNET_SCRYPT_N)
    try:
        store.insert("aura", suri, "sr25519")
        store.insert("gran", suri, "ed25519")
    except PychainError as exc:
        raise TestnetError(f"cannot insert the keys of {suri}: {exc}") from None
    except OSError as exc:
        raise TestnetError(f"cannot write the keystore under {base_path}: {exc}") from None
