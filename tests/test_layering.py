"""DESIGN.md §1: lower layers never import higher ones; pychain never imports ml_engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: package → packages it must not import (by module-name prefix)
FORBIDDEN = {
    "pychain": ("ml_engine",),
    "consensus": ("ml_engine",),
    "genesis": ("ml_engine",),
    "pychain/primitives": ("pychain.frame", "pychain.chain", "pychain.node", "pychain.rpc",
                           "pychain.network", "pychain.pallets", "consensus", "genesis"),
    "pychain/trie": ("pychain.frame", "pychain.chain", "pychain.node", "pychain.rpc", "pychain.pallets"),
    "pychain/storage": ("pychain.frame", "pychain.chain", "pychain.node", "pychain.rpc", "pychain.pallets"),
    "pychain/frame": ("pychain.chain", "pychain.node", "pychain.rpc", "pychain.network", "consensus"),
    "pychain/pallets": ("pychain.chain", "pychain.node", "pychain.rpc", "pychain.network", "consensus"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_higher_layers(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, package
    offenders = []
    for path in files:
        for module in imported_modules(path):
            for banned in FORBIDDEN[package]:
                if module == banned or module.startswith(banned + "."):
                    offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []
