"""Shared fixtures of the ml_engine tests: the bundled datasets, loaded once per session."""

from __future__ import annotations

import pytest

from ml_engine.data import DataSplit, load_split


@pytest.fixture(scope="session")
def digits() -> DataSplit:
    """scikit-learn digits with the default seeded 20 % stratified test split."""
    return load_split("digits", 0.2, seed=0)
