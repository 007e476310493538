"""The participant process (ml_engine/participant.py): config, update encoding and attacks, and
the whole join → train → submit (or commit → reveal) → round-result loop against a real
in-process chain over JSON-RPC (tests/rpc/chain_fixture.py), with 2 contributors and digits
logistic regression (650 parameters, one local epoch)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pytest
import trio

from ml_engine.attacks import AttackError
from ml_engine.data import load_split, parse_partition
from ml_engine.encoding import FixedPoint, decode_model, encode_delta, encode_model
from ml_engine.models import ModelSpec, initial_parameters, layer_shapes
from ml_engine.participant import (
    TEST_FRACTION,
    Participant,
    ParticipantConfig,
    ParticipantError,
    load_shard,
    main,
)
from ml_engine.training import client_seed, local_train
from pychain.pallets.federated_learning import (
    FederatedLearning,
    Mean,
    ModelDescriptor,
    TaskInfo,
    TaskParams,
    TaskStatus,
    Weighting,
    apply_update,
    compute_model_hash,
)
from pychain.pallets.federated_learning.aggregation import Submission, weighted_mean
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import AddressId
from pychain.rpc.client import PychainClient, RpcConnectionError
from tests.rpc.chain_fixture import ALICE, UNIT, rpc_chain

T = TypeVar("T")
AUTHOR_INTERVAL = 0.05
FP = FixedPoint(16, 2**20)
STAKES = [300 * UNIT, 100 * UNIT]


def make_config(index: int, **overrides: Any) -> ParticipantConfig:
    base: dict[str, Any] = {
        "url": "ws://127.0.0.1:1",
        "task_id": 0,
        "suri": f"//Contributor{index + 1}",
        "index": index,
        "n_clients": 2,
        "dataset": "digits",
        "partition": "iid",
        "seed": 3,
        "stake": STAKES[index],
        "epochs": 1,
    }
    base.update(overrides)
    return ParticipantConfig(**base)


def make_task(commit_reveal: bool = False, rounds: int = 2, round_length: int = 3) -> TaskInfo:
    spec = ModelSpec("logreg", (8, 8), 10)
    shapes = layer_shapes(spec.build(0))
    descriptor = ModelDescriptor(b"logreg", [list(s) for _, s in shapes], 650)
    params = TaskParams(
        min_stake=UNIT,
        rule=Mean(),
        weighting=Weighting.Stake,
        rounds=rounds,
        round_length=round_length,
        scale_bits=FP.scale_bits,
        bound=FP.bound,
        min_participants=1,
        commit_reveal=commit_reveal,
        outlier_threshold=0,
        max_strikes=0,
        slash_fraction=0,
    )
    return TaskInfo(ALICE.account_id, descriptor, params, TaskStatus.Active, 0, 0)


def initial_model() -> np.ndarray:
    return encode_model(initial_parameters(ModelSpec("logreg", (8, 8), 10), 0), FP)


# --------------------------------------------------------------------------------- offline


def test_participant_config_json_round_trip_and_errors() -> None:
    cfg = make_config(1, attack="sign_flip:2")
    assert ParticipantConfig.from_json(json.loads(json.dumps(cfg.to_json()))) == cfg
    with pytest.raises(ParticipantError, match="unknown field"):
        ParticipantConfig.from_json({**cfg.to_json(), "colour": "red"})
    with pytest.raises(ParticipantError, match="index"):
        make_config(0, n_clients=0)
    with pytest.raises(ParticipantError, match="dataset"):
        make_config(0, dataset="cifar")
    with pytest.raises(AttackError):
        make_config(0, attack="teleport")


def test_participant_main_bad_config_exits_2(tmp_path: Any, capsys: Any) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"url": "ws://x", "task_id": 0}))
    assert main(["--config", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["--config", str(tmp_path / "absent.json")]) == 2


def test_load_shard_is_the_seeded_partition_entry() -> None:
    cfg = make_config(1)
    split = load_split("digits", TEST_FRACTION, cfg.seed)
    parts = parse_partition("iid").apply(split.train.y, 2, cfg.seed)
    shard = load_shard(cfg)
    assert len(shard) == len(parts[1])
    np.testing.assert_array_equal(shard.y, split.train.y[parts[1]])


def test_compute_update_is_the_encoded_seeded_local_delta() -> None:
    cfg = make_config(0)
    participant = Participant(cfg)
    task = make_task()
    model_q = initial_model()
    update, train_s = participant.compute_update(task, model_q, round_=1)
    global_params = decode_model(model_q, FP)
    local = local_train(
        ModelSpec("logreg", (8, 8), 10),
        global_params,
        participant.data,
        cfg.train_config,
        seed=client_seed(cfg.seed, 1, 0),
    )
    expected = encode_delta(local.astype(np.float64) - global_params, FP)
    np.testing.assert_array_equal(update, expected)
    assert update.dtype == np.int32 and np.count_nonzero(update) > 300 and train_s > 0
    again, _ = participant.compute_update(task, model_q, round_=1)
    np.testing.assert_array_equal(again, update)  # deterministic


def test_sign_flip_attacker_submits_the_exact_negation() -> None:
    honest = Participant(make_config(0))
    attacker = Participant(make_config(0, attack="sign_flip"))
    task, model_q = make_task(), initial_model()
    q_honest, _ = honest.compute_update(task, model_q, 0)
    q_attack, _ = attacker.compute_update(task, model_q, 0)
    np.testing.assert_array_equal(q_attack, -q_honest)


def test_free_rider_submits_zeros_and_clip_norm_bounds_the_update() -> None:
    task, model_q = make_task(), initial_model()
    free = Participant(make_config(0, attack="free_ride"))
    q_free, train_s = free.compute_update(task, model_q, 0)
    assert not q_free.any() and train_s == 0.0
    clipped = Participant(make_config(0, clip_norm=0.01))
    q_clip, _ = clipped.compute_update(task, model_q, 0)
    norm = float(np.linalg.norm(q_clip.astype(np.float64))) / 2**FP.scale_bits
    assert norm <= 0.01 + 650**0.5 / 2 / 2**FP.scale_bits


def test_model_spec_mismatch_is_a_typed_error() -> None:
    participant = Participant(make_config(0))
    task = make_task()
    bad = ModelDescriptor(b"mlp", task.descriptor.layer_shapes, 650)
    with pytest.raises(ParticipantError, match="parameters"):
        participant.model_spec(TaskInfo(task.owner, bad, task.params, task.status, 0, 0))
    unknown = ModelDescriptor(b"transformer", task.descriptor.layer_shapes, 650)
    with pytest.raises(ParticipantError, match="not a known model"):
        participant.model_spec(TaskInfo(task.owner, unknown, task.params, task.status, 0, 0))


# --------------------------------------------------------------------------------- on chain


def run_with_chain(work: Callable[[str], T]) -> T:
    """The in-process chain authoring a block every 50 ms; ``work(url)`` runs in a thread."""
    out: list[T] = []

    async def main_() -> None:
        async with rpc_chain() as env:

            async def author_loop() -> None:
                while True:
                    await trio.sleep(AUTHOR_INTERVAL)
                    env.author()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(author_loop)
                with trio.fail_after(120):
                    out.append(await trio.to_thread.run_sync(work, f"ws://127.0.0.1:{env.port}"))
                nursery.cancel_scope.cancel()

    trio.run(main_)
    return out[0]


def create_task(client: PychainClient, task: TaskInfo, accounts: list[bytes]) -> int:
    """Fund the contributors and create ``task`` as Alice; returns the task id."""
    for account, stake in zip(accounts, STAKES, strict=True):
        receipt = client.sign_and_submit(
            ALICE,
            "Balances",
            "transfer_keep_alive",
            {"dest": AddressId(account), "value": stake + 10 * UNIT},
            wait="inBlock",
        )
        assert receipt.success, receipt.error
    args = {
        "descriptor": task.descriptor,
        "initial_model": initial_model(),
        "reward_pool": 10 * UNIT,
        "params": task.params,
    }
    receipt = client.sign_and_submit(
        ALICE, "FederatedLearning", "create_task", args, wait="inBlock"
    )
    assert receipt.success, receipt.error
    (created,) = [e for e in receipt.events if e.name == "TaskCreated"]
    return int(created.fields["task"])


@pytest.mark.parametrize("commit_reveal", [False, True])
def test_participants_join_submit_and_follow_rounds_over_rpc(commit_reveal: bool) -> None:
    task = make_task(commit_reveal=commit_reveal, rounds=2, round_length=30)
    accounts = [Keypair.from_uri(f"//Contributor{k + 1}").account_id for k in range(2)]

    def work(url: str) -> dict[str, Any]:
        with PychainClient(url) as client:
            task_id = create_task(client, task, accounts)
            participants = [Participant(make_config(k, url=url, task_id=task_id)) for k in range(2)]
            threads = [threading.Thread(target=p.run) for p in participants]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            raw = client.get_storage(FederatedLearning.ModelVersions.hashed_key(task_id, 1))
            assert raw is not None
            version1 = FederatedLearning.ModelVersions.value_codec.decode(raw)
            balances = [client.account_info(a).data for a in accounts]
            return {"participants": participants, "version1": version1, "balances": balances}

    got = run_with_chain(work)
    participants: list[Participant] = got["participants"]
    for p in participants:
        s = p.summary
        assert s.status == "completed", s.error
        assert s.joined and p.done
        rounds = {r.round: r for r in s.rounds}
        assert sorted(rounds) == [0, 1]
        assert all(r.submitted and r.outcome == "aggregated" and r.included for r in s.rounds)
        assert sum(r.reward for r in s.rounds) > 0  # the pool was shared out
    # The chain's first model equals the stake-weighted mean of the updates computed offline.
    expected_updates = [p.compute_update(task, initial_model(), 0)[0] for p in participants]
    aggregate = weighted_mean(
        [Submission(a, w, u) for a, w, u in zip(accounts, STAKES, expected_updates, strict=True)],
        FP.bound,
    )
    expected_model = apply_update(initial_model(), aggregate.update)
    assert got["version1"].model_hash == compute_model_hash(expected_model)
    assert sorted(got["version1"].included) == sorted(accounts)
    # Stakes were unreserved when the task completed.
    assert all(b.reserved == 0 for b in got["balances"])


def test_retry_reconnects_after_transport_failures_then_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ml_engine import participant as module

    monkeypatch.setattr(module, "RETRY_FIRST_S", 0.001)
    monkeypatch.setattr(module, "RETRY_ATTEMPTS", 3)
    calls: list[str] = []

    def flaky() -> int:
        calls.append("call")
        if calls.count("call") < 3:
            raise RpcConnectionError("connection reset")
        return 7

    def reconnect() -> None:
        calls.append("reconnect")

    assert module._retry("read", flaky, reconnect) == 7
    assert calls == ["call", "reconnect", "call", "reconnect", "call"]

    def dead() -> int:
        raise RpcConnectionError("refused")

    with pytest.raises(ParticipantError, match="after 3 attempts"):
        module._retry("read", dead, lambda: None)
