"""Error paths of the FederatedLearning pallet (each bad input is a typed module error and a no-op:
``assert_noop`` checks the error and an unchanged storage root), and the ``Vec<i32>`` codec.

Every test using ``env`` runs ``try_state`` of all pallets when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.frame.dispatch import DispatchError
from pychain.frame.testing import assert_noop, assert_ok
from pychain.pallets.federated_learning import (
    UPDATE,
    Error,
    FederatedLearning,
    FederatedLearningConfig,
    FederatedLearningConfigError,
    Krum,
    ModelDescriptor,
    MultiKrum,
    TrimmedMean,
    as_update,
    compute_commitment,
)
from pychain.pallets.federated_learning.types import UpdateCodecError
from pychain.primitives.scale import I32, ScaleDecodeError, ScaleEncodeError, Vec
from tests.pallets.fl_mock import OWNER, FLEnv, account, build_fl_env, descriptor, params, vec

A, B, C, D = (account(i) for i in (1, 2, 3, 4))
POOR = account(200)  # never endowed


@pytest.fixture
def env() -> Iterator[FLEnv]:
    env = build_fl_env([OWNER, A, B, C, D], max_participants=3)
    with env.chain:
        env.chain.start_block()
        yield env
        env.chain.check_try_state()


def err(env: FLEnv, error: Error) -> DispatchError:
    return env.fl.error(error)


def noop(env: FLEnv, who: bytes, name: str, error: Error, **kwargs: Any) -> None:
    assert_noop(lambda: env.call(who, name, **kwargs), err(env, error))


def create_kwargs(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "descriptor": descriptor(4),
        "initial_model": vec([0, 0, 0, 0]),
        "reward_pool": 1_000,
        "params": params(),
    }
    kwargs.update(overrides)
    return kwargs


def task_with(env: FLEnv, members: tuple[bytes, ...] = (A, B), **overrides: Any) -> int:
    task = env.create_task(d=4, **overrides)
    for who in members:
        env.join(task, who, 1_000)
    return task


# ---------------------------------------------------------------------------- create_task


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"descriptor": ModelDescriptor(b"", [[4]], 4)}, Error.InvalidDescriptor),
        ({"descriptor": ModelDescriptor(b"x" * 33, [[4]], 4)}, Error.InvalidDescriptor),
        ({"descriptor": ModelDescriptor(b"m", [[2, 3]], 4)}, Error.InvalidDescriptor),
        ({"descriptor": ModelDescriptor(b"m", [[4, 0]], 4)}, Error.InvalidDescriptor),
        ({"descriptor": ModelDescriptor(b"m", [], 4)}, Error.InvalidDescriptor),
        ({"descriptor": ModelDescriptor(b"m", [[2_000_000]], 2_000_000)}, Error.ModelTooLarge),
        ({"initial_model": vec([0, 0, 0])}, Error.InvalidModel),
        ({"params": params(rounds=0)}, Error.InvalidSchedule),
        ({"params": params(round_length=0)}, Error.InvalidSchedule),
        ({"params": params(commit_reveal=True, round_length=1)}, Error.InvalidSchedule),
        ({"params": params(bound=0)}, Error.InvalidBound),
        ({"params": params(scale_bits=32)}, Error.InvalidBound),
        ({"params": params(min_stake=0)}, Error.InvalidParameters),
        ({"params": params(min_participants=0)}, Error.InvalidParameters),
        ({"params": params(min_participants=4)}, Error.InvalidParameters),
        ({"params": params(outlier_threshold=10**9 + 1)}, Error.InvalidParameters),
        ({"params": params(slash_fraction=10**9 + 1)}, Error.InvalidParameters),
        ({"params": params(rule=TrimmedMean(500_000_000))}, Error.InvalidRule),
        ({"params": params(rule=Krum(1), min_participants=3)}, Error.InvalidRule),
        ({"params": params(rule=Krum(0), bound=2**15 + 1)}, Error.InvalidRule),
        ({"params": params(rule=MultiKrum(0, 4), min_participants=3)}, Error.InvalidRule),
        ({"params": params(rule=MultiKrum(0, 0), min_participants=3)}, Error.InvalidRule),
        ({"reward_pool": 10**13}, Error.InsufficientBalance),
    ],
)
def test_create_task_with_bad_input_fails(
    env: FLEnv, overrides: dict[str, Any], error: Error
) -> None:
    noop(env, OWNER, "create_task", error, **create_kwargs(**overrides))


def test_create_task_by_unfunded_owner_fails(env: FLEnv) -> None:
    noop(env, POOR, "create_task", Error.InsufficientBalance, **create_kwargs())


def test_create_task_accepts_the_largest_legal_values(env: FLEnv) -> None:
    kwargs = create_kwargs(
        initial_model=vec([2**31 - 1, -(2**31), 0, 1]),
        params=params(bound=2**31 - 1, scale_bits=31, outlier_threshold=10**9),
    )
    assert_ok(lambda: env.call(OWNER, "create_task", **kwargs))


# ------------------------------------------------------------------------------ join/leave


def test_join_errors(env: FLEnv) -> None:
    task = task_with(env, members=(A,))
    noop(env, B, "join_task", Error.UnknownTask, task=task + 1, stake=1_000)
    noop(env, B, "join_task", Error.StakeBelowMinimum, task=task, stake=99)
    noop(env, POOR, "join_task", Error.InsufficientStake, task=task, stake=1_000)
    noop(env, A, "join_task", Error.AlreadyParticipant, task=task, stake=1_000)
    env.join(task, B)
    env.join(task, C)
    noop(env, D, "join_task", Error.TooManyParticipants, task=task, stake=1_000)


def test_join_or_submit_to_a_cancelled_task_fails(env: FLEnv) -> None:
    task = task_with(env)
    env.call(OWNER, "cancel_task", task=task)
    noop(env, C, "join_task", Error.TaskNotActive, task=task, stake=1_000)
    env.run_to(2)
    noop(
        env,
        A,
        "submit_update",
        Error.TaskNotActive,
        task=task,
        round=0,
        update=vec([1, 1, 1, 1]),
        num_samples=1,
    )


def test_leave_errors(env: FLEnv) -> None:
    task = task_with(env)
    noop(env, C, "leave_task", Error.NotParticipant, task=task)
    noop(env, C, "leave_task", Error.UnknownTask, task=task + 1)
    env.run_to(2)
    env.submit(task, A, [1, 1, 1, 1])
    noop(env, A, "leave_task", Error.PendingSubmission, task=task)


def test_cancel_errors(env: FLEnv) -> None:
    task = task_with(env)
    noop(env, A, "cancel_task", Error.NotOwner, task=task)
    noop(env, OWNER, "cancel_task", Error.UnknownTask, task=task + 1)
    env.call(OWNER, "cancel_task", task=task)
    noop(env, OWNER, "cancel_task", Error.TaskNotActive, task=task)


# ------------------------------------------------------------------------------- submissions


def submit_noop(env: FLEnv, who: bytes, error: Error, task_id: int, **overrides: Any) -> None:
    kwargs: dict[str, Any] = {
        "task": task_id,
        "round": 0,
        "update": vec([1, 2, 3, 4]),
        "num_samples": 1,
    }
    kwargs.update(overrides)
    noop(env, who, "submit_update", error, **kwargs)


def test_submit_errors(env: FLEnv) -> None:
    task = task_with(env, bound=10)
    submit_noop(env, A, Error.RoundNotOpen, task)  # the creation block precedes the window
    env.run_to(2)
    submit_noop(env, A, Error.UnknownTask, task, task=task + 1)
    submit_noop(env, C, Error.NotParticipant, task)
    submit_noop(env, A, Error.WrongRound, task, round=1)
    submit_noop(env, A, Error.WrongUpdateLength, task, update=vec([1, 2, 3]))
    submit_noop(env, A, Error.ValueOutOfBound, task, update=vec([1, 2, 3, 11]))
    submit_noop(env, A, Error.ValueOutOfBound, task, update=vec([-(2**31), 0, 0, 0]))
    submit_noop(env, A, Error.ValueOutOfBound, task, update=[1, 2, 3, 2**40])
    submit_noop(env, A, Error.ZeroSamples, task, num_samples=0)
    env.submit(task, A, [1, 2, 3, 4])
    submit_noop(env, A, Error.DuplicateSubmission, task)
    # After the window: round 0 is closed, round 1 open.
    env.close_round(task)
    submit_noop(env, B, Error.WrongRound, task, round=0)


def test_submit_to_a_completed_task_fails(env: FLEnv) -> None:
    task = task_with(env, rounds=1, min_participants=1)
    env.run_to(2)
    env.submit(task, A, [1, 1, 1, 1])
    env.close_round(task)
    submit_noop(env, A, Error.TaskNotActive, task)


def test_plain_submit_to_a_commit_reveal_task_fails(env: FLEnv) -> None:
    task = task_with(env, commit_reveal=True)
    env.run_to(2)
    submit_noop(env, A, Error.CommitRevealRequired, task)


def test_commit_reveal_errors(env: FLEnv) -> None:
    plain = task_with(env)
    task = task_with(env, commit_reveal=True, round_length=4)  # commits 2..3, reveals 4..5
    update, salt = [1, 2, 3, 4], b"\x07" * 32
    good = compute_commitment(update, salt)
    env.run_to(2)
    noop(
        env,
        A,
        "commit_update",
        Error.NotCommitReveal,
        task=plain,
        round=0,
        commitment=good,
        num_samples=1,
    )
    noop(
        env,
        C,
        "commit_update",
        Error.NotParticipant,
        task=task,
        round=0,
        commitment=good,
        num_samples=1,
    )
    noop(
        env,
        A,
        "commit_update",
        Error.ZeroSamples,
        task=task,
        round=0,
        commitment=good,
        num_samples=0,
    )
    noop(
        env,
        A,
        "reveal_update",
        Error.NotCommitReveal,
        task=plain,
        round=0,
        update=vec(update),
        salt=salt,
    )
    env.call(A, "commit_update", task=task, round=0, commitment=good, num_samples=1)
    noop(
        env,
        A,
        "commit_update",
        Error.AlreadyCommitted,
        task=task,
        round=0,
        commitment=good,
        num_samples=1,
    )
    noop(
        env,
        A,
        "reveal_update",
        Error.RevealPhaseNotOpen,
        task=task,
        round=0,
        update=vec(update),
        salt=salt,
    )
    env.run_to(4)
    noop(
        env,
        B,
        "commit_update",
        Error.CommitPhaseOver,
        task=task,
        round=0,
        commitment=good,
        num_samples=1,
    )
    noop(
        env,
        B,
        "reveal_update",
        Error.NoCommitment,
        task=task,
        round=0,
        update=vec(update),
        salt=salt,
    )
    noop(
        env,
        A,
        "reveal_update",
        Error.RevealMismatch,
        task=task,
        round=0,
        update=vec([1, 2, 3, 5]),
        salt=salt,
    )
    noop(
        env,
        A,
        "reveal_update",
        Error.RevealMismatch,
        task=task,
        round=0,
        update=vec(update),
        salt=b"\x08" * 32,
    )
    noop(
        env, A, "reveal_update", Error.WrongRound, task=task, round=1, update=vec(update), salt=salt
    )
    env.call(A, "reveal_update", task=task, round=0, update=vec(update), salt=salt)
    noop(
        env,
        A,
        "reveal_update",
        Error.DuplicateSubmission,
        task=task,
        round=0,
        update=vec(update),
        salt=salt,
    )


def test_reveal_of_an_out_of_bound_update_fails(env: FLEnv) -> None:
    task = task_with(env, commit_reveal=True, bound=5)
    update, salt = [1, 2, 3, 6], b"\x01" * 32
    env.run_to(2)
    env.call(
        A,
        "commit_update",
        task=task,
        round=0,
        commitment=compute_commitment(update, salt),
        num_samples=1,
    )
    env.run_to(4)
    noop(
        env,
        A,
        "reveal_update",
        Error.ValueOutOfBound,
        task=task,
        round=0,
        update=vec(update),
        salt=salt,
    )


# --------------------------------------------------------------------------------- config


def test_integrity_test_rejects_bad_constants(env: FLEnv) -> None:
    with pytest.raises(FederatedLearningConfigError, match="max_participants"):
        FederatedLearning(
            FederatedLearningConfig(env.balances, max_participants=0)
        ).integrity_test()
    with pytest.raises(FederatedLearningConfigError, match="above"):
        FederatedLearning(
            FederatedLearningConfig(env.balances, max_participants=10_000)
        ).integrity_test()


# ---------------------------------------------------------------------------------- codec


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=80))
def test_update_codec_has_the_bytes_of_vec_i32(values: list[int]) -> None:
    encoded = UPDATE.encode(vec(values))
    assert encoded == Vec(I32).encode(values)
    assert UPDATE.encode(values) == encoded  # type: ignore[arg-type]  # lists are accepted too
    decoded = UPDATE.decode(encoded)
    assert decoded.dtype == np.int32 and decoded.tolist() == values


def test_update_codec_rejects_truncated_and_trailing_input() -> None:
    encoded = UPDATE.encode(vec([1, 2, 3]))
    with pytest.raises(ScaleDecodeError, match="exceeds"):
        UPDATE.decode(encoded[:-1])
    with pytest.raises(ScaleDecodeError, match="trailing"):
        UPDATE.decode(encoded + b"\x00")
    with pytest.raises(ScaleDecodeError):
        UPDATE.decode(b"")


@pytest.mark.parametrize(
    "bad", [[2**31], [1.5], "abc", np.zeros((2, 2), dtype=np.int32), np.array([2**40])]
)
def test_update_codec_rejects_values_outside_i32(bad: Any) -> None:
    with pytest.raises(ScaleEncodeError):
        UPDATE.encode(bad)
    with pytest.raises(UpdateCodecError):
        as_update(bad)


def test_task_params_round_trip_through_scale() -> None:
    p = replace(params(rule=MultiKrum(1, 3)), commit_reveal=True)
    assert type(p).decode(p.encode()) == p
