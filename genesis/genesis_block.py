"""Genesis state root, genesis header and genesis hash of a chain spec.

Counterparts: ``sc_chain_spec::resolve_state_version_from_wasm`` and
``sc_chain_spec::construct_genesis_block`` (Polkadot specification, "Genesis State" and "Block
Header"); the state root is ``sp_state_machine``'s full storage root of the genesis storage:

* each non-empty default child trie is hashed on its own (same trie layout) and its root is
  written into the top trie at ``b":child_storage:default:" ++ child_key``; a child whose root is
  the empty-trie root is left out, as ``full_storage_root`` does;
* the top trie may not itself hold keys under ``b":child_storage:"`` (Substrate refuses such
  genesis storage with ``InvalidState``);
* the genesis header is ``{parent: 0x00…00, number: 0, state_root, extrinsics_root: root of the
  empty extrinsics list, digest: []}`` and the genesis hash is its BLAKE2b-256.

The trie layout (state version) comes from the runtime, as in Substrate: the ``state_version``
field of the ``RuntimeVersion`` embedded in the wasm stored at ``:code``
(:func:`pychain.primitives.runtime_version.read_embedded_version`); no ``:code``, or no embedded
version, means V0. A light spec carries its state root, so no layout is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from genesis.chain_spec import ChainSpec, RawGenesis
from genesis.errors import ChainSpecError, GenesisError
from pychain.primitives.header import ZERO_HASH, Header
from pychain.primitives.runtime_version import (
    RuntimeCodeError,
    RuntimeVersion,
    read_embedded_version,
)
from pychain.trie import (
    CHILD_STORAGE_KEY_PREFIX,
    DEFAULT_CHILD_STORAGE_KEY_PREFIX,
    ordered_trie_root,
)
from pychain.trie import state_root as full_state_root

__all__ = [
    "CODE_KEY",
    "CHILD_STORAGE_KEY_PREFIX",
    "DEFAULT_CHILD_STORAGE_KEY_PREFIX",
    "STATE_VERSIONS",
    "GenesisBlock",
    "runtime_version_of",
    "resolve_state_version",
    "compute_state_root",
    "construct_genesis_header",
    "build_genesis",
]

#: ``sp_core::storage::well_known_keys::CODE``: the runtime wasm.
CODE_KEY = b":code"
#: ``sp_core::storage::StateVersion``: V0 (values inline) and V1 (values of 33+ bytes hashed).
STATE_VERSIONS = (0, 1)


@dataclass(frozen=True)
class GenesisBlock:
    """The genesis header with how its state root was obtained.

    ``state_version`` is ``None`` for a light spec (its root was given, not computed);
    ``runtime_version`` is the version read from ``:code`` when auto-detection ran and found one.
    """

    header: Header
    state_version: int | None
    runtime_version: RuntimeVersion | None = None

    @property
    def state_root(self) -> bytes:
        return self.header.state_root

    @property
    def extrinsics_root(self) -> bytes:
        return self.header.extrinsics_root

    @property
    def hash(self) -> bytes:
        return self.header.hash()


def runtime_version_of(raw: RawGenesis) -> RuntimeVersion | None:
    """The ``RuntimeVersion`` embedded in the genesis ``:code``, if there is one."""
    code = raw.top.get(CODE_KEY)
    if code is None:
        return None
    try:
        return read_embedded_version(code)
    except RuntimeCodeError as exc:
        raise ChainSpecError(f"genesis.raw.top[':code'] (0x3a636f6465): {exc}") from None


def resolve_state_version(raw: RawGenesis) -> tuple[int, RuntimeVersion | None]:
    """The genesis trie layout as Substrate picks it, and the runtime version it came from."""
    version = runtime_version_of(raw)
    if version is None:
        return 0, None
    return version.trie_state_version(), version


def _check_state_version(state_version: int) -> None:
    if state_version not in STATE_VERSIONS:
        raise GenesisError(f"state version must be 0 or 1, got {state_version!r}")


def compute_state_root(raw: RawGenesis, state_version: int) -> bytes:
    """The genesis state root: top trie with the non-empty default child roots inserted
    (:func:`pychain.trie.state_root`)."""
    _check_state_version(state_version)
    for key in raw.top:
        # Verify the top trie does not forge child-trie roots.
        if key.startswith(CHILD_STORAGE_KEY_PREFIX):
            raise ChainSpecError(
                f"genesis.raw.top key 0x{key.hex()[:60]}: keys under ':child_storage:' are "
                "reserved for child tries (use genesis.raw.childrenDefault)"
            )
    return full_state_root(raw.top, raw.children_default, state_version=state_version)


def construct_genesis_header(state_root: bytes, extrinsics_root: bytes) -> Header:
    """``construct_genesis_block``'s header: zero parent, number 0, empty digest."""
    return Header(
        parent_hash=ZERO_HASH,
        number=0,
        state_root=state_root,
        extrinsics_root=extrinsics_root,
        digest=(),
    )


def build_genesis(spec: ChainSpec, state_version: int | None = None) -> GenesisBlock:
    """The genesis block of ``spec``; ``state_version`` ``None`` = read it from ``:code``."""
    if state_version is not None:
        _check_state_version(state_version)
    extrinsics_root = ordered_trie_root([], state_version=state_version or 0)
    if spec.raw is None:
        if spec.state_root_hash is None:
            raise ChainSpecError("chain spec has neither raw genesis storage nor a state root")
        header = construct_genesis_header(spec.state_root_hash, extrinsics_root)
        return GenesisBlock(header, None)
    runtime_version = None
    if state_version is None:
        state_version, runtime_version = resolve_state_version(spec.raw)
    state_root = compute_state_root(spec.raw, state_version)
    header = construct_genesis_header(state_root, extrinsics_root)
    return GenesisBlock(header, state_version, runtime_version)
