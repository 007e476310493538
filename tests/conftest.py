"""Shared test fixtures: paths to the real-world vectors in ../shared/vectors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = Path(os.environ.get("PYCHAIN_VECTORS", ROOT.parent / "shared" / "vectors"))


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The shared vectors folder; the suite fails (not skips) if it is missing."""
    assert VECTORS.is_dir(), f"vectors folder not found at {VECTORS}"
    return VECTORS
