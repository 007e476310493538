"""Tests of ml_engine.attacks: each attack's definition and the attack parser."""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np
import pytest

from ml_engine.attacks import (
    AttackSpec,
    alie,
    alie_z,
    free_ride,
    gaussian_noise,
    ipm,
    label_flip,
    parse_attack,
    sign_flip,
)
from ml_engine.errors import AttackError

RNG = np.random.default_rng(42)
HONEST = [RNG.normal(size=200).astype(np.float32) for _ in range(7)]


def test_sign_flip_with_k_one_is_negation() -> None:
    u = HONEST[0]
    assert np.array_equal(sign_flip(u, 1), -u)
    assert np.allclose(sign_flip(u, 4), -4 * u)
    assert sign_flip(u).dtype == np.float32


def test_ipm_is_minus_eps_times_honest_mean() -> None:
    expected = -0.5 * np.mean(np.stack(HONEST).astype(np.float64), axis=0)
    assert np.allclose(ipm(HONEST, 0.5), expected, atol=1e-6)
    assert float(np.dot(ipm(HONEST, 0.1), np.mean(HONEST, axis=0))) < 0


def test_alie_z_follows_baruch_et_al() -> None:
    # n = 10, f = 3: s = floor(10/2 + 1) - 3 = 3, z = Φ⁻¹(7/10)
    assert alie_z(10, 3) == pytest.approx(NormalDist().inv_cdf(0.7))
    assert alie_z(10, 3) == pytest.approx(0.5244005, abs=1e-6)
    # n = 50, f = 12: s = 26 - 12 = 14, z = Φ⁻¹(36/50)
    assert alie_z(50, 12) == pytest.approx(NormalDist().inv_cdf(0.72))


def test_alie_is_mean_minus_z_std_and_within_one_z_std_of_mean() -> None:
    stacked = np.stack(HONEST).astype(np.float64)
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    z = alie_z(10, 3)
    out = alie(HONEST, 10, 3).astype(np.float64)
    assert np.allclose(out, mean - z * std, atol=1e-6)
    assert np.all(out <= mean + 1e-6) and np.all(out >= mean - z * std - 1e-6)
    assert np.allclose(alie(HONEST, 10, 3, z=2.0), mean - 2.0 * std, atol=1e-6)


@pytest.mark.parametrize(("n", "f"), [(10, 6), (0, 0), (4, 5), (3, -1)])
def test_alie_undefined_parameters_raise_attack_error(n: int, f: int) -> None:
    with pytest.raises(AttackError):
        alie_z(n, f)


def test_gaussian_noise_has_the_requested_sigma_and_is_seeded() -> None:
    u = np.zeros(100_000, dtype=np.float32)
    a = gaussian_noise(u, 0.3, np.random.default_rng(7))
    b = gaussian_noise(u, 0.3, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert float(np.std(a)) == pytest.approx(0.3, rel=0.02)
    assert abs(float(np.mean(a))) < 0.01
    assert np.array_equal(gaussian_noise(HONEST[1], 0.0, np.random.default_rng(0)), HONEST[1])


def test_free_ride_is_the_zero_delta() -> None:
    g = np.arange(5, dtype=np.float32)
    out = free_ride(g)
    assert out.shape == (5,) and out.dtype == np.float32 and not out.any()


def test_label_flip_default_reverses_labels() -> None:
    hook = label_flip(10)
    y = np.arange(10, dtype=np.int64)
    assert hook(y).tolist() == list(range(9, -1, -1))
    custom = label_flip(3, [1, 2, 0])
    assert custom(np.array([0, 1, 2, 2], dtype=np.int64)).tolist() == [1, 2, 0, 0]


def test_label_flip_bad_permutation_or_label_raises_attack_error() -> None:
    with pytest.raises(AttackError):
        label_flip(3, [0, 0, 1])
    with pytest.raises(AttackError):
        label_flip(3, [0, 1])
    with pytest.raises(AttackError):
        label_flip(10)(np.array([10], dtype=np.int64))


def test_attacks_needing_honest_updates_reject_empty_input() -> None:
    with pytest.raises(AttackError):
        ipm([], 0.5)
    with pytest.raises(AttackError):
        alie([], 10, 3)
    with pytest.raises(AttackError):
        ipm([np.zeros(3), np.zeros(4)], 0.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sign_flip:4", AttackSpec("sign_flip", 4.0)),
        ("sign_flip", AttackSpec("sign_flip")),
        ("Label_Flip", AttackSpec("label_flip")),
        ("gaussian:0.1", AttackSpec("gaussian", 0.1)),
        ("gaussian_noise:2", AttackSpec("gaussian", 2.0)),
        ("ipm:0.5", AttackSpec("ipm", 0.5)),
        ("alie", AttackSpec("alie")),
        ("alie:-0.5", AttackSpec("alie", -0.5)),
        ("free_ride", AttackSpec("free_ride")),
        ("none", AttackSpec("none")),
    ],
)
def test_parse_attack_accepts_valid_strings(text: str, expected: AttackSpec) -> None:
    spec = parse_attack(text)
    assert spec == expected
    assert parse_attack(str(spec)) == spec


@pytest.mark.parametrize(
    "text",
    [
        "",
        "backdoor",
        "sign_flip:",
        "sign_flip:-1",
        "sign_flip:0",
        "sign_flip:x",
        "gaussian",
        "gaussian:nan",
        "ipm:inf",
        "free_ride:1",
        "label_flip:2",
        "none:0",
    ],
)
def test_parse_attack_rejects_bad_strings(text: str) -> None:
    with pytest.raises(AttackError):
        parse_attack(text)


def test_attack_spec_apply_update_dispatches_to_each_definition() -> None:
    own = HONEST[0]
    kw: dict[str, Any] = {"n": 10, "f": 3, "global_params": own, "rng": np.random.default_rng(0)}
    assert np.allclose(parse_attack("sign_flip:3").apply_update(own, HONEST, **kw), -3 * own)
    assert np.allclose(parse_attack("ipm:2").apply_update(None, HONEST, **kw), ipm(HONEST, 2))
    assert np.array_equal(
        parse_attack("alie").apply_update(None, HONEST, **kw), alie(HONEST, 10, 3)
    )
    assert not parse_attack("free_ride").apply_update(None, HONEST, **kw).any()
    assert np.array_equal(parse_attack("label_flip").apply_update(own, HONEST, **kw), own)
    assert parse_attack("label_flip").label_hook(10) is not None
    assert parse_attack("sign_flip").label_hook(10) is None
    assert [parse_attack(a).trains for a in ("sign_flip", "ipm", "alie", "free_ride")] == [
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(AttackError):
        parse_attack("sign_flip").apply_update(None, HONEST, **kw)
