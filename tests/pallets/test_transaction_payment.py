"""Tests of the TransactionPayment pallet and the ``ChargeTransactionPayment`` extension logic:
fee formula, fees charged through the Executive with real signed extrinsics (our own and the
shared vectors' py-substrate-interface ones), ``InvalidTransaction::Payment`` with no state change,
refunds, priority, ``query_info`` / ``query_fee_details``.

Every test using an environment fixture runs ``try_state`` of all pallets when it ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pychain.frame.dispatch import InvalidTransaction, TransactionValidityError
from pychain.frame.extensions import CheckContext
from pychain.frame.weights import DispatchClass, DispatchInfo, FeeModel, Pays, Weight
from pychain.pallets.balances import Deposit as BalancesDeposit
from pychain.pallets.balances import Endowed, Error, Reasons, Transfer, Withdraw
from pychain.pallets.system import ExtrinsicFailed, ExtrinsicSuccess, NewAccount
from pychain.pallets.transaction_payment import (
    FIXED_U128_ONE,
    MAX_PRIORITY,
    ChargeTransactionPayment,
    ConfigError,
    FeeDetails,
    FeePaymentPre,
    FeeQueryError,
    InclusionFee,
    TransactionFeePaid,
    TransactionPayment,
    TransactionPaymentConfig,
    TransactionPaymentGenesis,
)
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import UncheckedExtrinsic, sign_extrinsic
from pychain.primitives.keys import Keypair
from pychain.primitives.scale import encode_compact
from tests.pallets.balances_mock import ED, BalancesEnv, addr, build_env

ALICE = Keypair.from_uri("//Alice")
BOB = Keypair.from_uri("//Bob")
CHARLIE = Keypair.from_uri("//Charlie", "ed25519")
ALICE_FUNDS = 10**12
MODEL = FeeModel()


def expected_fee(length: int, weight: Weight, tip: int = 0, model: FeeModel = MODEL) -> int:
    """The fee formula written out: base + per-byte × len + ref_time × num / den + tip."""
    return (
        model.base_fee
        + model.length_fee_per_byte * length
        + weight.ref_time * model.weight_fee_numerator // model.weight_fee_denominator
        + tip
    )


@pytest.fixture
def env() -> Iterator[BalancesEnv]:
    env = build_env([(ALICE.account_id, ALICE_FUNDS), (CHARLIE.account_id, ED + 1_000)])
    with env.chain:
        env.chain.start_block()
        yield env
        env.chain.check_try_state()


def transfer_xt(env: BalancesEnv, who: Keypair, value: int, nonce: int = 0, tip: int = 0) -> bytes:
    call = env.runtime.make_call(
        "Balances", "transfer_keep_alive", dest=addr(BOB.account_id), value=value
    )
    return env.sign(who, call, nonce, tip)


def events(env: BalancesEnv) -> list[tuple[str, object]]:
    return [(e.pallet, e.event) for e in env.chain.events()]


# ----------------------------------------------------------------------------------- formula


def test_compute_fee_matches_the_fee_model_at_multiplier_one(env: BalancesEnv) -> None:
    info = DispatchInfo(Weight(123_456_789, 10))
    assert env.payment.next_fee_multiplier() == FIXED_U128_ONE
    assert env.payment.compute_fee(200, info, 7) == MODEL.compute_fee(200, info, 7)
    assert env.payment.compute_fee(200, info, 7) == expected_fee(200, info.weight, 7)


def test_compute_fee_for_pays_no_is_the_tip_only(env: BalancesEnv) -> None:
    info = DispatchInfo(Weight(10**9, 0), DispatchClass.Normal, Pays.No)
    assert env.payment.compute_fee(500, info, 0) == 0
    assert env.payment.compute_fee(500, info, 42) == 42
    assert env.payment.compute_fee_details(500, info, 42) == FeeDetails(None, 42)


def test_multiplier_scales_only_the_weight_fee(env: BalancesEnv) -> None:
    info = DispatchInfo(Weight(10**9, 0))
    env.payment.NextFeeMultiplier.put(2 * FIXED_U128_ONE)
    details = env.payment.compute_fee_details(100, info, 5)
    assert details.inclusion_fee == InclusionFee(
        MODEL.base_fee, 100 * MODEL.length_fee_per_byte, 2 * MODEL.weight_to_fee(info.weight)
    )
    assert details.final_fee() == expected_fee(100, info.weight, 5) + MODEL.weight_to_fee(
        info.weight
    )
    env.payment.NextFeeMultiplier.put(FIXED_U128_ONE)


def test_genesis_writes_multiplier_one(env: BalancesEnv) -> None:
    assert env.payment.NextFeeMultiplier.exists()
    assert env.payment.NextFeeMultiplier.get() == 10**18


def test_genesis_with_out_of_range_multiplier_is_refused(env: BalancesEnv) -> None:
    with pytest.raises(ConfigError):
        env.payment.genesis_build(TransactionPaymentGenesis(multiplier=1 << 128))


# --------------------------------------------------------------------- fees via the executive


def test_signed_transfer_is_charged_base_len_weight_fee_and_tip(env: BalancesEnv) -> None:
    tip = 1_234
    xt = transfer_xt(env, ALICE, 5_000, tip=tip)
    call = env.runtime.make_call(
        "Balances", "transfer_keep_alive", dest=addr(BOB.account_id), value=5_000
    )
    weight = env.runtime.dispatch_info(call).weight
    fee = expected_fee(len(xt), weight, tip)
    issuance = env.balances.total_issuance()

    outcome = env.executive.apply_extrinsic(xt)

    assert outcome.error is None
    assert env.free(ALICE.account_id) == ALICE_FUNDS - 5_000 - fee
    assert env.free(BOB.account_id) == 5_000
    assert env.balances.total_issuance() == issuance - fee  # fees are burned
    assert events(env) == [
        ("Balances", Withdraw(ALICE.account_id, fee)),
        ("System", NewAccount(BOB.account_id)),
        ("Balances", Endowed(BOB.account_id, 5_000)),
        ("Balances", Transfer(ALICE.account_id, BOB.account_id, 5_000)),
        ("TransactionPayment", TransactionFeePaid(ALICE.account_id, fee, tip)),
        ("System", ExtrinsicSuccess(outcome.info)),
    ]
    env.chain.assert_last_event("System", ExtrinsicSuccess(outcome.info))


def test_fee_events_come_in_frame_order(env: BalancesEnv) -> None:
    xt = transfer_xt(env, ALICE, 5_000)
    env.executive.apply_extrinsic(xt)
    kinds = [type(event).__name__ for _, event in events(env)]
    assert kinds == [
        "Withdraw",
        "NewAccount",
        "Endowed",
        "Transfer",
        "TransactionFeePaid",
        "ExtrinsicSuccess",
    ]


def test_failed_call_still_pays_the_fee_and_uses_the_nonce(env: BalancesEnv) -> None:
    xt = transfer_xt(env, ALICE, ALICE_FUNDS)  # more than Alice has after the fee
    fee = env.payment.compute_fee(len(xt), env.executive.check(xt).info, 0)
    outcome = env.executive.apply_extrinsic(xt)
    assert outcome.error == env.balances.error(Error.InsufficientBalance)
    assert env.free(ALICE.account_id) == ALICE_FUNDS - fee
    assert env.system.account_nonce(ALICE.account_id) == 1
    env.chain.assert_has_event("TransactionPayment", TransactionFeePaid(ALICE.account_id, fee, 0))
    env.chain.assert_last_event("System", ExtrinsicFailed(outcome.error.value, outcome.info))


def test_account_that_cannot_pay_is_invalid_payment_and_nothing_changes(
    env: BalancesEnv,
) -> None:
    xt = transfer_xt(env, CHARLIE, 1)  # Charlie has ED + 1000, far below the fee
    root = env.chain.storage_root()
    with pytest.raises(TransactionValidityError) as validated:
        env.executive.validate_transaction(xt, env.genesis_hash)
    assert validated.value.invalid == InvalidTransaction.Payment
    with pytest.raises(TransactionValidityError) as applied:
        env.executive.apply_extrinsic(xt)
    assert applied.value.invalid == InvalidTransaction.Payment
    assert env.chain.storage_root() == root
    assert env.system.account_nonce(CHARLIE.account_id) == 0


def test_fee_payment_never_reaps_the_payer(env: BalancesEnv) -> None:
    xt = transfer_xt(env, CHARLIE, 1)
    fee = env.payment.compute_fee(len(xt), env.executive.check(xt).info, 0)
    # With exactly the fee (no ED left over) the payer would die: refused (Preserve).
    env.balances.deposit_into_existing(CHARLIE.account_id, fee - 1_000 - ED)
    assert env.free(CHARLIE.account_id) == fee
    with pytest.raises(TransactionValidityError) as refused:
        env.executive.apply_extrinsic(xt)
    assert refused.value.invalid == InvalidTransaction.Payment
    # With the ED on top it pays and stays alive (the 1-unit transfer to a new account itself
    # fails: below the ED).
    env.balances.deposit_into_existing(CHARLIE.account_id, ED + 1)
    outcome = env.executive.apply_extrinsic(xt)
    assert outcome.error == env.balances.error(Error.ExistentialDeposit)
    assert env.free(CHARLIE.account_id) == ED + 1
    env.chain.assert_has_event("TransactionPayment", TransactionFeePaid(CHARLIE.account_id, fee, 0))


def test_fee_lock_blocks_fee_payment_but_misc_lock_does_not(env: BalancesEnv) -> None:
    who = ALICE.account_id
    env.balances.set_lock(b"misc    ", who, ALICE_FUNDS, Reasons.Misc)
    assert env.executive.apply_extrinsic(transfer_xt(env, ALICE, 1)).error is not None  # locked
    env.balances.set_lock(b"fees    ", who, ALICE_FUNDS, Reasons.Fee)
    with pytest.raises(TransactionValidityError) as refused:
        env.executive.apply_extrinsic(transfer_xt(env, ALICE, 1, nonce=1))
    assert refused.value.invalid == InvalidTransaction.Payment


def test_block_with_fees_finalizes_and_keeps_invariants(env: BalancesEnv) -> None:
    for nonce in range(3):
        assert env.executive.apply_extrinsic(transfer_xt(env, ALICE, 1_000, nonce)).error is None
    header = env.chain.finish_block()
    assert header.number == 1
    assert env.free(BOB.account_id) == 3_000
    env.chain.check_try_state()
    env.chain.run_to_block(3)
    assert env.chain.block_number() == 3


# ----------------------------------------------------------------------------- real vectors


@pytest.mark.parametrize(
    "label",
    ["ed25519_immortal_nonce0", "ed25519_immortal_nonce5_tip1000", "sr25519_immortal_nonce0"],
)
def test_real_py_substrate_interface_transfer_pays_its_fee(vectors: Path, label: str) -> None:
    data = json.loads(
        (
            vectors / "extrinsics" / "py_substrate_interface_1.8.1_node_template_transfers.json"
        ).read_text()
    )
    vector = next(v for v in data["vectors"] if v["label"] == label)
    scheme = label.split("_")[0]
    alice = bytes.fromhex(data["keys"][f"alice_{scheme}_pub"][2:])
    bob = bytes.fromhex(data["call"]["dest_pub"][2:])
    genesis_hash = bytes.fromhex(data["chain"].split("genesis 0x")[1][:64])
    xt = bytes.fromhex(vector["extrinsic"][2:])
    value = data["call"]["value"]
    env = build_env([(alice, 10**15)], genesis_hash=genesis_hash, nonces=[(alice, vector["nonce"])])
    with env.chain:
        # Block 1 on top of the vector chain's genesis: System.BlockHash(0) = its genesis hash.
        env.executive.initialize_block(genesis_hash, 1, [])
        info = env.executive.check(xt).info
        fee = expected_fee(len(xt), info.weight, vector["tip"])
        assert env.executive.validate_transaction(xt, genesis_hash).priority > 0
        outcome = env.executive.apply_extrinsic(xt)
        assert outcome.error is None
        assert env.free(bob) == value
        assert env.free(alice) == 10**15 - value - fee
        env.chain.assert_has_event(
            "TransactionPayment", TransactionFeePaid(alice, fee, vector["tip"])
        )
        env.chain.check_try_state()


# ----------------------------------------------------------------------------------- refunds


def test_post_dispatch_refunds_unused_weight(env: BalancesEnv) -> None:
    logic = ChargeTransactionPayment(env.payment)
    who = ALICE.account_id
    info = DispatchInfo(Weight(4_000_000_000, 0))
    ctx = CheckContext(who, None, info, 100, {"ChargeTransactionPayment": 10}, 1)
    pre = logic.pre_dispatch(ctx)
    assert pre == FeePaymentPre(who, expected_fee(100, info.weight, 10), 10)
    actual_weight = Weight(1_000_000_000, 0)
    logic.post_dispatch(pre, ctx, actual_weight, True)
    actual_fee = expected_fee(100, actual_weight, 10)
    assert env.free(who) == ALICE_FUNDS - actual_fee
    env.chain.assert_has_event("Balances", BalancesDeposit(who, pre.paid - actual_fee))
    env.chain.assert_last_event("TransactionPayment", TransactionFeePaid(who, actual_fee, 10))


def test_pays_no_call_without_tip_withdraws_nothing(env: BalancesEnv) -> None:
    logic = ChargeTransactionPayment(env.payment)
    who = ALICE.account_id
    info = DispatchInfo(Weight(4_000_000_000, 0), DispatchClass.Normal, Pays.No)
    ctx = CheckContext(who, None, info, 100, {}, 1)
    assert logic.validate(ctx).priority > 0
    pre = logic.pre_dispatch(ctx)
    logic.post_dispatch(pre, ctx, info.weight, True)
    assert env.free(who) == ALICE_FUNDS
    assert events(env) == [("TransactionPayment", TransactionFeePaid(who, 0, 0))]


def test_refund_to_a_reaped_payer_is_burned(env: BalancesEnv) -> None:
    logic = ChargeTransactionPayment(env.payment)
    who = ALICE.account_id
    info = DispatchInfo(Weight(4_000_000_000, 0))
    ctx = CheckContext(who, None, info, 100, {}, 1)
    pre = logic.pre_dispatch(ctx)
    env.balances.do_transfer(who, BOB.account_id, env.free(who), keep_alive=False)  # reaped
    issuance = env.balances.total_issuance()
    logic.post_dispatch(pre, ctx, Weight(0, 0), True)
    assert env.balances.total_issuance() == issuance
    assert not env.system.account_exists(who)


# ---------------------------------------------------------------------------------- priority


def test_priority_follows_frame_formula(env: BalancesEnv) -> None:
    limits = env.system.config.block_weights
    max_length = env.system.config.block_length.max_for(DispatchClass.Normal)
    info = DispatchInfo(Weight(200_000_000, 1_000))
    per_block = min(
        limits.max_block.ref_time // 200_000_000,
        limits.max_block.proof_size // 1_000,
        max_length // 150,
    )
    assert env.payment.get_priority(info, 150, 0, 0) == per_block * 1
    assert env.payment.get_priority(info, 150, 99, 0) == per_block * 100


def test_priority_grows_with_tip_and_operational_gets_a_boost(env: BalancesEnv) -> None:
    normal = DispatchInfo(Weight(200_000_000, 0))
    operational = DispatchInfo(Weight(200_000_000, 0), DispatchClass.Operational)
    low = env.payment.get_priority(normal, 150, 0, 1_000)
    high = env.payment.get_priority(normal, 150, 1_000, 1_000)
    boosted = env.payment.get_priority(operational, 150, 0, 1_000)
    assert low < high < boosted
    assert boosted == low + low * 5 * 1_000
    huge = env.payment.get_priority(operational, 1, 10**30, 10**30)
    assert huge == MAX_PRIORITY


def test_validate_gives_tipped_transaction_higher_priority(env: BalancesEnv) -> None:
    plain = env.executive.validate_transaction(transfer_xt(env, ALICE, 1), env.genesis_hash)
    tipped = env.executive.validate_transaction(
        transfer_xt(env, ALICE, 1, tip=10**6), env.genesis_hash
    )
    assert tipped.priority > plain.priority > 0


# ---------------------------------------------------------------------------- runtime API


def test_query_info_reports_weight_class_and_partial_fee_without_tip(env: BalancesEnv) -> None:
    xt = transfer_xt(env, ALICE, 1, tip=999)
    info = env.executive.check(xt).info
    answer = env.payment.query_info(xt, len(xt))
    assert answer.weight == info.weight
    assert answer.dispatch_class == DispatchClass.Normal
    assert answer.partial_fee == expected_fee(len(xt), info.weight, 0)
    assert answer.encode()[-16:] == answer.partial_fee.to_bytes(16, "little")


def test_query_info_of_unsigned_extrinsic_has_zero_fee(env: BalancesEnv) -> None:
    call = env.runtime.encode_call(
        env.runtime.make_call(
            "Balances", "transfer_all", dest=addr(BOB.account_id), keep_alive=True
        )
    )
    bare = UncheckedExtrinsic(call).encode()
    assert env.payment.query_info(bare, len(bare)).partial_fee == 0
    assert env.payment.query_fee_details(bare, len(bare)) == FeeDetails(None, 0)


def test_query_fee_details_splits_the_inclusion_fee(env: BalancesEnv) -> None:
    xt = transfer_xt(env, ALICE, 1, tip=5)
    info = env.executive.check(xt).info
    details = env.payment.query_fee_details(xt, len(xt))
    assert details == FeeDetails(
        InclusionFee(
            MODEL.base_fee, MODEL.length_fee_per_byte * len(xt), MODEL.weight_to_fee(info.weight)
        ),
        0,
    )
    encoded = details.encode()
    assert encoded[0] == 1 and len(encoded) == 1 + 16 * 4
    assert FeeDetails.decode(encoded) == details


@pytest.mark.parametrize(
    "garbage", [b"", b"\x00", b"\x08\x04\xff", encode_compact(3) + b"\x04\x63\x00"]
)
def test_query_info_of_garbage_is_a_typed_error(env: BalancesEnv, garbage: bytes) -> None:
    with pytest.raises(FeeQueryError):
        env.payment.query_info(garbage, len(garbage))


# ----------------------------------------------------------------------------- configuration


def test_event_index_and_constants(env: BalancesEnv) -> None:
    assert TransactionPayment.Event is not None
    encoded = TransactionPayment.Event.encode(TransactionFeePaid(ALICE.account_id, 7, 1))
    assert encoded == b"\x00" + ALICE.account_id + (7).to_bytes(16, "little") + (1).to_bytes(
        16, "little"
    )
    constants = {c.name: c.value for c in env.payment.constants()}
    assert constants == {"OperationalFeeMultiplier": 5}


@pytest.mark.parametrize(
    ("multiplier", "model"),
    [(256, FeeModel()), (5, FeeModel(weight_fee_denominator=0)), (5, FeeModel(base_fee=-1))],
)
def test_bad_configuration_fails_integrity_test(
    env: BalancesEnv, multiplier: int, model: FeeModel
) -> None:
    pallet = TransactionPayment(
        TransactionPaymentConfig(
            currency=env.balances, fee_model=model, operational_fee_multiplier=multiplier
        )
    )
    with pytest.raises(ConfigError):
        pallet.integrity_test()


def test_sign_with_other_genesis_is_bad_proof(env: BalancesEnv) -> None:
    call = env.runtime.encode_call(
        env.runtime.make_call("Balances", "transfer_keep_alive", dest=addr(BOB.account_id), value=1)
    )
    xt = sign_extrinsic(ALICE, call, 0, Era(), 0, b"\x01" * 32, 100, 1)
    with pytest.raises(TransactionValidityError) as refused:
        env.executive.apply_extrinsic(xt)
    assert refused.value.invalid == InvalidTransaction.BadProof
    assert env.free(ALICE.account_id) == ALICE_FUNDS
