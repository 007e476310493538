"""Tests of the genesis presets (``dev``, ``local``) and the genesis-config JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from genesis.errors import GenesisError
from genesis.presets import (
    ENDOWMENT,
    PresetError,
    apply_patch,
    genesis_config_from_json,
    genesis_config_to_json,
    get_preset,
)
from pychain.primitives.keyring import dev_keypair, dev_names


def test_dev_preset_has_alice_as_only_authority() -> None:
    preset = get_preset("dev")
    assert (preset.name, preset.id, preset.chain_type) == ("Development", "dev", "Development")
    assert preset.genesis.aura.authorities == [dev_keypair("Alice", "sr25519").public_key]
    assert preset.genesis.grandpa.authorities == [(dev_keypair("Alice", "ed25519").public_key, 1)]
    assert preset.genesis.sudo.key == dev_keypair("Alice").account_id
    assert preset.runtime_config.slot_duration == 1000


def test_dev_preset_endows_twelve_well_known_accounts() -> None:
    balances = get_preset("dev").genesis.balances.balances
    expected = [dev_keypair(name).account_id for name in dev_names(include_stash=True)]
    assert [who for who, _ in balances] == expected
    assert len(expected) == 12
    assert {amount for _, amount in balances} == {ENDOWMENT}
    assert ENDOWMENT == 1152921504606846976


def test_local_preset_has_alice_and_bob_authorities() -> None:
    preset = get_preset("local")
    assert preset.chain_type == "Local"
    assert preset.genesis.aura.authorities == [
        dev_keypair("Alice").public_key,
        dev_keypair("Bob").public_key,
    ]
    assert [key for key, _ in preset.genesis.grandpa.authorities] == [
        dev_keypair("Alice", "ed25519").public_key,
        dev_keypair("Bob", "ed25519").public_key,
    ]


def test_unknown_preset_fails() -> None:
    with pytest.raises(PresetError, match="unknown preset"):
        get_preset("mainnet")
    assert issubclass(PresetError, GenesisError)


def test_genesis_json_uses_ss58_and_round_trips() -> None:
    genesis = get_preset("local").genesis
    data = json.loads(json.dumps(genesis_config_to_json(genesis)))
    assert data["aura"]["authorities"][0] == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    assert data["sudo"]["key"] == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    assert data["balances"]["balances"][0][1] == 1 << 60
    assert data["transactionPayment"]["multiplier"] == "1000000000000000000"
    assert genesis_config_from_json(data) == genesis


def test_genesis_json_accepts_hex_account_ids() -> None:
    alice = dev_keypair("Alice").account_id
    parsed = genesis_config_from_json({"sudo": {"key": "0x" + alice.hex()}})
    assert parsed.sudo.key == alice
    assert parsed.aura.authorities == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object"),
        ({"staking": {}}, "unknown pallet"),
        ({"aura": {"authorities": ["not-an-address"]}}, "aura.authorities"),
        ({"aura": {"keys": []}}, "unknown field"),
        ({"aura": []}, "expected an object"),
        ({"grandpa": {"authorities": [["0x" + "00" * 32]]}}, "pair"),
        ({"grandpa": {"authorities": [["0x" + "00" * 32, -1]]}}, "64-bit"),
        ({"balances": {"balances": [["0x" + "00" * 31, 5]]}}, "32 bytes"),
        ({"balances": {"balances": [["0x" + "00" * 32, 1 << 128]]}}, "128-bit"),
        ({"balances": {"balances": "all"}}, "expected a list"),
        ({"sudo": {"key": "0xzz"}}, "not hex"),
        ({"transactionPayment": {"multiplier": 1.5}}, "128-bit"),
    ],
)
def test_bad_genesis_json_fails_with_preset_error(data: Any, message: str) -> None:
    with pytest.raises(PresetError, match=message):
        genesis_config_from_json(data)


def test_apply_patch_merges_objects_and_removes_nulls() -> None:
    base = {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": 3}
    patched = apply_patch(base, {"a": {"y": 5, "x": None}, "b": [9], "d": {"e": 1}})
    assert patched == {"a": {"y": 5}, "b": [9], "c": 3, "d": {"e": 1}}
    assert base == {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": 3}
