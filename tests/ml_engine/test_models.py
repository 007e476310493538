"""Tests of ml_engine.models: forward shapes, seeded init, flat parameter vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml_engine.errors import ModelError
from ml_engine.models import (
    MODELS,
    ModelSpec,
    build_model,
    flatten_parameters,
    initial_parameters,
    layer_shapes,
    parameter_count,
    unflatten_parameters,
)

SHAPES = [(8, 8), (28, 28)]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_gives_one_logit_per_class(name: str, shape: tuple[int, int]) -> None:
    model = build_model(name, shape, 10)
    out = model(torch.zeros((5, *shape)))
    assert out.shape == (5, 10)
    assert torch.isfinite(out).all()


def test_logreg_parameter_count_and_layer_shapes() -> None:
    model = build_model("logreg", (8, 8), 10)
    assert layer_shapes(model) == [("1.weight", (10, 64)), ("1.bias", (10,))]
    assert parameter_count(model) == 650
    assert parameter_count(build_model("logreg", (28, 28), 10)) == 7850


@pytest.mark.parametrize("name", MODELS)
def test_layer_shapes_follow_state_dict_order(name: str) -> None:
    model = build_model(name, (8, 8), 10)
    assert [k for k, _ in layer_shapes(model)] == list(model.state_dict().keys())
    assert parameter_count(model) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", MODELS)
def test_flatten_unflatten_round_trip_transfers_the_model(name: str) -> None:
    source = build_model(name, (8, 8), 10, seed=1)
    target = build_model(name, (8, 8), 10, seed=2)
    vector = flatten_parameters(source)
    assert vector.dtype == np.float32 and vector.shape == (parameter_count(source),)
    assert not np.array_equal(vector, flatten_parameters(target))
    unflatten_parameters(target, vector)
    assert np.array_equal(flatten_parameters(target), vector)
    x = torch.rand((4, 8, 8), generator=torch.Generator().manual_seed(0))
    assert torch.equal(source(x), target(x))


def test_flatten_follows_state_dict_order_exactly() -> None:
    model = build_model("mlp", (8, 8), 10, seed=0)
    vector = flatten_parameters(model)
    offset = 0
    for key, tensor in model.state_dict().items():
        chunk = vector[offset : offset + tensor.numel()]
        assert np.array_equal(chunk, tensor.numpy().reshape(-1)), key
        offset += tensor.numel()
    assert offset == len(vector)


def test_flatten_returns_a_copy_not_a_view() -> None:
    model = build_model("logreg", (8, 8), 10)
    vector = flatten_parameters(model)
    vector[:] = 0.0
    assert np.any(flatten_parameters(model) != 0.0)


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    spec = ModelSpec("cnn", (28, 28), 10)
    a, b, c = initial_parameters(spec, 7), initial_parameters(spec, 7), initial_parameters(spec, 8)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_build_model_leaves_global_torch_rng_untouched() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model("mlp2", (8, 8), 10, seed=99)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [
        ("resnet", (8, 8), 10),
        ("cnn", (64,), 10),
        ("cnn", (2, 2), 10),
        ("logreg", (), 10),
        ("logreg", (0, 8), 10),
        ("mlp", (8, 8), 1),
    ],
)
def test_build_model_bad_arguments_raise_model_error(
    name: str, shape: tuple[int, ...], classes: int
) -> None:
    with pytest.raises(ModelError):
        build_model(name, shape, classes)


def test_unflatten_wrong_length_or_nan_raises_model_error() -> None:
    model = build_model("logreg", (8, 8), 10)
    before = flatten_parameters(model)
    with pytest.raises(ModelError, match="expects"):
        unflatten_parameters(model, np.zeros(649, dtype=np.float32))
    with pytest.raises(ModelError, match="expects"):
        unflatten_parameters(model, np.zeros((10, 65), dtype=np.float32))
    bad = before.copy()
    bad[3] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        unflatten_parameters(model, bad)
    assert np.array_equal(flatten_parameters(model), before)
