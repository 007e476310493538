"""A block: header and body (``sp_runtime::generic::Block<Header, OpaqueExtrinsic>``).

The body is a ``Vec`` of opaque extrinsics, each already carrying its compact length prefix, so the
block encoding is ``header ++ compact(n) ++ ext_0 ++ … ++ ext_{n-1}`` (Polkadot spec, "Block
format"). Justifications travel separately (``EncodedJustification`` per consensus engine).
"""

from __future__ import annotations

from dataclasses import dataclass

from pychain.primitives.header import Header
from pychain.primitives.scale import (
    ScaleDecodeError,
    decode_compact,
    encode_compact,
)


def _split_opaque(data: bytes, pos: int) -> tuple[bytes, int]:
    """One length-prefixed extrinsic (prefix included) at ``pos``."""
    length, start = decode_compact(data, pos, 32)
    end = start + length
    if end > len(data):
        raise ScaleDecodeError(f"extrinsic of {length} byte(s) runs past the end", pos)
    return data[pos:end], end


@dataclass(frozen=True)
class Block:
    """A header and its extrinsics (each the opaque, length-prefixed encoding)."""

    header: Header
    extrinsics: tuple[bytes, ...] = ()

    def hash(self) -> bytes:
        return self.header.hash()

    def encode(self) -> bytes:
        return self.header.encode() + encode_body(self.extrinsics)

    @classmethod
    def decode(cls, data: bytes) -> Block:
        header, pos = Header.codec().decode_at(data, 0)
        extrinsics, pos = decode_body_at(data, pos)
        if pos != len(data):
            raise ScaleDecodeError(f"{len(data) - pos} trailing byte(s) after block", pos)
        return cls(header, tuple(extrinsics))


def encode_body(extrinsics: tuple[bytes, ...] | list[bytes]) -> bytes:
    return encode_compact(len(extrinsics)) + b"".join(extrinsics)


def decode_body_at(data: bytes, pos: int) -> tuple[list[bytes], int]:
    count, pos = decode_compact(data, pos, 32)
    if count > len(data) - pos:
        raise ScaleDecodeError(f"declared {count} extrinsics exceed the remaining input", pos)
    out = []
    for _ in range(count):
        ext, pos = _split_opaque(data, pos)
        out.append(ext)
    return out, pos


def decode_body(data: bytes) -> list[bytes]:
    body, pos = decode_body_at(data, 0)
    if pos != len(data):
        raise ScaleDecodeError(f"{len(data) - pos} trailing byte(s) after block body", pos)
    return body
