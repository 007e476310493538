"""Tests of the assembled pychain runtime: indices, version, ``:code``, genesis storage, and
blocks built by one executive and re-executed by another."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from genesis.presets import ENDOWMENT, get_preset
from pychain.frame.executive import BlockExecutionError
from pychain.frame.ext import TestExternalities
from pychain.pallets.balances import GenesisConfigError
from pychain.pallets.grandpa import GRANDPA_AUTHORITIES_KEY
from pychain.pallets.system import AccountInfo
from pychain.primitives.block import Block
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import sign_extrinsic
from pychain.primitives.hashing import blake2_64, blake2_128_concat, storage_prefix
from pychain.primitives.header import Header
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.multiaddress import AddressId
from pychain.primitives.runtime_version import read_embedded_version
from pychain.runtime import (
    CODE_KEY,
    PALLET_INDICES,
    VERSION,
    PychainRuntime,
    RuntimeConfig,
    RuntimeConfigError,
    RuntimeGenesisConfig,
    build_genesis_storage,
    build_runtime,
    runtime_code,
    runtime_config_from_code,
)
from pychain.trie import ordered_trie_root

ALICE = dev_keypair("Alice")
BOB = dev_keypair("Bob")
EVE_ED = dev_keypair("Eve", "ed25519")

#: Runtime API ids as listed in shared/reference/SUBSTRATE.md.
API_IDS = {
    "Core": "df6acb689907609b",
    "Metadata": "37e397fc7c91f5e4",
    "BlockBuilder": "40fe3ad401f8959a",
    "TaggedTransactionQueue": "d2bc9897eed08f15",
    "OffchainWorkerApi": "f78b278be53f454c",
    "AuraApi": "dd718d5cc53262d4",
    "GrandpaApi": "ed99c5acb25eedf5",
    "AccountNonceApi": "bc9d89904f5b923f",
    "TransactionPaymentApi": "37c8bb1350a9a2a8",
    "SessionKeys": "ab3c0572291feb8b",
}


def test_pallet_indices_are_frozen() -> None:
    runtime, _ = build_runtime()
    assert [(p.index, p.name) for p in runtime.pallets] == [
        (0, "System"),
        (1, "Timestamp"),
        (2, "Aura"),
        (3, "Grandpa"),
        (4, "Balances"),
        (5, "TransactionPayment"),
        (6, "Sudo"),
        (8, "FederatedLearning"),
    ]
    assert dict(PALLET_INDICES) == {p.name: p.index for p in runtime.pallets}


def test_version_fields() -> None:
    assert (VERSION.spec_name, VERSION.impl_name) == ("pychain", "pychain-node")
    assert (VERSION.spec_version, VERSION.impl_version) == (100, 1)
    assert (VERSION.transaction_version, VERSION.state_version) == (1, 1)


def test_api_ids_match_substrate_names_and_versions() -> None:
    apis = {api_id.hex(): version for api_id, version in VERSION.apis}
    assert set(apis) == set(API_IDS.values())
    for name, api_id in API_IDS.items():
        assert blake2_64(name.encode()).hex() == api_id
    versions = {name: apis[api_id] for name, api_id in API_IDS.items()}
    assert versions == {
        "Core": 4,
        "Metadata": 1,
        "BlockBuilder": 6,
        "TaggedTransactionQueue": 3,
        "OffchainWorkerApi": 2,
        "AuraApi": 1,
        "GrandpaApi": 3,
        "AccountNonceApi": 1,
        "TransactionPaymentApi": 4,
        "SessionKeys": 1,
    }


def test_code_embeds_version_and_config() -> None:
    config = RuntimeConfig(slot_duration=3000, existential_deposit=7)
    code = runtime_code(config)
    assert read_embedded_version(code) == VERSION
    assert runtime_config_from_code(code) == config


def test_code_differs_between_runtime_configs() -> None:
    assert runtime_code(RuntimeConfig(slot_duration=1000)) != runtime_code(
        RuntimeConfig(slot_duration=2000)
    )


def test_runtime_config_from_foreign_code_fails() -> None:
    with pytest.raises(RuntimeConfigError, match="not a pychain runtime"):
        runtime_config_from_code(b"\x00asm\x01\x00\x00\x00")
    with pytest.raises(RuntimeConfigError):
        runtime_config_from_code(b"\x00asm\x01\x00\x00\x00\x00\x05")


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"slot_duration": "1000"},
        {"slot_duration": 1},
        {"unknown": 1},
        {"fee_model": {"weight_fee_denominator": 0}},
        {"fee_model": {"base_fee": -1}},
        {"existential_deposit": True},
    ],
)
def test_bad_runtime_config_json_is_refused(data: object) -> None:
    with pytest.raises(RuntimeConfigError):
        RuntimeConfig.from_json(data)


def test_runtime_config_json_round_trips() -> None:
    config = RuntimeConfig(slot_duration=6000, ss58_prefix=0)
    assert RuntimeConfig.from_json(json.loads(json.dumps(config.to_json()))) == config


# ------------------------------------------------------------------------------------- genesis


@pytest.fixture(scope="module")
def dev_storage() -> dict[bytes, bytes]:
    preset = get_preset("dev")
    return build_genesis_storage(preset.genesis, preset.runtime_config)


def test_genesis_holds_alice_balance_at_system_account_key(dev_storage: dict[bytes, bytes]) -> None:
    key = storage_prefix("System", "Account") + blake2_128_concat(ALICE.account_id)
    assert key.hex().startswith("26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9")
    info = AccountInfo.decode(dev_storage[key])
    assert info.data.free == ENDOWMENT == 1 << 60
    assert info.providers == 1


def test_genesis_grandpa_authorities_well_known_encoding(dev_storage: dict[bytes, bytes]) -> None:
    alice_ed = dev_keypair("Alice", "ed25519").public_key
    assert alice_ed.hex() == "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
    assert dev_storage[GRANDPA_AUTHORITIES_KEY] == b"\x01\x04" + alice_ed + (1).to_bytes(
        8, "little"
    )


def test_genesis_code_is_the_runtime_descriptor(dev_storage: dict[bytes, bytes]) -> None:
    assert dev_storage[CODE_KEY] == runtime_code(get_preset("dev").runtime_config)


def test_genesis_aura_authority_is_alice_sr25519(dev_storage: dict[bytes, bytes]) -> None:
    key = storage_prefix("Aura", "Authorities")
    assert dev_storage[key] == b"\x04" + ALICE.public_key


def test_local_genesis_matches_node_template_spec(vectors: Path) -> None:
    """The node template's ``local_testnet`` has the same authorities, sudo key, issuance and
    endowed accounts as our ``local`` preset; only ``:code`` and the account-data layout (the
    template predates ``AccountData.flags``) differ."""
    document = json.loads((vectors / "chainspecs" / "substrate-node-template.json").read_text())
    template = {
        bytes.fromhex(k[2:]): bytes.fromhex(v[2:])
        for k, v in document["genesis"]["raw"]["top"].items()
    }
    preset = get_preset("local")
    ours = build_genesis_storage(preset.genesis, preset.runtime_config)
    for key in (
        GRANDPA_AUTHORITIES_KEY,
        storage_prefix("Aura", "Authorities"),
        storage_prefix("Sudo", "Key"),
        storage_prefix("Balances", "TotalIssuance"),
        storage_prefix("Grandpa", "CurrentSetId"),
    ):
        assert ours[key] == template[key], key
    account_prefix = storage_prefix("System", "Account")
    our_accounts = {k: v for k, v in ours.items() if k.startswith(account_prefix)}
    their_accounts = {k: v for k, v in template.items() if k.startswith(account_prefix)}
    assert set(our_accounts) == set(their_accounts)
    for key, value in our_accounts.items():
        # nonce, refcounts, free, reserved, frozen agree; the last u128 is flags vs fee_frozen.
        assert value[:64] == their_accounts[key][:64]


def test_duplicate_endowment_fails_genesis_build() -> None:
    genesis = RuntimeGenesisConfig(
        balances=dataclasses.replace(
            get_preset("dev").genesis.balances,
            balances=[(ALICE.account_id, 10**15), (ALICE.account_id, 10**15)],
        )
    )
    with pytest.raises(GenesisConfigError):
        build_genesis_storage(genesis)


# -------------------------------------------------------------------------------------- blocks


def _genesis_header(storage: dict[bytes, bytes]) -> Header:
    root = TestExternalities(storage).storage_root(1)
    return Header(bytes(32), 0, root, ordered_trie_root([], 1), ())


@pytest.fixture(scope="module")
def block_setup() -> tuple[dict[bytes, bytes], Header, Block]:
    """Genesis (dev preset plus an endowed ed25519 account) and block 1, built by an executive:
    the timestamp inherent, a transfer signed by Alice (sr25519) and one by Eve (ed25519)."""
    preset = get_preset("dev")
    balances = preset.genesis.balances
    genesis = dataclasses.replace(
        preset.genesis,
        balances=dataclasses.replace(
            balances, balances=[*balances.balances, (EVE_ED.account_id, 10**15)]
        ),
    )
    author = PychainRuntime(preset.runtime_config)
    storage = author.build_genesis_storage(genesis)
    genesis_header = _genesis_header(storage)
    genesis_hash = genesis_header.hash()
    transfer = author.runtime.encode_call(
        author.runtime.make_call(
            "Balances", "transfer_keep_alive", dest=AddressId(BOB.account_id), value=10**12
        )
    )
    extrinsics = [
        *author.inherent_extrinsics(author.slot_timestamp(11)),
        sign_extrinsic(ALICE, transfer, 0, Era(), 0, genesis_hash, 100, 1),
        sign_extrinsic(EVE_ED, transfer, 0, Era(), 5, genesis_hash, 100, 1),
    ]

    def build() -> Block:
        author.executive.initialize_block(genesis_hash, 1, author.pre_digest(11))
        for xt in extrinsics:
            assert author.executive.apply_extrinsic(xt).error is None
        header = author.executive.finalize_block()
        return Block(header, tuple(author.executive.applied_extrinsics))

    block = TestExternalities(storage).execute_with(build)
    return storage, genesis_header, block


def test_built_block_has_three_extrinsics_and_aura_digest(
    block_setup: tuple[dict[bytes, bytes], Header, Block],
) -> None:
    _, genesis_header, block = block_setup
    assert block.header.parent_hash == genesis_header.hash()
    assert len(block.extrinsics) == 3
    assert block.header.pre_runtime(b"aura") == (11).to_bytes(8, "little")


def test_second_executive_reexecutes_block_to_same_state(
    block_setup: tuple[dict[bytes, bytes], Header, Block],
) -> None:
    storage, _, block = block_setup
    importer = PychainRuntime(get_preset("dev").runtime_config)
    ext = TestExternalities(storage)
    header = ext.execute_with(lambda: importer.executive.execute_block(block))
    assert header.state_root == block.header.state_root
    assert header.hash() == block.header.hash()

    def balances() -> tuple[int, int, int]:
        return (
            importer.system.account(BOB.account_id).data.free,
            importer.system.account(EVE_ED.account_id).nonce,
            importer.timestamp.now(),
        )

    bob_free, eve_nonce, now = ext.execute_with(balances)
    assert bob_free == ENDOWMENT + 2 * 10**12
    assert eve_nonce == 1
    assert now == 11_000


def test_block_with_wrong_state_root_is_rejected(
    block_setup: tuple[dict[bytes, bytes], Header, Block],
) -> None:
    storage, _, block = block_setup
    forged = Block(dataclasses.replace(block.header, state_root=b"\x11" * 32), block.extrinsics)
    importer = PychainRuntime(get_preset("dev").runtime_config)
    with pytest.raises(BlockExecutionError, match="state root mismatch"):
        TestExternalities(storage).execute_with(lambda: importer.executive.execute_block(forged))


def test_block_without_timestamp_is_rejected(
    block_setup: tuple[dict[bytes, bytes], Header, Block],
) -> None:
    storage, _, block = block_setup
    stripped = Block(block.header, block.extrinsics[1:])
    importer = PychainRuntime(get_preset("dev").runtime_config)
    with pytest.raises(BlockExecutionError):
        TestExternalities(storage).execute_with(lambda: importer.executive.execute_block(stripped))


def test_block_signed_for_another_genesis_is_rejected(
    block_setup: tuple[dict[bytes, bytes], Header, Block],
) -> None:
    storage, genesis_header, block = block_setup
    importer = PychainRuntime(get_preset("dev").runtime_config)
    transfer = importer.runtime.encode_call(
        importer.runtime.make_call("System", "remark", remark=b"x")
    )
    foreign = sign_extrinsic(ALICE, transfer, 0, Era(), 0, b"\x22" * 32, 100, 1)
    forged = Block(block.header, (block.extrinsics[0], foreign))
    with pytest.raises(BlockExecutionError, match="BadProof"):
        TestExternalities(storage).execute_with(lambda: importer.executive.execute_block(forged))
