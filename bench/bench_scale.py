"""SCALE codec throughput: pychain's ``pychain.primitives.scale`` against ``scalecodec`` 1.2.12.

Two structures of the sizes a node handles most often, both encoded and decoded per operation:

* a block header (``sp_runtime::generic::Header``: parent hash, ``Compact<u32>`` number, state and
  extrinsics roots, a digest holding a BABE-like ``PreRuntime`` item and a 64-byte ``Seal``);
* a signed balance transfer shaped like an extrinsic v4 body (``MultiAddress::Id`` signer,
  ``MultiSignature::Sr25519``, a two-byte mortal era, compact nonce and tip, and a
  ``Balances.transfer`` call with a ``MultiAddress`` destination and a ``Compact<u128>`` value).

The same structures are registered in scalecodec through a custom type registry; the bench first
checks that both libraries produce identical bytes and decode each other's output, then times
``encode`` + ``decode`` round trips and prints µs/op for each and the speed-up (goal: >= 50x).
scalecodec is used as applications use it: one ``create_scale_object`` per value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from scalecodec.base import RuntimeConfiguration, ScaleBytes

from pychain.primitives.scale import (
    H256,
    H512,
    U8,
    Bytes,
    Compact,
    CompactU32,
    Enum,
    FixedBytes,
    Struct,
    Vec,
)

# ------------------------------------------------------------------------- pychain structures


@dataclass(frozen=True)
class Other(Struct):
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class Consensus(Struct):
    engine: Annotated[bytes, FixedBytes(4)]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class Seal(Struct):
    engine: Annotated[bytes, FixedBytes(4)]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class PreRuntime(Struct):
    engine: Annotated[bytes, FixedBytes(4)]
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class RuntimeEnvironmentUpdated(Struct):
    pass


# sp_runtime::generic::DigestItem variant indices.
DigestItem = Enum(
    "DigestItem",
    {0: Other, 4: Consensus, 5: Seal, 6: PreRuntime, 8: RuntimeEnvironmentUpdated},
)


@dataclass(frozen=True)
class Header(Struct):
    parent_hash: Annotated[bytes, H256]
    number: Annotated[int, CompactU32]
    state_root: Annotated[bytes, H256]
    extrinsics_root: Annotated[bytes, H256]
    digest: Annotated[list[Any], Vec(DigestItem)]


@dataclass(frozen=True)
class Id(Struct):
    account: Annotated[bytes, H256]


@dataclass(frozen=True)
class Index(Struct):
    index: Annotated[int, CompactU32]


@dataclass(frozen=True)
class Raw(Struct):
    data: Annotated[bytes, Bytes]


@dataclass(frozen=True)
class Address32(Struct):
    account: Annotated[bytes, H256]


@dataclass(frozen=True)
class Address20(Struct):
    account: Annotated[bytes, FixedBytes(20)]


MultiAddress = Enum("MultiAddress", {0: Id, 1: Index, 2: Raw, 3: Address32, 4: Address20})


@dataclass(frozen=True)
class Ed25519(Struct):
    signature: Annotated[bytes, H512]


@dataclass(frozen=True)
class Sr25519(Struct):
    signature: Annotated[bytes, H512]


@dataclass(frozen=True)
class Ecdsa(Struct):
    signature: Annotated[bytes, FixedBytes(65)]


MultiSignature = Enum("MultiSignature", {0: Ed25519, 1: Sr25519, 2: Ecdsa})


@dataclass(frozen=True)
class TransferCall(Struct):
    pallet_index: Annotated[int, U8]
    call_index: Annotated[int, U8]
    dest: Annotated[Any, MultiAddress]
    value: Annotated[int, Compact]


@dataclass(frozen=True)
class SignedTransfer(Struct):
    version: Annotated[int, U8]
    signer: Annotated[Any, MultiAddress]
    signature: Annotated[Any, MultiSignature]
    era: Annotated[bytes, FixedBytes(2)]
    nonce: Annotated[int, CompactU32]
    tip: Annotated[int, Compact]
    call: TransferCall


# ---------------------------------------------------------------------- scalecodec registry

SCALECODEC_TYPES: dict[str, Any] = {
    "BenchEngineData": {
        "type": "struct",
        "type_mapping": [["engine", "[u8; 4]"], ["data", "Bytes"]],
    },
    "BenchDigestItem": {
        "type": "enum",
        "type_mapping": [
            ["Other", "Bytes"],
            ["Unused1", "Null"],
            ["Unused2", "Null"],
            ["Unused3", "Null"],
            ["Consensus", "BenchEngineData"],
            ["Seal", "BenchEngineData"],
            ["PreRuntime", "BenchEngineData"],
            ["Unused7", "Null"],
            ["RuntimeEnvironmentUpdated", "Null"],
        ],
    },
    "BenchHeader": {
        "type": "struct",
        "type_mapping": [
            ["parent_hash", "[u8; 32]"],
            ["number", "Compact<u32>"],
            ["state_root", "[u8; 32]"],
            ["extrinsics_root", "[u8; 32]"],
            ["digest", "Vec<BenchDigestItem>"],
        ],
    },
    "BenchMultiAddress": {
        "type": "enum",
        "type_mapping": [
            ["Id", "[u8; 32]"],
            ["Index", "Compact<u32>"],
            ["Raw", "Bytes"],
            ["Address32", "[u8; 32]"],
            ["Address20", "[u8; 20]"],
        ],
    },
    "BenchMultiSignature": {
        "type": "enum",
        "type_mapping": [
            ["Ed25519", "[u8; 64]"],
            ["Sr25519", "[u8; 64]"],
            ["Ecdsa", "[u8; 65]"],
        ],
    },
    "BenchTransferCall": {
        "type": "struct",
        "type_mapping": [
            ["pallet_index", "u8"],
            ["call_index", "u8"],
            ["dest", "BenchMultiAddress"],
            ["value", "Compact<u128>"],
        ],
    },
    "BenchSignedTransfer": {
        "type": "struct",
        "type_mapping": [
            ["version", "u8"],
            ["signer", "BenchMultiAddress"],
            ["signature", "BenchMultiSignature"],
            ["era", "[u8; 2]"],
            ["nonce", "Compact<u32>"],
            ["tip", "Compact<u128>"],
            ["call", "BenchTransferCall"],
        ],
    },
}


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def sample_header() -> tuple[Header, dict[str, Any]]:
    """A header shaped like a BABE block: primary pre-digest (authority, slot, VRF) and a seal."""
    parent, state, extrinsics = bytes(range(32)), bytes(range(32, 64)), bytes(range(64, 96))
    babe_pre = bytes([1]) + (7).to_bytes(4, "little") + (281_474_976).to_bytes(8, "little")
    babe_pre += bytes(range(96, 128)) + bytes(range(128, 192))  # VRF output ++ proof
    seal = bytes(range(192, 256))
    header = Header(
        parent_hash=parent,
        number=19_273_641,
        state_root=state,
        extrinsics_root=extrinsics,
        digest=[PreRuntime(b"BABE", babe_pre), Seal(b"BABE", seal)],
    )
    value = {
        "parent_hash": _hex(parent),
        "number": 19_273_641,
        "state_root": _hex(state),
        "extrinsics_root": _hex(extrinsics),
        "digest": [
            {"PreRuntime": {"engine": _hex(b"BABE"), "data": _hex(babe_pre)}},
            {"Seal": {"engine": _hex(b"BABE"), "data": _hex(seal)}},
        ],
    }
    return header, value


def sample_transfer() -> tuple[SignedTransfer, dict[str, Any]]:
    """A signed ``Balances.transfer_allow_death`` body with a mortal era and a tip."""
    signer, dest, signature = bytes([0xD4]) * 32, bytes([0x8E]) * 32, bytes(range(64))
    transfer = SignedTransfer(
        version=0x84,
        signer=Id(signer),
        signature=Sr25519(signature),
        era=bytes([0xB5, 0x03]),
        nonce=17,
        tip=1_000_000,
        call=TransferCall(5, 0, Id(dest), 12_345_678_901_234_567_890),
    )
    value = {
        "version": 0x84,
        "signer": {"Id": _hex(signer)},
        "signature": {"Sr25519": _hex(signature)},
        "era": _hex(bytes([0xB5, 0x03])),
        "nonce": 17,
        "tip": 1_000_000,
        "call": {
            "pallet_index": 5,
            "call_index": 0,
            "dest": {"Id": _hex(dest)},
            "value": 12_345_678_901_234_567_890,
        },
    }
    return transfer, value


# ---------------------------------------------------------------------------------- timing


def _per_op_us(fn: Callable[[], object], total_seconds: float) -> float:
    """Time of one call of ``fn`` in µs: the fastest of many ~10 ms batches.

    The minimum over short batches discounts the moments when other processes share the CPU,
    which would otherwise dominate on a busy machine.
    """
    fn()
    start = time.perf_counter()
    per_batch = 1
    while True:  # size a batch to take about 10 ms
        t0 = time.perf_counter()
        for _ in range(per_batch):
            fn()
        if time.perf_counter() - t0 >= 0.01:
            break
        per_batch *= 2
    best = float("inf")
    while time.perf_counter() - start < total_seconds:
        t0 = time.perf_counter()
        for _ in range(per_batch):
            fn()
        best = min(best, (time.perf_counter() - t0) / per_batch)
    return best * 1e6


def run(quick: bool) -> None:
    runtime = RuntimeConfiguration()
    runtime.update_type_registry({"types": SCALECODEC_TYPES})
    seconds = 0.2 if quick else 1.5
    ratios = []
    cases: list[tuple[str, Struct, dict[str, Any], str]] = [
        ("header", *sample_header(), "BenchHeader"),
        ("signed transfer", *sample_transfer(), "BenchSignedTransfer"),
    ]
    for label, ours, theirs, type_name in cases:
        codec = type(ours).codec()
        encoded = codec.encode(ours)
        other = runtime.create_scale_object(type_name).encode(theirs).data
        if bytes(other) != encoded:
            raise AssertionError(f"{label}: pychain and scalecodec encodings differ")
        if codec.decode(bytes(other)) != ours:
            raise AssertionError(f"{label}: pychain does not decode scalecodec's bytes back")
        decoded = runtime.create_scale_object(type_name, ScaleBytes(encoded)).decode()
        if bytes(runtime.create_scale_object(type_name).encode(decoded).data) != encoded:
            raise AssertionError(f"{label}: scalecodec does not decode pychain's bytes back")

        def pychain_round_trip(codec: Any = codec, value: Any = ours) -> object:
            return codec.decode(codec.encode(value))

        def scalecodec_round_trip(type_name: str = type_name, value: Any = theirs) -> object:
            data = runtime.create_scale_object(type_name).encode(value)
            return runtime.create_scale_object(type_name, ScaleBytes(data.data)).decode()

        ours_us = _per_op_us(pychain_round_trip, seconds)
        theirs_us = _per_op_us(scalecodec_round_trip, seconds)
        ratio = theirs_us / ours_us
        ratios.append(ratio)
        print(
            f"{label:16s} ({len(encoded):3d} bytes) encode+decode: pychain {ours_us:8.2f} µs/op"
            f"   scalecodec {theirs_us:9.2f} µs/op   speed-up {ratio:6.1f}x"
        )
    print(f"minimum speed-up {min(ratios):.1f}x (goal >= 50x)")
