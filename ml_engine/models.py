"""Small torch models and their flat float32 parameter vectors.

The chain sees a model only as a *descriptor* (architecture id, layer shapes, parameter count) and a
vector of numbers (DESIGN.md §3, ``create_task``). This module owns the mapping between the two:

* :func:`build_model` — ``logreg`` (multinomial logistic regression, one linear layer), ``mlp`` (one
  hidden layer), ``mlp2`` (two hidden layers), ``cnn`` (two 3×3 conv + 2×2 max-pool blocks and a linear
  head; works for 8×8 and 28×28 inputs, any H, W ≥ 4).
* :func:`flatten_parameters` / :func:`unflatten_parameters` — one float32 vector in ``state_dict``
  order (the order PyTorch, Flower's ``ndarrays`` helpers and our chain descriptor all use), and
  :func:`layer_shapes` giving the ``(name, shape)`` list of that order.

Initial weights are drawn from a private RNG seeded by ``seed`` (``torch.random.fork_rng``), so
building a model never disturbs the caller's torch RNG and the same seed gives the same bits.
Models take a batch of shape ``(B, *input_shape)`` and return logits ``(B, n_classes)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from ml_engine.errors import ModelError

MODELS: tuple[str, ...] = ("logreg", "mlp", "mlp2", "cnn")
"""Names accepted by :func:`build_model` (the architecture ids of a task descriptor)."""

MLP_HIDDEN = 64
"""Width of the hidden layer(s) of ``mlp`` / ``mlp2``; small enough to ship on chain for digits."""

CNN_CHANNELS = (8, 16)
"""Output channels of the two convolution blocks of ``cnn``."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a model: architecture id, input shape and class count."""

    name: str
    input_shape: tuple[int, ...]
    n_classes: int

    def build(self, seed: int = 0) -> nn.Module:
        """A fresh model with seeded initial weights."""
        return build_model(self.name, self.input_shape, self.n_classes, seed=seed)


class _Flatten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class _AddChannel(nn.Module):
    """(B, H, W) → (B, 1, H, W) for grey images; leaves 4-d input alone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1) if x.dim() == 3 else x


def _make(name: str, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    n_in = int(np.prod(input_shape))
    if name == "logreg":
        return nn.Sequential(_Flatten(), nn.Linear(n_in, n_classes))
    if name == "mlp":
        return nn.Sequential(
            _Flatten(), nn.Linear(n_in, MLP_HIDDEN), nn.ReLU(), nn.Linear(MLP_HIDDEN, n_classes)
        )
    if name == "mlp2":
        return nn.Sequential(
            _Flatten(),
            nn.Linear(n_in, MLP_HIDDEN),
            nn.ReLU(),
            nn.Linear(MLP_HIDDEN, MLP_HIDDEN),
            nn.ReLU(),
            nn.Linear(MLP_HIDDEN, n_classes),
        )
    # cnn
    if len(input_shape) != 2 or min(input_shape) < 4:
        raise ModelError(f"cnn needs a 2-d image input of at least 4×4, got {input_shape}")
    h, w = input_shape
    c1, c2 = CNN_CHANNELS
    return nn.Sequential(
        _AddChannel(),
        nn.Conv2d(1, c1, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        _Flatten(),
        nn.Linear(c2 * (h // 4) * (w // 4), n_classes),
    )


def build_model(
    name: str, input_shape: Sequence[int], n_classes: int, *, seed: int = 0
) -> nn.Module:
    """Build model ``name`` (see :data:`MODELS`) with weights initialised from ``seed``."""
    if name not in MODELS:
        raise ModelError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")
    shape = tuple(int(d) for d in input_shape)
    if not shape or any(d < 1 for d in shape):
        raise ModelError(f"bad input shape {tuple(input_shape)}")
    if n_classes < 2:
        raise ModelError(f"need at least 2 classes, got {n_classes}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _make(name, shape, n_classes)
    for key, tensor in model.state_dict().items():
        if not tensor.is_floating_point():
            raise ModelError(f"{name}: state entry {key} is not a float tensor")
    return model


def layer_shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` of every ``state_dict`` entry, in the order of the flat vector."""
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def parameter_count(model: nn.Module) -> int:
    """Length of the flat parameter vector."""
    return sum(int(np.prod(shape)) for _, shape in layer_shapes(model))


def flatten_parameters(model: nn.Module) -> NDArray[np.float32]:
    """All ``state_dict`` tensors concatenated into one new float32 vector."""
    parts = [v.detach().reshape(-1).to(torch.float32).cpu() for v in model.state_dict().values()]
    return torch.cat(parts).numpy().astype(np.float32, copy=True)


def unflatten_parameters(model: nn.Module, vector: NDArray[np.floating]) -> None:
    """Load a flat vector (as produced by :func:`flatten_parameters`) into ``model`` in place."""
    flat = np.asarray(vector)
    expected = parameter_count(model)
    if flat.ndim != 1 or flat.shape[0] != expected:
        raise ModelError(f"parameter vector has shape {flat.shape}, model expects ({expected},)")
    if not np.all(np.isfinite(flat)):
        raise ModelError("parameter vector contains NaN or infinity")
    state = model.state_dict()
    offset = 0
    new_state = {}
    for key, tensor in state.items():
        size = tensor.numel()
        chunk = flat[offset : offset + size].astype(np.float32).reshape(tuple(tensor.shape))
        new_state[key] = torch.from_numpy(chunk.copy()).to(tensor.dtype)
        offset += size
    model.load_state_dict(new_state)


def initial_parameters(spec: ModelSpec, seed: int = 0) -> NDArray[np.float32]:
    """The flat initial parameter vector of ``spec`` for ``seed``."""
    return flatten_parameters(spec.build(seed))
