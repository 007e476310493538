"""Byzantine contributors for experiments: update attacks, a label-flip hook, and their parser.

All update attacks act on *deltas* (local − global, float), before encoding; an attacker then encodes
and submits like anybody else, so the chain's clipping and bounds apply to it too.

* :func:`sign_flip` — ``−k × u`` of the attacker's own honest update (Blanchard et al. 2017 use such
  "omniscient" reversed gradients; k = 1 reverses, larger k dominates a plain mean).
* :func:`label_flip` — a training-time hook; default map ``y → C − 1 − y`` (as in Fang et al. 2020,
  "Local model poisoning attacks to Byzantine-robust federated learning"), or any permutation given.
* :func:`gaussian_noise` — ``u + N(0, σ²)`` per coordinate, drawn from the caller's ``Generator``.
* :func:`ipm` — inner-product manipulation (Xie, Koyejo, Gupta 2019, "Fall of empires"): every
  attacker sends ``−ε × mean(honest updates)``.
* :func:`alie` — "A little is enough" (Baruch, Baruch, Goldberg, NeurIPS 2019): with
  ``s = ⌊n/2 + 1⌋ − f`` and ``z = Φ⁻¹((n − s)/n)``, send ``mean − z · std`` per coordinate of the
  honest updates (population std, ``ddof = 0``; the paper writes σ without saying which).
* :func:`free_ride` — resubmit the global model, i.e. a zero delta (Lin et al. 2019, "Free-riders in
  federated learning").

:func:`parse_attack` reads ``none``, ``sign_flip[:k]``, ``label_flip``, ``gaussian:σ``,
``ipm[:ε]``, ``alie[:z]`` (z given explicitly instead of from n and f), ``free_ride``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ml_engine.errors import AttackError

AttackKind = Literal["none", "sign_flip", "label_flip", "gaussian", "ipm", "alie", "free_ride"]

ATTACKS: tuple[str, ...] = (
    "none",
    "sign_flip",
    "label_flip",
    "gaussian",
    "ipm",
    "alie",
    "free_ride",
)

DEFAULT_SIGN_FLIP_K = 1.0
# Our default; Xie et al. study small ε (slips past Krum) and large ε (reverses the mean).
DEFAULT_IPM_EPS = 0.5

FloatArray = NDArray[np.floating]


def _as_update(update: FloatArray) -> NDArray[np.float64]:
    arr = np.asarray(update, dtype=np.float64)
    if arr.ndim != 1:
        raise AttackError(f"an update is a flat vector, got shape {arr.shape}")
    return arr


def _stack(honest_updates: Sequence[FloatArray]) -> NDArray[np.float64]:
    if len(honest_updates) == 0:
        raise AttackError("this attack needs at least one honest update")
    rows = [_as_update(u) for u in honest_updates]
    if len({r.shape for r in rows}) != 1:
        raise AttackError("honest updates have different lengths")
    return np.stack(rows)


def sign_flip(update: FloatArray, k: float = DEFAULT_SIGN_FLIP_K) -> NDArray[np.float32]:
    """``−k × update``."""
    if not (math.isfinite(k) and k > 0):
        raise AttackError(f"sign-flip factor must be positive, got {k}")
    return (-k * _as_update(update)).astype(np.float32)


def gaussian_noise(
    update: FloatArray, sigma: float, rng: np.random.Generator
) -> NDArray[np.float32]:
    """``update`` plus independent N(0, σ²) noise on every coordinate."""
    if not (math.isfinite(sigma) and sigma >= 0):
        raise AttackError(f"noise σ must be ≥ 0, got {sigma}")
    u = _as_update(update)
    return (u + rng.normal(0.0, sigma, size=u.shape)).astype(np.float32)


def ipm(honest_updates: Sequence[FloatArray], eps: float = DEFAULT_IPM_EPS) -> NDArray[np.float32]:
    """Inner-product manipulation: ``−ε × mean(honest_updates)``."""
    if not (math.isfinite(eps) and eps > 0):
        raise AttackError(f"IPM ε must be positive, got {eps}")
    return (-eps * _stack(honest_updates).mean(axis=0)).astype(np.float32)


def alie_z(n: int, f: int) -> float:
    """Baruch et al.'s z for ``n`` participants of which ``f`` are Byzantine."""
    if n < 1 or not 0 <= f <= n:
        raise AttackError(f"ALIE needs n ≥ 1 and 0 ≤ f ≤ n, got n={n}, f={f}")
    s = math.floor(n / 2 + 1) - f
    p = (n - s) / n
    if not 0.0 < p < 1.0:
        raise AttackError(f"ALIE z undefined for n={n}, f={f}: (n − s)/n = {p}")
    return NormalDist().inv_cdf(p)


def alie(
    honest_updates: Sequence[FloatArray], n: int, f: int, z: float | None = None
) -> NDArray[np.float32]:
    """A little is enough: ``mean − z · std`` per coordinate (z from n, f unless given)."""
    stacked = _stack(honest_updates)
    z_used = alie_z(n, f) if z is None else z
    if not math.isfinite(z_used):
        raise AttackError(f"ALIE z must be finite, got {z_used}")
    return (stacked.mean(axis=0) - z_used * stacked.std(axis=0)).astype(np.float32)


def free_ride(global_params: FloatArray) -> NDArray[np.float32]:
    """Resubmit the global model: the zero delta of its length."""
    return np.zeros(_as_update(global_params).shape, dtype=np.float32)


def label_flip(
    n_classes: int, permutation: Sequence[int] | None = None
) -> Callable[[NDArray[np.int64]], NDArray[np.int64]]:
    """A label hook mapping y → ``permutation[y]`` (default ``C − 1 − y``)."""
    if n_classes < 2:
        raise AttackError(f"label flip needs at least 2 classes, got {n_classes}")
    table = (
        np.arange(n_classes - 1, -1, -1, dtype=np.int64)
        if permutation is None
        else np.asarray(permutation, dtype=np.int64)
    )
    if table.shape != (n_classes,) or sorted(table.tolist()) != list(range(n_classes)):
        raise AttackError(f"not a permutation of {n_classes} classes: {list(table)}")

    def hook(labels: NDArray[np.int64]) -> NDArray[np.int64]:
        y = np.asarray(labels, dtype=np.int64)
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise AttackError("label outside [0, n_classes)")
        return table[y]

    return hook


@dataclass(frozen=True)
class AttackSpec:
    """One attacker's behaviour, as parsed from ``"kind[:param]"``."""

    kind: AttackKind
    param: float | None = None

    def __str__(self) -> str:
        return self.kind if self.param is None else f"{self.kind}:{self.param:g}"

    @property
    def trains(self) -> bool:
        """Whether the attacker needs its own (honest or label-flipped) local training."""
        return self.kind in ("none", "sign_flip", "label_flip", "gaussian")

    def label_hook(self, n_classes: int) -> Callable[[NDArray[np.int64]], NDArray[np.int64]] | None:
        """The training-time hook (label flip), or None."""
        return label_flip(n_classes) if self.kind == "label_flip" else None

    def apply_update(
        self,
        own_update: FloatArray | None,
        honest_updates: Sequence[FloatArray],
        *,
        n: int,
        f: int,
        global_params: FloatArray,
        rng: np.random.Generator,
    ) -> NDArray[np.float32]:
        """The delta this attacker submits, given its own trained delta (if it trains)."""
        if self.kind == "free_ride":
            return free_ride(global_params)
        if self.kind == "ipm":
            return ipm(honest_updates, DEFAULT_IPM_EPS if self.param is None else self.param)
        if self.kind == "alie":
            return alie(honest_updates, n, f, z=self.param)
        if own_update is None:
            raise AttackError(f"{self.kind} needs the attacker's own trained update")
        if self.kind == "sign_flip":
            return sign_flip(own_update, DEFAULT_SIGN_FLIP_K if self.param is None else self.param)
        if self.kind == "gaussian":
            return gaussian_noise(own_update, self.param if self.param is not None else 0.0, rng)
        return _as_update(own_update).astype(np.float32)  # none, label_flip: already applied


_PARAM_REQUIRED = {"gaussian"}
_PARAM_OPTIONAL = {"sign_flip", "ipm", "alie"}
_ALIASES = {"gaussian_noise": "gaussian", "signflip": "sign_flip", "freeride": "free_ride"}


def parse_attack(text: str) -> AttackSpec:
    """Parse ``"sign_flip:4"``, ``"gaussian:0.1"``, ``"alie"``, ``"none"``, … (case-insensitive)."""
    raw_kind, sep, arg = text.strip().lower().partition(":")
    kind = _ALIASES.get(raw_kind, raw_kind)
    if kind not in ATTACKS:
        raise AttackError(f"unknown attack {raw_kind!r}; expected one of {', '.join(ATTACKS)}")
    if not sep:
        if kind in _PARAM_REQUIRED:
            raise AttackError(f"attack {kind} needs a parameter, e.g. {kind}:0.1")
        return AttackSpec(kind)  # type: ignore[arg-type]
    if kind not in _PARAM_REQUIRED | _PARAM_OPTIONAL:
        raise AttackError(f"attack {kind} takes no parameter, got {text!r}")
    try:
        value = float(arg)
    except ValueError:
        raise AttackError(f"bad parameter in {text!r}") from None
    if (
        not math.isfinite(value)
        or (kind != "alie" and value <= 0)
        or (kind == "gaussian" and value < 0)
    ):
        raise AttackError(f"parameter of {kind} must be a positive finite number, got {text!r}")
    return AttackSpec(kind, value)  # type: ignore[arg-type]
