"""Network file (TOML) parsing and validation, and the deterministic node keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from pychain.network.identity import peer_id_of
from pychain.testnet.config import (
    TestnetConfig,
    ValidatorConfig,
    config_from_toml,
    default_config,
    load_config,
    node_key_of,
)
from pychain.testnet.errors import TestnetConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testnet.toml"


def test_example_network_file_loads_with_its_documented_values() -> None:
    config = load_config(EXAMPLE)
    assert [v.name for v in config.validators] == ["alice", "bob", "charlie", "dave"]
    assert config.slot_duration == 1000
    assert config.validators[3].equivocate is True
    assert config.validators[2].offline_after == 60.0
    assert [c.shard for c in config.contributors] == [0, 1, 2]
    assert config.contributors[2].attack == "sign_flip"


def test_default_config_names_dev_accounts_up_to_six_then_numbers() -> None:
    four = default_config(4)
    assert [v.name for v in four.validators] == ["alice", "bob", "charlie", "dave"]
    assert four.validator_suri(1) == "//Bob"
    seven = default_config(7)
    assert seven.validators[6].name == "validator7"
    assert seven.validator_suri(0) == "//Validator1"


def test_node_keys_are_deterministic_and_distinct() -> None:
    keys = [node_key_of(i) for i in range(8)]
    assert len(set(keys)) == 8
    assert node_key_of(3) == keys[3]
    assert peer_id_of(keys[0]).startswith("12D3KooW")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[settings]\nslot_duration = 1000\n", "at least one [[validators]]"),
        ("[[validators]]\nname = 'a'\ncolour = 'red'\n", "unknown key(s) colour"),
        ("[[validators]]\nname = 'a'\nstake = 'high'\n", "validators[0].stake: expected a integer"),
        ("[[validators]]\nname = 'a'\nequivocate = 1\n", "expected a boolean"),
        ("[[validators]]\nname = 'a'\nstake = true\n", "expected a integer, got bool"),
        ("[[validators]]\nstake = 1\n", "missing key 'name'"),
        ("[[validators]]\nname = 'a'\n[[validators]]\nname = 'a'\n", "duplicate name(s): a"),
        ("[[validators]]\nname = 'a b'\n", "name 'a b'"),
        ("[[validators]]\nname = 'a'\noffline_after = -1\n", "offline_after must be > 0"),
        ("[[validators]]\nname = 'a'\nauthority = false\n", "genesis authority"),
        ("[settings]\nslot_duration = 10\n[[validators]]\nname = 'a'\n", "slot_duration 10"),
        ("[settings]\nport = 9944\n[[validators]]\nname = 'a'\n", "overlaps"),
        ("[settings]\nrpc_port = 70000\n[[validators]]\nname = 'a'\n", "rpc_port 70000"),
        ("[setting]\n", "unknown table(s) setting"),
        ("[[validators]]\nname = 'a'\n[[contributors]]\nname = 'c'\nshard = 5\n", "shard 5"),
        ("[[validators]]\nname = 'a'\n[[contributors]]\nname = 'c'\n", "missing key 'shard'"),
        ("validators = 3\n", "needs at least one [[validators]]"),
        ("[[validators]\n", "not valid TOML"),
    ],
)
def test_bad_network_file_is_rejected_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(TestnetConfigError) as info:
        config_from_toml(text)
    assert message in str(info.value)


def test_missing_network_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(TestnetConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_config_requires_a_validator() -> None:
    with pytest.raises(TestnetConfigError, match="at least one validator"):
        TestnetConfig(validators=())


def test_stake_must_fit_a_grandpa_weight() -> None:
    with pytest.raises(TestnetConfigError, match="stake"):
        TestnetConfig(validators=(ValidatorConfig("a", stake=0),))
