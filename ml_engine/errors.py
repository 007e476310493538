"""Typed errors of the off-chain ML engine.

``ml_engine``'s learning core imports nothing from ``pychain`` (DESIGN.md §1: the chain never depends
on torch, and the ML core stays usable on its own), so its root :class:`MlEngineError` derives from
:class:`Exception` directly rather than from ``pychain.errors.PychainError``. Orchestration code that
uses both packages catches the two roots.
"""

from __future__ import annotations


class MlEngineError(Exception):
    """Base class of every error raised on purpose by ``ml_engine``."""


class DataError(MlEngineError):
    """Unknown dataset, bad split fraction, or a partition that cannot be built."""


class ModelError(MlEngineError):
    """Unknown model name, unsupported input shape, or a parameter vector of the wrong size."""


class TrainingError(MlEngineError):
    """Bad training configuration (epochs, batch size, learning rate, weighting)."""


class EncodingError(MlEngineError):
    """Bad fixed-point parameters or an update that cannot be encoded (NaN, out of int32)."""


class AttackError(MlEngineError):
    """Unknown attack name, bad attack parameter, or an attack not defined for its inputs."""
