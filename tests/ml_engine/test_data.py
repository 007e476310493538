"""Tests of ml_engine.data: bundled datasets, stratified split, IID / Dirichlet / shard partitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_engine.data import (
    DataSplit,
    load_dataset,
    load_split,
    parse_partition,
    partition_dirichlet,
    partition_iid,
    partition_shards,
    stratified_split,
)
from ml_engine.errors import DataError, MlEngineError

DIGITS_LABELS = load_dataset("digits").y


def _assert_exact_cover(partition: list[np.ndarray], n: int) -> None:
    joined = np.concatenate(partition)
    assert len(joined) == n
    assert np.array_equal(np.sort(joined), np.arange(n))
    assert all(len(p) > 0 for p in partition)


def test_load_digits_shapes_dtypes_and_range() -> None:
    d = load_dataset("digits")
    assert d.X.shape == (1797, 8, 8) and d.shape == (8, 8) and len(d) == 1797
    assert d.X.dtype == np.float32 and d.y.dtype == np.int64 and d.n_classes == 10
    assert float(d.X.min()) == 0.0 and float(d.X.max()) == 1.0
    assert set(np.unique(d.y).tolist()) == set(range(10))


def test_load_mnist_subset_shapes_dtypes_and_range() -> None:
    d = load_dataset("mnist")
    assert d.X.shape == (5000, 28, 28) and d.shape == (28, 28)
    assert d.X.dtype == np.float32 and d.y.dtype == np.int64
    assert float(d.X.min()) == 0.0 and float(d.X.max()) == 1.0
    assert np.array_equal(d.class_counts(), np.full(10, 500))


def test_load_dataset_unknown_name_raises_data_error() -> None:
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar10")


def test_split_is_stratified_disjoint_and_deterministic_by_seed(digits: DataSplit) -> None:
    full = load_dataset("digits")
    train_idx, test_idx = stratified_split(full.y, 0.2, seed=0)
    again_train, again_test = stratified_split(full.y, 0.2, seed=0)
    other_train, _ = stratified_split(full.y, 0.2, seed=1)
    assert np.array_equal(train_idx, again_train) and np.array_equal(test_idx, again_test)
    assert not np.array_equal(train_idx, other_train)
    assert np.intersect1d(train_idx, test_idx).size == 0
    assert len(train_idx) + len(test_idx) == len(full)
    expected = np.rint(0.2 * full.class_counts()).astype(np.int64)
    assert np.array_equal(np.bincount(full.y[test_idx], minlength=10), expected)
    assert len(digits.test) == int(expected.sum()) and len(digits.train) == 1797 - len(digits.test)
    assert np.array_equal(digits.test.X, full.X[test_idx])


def test_load_split_same_seed_gives_same_bits() -> None:
    a, b = load_split("digits", 0.25, seed=3), load_split("digits", 0.25, seed=3)
    assert np.array_equal(a.train.X, b.train.X) and np.array_equal(a.test.y, b.test.y)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_bad_fraction_raises_data_error(fraction: float) -> None:
    with pytest.raises(DataError):
        stratified_split(DIGITS_LABELS, fraction, seed=0)


@pytest.mark.parametrize(
    ("spec", "clients"),
    [
        ("iid", 10),
        ("dirichlet:0.5", 10),
        ("dirichlet:0.05", 30),
        ("shards:2", 10),
        ("shards:3", 7),
        ("shards:1", 3),
    ],
)
def test_partition_covers_training_set_exactly_once(
    digits: DataSplit, spec: str, clients: int
) -> None:
    partition = parse_partition(spec).apply(digits.train.y, clients, seed=0)
    assert len(partition) == clients
    _assert_exact_cover(partition, len(digits.train))


@settings(max_examples=60, deadline=None)
@given(
    alpha=st.floats(min_value=0.001, max_value=100.0),
    clients=st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_dirichlet_never_leaves_a_client_empty(alpha: float, clients: int, seed: int) -> None:
    partition = partition_dirichlet(DIGITS_LABELS, clients, alpha, seed)
    _assert_exact_cover(partition, len(DIGITS_LABELS))


def test_dirichlet_min_size_fixup_tops_up_small_clients() -> None:
    partition = partition_dirichlet(DIGITS_LABELS, 40, 0.01, seed=5, min_size=20)
    assert min(len(p) for p in partition) >= 20
    _assert_exact_cover(partition, len(DIGITS_LABELS))


def test_dirichlet_lower_alpha_gives_more_label_skew() -> None:
    from ml_engine.data import label_skew

    def mean_skew(alpha: float) -> float:
        return float(
            np.mean(
                [
                    label_skew(partition_dirichlet(DIGITS_LABELS, 10, alpha, seed), DIGITS_LABELS)
                    for seed in range(5)
                ]
            )
        )

    skews = [mean_skew(a) for a in (0.1, 0.5, 5.0, 1000.0)]
    assert skews[0] > skews[1] > skews[2] > skews[3]
    assert skews[3] < 0.1 < 0.5 < skews[0]


def test_iid_partition_has_low_skew_and_equal_sizes() -> None:
    from ml_engine.data import label_skew

    partition = partition_iid(len(DIGITS_LABELS), 10, seed=0)
    sizes = [len(p) for p in partition]
    assert max(sizes) - min(sizes) <= 1
    assert label_skew(partition, DIGITS_LABELS) < 0.1


@pytest.mark.parametrize(("clients", "s"), [(10, 1), (10, 2), (5, 2), (7, 3), (20, 2)])
def test_shards_give_at_most_s_labels_per_client(clients: int, s: int) -> None:
    partition = partition_shards(DIGITS_LABELS, clients, s, seed=1)
    _assert_exact_cover(partition, len(DIGITS_LABELS))
    for part in partition:
        assert len(np.unique(DIGITS_LABELS[part])) <= s


def test_shards_one_per_client_with_ten_clients_gives_one_label_each() -> None:
    partition = partition_shards(DIGITS_LABELS, 10, 1, seed=0)
    labels = sorted(int(np.unique(DIGITS_LABELS[p])[0]) for p in partition)
    assert labels == list(range(10))


@pytest.mark.parametrize("spec", ["iid", "dirichlet:0.3", "shards:2"])
def test_partition_is_deterministic_by_seed(spec: str) -> None:
    p = parse_partition(spec)
    a, b, c = (p.apply(DIGITS_LABELS, 8, seed) for seed in (4, 4, 5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize(
    ("text", "kind", "alpha", "s"),
    [
        ("iid", "iid", 0.0, 0),
        ("IID", "iid", 0.0, 0),
        ("dirichlet:0.5", "dirichlet", 0.5, 0),
        ("dirichlet:1e-2", "dirichlet", 0.01, 0),
        ("shards:2", "shards", 0.0, 2),
    ],
)
def test_parse_partition_accepts_valid_strings(text: str, kind: str, alpha: float, s: int) -> None:
    spec = parse_partition(text)
    assert (spec.kind, spec.alpha, spec.shards_per_client) == (kind, alpha, s)
    assert parse_partition(str(spec)) == spec


@pytest.mark.parametrize(
    "text",
    [
        "",
        "iid:1",
        "dirichlet",
        "dirichlet:",
        "dirichlet:0",
        "dirichlet:-1",
        "dirichlet:nan",
        "dirichlet:abc",
        "shards",
        "shards:0",
        "shards:1.5",
        "shards:-2",
        "label",
    ],
)
def test_parse_partition_rejects_bad_strings(text: str) -> None:
    with pytest.raises(DataError):
        parse_partition(text)


def test_partition_more_clients_than_samples_raises_typed_error() -> None:
    labels = np.array([0, 1, 2], dtype=np.int64)
    for make in (
        lambda: partition_iid(3, 4, 0),
        lambda: partition_dirichlet(labels, 4, 0.5, 0),
        lambda: partition_shards(labels, 2, 2, 0),
        lambda: partition_iid(3, 0, 0),
    ):
        with pytest.raises(MlEngineError):
            make()


@settings(max_examples=40, deadline=None)
@given(
    clients=st.integers(min_value=1, max_value=40),
    s=st.integers(min_value=1, max_value=5),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_shards_cover_exactly_once_for_any_client_count(clients: int, s: int, seed: int) -> None:
    partition = partition_shards(DIGITS_LABELS, clients, s, seed)
    _assert_exact_cover(partition, len(DIGITS_LABELS))
    if clients * s >= 10:
        assert max(len(np.unique(DIGITS_LABELS[p])) for p in partition) <= s
