"""Loading Substrate JSON chain specs (``sc_chain_spec``), raw or light.

Counterpart: ``sc_chain_spec::GenericChainSpec`` and its JSON format (Substrate docs, "Chain
specification"; Polkadot specification, "Chain Specification"). pychain reads the two genesis
forms a node can start from without running a runtime:

* raw: ``genesis.raw.top`` (``{"0x<key>": "0x<value>"}``, the top trie) and
  ``genesis.raw.childrenDefault`` (``{"0x<child key>": {"0x<key>": "0x<value>"}}``, default child
  tries, keyed by the child's *unprefixed* storage key);
* light: ``genesis.stateRootHash`` only (smoldot's "light sync" specs), which fixes the genesis
  header without any storage.

Hex is parsed strictly: a ``0x`` prefix, an even number of digits and nothing but hex digits;
every failure is a :class:`ChainSpecError` naming the offending key. Differences from Substrate:
duplicate JSON keys (and keys that differ only in hex case) are refused instead of the last one
silently winning; plain (``runtimeGenesis``) specs are refused, since building their storage
needs the runtime.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis.errors import ChainSpecError

__all__ = [
    "ChainSpecError",
    "RawGenesis",
    "ChainSpec",
    "parse_hex",
    "parse_chain_spec",
    "chain_spec_from_json",
    "load_chain_spec",
]

_SHOWN_CHARS = 48


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


@dataclass(frozen=True)
class RawGenesis:
    """Genesis storage: the top trie and the default child tries (``sp_core::storage::Storage``)."""

    top: Mapping[bytes, bytes]
    children_default: Mapping[bytes, Mapping[bytes, bytes]] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainSpec:
    """A parsed chain spec: raw genesis storage, or (light spec) only the genesis state root."""

    name: str | None
    id: str | None
    raw: RawGenesis | None
    state_root_hash: bytes | None
    document: Mapping[str, Any] = field(repr=False, default_factory=dict)


def parse_hex(text: Any, where: str) -> bytes:
    """Decode ``0x``-prefixed, even-length hex; ``where`` names the value in the error."""
    if not isinstance(text, str):
        raise ChainSpecError(f"{where}: expected a hex string, got {type(text).__name__}")
    if not text.startswith("0x"):
        raise ChainSpecError(f"{where}: hex {_shorten(text)!r} lacks the 0x prefix")
    body = text[2:]
    if len(body) % 2:
        raise ChainSpecError(f"{where}: hex {_shorten(text)!r} has an odd number of digits")
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raw = b""
    # bytes.fromhex skips whitespace between bytes; a length mismatch reveals it.
    if len(raw) * 2 != len(body):
        raise ChainSpecError(f"{where}: {_shorten(text)!r} is not valid hex")
    return raw


def _parse_storage_map(value: Any, where: str) -> dict[bytes, bytes]:
    if not isinstance(value, dict):
        raise ChainSpecError(f"{where}: expected an object of hex keys and values")
    storage: dict[bytes, bytes] = {}
    for key_text, value_text in value.items():
        key = parse_hex(key_text, f"{where} key {_shorten(key_text)!r}")
        if key in storage:
            raise ChainSpecError(f"{where}: key {_shorten(key_text)!r} appears twice")
        storage[key] = parse_hex(value_text, f"{where}[{_shorten(key_text)!r}]")
    return storage


def _parse_raw(raw: Any) -> RawGenesis:
    if not isinstance(raw, dict):
        raise ChainSpecError("genesis.raw: expected an object")
    if "top" not in raw:
        raise ChainSpecError("genesis.raw: missing 'top'")
    top = _parse_storage_map(raw["top"], "genesis.raw.top")
    children_json = raw.get("childrenDefault", {})
    if not isinstance(children_json, dict):
        raise ChainSpecError("genesis.raw.childrenDefault: expected an object")
    children: dict[bytes, dict[bytes, bytes]] = {}
    for child_text, child_storage in children_json.items():
        where = f"genesis.raw.childrenDefault key {_shorten(child_text)!r}"
        child_key = parse_hex(child_text, where)
        if child_key in children:
            raise ChainSpecError(f"{where}: appears twice")
        children[child_key] = _parse_storage_map(
            child_storage, f"genesis.raw.childrenDefault[{_shorten(child_text)!r}]"
        )
    return RawGenesis(top=top, children_default=children)


def parse_chain_spec(document: Any) -> ChainSpec:
    """Build a :class:`ChainSpec` from a decoded JSON document."""
    if not isinstance(document, dict):
        raise ChainSpecError("chain spec: expected a JSON object at the top level")
    name = document.get("name")
    spec_id = document.get("id")
    for key, value in (("name", name), ("id", spec_id)):
        if value is not None and not isinstance(value, str):
            raise ChainSpecError(f"chain spec: '{key}' must be a string")
    if "genesis" not in document:
        raise ChainSpecError("chain spec: missing 'genesis'")
    genesis = document["genesis"]
    if not isinstance(genesis, dict):
        raise ChainSpecError("genesis: expected an object")
    if "raw" in genesis:
        raw = _parse_raw(genesis["raw"])
        return ChainSpec(name, spec_id, raw, None, document)
    if "stateRootHash" in genesis:
        root = parse_hex(genesis["stateRootHash"], "genesis.stateRootHash")
        if len(root) != 32:
            raise ChainSpecError(f"genesis.stateRootHash: expected 32 bytes, got {len(root)}")
        return ChainSpec(name, spec_id, None, root, document)
    present = ", ".join(sorted(map(str, genesis))) or "nothing"
    raise ChainSpecError(
        f"genesis: neither 'raw' nor 'stateRootHash' (found {present}); "
        "plain specs must be converted to raw first"
    )


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ChainSpecError(f"chain spec: JSON key {_shorten(key)!r} appears twice")
        obj[key] = value
    return obj


def chain_spec_from_json(text: str | bytes) -> ChainSpec:
    """Parse chain-spec JSON text."""
    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicates)
    except UnicodeDecodeError:
        raise ChainSpecError("chain spec: the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ChainSpecError(
            f"chain spec: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ChainSpecError("chain spec: JSON nested too deeply") from None
    return parse_chain_spec(document)


def load_chain_spec(path: str | Path) -> ChainSpec:
    """Read and parse a chain-spec file."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ChainSpecError(f"chain spec file not found: {path}") from None
    except IsADirectoryError:
        raise ChainSpecError(f"chain spec path is a directory: {path}") from None
    except OSError as exc:
        raise ChainSpecError(f"cannot read chain spec {path}: {exc.strerror}") from None
    return chain_spec_from_json(data)
