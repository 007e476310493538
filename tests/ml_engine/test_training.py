"""Tests of ml_engine.training: local SGD, evaluation, and the float FedAvg baseline on digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml_engine.attacks import parse_attack
from ml_engine.data import Dataset, DataSplit, load_split, parse_partition
from ml_engine.errors import TrainingError
from ml_engine.models import ModelSpec, initial_parameters
from ml_engine.training import (
    TrainConfig,
    evaluate,
    fedavg_weights,
    local_train,
    run_fedavg,
    torch_threads,
    train_central,
)

LOGREG = ModelSpec("logreg", (8, 8), 10)


@pytest.fixture(scope="module")
def dirichlet_partition(digits: DataSplit) -> list[np.ndarray]:
    return parse_partition("dirichlet:0.5").apply(digits.train.y, 10, seed=0)


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("logreg", TrainConfig(epochs=2)),
        # the defaults (lr 0.1, momentum 0.9) are tuned for logreg; deeper models want plain SGD
        ("mlp", TrainConfig(epochs=4, lr=0.1, momentum=0.0)),
        ("mlp2", TrainConfig(epochs=4, lr=0.1, momentum=0.0)),
        ("cnn", TrainConfig(epochs=4, lr=0.1, momentum=0.0)),
    ],
)
def test_local_training_improves_accuracy_over_initial_model(
    digits: DataSplit, name: str, config: TrainConfig
) -> None:
    spec = ModelSpec(name, (8, 8), 10)
    start = initial_parameters(spec, seed=0)
    before = evaluate(spec, start, digits.test)
    trained = local_train(spec, start, digits.train, config, seed=0)
    after = evaluate(spec, trained, digits.test)
    assert before.accuracy < 0.3
    assert after.accuracy > 0.85
    assert after.loss < before.loss


def test_local_training_is_bit_reproducible_by_seed(digits: DataSplit) -> None:
    start = initial_parameters(LOGREG, seed=3)
    subset = digits.train.subset(np.arange(300, dtype=np.int64))
    config = TrainConfig(epochs=2, batch_size=16)
    a = local_train(LOGREG, start, subset, config, seed=11)
    b = local_train(LOGREG, start, subset, config, seed=11)
    c = local_train(LOGREG, start, subset, config, seed=12)
    assert a.dtype == np.float32 and a.shape == start.shape
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_epochs_returns_the_start_parameters(digits: DataSplit) -> None:
    start = initial_parameters(LOGREG, seed=0)
    out = local_train(LOGREG, start, digits.train, TrainConfig(epochs=0), seed=0)
    assert np.array_equal(out, start)


def test_label_flip_hook_trains_on_permuted_labels(digits: DataSplit) -> None:
    start = initial_parameters(LOGREG, seed=0)
    hook = parse_attack("label_flip").label_hook(10)
    flipped = local_train(
        LOGREG, start, digits.train, TrainConfig(epochs=2), seed=0, label_hook=hook
    )
    assert evaluate(LOGREG, flipped, digits.test).accuracy < 0.05
    t = digits.test
    reversed_test = Dataset(t.name, t.X, 9 - t.y, t.n_classes, t.shape)
    assert evaluate(LOGREG, flipped, reversed_test).accuracy > 0.85


def test_training_sets_and_restores_torch_threads(digits: DataSplit) -> None:
    previous = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == previous
    local_train(LOGREG, initial_parameters(LOGREG), digits.test, TrainConfig(epochs=1), seed=0)
    assert torch.get_num_threads() == previous


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epochs": -1},
        {"batch_size": 0},
        {"lr": 0.0},
        {"lr": float("nan")},
        {"momentum": 1.0},
        {"weight_decay": -0.1},
        {"num_threads": 0},
    ],
)
def test_bad_train_config_raises_training_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(TrainingError):
        TrainConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_label_hook_raises_training_error(digits: DataSplit) -> None:
    start = initial_parameters(LOGREG)
    with pytest.raises(TrainingError, match="outside"):
        local_train(
            LOGREG, start, digits.test, TrainConfig(epochs=1), seed=0, label_hook=lambda y: y + 5
        )


def test_fedavg_weights_by_samples_or_uniform() -> None:
    assert fedavg_weights([1, 3], "samples").tolist() == [0.25, 0.75]
    assert fedavg_weights([1, 3], "uniform").tolist() == [0.5, 0.5]
    with pytest.raises(TrainingError):
        fedavg_weights([1, 3], "stake")  # type: ignore[arg-type]


def test_fedavg_same_seed_gives_same_bits(
    digits: DataSplit, dirichlet_partition: list[np.ndarray]
) -> None:
    a = run_fedavg(digits, dirichlet_partition, "logreg", rounds=3, local_epochs=1, seed=5)
    b = run_fedavg(digits, dirichlet_partition, "logreg", rounds=3, local_epochs=1, seed=5)
    c = run_fedavg(digits, dirichlet_partition, "logreg", rounds=3, local_epochs=1, seed=6)
    assert a.accuracy == b.accuracy and a.loss == b.loss
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_fedavg_quick_logreg_on_digits_reaches_090(
    digits: DataSplit, dirichlet_partition: list[np.ndarray]
) -> None:
    result = run_fedavg(digits, dirichlet_partition, "logreg", rounds=5, local_epochs=5, seed=0)
    assert len(result.accuracy) == len(result.loss) == 5
    assert result.initial.accuracy < 0.3
    assert result.final_accuracy >= 0.90


def test_fedavg_digits_reference_figure_reached(
    digits: DataSplit, dirichlet_partition: list[np.ndarray]
) -> None:
    """FEDERATED.md: digits, logreg, 10 clients, Dirichlet(0.5), 20 rounds → ≈ 0.947 (≈ 1.5 s)."""
    result = run_fedavg(digits, dirichlet_partition, "logreg", rounds=20, seed=0)
    assert result.final_accuracy >= 0.94


def test_fedavg_uniform_weighting_differs_from_sample_weighting(
    digits: DataSplit, dirichlet_partition: list[np.ndarray]
) -> None:
    a = run_fedavg(digits, dirichlet_partition, "logreg", rounds=1, local_epochs=1)
    b = run_fedavg(
        digits, dirichlet_partition, "logreg", rounds=1, local_epochs=1, weighting="uniform"
    )
    assert not np.array_equal(a.params, b.params)


def test_fedavg_collapses_under_sign_flipping_minority(
    digits: DataSplit, dirichlet_partition: list[np.ndarray]
) -> None:
    """FEDERATED.md: 3 of 10 clients sign-flipping drive float FedAvg to ≈ 0.10 or below."""
    attackers = {k: parse_attack("sign_flip:4") for k in range(3)}
    result = run_fedavg(
        digits, dirichlet_partition, "logreg", rounds=5, local_epochs=2, attackers=attackers
    )
    assert result.final_accuracy <= 0.15


def test_fedavg_free_riders_only_slow_learning(
    digits: DataSplit, dirichlet_partition: list[np.ndarray]
) -> None:
    attackers = {k: parse_attack("free_ride") for k in (0, 1)}
    result = run_fedavg(
        digits, dirichlet_partition, "logreg", rounds=3, local_epochs=2, attackers=attackers
    )
    assert result.final_accuracy > 0.8


def test_fedavg_bad_arguments_raise_training_error(
    digits: DataSplit, dirichlet_partition: list[np.ndarray]
) -> None:
    with pytest.raises(TrainingError):
        run_fedavg(digits, dirichlet_partition, "logreg", rounds=-1)
    with pytest.raises(TrainingError):
        run_fedavg(digits, [np.arange(3), np.array([], dtype=np.int64)], "logreg", rounds=1)
    with pytest.raises(TrainingError):
        run_fedavg(
            digits, dirichlet_partition, "logreg", rounds=1, attackers={10: parse_attack("ipm")}
        )


def test_central_mnist_subset_near_reference_figures() -> None:
    """FEDERATED.md: 5,000-image MNIST subset, central: logreg 0.896, MLP 0.936."""
    split = load_split("mnist", 0.2, seed=0)
    got = {}
    for name, lr in (("logreg", 0.05), ("mlp", 0.1)):
        spec = ModelSpec(name, (28, 28), 10)
        params = train_central(spec, split.train, TrainConfig(epochs=10, lr=lr, momentum=0.0))
        got[name] = evaluate(spec, params, split.test).accuracy
    assert got["logreg"] >= 0.88
    assert got["mlp"] >= 0.92
