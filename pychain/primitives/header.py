"""Block header and digest, as ``sp_runtime::generic::Header`` and ``sp_runtime::generic::Digest``.

Polkadot specification, section "Block Header" (and "Digest"): a header is

    parent_hash: H256 ++ number: Compact<u32> ++ state_root: H256 ++ extrinsics_root: H256
    ++ digest: Vec<DigestItem>

and its hash is BLAKE2b-256 of that encoding. A ``DigestItem`` is an enum with frozen indices:

    0 Other(Vec<u8>)                      4 Consensus(ConsensusEngineId, Vec<u8>)
    5 Seal(ConsensusEngineId, Vec<u8>)    6 PreRuntime(ConsensusEngineId, Vec<u8>)
    8 RuntimeEnvironmentUpdated

where ``ConsensusEngineId`` is ``[u8; 4]`` (``b"FRNK"``, ``b"aura"``, ``b"BABE"``). Every other
index (1, 2, 3 and 7 were used by long-removed variants) is refused with a
:class:`~pychain.primitives.scale.ScaleDecodeError`, as parity-scale-codec does.

Differences from Substrate: the header is a frozen dataclass whose ``digest`` is a tuple (so a
header is immutable and hashable) and whose hash is computed once and cached. The block number is
``Compact<u32>`` (Polkadot's ``BlockNumber = u32``); larger numbers are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pychain.primitives.hashing import blake2_256
from pychain.primitives.scale import (
    H256,
    Bytes,
    Codec,
    CompactU32,
    Enum,
    FixedBytes,
    Struct,
    Vec,
)

__all__ = [
    "ConsensusEngineId",
    "Other",
    "Consensus",
    "Seal",
    "PreRuntime",
    "RuntimeEnvironmentUpdated",
    "DigestItemValue",
    "DigestItem",
    "Digest",
    "Header",
    "ZERO_HASH",
]

#: ``[u8; 4]``, the id of a consensus engine in digest items (``sp_runtime::ConsensusEngineId``).
ConsensusEngineId: Codec[bytes] = FixedBytes(4)

#: The parent hash of a genesis header.
ZERO_HASH = bytes(32)


# ------------------------------------------------------------------------------- digest items


@dataclass(frozen=True)
class Other(Struct):
    """``DigestItem::Other`` (index 0): opaque data, for chain-specific use."""

    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class Consensus(Struct):
    """``DigestItem::Consensus`` (index 4): a message from the runtime to a consensus engine.

    GRANDPA's authority-set changes travel as ``Consensus(b"FRNK", ConsensusLog)``.
    """

    engine: Annotated[bytes, ConsensusEngineId]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class Seal(Struct):
    """``DigestItem::Seal`` (index 5): the block author's signature, always the last item."""

    engine: Annotated[bytes, ConsensusEngineId]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class PreRuntime(Struct):
    """``DigestItem::PreRuntime`` (index 6): a consensus engine's input to the runtime (e.g. slot)."""

    engine: Annotated[bytes, ConsensusEngineId]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class RuntimeEnvironmentUpdated(Struct):
    """``DigestItem::RuntimeEnvironmentUpdated`` (index 8): the runtime code or heap pages changed."""


#: Any decoded digest item.
DigestItemValue = Other | Consensus | Seal | PreRuntime | RuntimeEnvironmentUpdated

#: ``DigestItem`` codec, indices frozen as in ``sp_runtime::generic::DigestItem``.
DigestItem: Enum = Enum(
    "DigestItem",
    {0: Other, 4: Consensus, 5: Seal, 6: PreRuntime, 8: RuntimeEnvironmentUpdated},
)

#: ``Digest { logs: Vec<DigestItem> }`` (a struct with one field encodes as that field).
Digest: Codec[list[Any]] = Vec(DigestItem)


# ------------------------------------------------------------------------------------- header


@dataclass(frozen=True)
class Header(Struct):
    """``sp_runtime::generic::Header<u32, BlakeTwo256>``.

    ``digest`` may be given as any sequence; it is stored as a tuple (so headers are hashable). :meth:`hash` is
    BLAKE2b-256 of :meth:`encode`, computed on first use and cached.
    """

    parent_hash: Annotated[bytes, H256]
    number: Annotated[int, CompactU32]
    state_root: Annotated[bytes, H256]
    extrinsics_root: Annotated[bytes, H256]
    digest: Annotated[Sequence[DigestItemValue], Digest] = ()
    _hash: bytes | None = dataclasses.field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.digest, tuple):
            object.__setattr__(self, "digest", tuple(self.digest))

    def hash(self) -> bytes:
        """The block hash: BLAKE2b-256 of the SCALE encoding (cached)."""
        cached = self._hash
        if cached is None:
            cached = blake2_256(self.encode())
            object.__setattr__(self, "_hash", cached)
        return cached

    def __hash__(self) -> int:
        return int.from_bytes(self.hash()[:8], "little")

    # ----------------------------------------------------------------------- digest helpers

    def pre_runtime(self, engine: bytes) -> bytes | None:
        """The data of the first ``PreRuntime`` item of ``engine``, or ``None``."""
        for item in self.digest:
            if isinstance(item, PreRuntime) and item.engine == engine:
                return item.data
        return None

    def consensus_logs(self, engine: bytes) -> list[bytes]:
        """The data of every ``Consensus`` item of ``engine``, in digest order."""
        return [
            item.data
            for item in self.digest
            if isinstance(item, Consensus) and item.engine == engine
        ]

    def seal(self) -> Seal | None:
        """The last digest item if it is a ``Seal``, else ``None``."""
        if self.digest and isinstance(self.digest[-1], Seal):
            return self.digest[-1]
        return None

    def without_seal(self) -> Header:
        """This header with a trailing ``Seal`` removed (the pre-hash that the author signs)."""
        if self.seal() is None:
            return self
        return dataclasses.replace(self, digest=self.digest[:-1])
