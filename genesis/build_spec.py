"""Build Substrate-format chain specs (``build-spec``) from presets or plain spec files.

Counterpart: ``sc_chain_spec::GenericChainSpec::as_json(raw)`` and ``sc_cli``'s ``build-spec``
(Substrate docs, "Chain specification"). The document has ``name``, ``id``, ``chainType``,
``bootNodes``, ``telemetryEndpoints``, ``protocolId``, ``properties``, ``codeSubstitutes`` and
``genesis``, which is either

* plain: ``{"runtimeGenesis": {"code": "0x…", "patch": {…}}}`` (or ``"config"`` for a full
  config) — ``code`` is the runtime's ``:code`` descriptor, which carries its constants
  (:mod:`pychain.runtime`), ``patch`` the ``RuntimeGenesisConfig`` JSON merged over the default;
* raw: ``{"raw": {"top": {"0x<key>": "0x<value>"}, "childrenDefault": {}}}``, the genesis storage
  built by running every pallet's genesis build.

A raw spec written here loads back with :mod:`genesis.chain_spec` and gives, through
:mod:`genesis.genesis_block` (trie layout read from the ``runtime_version`` embedded in ``:code``),
the genesis hash of the chain the runtime builds. Reading a raw spec back as plain is impossible
(as in Substrate): a raw input is written out raw.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis.chain_spec import ChainSpec, RawGenesis, chain_spec_from_json, parse_hex
from genesis.errors import ChainSpecError
from genesis.genesis_block import GenesisBlock, build_genesis
from genesis.presets import (
    PRESETS,
    Preset,
    apply_patch,
    genesis_config_from_json,
    genesis_config_to_json,
    get_preset,
)
from pychain.errors import PychainError
from pychain.runtime import (
    CODE_KEY,
    PychainRuntime,
    RuntimeConfig,
    RuntimeGenesisConfig,
    runtime_code,
    runtime_config_from_code,
)

__all__ = [
    "ChainDefinition",
    "load_chain",
    "chain_spec_document",
    "genesis_storage",
    "genesis_block_of",
]

_CHAIN_TYPES = ("Development", "Local", "Live", "Custom")


@dataclass(frozen=True)
class ChainDefinition:
    """What ``--chain`` named: spec metadata with either a genesis config (preset or plain spec)
    or, for a raw spec, its storage."""

    metadata: Mapping[str, Any]
    runtime_config: RuntimeConfig | None
    genesis: RuntimeGenesisConfig | None
    raw: RawGenesis | None = None
    genesis_kind: str = "patch"

    @property
    def is_raw(self) -> bool:
        return self.raw is not None


def _metadata(preset: Preset) -> dict[str, Any]:
    return {
        "name": preset.name,
        "id": preset.id,
        "chainType": preset.chain_type,
        "bootNodes": [],
        "telemetryEndpoints": None,
        "protocolId": preset.protocol_id,
        "properties": dict(preset.properties),
        "codeSubstitutes": {},
    }


def _metadata_of(document: Mapping[str, Any]) -> dict[str, Any]:
    meta = {key: value for key, value in document.items() if key != "genesis"}
    for key in ("name", "id"):
        if not isinstance(meta.get(key), str):
            raise ChainSpecError(f"chain spec: '{key}' must be a string")
    chain_type = meta.setdefault("chainType", "Live")
    if chain_type not in _CHAIN_TYPES and not isinstance(chain_type, dict):
        raise ChainSpecError(f"chain spec: unknown chainType {chain_type!r:.40}")
    return meta


def _from_plain(document: Mapping[str, Any]) -> ChainDefinition:
    runtime_genesis = document["genesis"]["runtimeGenesis"]
    if not isinstance(runtime_genesis, dict):
        raise ChainSpecError("genesis.runtimeGenesis: expected an object")
    if "code" not in runtime_genesis:
        raise ChainSpecError("genesis.runtimeGenesis: missing 'code'")
    code = parse_hex(runtime_genesis["code"], "genesis.runtimeGenesis.code")
    try:
        config = runtime_config_from_code(code)
    except PychainError as exc:
        raise ChainSpecError(f"genesis.runtimeGenesis.code: {exc}") from None
    kinds = [kind for kind in ("patch", "config") if kind in runtime_genesis]
    if len(kinds) != 1:
        raise ChainSpecError("genesis.runtimeGenesis: expected exactly one of 'patch', 'config'")
    kind = kinds[0]
    body = runtime_genesis[kind]
    if not isinstance(body, dict):
        raise ChainSpecError(f"genesis.runtimeGenesis.{kind}: expected an object")
    base = genesis_config_to_json(RuntimeGenesisConfig(), config.ss58_prefix)
    merged = apply_patch(base, body) if kind == "patch" else body
    genesis = genesis_config_from_json(merged)
    return ChainDefinition(_metadata_of(document), config, genesis, None, kind)


def _from_file(path: str) -> ChainDefinition:
    try:
        text = Path(path).read_bytes()
    except FileNotFoundError:
        raise ChainSpecError(
            f"--chain {path!r} is neither a preset ({', '.join(PRESETS)}) nor a chain spec file"
        ) from None
    except IsADirectoryError:
        raise ChainSpecError(f"chain spec path is a directory: {path}") from None
    except OSError as exc:
        raise ChainSpecError(f"cannot read chain spec {path}: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ChainSpecError(f"chain spec {path}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("genesis"), dict):
        raise ChainSpecError("chain spec: expected an object with a 'genesis' object")
    if "runtimeGenesis" in document["genesis"]:
        return _from_plain(document)
    spec: ChainSpec = chain_spec_from_json(text)
    if spec.raw is None:
        raise ChainSpecError("chain spec: a light spec (stateRootHash only) cannot be rebuilt")
    return ChainDefinition(_metadata_of(document), None, None, spec.raw, "raw")


def load_chain(chain: str) -> ChainDefinition:
    """``--chain``: a preset name (``dev``, ``local``) or the path of a plain or raw spec."""
    if chain in PRESETS:
        preset = get_preset(chain)
        return ChainDefinition(_metadata(preset), preset.runtime_config, preset.genesis)
    return _from_file(chain)


def genesis_storage(definition: ChainDefinition) -> RawGenesis:
    """The genesis storage of a chain: built by the runtime, or the raw spec's own."""
    if definition.raw is not None:
        return definition.raw
    assert definition.runtime_config is not None and definition.genesis is not None
    try:
        top = PychainRuntime(definition.runtime_config).build_genesis_storage(definition.genesis)
    except ChainSpecError:
        raise
    except PychainError as exc:
        raise ChainSpecError(f"genesis build failed: {exc}") from None
    return RawGenesis(top=top, children_default={})


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def chain_spec_document(definition: ChainDefinition, raw: bool) -> dict[str, Any]:
    """The chain-spec JSON object: plain (``runtimeGenesis``) or ``raw``."""
    document: dict[str, Any] = dict(definition.metadata)
    if raw or definition.is_raw:
        storage = genesis_storage(definition)
        document["genesis"] = {
            "raw": {
                "top": {_hex(k): _hex(v) for k, v in sorted(storage.top.items())},
                "childrenDefault": {
                    _hex(child): {_hex(k): _hex(v) for k, v in sorted(items.items())}
                    for child, items in sorted(storage.children_default.items())
                },
            }
        }
        return document
    assert definition.runtime_config is not None and definition.genesis is not None
    config = definition.runtime_config
    body = genesis_config_to_json(definition.genesis, config.ss58_prefix)
    document["genesis"] = {
        "runtimeGenesis": {
            "code": _hex(runtime_code(config)),
            definition.genesis_kind: body,
        }
    }
    return document


def genesis_block_of(definition: ChainDefinition) -> GenesisBlock:
    """The genesis block of a chain, as a node loading its raw spec computes it."""
    storage = genesis_storage(definition)
    if CODE_KEY not in storage.top:
        raise ChainSpecError("genesis storage has no :code")
    spec = ChainSpec(definition.metadata.get("name"), definition.metadata.get("id"), storage, None)
    return build_genesis(spec)
