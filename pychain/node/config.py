"""Node configuration: the third tier of parameters (STYLE §10), read only by the CLI and the node.

Counterparts: ``sc_service::Configuration`` and ``sc_cli::RunCmd`` (``--dev``, ``--chain``,
``--base-path``, ``--tmp``, ``--name``, ``--validator``, ``--alice`` …), the base-path layout of a
Substrate node (``BASE/chains/<chain id>/db/full`` for the database, ``…/keystore`` for keys) and
the way ``--alice`` etc. select the well-known development keys (Aura sr25519 and GRANDPA ed25519
from ``//Alice``).

Differences: ``--slot-duration`` (pychain-only, for tests and scripts) rebuilds the preset with
another Aura slot duration — a *different* chain, since the runtime's constants are part of genesis
(:mod:`pychain.runtime`); it is refused for raw chain specs, whose runtime is fixed. Keys from the
keystore are sealed with a password (``--password``, empty by default).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genesis.build_spec import load_chain
from pychain.errors import PychainError
from pychain.node.errors import KeyUnavailable, NodeConfigError
from pychain.primitives.keyring import dev_keypair
from pychain.primitives.keys import Keypair
from pychain.primitives.keystore import Keystore
from pychain.runtime import (
    CODE_KEY,
    PychainRuntime,
    RuntimeConfig,
    RuntimeConfigError,
    runtime_config_from_code,
)

__all__ = [
    "ChainSetup",
    "NodeConfig",
    "NodeKeys",
    "database_path",
    "keystore_path",
    "load_chain_setup",
    "select_keys",
    "STATUS_INTERVAL_S",
]

#: ``sc_informant``'s status line period (5 s in Substrate).
STATUS_INTERVAL_S = 5.0


@dataclass(frozen=True)
class NodeConfig:
    """What the ``node`` command was asked to run (``sc_service::Configuration``, trimmed)."""

    chain: str = "dev"
    #: ``--base-path``; ``None`` with ``tmp`` means a temporary folder removed at exit.
    base_path: Path | None = None
    tmp: bool = False
    name: str = "pychain-node"
    validator: bool = False
    #: ``--alice``/``--bob``…: the development account whose keys the node uses.
    dev_key: str | None = None
    #: ``--slot-duration`` override (ms); ``None`` keeps the chain's.
    slot_duration: int | None = None
    #: Stop after authoring this many blocks (``--blocks``).
    max_blocks: int | None = None
    #: Stop after this many seconds (``--duration``).
    duration: float | None = None
    #: Keystore folder (default ``BASE/chains/<id>/keystore``) and its password.
    keystore_path: Path | None = None
    password: str = ""
    status_interval: float = STATUS_INTERVAL_S
    #: Stop cleanly on SIGINT/SIGTERM (the CLI sets it; in-process tests do not).
    handle_signals: bool = False
    #: JSON-RPC (``--rpc-port``, 0 = any free port, None = no RPC server) and its limits.
    rpc_port: int | None = None
    rpc_external: bool = False
    #: ``--rpc-methods``: ``auto`` (unsafe on loopback only, as Substrate), ``safe``, ``unsafe``.
    rpc_methods: str = "auto"
    rpc_max_request_size: int = 15 * 1024 * 1024
    rpc_max_connections: int = 100
    rpc_max_subscriptions_per_connection: int = 1024
    rpc_message_buffer: int = 64
    #: Prometheus endpoint (``--prometheus-port``; None = off) and ``--prometheus-external``.
    prometheus_port: int | None = None
    prometheus_external: bool = False
    #: Networking (``cli.py node`` turns it on): libp2p listen addresses (``--port`` /
    #: ``--listen-addr``), ``--bootnodes``, ``--node-key`` / ``--node-key-file`` (else
    #: ``BASE/chains/<id>/network/secret_ed25519``).
    network: bool = False
    listen_addrs: tuple[str, ...] = ()
    bootnodes: tuple[str, ...] = ()
    node_key: str | None = None
    node_key_file: Path | None = None
    #: Test/research hooks: sign two votes per GRANDPA round (``--equivocate``); stop networking,
    #: authoring and voting after this many seconds without exiting (``--offline-after``).
    equivocate: bool = False
    offline_after: float | None = None

    def __post_init__(self) -> None:
        # Verify the limits are meaningful.
        if self.slot_duration is not None and self.slot_duration < 2:
            raise NodeConfigError(
                f"--slot-duration must be at least 2 ms, got {self.slot_duration}"
            )
        if self.max_blocks is not None and self.max_blocks <= 0:
            raise NodeConfigError(f"--blocks must be positive, got {self.max_blocks}")
        if self.duration is not None and not self.duration > 0:
            raise NodeConfigError(f"--duration must be positive, got {self.duration}")
        if not self.status_interval > 0:
            raise NodeConfigError("the status interval must be positive")
        for name in ("rpc_port", "prometheus_port"):
            port = getattr(self, name)
            if port is not None and not 0 <= port <= 65535:
                raise NodeConfigError(f"--{name.replace('_', '-')} must be 0..65535, got {port}")
        if self.rpc_methods not in ("auto", "safe", "unsafe"):
            raise NodeConfigError(f"--rpc-methods must be auto, safe or unsafe, got {self.rpc_methods!r}")
        for name in (
            "rpc_max_request_size",
            "rpc_max_connections",
            "rpc_max_subscriptions_per_connection",
            "rpc_message_buffer",
        ):
            if getattr(self, name) <= 0:
                raise NodeConfigError(f"--{name.replace('_', '-')} must be positive")
        if self.offline_after is not None and not self.offline_after > 0:
            raise NodeConfigError(f"--offline-after must be positive, got {self.offline_after}")
        if self.base_path is None and not self.tmp:
            raise NodeConfigError("give --base-path DIR or --tmp")


@dataclass(frozen=True)
class ChainSetup:
    """What ``--chain`` resolves to: spec metadata, the runtime's constants and genesis storage."""

    chain_id: str
    name: str
    chain_type: str
    runtime_config: RuntimeConfig
    genesis_storage: Mapping[bytes, bytes]
    properties: Mapping[str, Any] = field(default_factory=dict)


def load_chain_setup(chain: str, slot_duration: int | None = None) -> ChainSetup:
    """Resolve ``--chain`` (preset name or spec file) into a :class:`ChainSetup`.

    Raises :class:`NodeConfigError` (or the genesis layer's typed errors) on a bad spec.
    """
    definition = load_chain(chain)
    meta = definition.metadata
    chain_id = str(meta.get("id", ""))
    if not chain_id or "/" in chain_id or chain_id in (".", ".."):
        raise NodeConfigError(f"chain id {chain_id!r} cannot name a folder")
    if definition.raw is not None:
        if slot_duration is not None:
            raise NodeConfigError("--slot-duration cannot change the runtime of a raw chain spec")
        code = definition.raw.top.get(CODE_KEY)
        if code is None:
            raise NodeConfigError("the raw chain spec's genesis has no :code")
        try:
            config = runtime_config_from_code(code)
        except RuntimeConfigError as exc:
            raise NodeConfigError(f"raw chain spec: {exc}") from None
        storage: Mapping[bytes, bytes] = dict(definition.raw.top)
    else:
        assert definition.runtime_config is not None and definition.genesis is not None
        config = definition.runtime_config
        if slot_duration is not None:
            try:
                config = dataclasses.replace(config, slot_duration=slot_duration)
            except RuntimeConfigError as exc:
                raise NodeConfigError(str(exc)) from None
        try:
            storage = PychainRuntime(config).build_genesis_storage(definition.genesis)
        except PychainError as exc:
            raise NodeConfigError(f"genesis build failed: {exc}") from None
    properties = meta.get("properties") or {}
    return ChainSetup(
        chain_id=chain_id,
        name=str(meta.get("name", chain_id)),
        chain_type=str(meta.get("chainType", "Live")),
        runtime_config=config,
        genesis_storage=storage,
        properties=dict(properties) if isinstance(properties, dict) else {},
    )


def database_path(base_path: Path, chain_id: str) -> Path:
    """``BASE/chains/<chain id>/db/full``, as a Substrate node lays out its base path."""
    return base_path / "chains" / chain_id / "db" / "full"


def keystore_path(base_path: Path, chain_id: str) -> Path:
    """``BASE/chains/<chain id>/keystore``."""
    return base_path / "chains" / chain_id / "keystore"


@dataclass(frozen=True)
class NodeKeys:
    """The validator's session keys: Aura (block authoring) and GRANDPA (finality voting)."""

    aura: Keypair | None = None
    grandpa: Keypair | None = None
    #: Every GRANDPA (ed25519) key the node holds, so that it can vote in a later authority set
    #: that includes a key of a set it was not in at start.
    grandpa_all: tuple[Keypair, ...] = ()


def _from_keystore(store: Keystore, key_type: str, authorities: Sequence[bytes]) -> Keypair | None:
    wanted = set(authorities)
    for entry in store.keys(key_type):
        if entry.public_key in wanted:
            try:
                return store.load(key_type, entry.public_key)
            except PychainError as exc:
                raise KeyUnavailable(f"keystore {key_type} key: {exc}") from None
    return None


def select_keys(
    config: NodeConfig,
    keystore_dir: Path,
    aura_authorities: Sequence[bytes],
    grandpa_authorities: Sequence[bytes],
) -> NodeKeys:
    """The keys a validator signs with: the dev keys of ``--alice`` etc., otherwise the keystore's
    keys that are in the current authority sets. A non-validator holds none."""
    if not config.validator:
        return NodeKeys()
    if config.dev_key is not None:
        try:
            grandpa = dev_keypair(config.dev_key, "ed25519")
            return NodeKeys(dev_keypair(config.dev_key, "sr25519"), grandpa, (grandpa,))
        except PychainError as exc:
            raise KeyUnavailable(str(exc)) from None
    if not keystore_dir.is_dir():
        return NodeKeys()
    if not os.access(keystore_dir, os.R_OK):
        raise KeyUnavailable(f"cannot read the keystore at {keystore_dir}")
    try:
        store = Keystore(keystore_dir, config.password)
    except PychainError as exc:
        raise KeyUnavailable(f"keystore: {exc}") from None
    gran = _from_keystore(store, "gran", grandpa_authorities)
    others = [
        entry.public_key
        for entry in store.keys("gran")
        if entry.scheme == "ed25519" and (gran is None or entry.public_key != gran.public_key)
    ]
    extra = tuple(
        key for key in (_from_keystore(store, "gran", [public]) for public in others) if key
    )
    return NodeKeys(
        _from_keystore(store, "aura", aura_authorities),
        gran,
        ((gran,) if gran is not None else ()) + extra,
    )
