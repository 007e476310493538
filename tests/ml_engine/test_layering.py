"""DESIGN.md §1: ml_engine's learning core imports nothing of pychain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = ["data", "models", "training", "encoding", "attacks", "errors", "__init__"]
ML_ENGINE = Path(__file__).resolve().parents[2] / "ml_engine"


@pytest.mark.parametrize("module", CORE)
def test_learning_core_module_does_not_import_pychain(module: str) -> None:
    tree = ast.parse((ML_ENGINE / f"{module}.py").read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "pychain" not in imported and "consensus" not in imported
    assert module == "__init__" or module == "errors" or "numpy" in imported
