"""Testnet description: validators, contributors and settings, from CLI flags or a TOML file.

Counterpart: zombienet's network definition file (``[settings]``, ``[relaychain]`` with
``[[relaychain.nodes]]``: name, flags, validator) and ``substrate --chain local``'s well-known
authorities. pychain's file has three tables, parsed with :mod:`tomllib` and validated strictly —
an unknown key, a value of the wrong type or an out-of-range number is a
:class:`TestnetConfigError` naming the key:

* ``[settings]``: ``slot_duration`` (ms), ``chain_id``, ``chain_name``, the base ports ``port``,
  ``rpc_port``, ``prometheus_port`` (node *i* uses base + *i*), and for contributors ``dataset``,
  ``partition``, ``task_id``, ``seed``;
* ``[[validators]]``: ``name``, ``stake`` (its GRANDPA weight), ``offline_after`` (seconds, then
  the node goes offline), ``equivocate`` (sign two prevotes per round), ``authority`` (``false``:
  holds keys and runs ``--validator`` but is not in the genesis authority set — a candidate for a
  later set change), ``suri`` (default ``//Alice`` … ``//Ferdie``, or ``//Validator1`` … when
  more than six nodes are declared);
* ``[[contributors]]``: ``name``, ``shard`` (index in the data partition), ``attack``
  (``kind[:param]`` of :mod:`ml_engine.attacks`), ``stake``.

Differences from zombienet: one chain only (no relay/parachain split), loopback only, and the
node key of node *i* is derived deterministically (:func:`node_key_of`) so that every peer id, and
so every ``--bootnodes`` address, is known before any node starts.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pychain.primitives.hashing import blake2_256
from pychain.primitives.keyring import DEV_ACCOUNTS
from pychain.testnet.errors import TestnetConfigError

__all__ = [
    "ContributorConfig",
    "DEFAULT_PORT",
    "DEFAULT_PROMETHEUS_PORT",
    "DEFAULT_RPC_PORT",
    "TestnetConfig",
    "ValidatorConfig",
    "config_from_toml",
    "default_config",
    "load_config",
    "node_key_of",
]

#: Substrate's default ports (``--port``, ``--rpc-port``, ``--prometheus-port``).
DEFAULT_PORT = 30333
DEFAULT_RPC_PORT = 9944
DEFAULT_PROMETHEUS_PORT = 9615
#: Domain separator of the deterministic node keys (pychain-only).
NODE_KEY_DOMAIN = b"pychain-testnet-node"
#: Bounds that keep a loopback testnet sane (not protocol constants).
MAX_NODES = 64
MIN_SLOT_DURATION_MS = 50
#: Default stake a contributor reserves when joining an FL task (plancks; the participant's own).
DEFAULT_CONTRIBUTOR_STAKE = 10**12

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def node_key_of(index: int) -> bytes:
    """The 32-byte ed25519 node key (``--node-key``) of node ``index``:
    ``blake2_256(b"pychain-testnet-node" ++ u32_le(index))``."""
    if not 0 <= index < 2**32:
        raise TestnetConfigError(f"node index {index} out of range")
    return blake2_256(NODE_KEY_DOMAIN + index.to_bytes(4, "little"))


@dataclass(frozen=True)
class ValidatorConfig:
    """One ``[[validators]]`` entry: a node process running with ``--validator``."""

    name: str
    stake: int = 1
    offline_after: float | None = None
    equivocate: bool = False
    authority: bool = True
    suri: str | None = None


@dataclass(frozen=True)
class ContributorConfig:
    """One ``[[contributors]]`` entry: an ``ml_engine.participant`` process."""

    name: str
    shard: int
    attack: str | None = None
    stake: int = DEFAULT_CONTRIBUTOR_STAKE


@dataclass(frozen=True)
class TestnetConfig:
    """A whole testnet: the nodes, the FL contributors and the shared settings."""

    __test__ = False  # not a pytest class

    validators: tuple[ValidatorConfig, ...]
    contributors: tuple[ContributorConfig, ...] = ()
    slot_duration: int = 1000
    chain_id: str = "pychain_testnet"
    chain_name: str = "pychain Local Testnet"
    port: int = DEFAULT_PORT
    rpc_port: int = DEFAULT_RPC_PORT
    prometheus_port: int = DEFAULT_PROMETHEUS_PORT
    dataset: str = "digits"
    partition: str = "dirichlet:0.5"
    task_id: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        validate_config(self)

    def validator_suri(self, index: int) -> str:
        """The secret URI of node ``index``'s session keys (Aura sr25519, GRANDPA ed25519)."""
        entry = self.validators[index]
        if entry.suri is not None:
            return entry.suri
        if len(self.validators) <= len(DEV_ACCOUNTS):
            return "//" + DEV_ACCOUNTS[index]
        return f"//Validator{index + 1}"

    def contributor_suri(self, index: int) -> str:
        """The secret URI of contributor ``index`` (``//Contributor1`` …)."""
        return f"//Contributor{index + 1}"


def _check_port_range(name: str, base: int, count: int) -> range:
    if not 1024 <= base or base + count - 1 > 65535:
        raise TestnetConfigError(
            f"{name} {base}: node ports {base}..{base + count - 1} must lie in 1024..65535"
        )
    return range(base, base + count)


def validate_config(config: TestnetConfig) -> None:
    """Check the cross-field rules (names unique, ports disjoint, at least one authority)."""
    # Verify there is at least one validator and not too many.
    if not config.validators:
        raise TestnetConfigError("a testnet needs at least one validator")
    if len(config.validators) > MAX_NODES:
        raise TestnetConfigError(f"at most {MAX_NODES} validators, got {len(config.validators)}")
    # Verify the genesis authority set is not empty.
    if not any(v.authority for v in config.validators):
        raise TestnetConfigError("at least one validator must be a genesis authority")
    # Verify every name is a usable folder name and unique across nodes and contributors.
    names = [v.name for v in config.validators] + [c.name for c in config.contributors]
    for name in names:
        if not _NAME.match(name):
            raise TestnetConfigError(
                f"name {name!r:.40}: use 1-32 letters, digits, '_' or '-' (it names a folder)"
            )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TestnetConfigError(f"duplicate name(s): {', '.join(duplicates)}")
    # Verify stakes, flags and shards are in range.
    for v in config.validators:
        if v.stake < 1 or v.stake >= 2**64:
            raise TestnetConfigError(f"validator {v.name}: stake must be in 1..2^64-1")
        if v.offline_after is not None and not (
            math.isfinite(v.offline_after) and v.offline_after > 0
        ):
            raise TestnetConfigError(f"validator {v.name}: offline_after must be > 0 seconds")
    for c in config.contributors:
        if c.shard < 0 or c.shard >= max(len(config.contributors), 1):
            raise TestnetConfigError(
                f"contributor {c.name}: shard {c.shard} outside 0..{len(config.contributors) - 1}"
            )
        if c.stake < 1:
            raise TestnetConfigError(f"contributor {c.name}: stake must be >= 1")
    # Verify the slot duration (Aura's SlotDuration in ms).
    if not MIN_SLOT_DURATION_MS <= config.slot_duration <= 600_000:
        raise TestnetConfigError(
            f"slot_duration {config.slot_duration} ms outside {MIN_SLOT_DURATION_MS}..600000"
        )
    if not _NAME.match(config.chain_id):
        raise TestnetConfigError(f"chain_id {config.chain_id!r:.40}: letters, digits, '_', '-'")
    if config.task_id < 0 or config.seed < 0:
        raise TestnetConfigError("task_id and seed must be >= 0")
    # Verify the three port ranges lie in range and do not overlap.
    n = len(config.validators) + MAX_EXTRA_NODES
    ranges = {
        "port": _check_port_range("port", config.port, n),
        "rpc_port": _check_port_range("rpc_port", config.rpc_port, n),
        "prometheus_port": _check_port_range("prometheus_port", config.prometheus_port, n),
    }
    items = list(ranges.items())
    for i, (a, ra) in enumerate(items):
        for b, rb in items[i + 1 :]:
            if ra.start < rb.stop and rb.start < ra.stop:
                raise TestnetConfigError(
                    f"{a} range {ra.start}..{ra.stop - 1} overlaps {b} range "
                    f"{rb.start}..{rb.stop - 1}"
                )


#: Room reserved in each port range for nodes added at run time (``Testnet.add_node``).
MAX_EXTRA_NODES = 4


def default_config(
    validators: int = 4,
    contributors: int = 0,
    slot_duration: int = 1000,
    port: int = DEFAULT_PORT,
    rpc_port: int = DEFAULT_RPC_PORT,
    prometheus_port: int = DEFAULT_PROMETHEUS_PORT,
) -> TestnetConfig:
    """The testnet ``python cli.py testnet --validators N --contributors M`` runs."""
    if not isinstance(validators, int) or validators < 1:
        raise TestnetConfigError(f"--validators must be >= 1, got {validators}")
    if not isinstance(contributors, int) or contributors < 0:
        raise TestnetConfigError(f"--contributors must be >= 0, got {contributors}")
    names = [f"validator{i + 1}" for i in range(validators)]
    if validators <= len(DEV_ACCOUNTS):
        names = [DEV_ACCOUNTS[i].lower() for i in range(validators)]
    return TestnetConfig(
        validators=tuple(ValidatorConfig(name) for name in names),
        contributors=tuple(
            ContributorConfig(f"contributor{i + 1}", shard=i) for i in range(contributors)
        ),
        slot_duration=slot_duration,
        port=port,
        rpc_port=rpc_port,
        prometheus_port=prometheus_port,
    )


# ------------------------------------------------------------------------------------- TOML

_SETTINGS: dict[str, type | tuple[type, ...]] = {
    "slot_duration": int,
    "chain_id": str,
    "chain_name": str,
    "port": int,
    "rpc_port": int,
    "prometheus_port": int,
    "dataset": str,
    "partition": str,
    "task_id": int,
    "seed": int,
}
_VALIDATOR: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "stake": int,
    "offline_after": (int, float),
    "equivocate": bool,
    "authority": bool,
    "suri": str,
}
_CONTRIBUTOR: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "shard": int,
    "attack": str,
    "stake": int,
}
_TOP = ("settings", "validators", "contributors")


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({int: "integer", float: "number", str: "string", bool: "boolean"}[k]
                       for k in kinds)


def _table(
    data: Any, where: str, schema: Mapping[str, type | tuple[type, ...]], required: tuple[str, ...]
) -> dict[str, Any]:
    """Check one TOML table against ``schema``: known keys, right types, required keys."""
    if not isinstance(data, dict):
        raise TestnetConfigError(f"{where}: expected a table")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise TestnetConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(schema)}"
        )
    for key in required:
        if key not in data:
            raise TestnetConfigError(f"{where}: missing key '{key}'")
    out: dict[str, Any] = {}
    for key, value in data.items():
        kind = schema[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int in Python; TOML keeps them apart, so must we.
        ok = isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))
        if not ok:
            raise TestnetConfigError(
                f"{where}.{key}: expected a {_type_name(kind)}, got {type(value).__name__}"
            )
        out[key] = float(value) if key == "offline_after" else value
    return out


def config_from_toml(text: str, source: str = "network file") -> TestnetConfig:
    """Parse and validate a network file's text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TestnetConfigError(f"{source}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(_TOP))
    if unknown:
        raise TestnetConfigError(
            f"{source}: unknown table(s) {', '.join(unknown)}; expected {', '.join(_TOP)}"
        )
    settings = _table(data.get("settings", {}), "settings", _SETTINGS, ())
    raw_validators = data.get("validators")
    if not isinstance(raw_validators, list) or not raw_validators:
        raise TestnetConfigError(f"{source}: needs at least one [[validators]] entry")
    validators = tuple(
        ValidatorConfig(**_table(item, f"validators[{i}]", _VALIDATOR, ("name",)))
        for i, item in enumerate(raw_validators)
    )
    raw_contributors = data.get("contributors", [])
    if not isinstance(raw_contributors, list):
        raise TestnetConfigError(f"{source}: 'contributors' must be an array of tables")
    contributors = tuple(
        ContributorConfig(**_table(item, f"contributors[{i}]", _CONTRIBUTOR, ("name", "shard")))
        for i, item in enumerate(raw_contributors)
    )
    return TestnetConfig(validators=validators, contributors=contributors, **settings)


def load_config(path: str | Path) -> TestnetConfig:
    """Read and validate the network file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TestnetConfigError(f"network file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TestnetConfigError(f"cannot read network file {path}: {exc}") from None
    return config_from_toml(text, str(path))
