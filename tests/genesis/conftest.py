"""Fixtures for genesis tests: the real chain specs listed in vectors/chainspecs/expected.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genesis.chain_spec import ChainSpec, load_chain_spec


@pytest.fixture(scope="session")
def expected_chains(vectors: Path) -> list[dict[str, Any]]:
    chains: list[dict[str, Any]] = json.loads(
        (vectors / "chainspecs" / "expected.json").read_text()
    )["chains"]
    assert len(chains) == 7
    return chains


@pytest.fixture(scope="session")
def loaded_specs(vectors: Path, expected_chains: list[dict[str, Any]]) -> dict[str, ChainSpec]:
    """Every expected chain spec, parsed once per session (keyed by its file entry)."""
    return {chain["file"]: load_chain_spec(vectors / chain["file"]) for chain in expected_chains}


@pytest.fixture(scope="session")
def node_template_document(vectors: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (vectors / "chainspecs" / "substrate-node-template.json").read_text()
    )
    return document
