"""Runtime version, and reading it from a runtime code blob without running it.

Counterparts:

* ``sp_version::RuntimeVersion`` (Polkadot specification, "Core_version" runtime API): SCALE
  ``spec_name: str, impl_name: str, authoring_version: u32, spec_version: u32, impl_version: u32,
  apis: Vec<([u8; 8], u32)>, transaction_version: u32, state_version: u8``. Which of the last two
  fields are present depends on the version of the ``Core`` API (id = blake2-64("Core")):
  ``transaction_version`` from Core 3 (else 1), ``state_version`` from Core 4 (else 0); see
  ``RuntimeVersion::decode_with_version_hint``. Substrate now calls the last field
  ``system_version``; the trie layout is V0 when it is 0 and V1 otherwise.
* ``sp_maybe_compressed_blob``: a code blob that starts with the 8-byte magic
  ``0x52bc537646db8e05`` is a zstd frame after it, decompressed with a size bound ("bomb limit").
* ``sc_executor::read_embedded_version``: the wasm custom section ``runtime_version`` holds the
  version with an empty ``apis`` list; the ``runtime_apis`` section holds the APIs as a
  concatenation of 12-byte ``([u8; 8] id, u32 LE version)`` entries and gives the Core version
  used as the decoding hint.

Differences: Substrate falls back to *executing* ``Core_version`` when the wasm has no
``runtime_version`` section; pychain cannot run wasm and reports ``None`` instead (every runtime
built with ``#[sp_version::runtime_version]`` carries the section, and older ones predate trie V1).
A code blob that is not wasm at all (e.g. a placeholder in a pychain dev spec) also gives ``None``
rather than an error.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import zstandard

from pychain.errors import PychainError
from pychain.primitives.hashing import blake2_64
from pychain.primitives.scale import (
    U8,
    U32,
    Codec,
    FixedBytes,
    ScaleDecodeError,
    Str,
    Struct,
    Tuple,
    Vec,
)

__all__ = [
    "RuntimeCodeError",
    "ApiId",
    "ApisVec",
    "CORE_API_ID",
    "RuntimeVersion",
    "core_version_from_apis",
    "ZSTD_PREFIX",
    "CODE_BLOB_BOMB_LIMIT",
    "WASM_MAGIC",
    "maybe_decompress",
    "wasm_custom_sections",
    "decode_runtime_apis",
    "read_embedded_version",
]


class RuntimeCodeError(PychainError):
    """A runtime code blob (or a runtime version in it) is malformed."""


#: ``[u8; 8]``: a runtime API id, blake2-64 of the API's name.
ApiId: Codec[bytes] = FixedBytes(8)
#: ``ApisVec = Vec<(ApiId, u32)>``.
ApisVec: Codec[list[tuple[bytes, int]]] = Vec(Tuple(ApiId, U32))
#: Id of the ``Core`` runtime API (``0xdf6acb689907609b``).
CORE_API_ID = blake2_64(b"Core")

#: ``sp_maybe_compressed_blob::ZSTD_PREFIX``.
ZSTD_PREFIX = bytes.fromhex("52bc537646db8e05")
#: ``sp_maybe_compressed_blob::CODE_BLOB_BOMB_LIMIT``: at most 50 MiB after decompression.
CODE_BLOB_BOMB_LIMIT = 50 * 1024 * 1024
#: ``\0asm`` followed by binary-format version 1.
WASM_MAGIC = b"\x00asm\x01\x00\x00\x00"

_API_ENTRY_SIZE = 12


def core_version_from_apis(apis: Any) -> int | None:
    """The version of the ``Core`` API in ``apis`` (``sp_version::core_version_from_apis``)."""
    for api_id, version in apis:
        if api_id == CORE_API_ID:
            return int(version)
    return None


@dataclass(frozen=True)
class RuntimeVersion(Struct):
    """``sp_version::RuntimeVersion``; :meth:`encode` writes the full (Core ≥ 4) form."""

    spec_name: Annotated[str, Str]
    impl_name: Annotated[str, Str]
    authoring_version: Annotated[int, U32]
    spec_version: Annotated[int, U32]
    impl_version: Annotated[int, U32]
    apis: Annotated[Sequence[tuple[bytes, int]], ApisVec]
    transaction_version: Annotated[int, U32] = 1
    state_version: Annotated[int, U8] = 0

    def __post_init__(self) -> None:
        if not isinstance(self.apis, tuple):
            object.__setattr__(self, "apis", tuple((bytes(i), v) for i, v in self.apis))

    @classmethod
    def decode_at_with_version_hint(
        cls, data: bytes, pos: int, core_version: int | None
    ) -> tuple[RuntimeVersion, int]:
        """Decode the fields that ``core_version`` says are present (``None``: read it from
        the decoded ``apis``); returns ``(version, end)`` and ignores what follows ``end``."""
        spec_name, pos = Str.decode_at(data, pos)
        impl_name, pos = Str.decode_at(data, pos)
        authoring_version, pos = U32.decode_at(data, pos)
        spec_version, pos = U32.decode_at(data, pos)
        impl_version, pos = U32.decode_at(data, pos)
        apis, pos = ApisVec.decode_at(data, pos)
        if core_version is None:
            core_version = core_version_from_apis(apis)
        transaction_version = 1
        state_version = 0
        if core_version is not None and core_version >= 3:
            transaction_version, pos = U32.decode_at(data, pos)
        if core_version is not None and core_version >= 4:
            state_version, pos = U8.decode_at(data, pos)
        version = cls(
            spec_name,
            impl_name,
            authoring_version,
            spec_version,
            impl_version,
            tuple(apis),
            transaction_version,
            state_version,
        )
        return version, pos

    def core_version(self) -> int | None:
        """The version of the ``Core`` API this runtime declares."""
        return core_version_from_apis(self.apis)

    def trie_state_version(self) -> int:
        """The trie layout for state written by this runtime: 0 (V0) or 1 (V1).

        As ``RuntimeVersion::state_version``: 0 is V0, 1 is V1, any larger value is V1.
        """
        return 0 if self.state_version == 0 else 1

    def to_json(self) -> dict[str, Any]:
        """The JSON-RPC shape (``state_getRuntimeVersion``)."""
        return {
            "specName": self.spec_name,
            "implName": self.impl_name,
            "authoringVersion": self.authoring_version,
            "specVersion": self.spec_version,
            "implVersion": self.impl_version,
            "apis": [["0x" + api_id.hex(), version] for api_id, version in self.apis],
            "transactionVersion": self.transaction_version,
            "stateVersion": self.state_version,
            "systemVersion": self.state_version,
        }


# --------------------------------------------------------------------------- code blobs


def maybe_decompress(blob: bytes, limit: int = CODE_BLOB_BOMB_LIMIT) -> bytes:
    """``sp_maybe_compressed_blob::decompress``: strip the zstd magic and inflate, at most
    ``limit`` bytes; a blob without the magic is returned as it is."""
    if not blob.startswith(ZSTD_PREFIX):
        return blob
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob[len(ZSTD_PREFIX) :]))
    out = bytearray()
    try:
        with reader:
            while True:
                chunk = reader.read(min(1 << 20, limit + 1 - len(out)))
                if not chunk:
                    break
                out += chunk
                if len(out) > limit:
                    raise RuntimeCodeError(
                        f"compressed code blob inflates to more than {limit} bytes"
                    )
    except zstandard.ZstdError as exc:
        raise RuntimeCodeError(f"invalid zstd-compressed code blob: {exc}") from None
    return bytes(out)


def _read_leb_u32(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """Unsigned LEB128 of at most 5 bytes (a wasm ``u32``)."""
    result = 0
    for shift in range(0, 35, 7):
        if pos >= len(data):
            raise RuntimeCodeError(f"wasm: truncated {what} at byte {pos}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result > 0xFFFF_FFFF:
                raise RuntimeCodeError(f"wasm: {what} does not fit a u32 (byte {pos})")
            return result, pos
    raise RuntimeCodeError(f"wasm: {what} is longer than 5 bytes (byte {pos})")


def wasm_custom_sections(module: bytes) -> dict[str, bytes] | None:
    """The custom sections of a wasm module by name (the first of each name).

    Returns ``None`` when ``module`` is not a wasm binary (no ``\\0asm`` v1 magic); raises
    :class:`RuntimeCodeError` when it is one but its section framing is broken.
    """
    if not module.startswith(WASM_MAGIC):
        return None
    sections: dict[str, bytes] = {}
    pos = len(WASM_MAGIC)
    while pos < len(module):
        section_id = module[pos]
        size, body = _read_leb_u32(module, pos + 1, "section size")
        end = body + size
        if end > len(module):
            raise RuntimeCodeError(f"wasm: section at byte {pos} overruns the module")
        if section_id == 0:
            name_len, name_at = _read_leb_u32(module, body, "custom section name length")
            if name_at + name_len > end:
                raise RuntimeCodeError(f"wasm: custom section name at byte {pos} overruns it")
            try:
                name = module[name_at : name_at + name_len].decode("utf-8")
            except UnicodeDecodeError:
                raise RuntimeCodeError(
                    f"wasm: custom section name at byte {pos} is not UTF-8"
                ) from None
            sections.setdefault(name, module[name_at + name_len : end])
        pos = end
    return sections


def decode_runtime_apis(section: bytes) -> tuple[tuple[bytes, int], ...]:
    """The ``runtime_apis`` custom section: 12-byte ``(id, u32 LE version)`` entries."""
    if len(section) % _API_ENTRY_SIZE:
        raise RuntimeCodeError("the runtime_apis section is not a multiple of 12 bytes")
    return tuple(
        (section[i : i + 8], int.from_bytes(section[i + 8 : i + 12], "little"))
        for i in range(0, len(section), _API_ENTRY_SIZE)
    )


def read_embedded_version(code: bytes) -> RuntimeVersion | None:
    """The runtime version embedded in a (maybe compressed) wasm code blob, or ``None``.

    ``None`` when the blob is not wasm or has no ``runtime_version`` section; raises
    :class:`RuntimeCodeError` on a bad compression, a broken module or an undecodable section.
    """
    sections = wasm_custom_sections(maybe_decompress(code))
    if sections is None or "runtime_version" not in sections:
        return None
    apis_section = sections.get("runtime_apis")
    apis = None if apis_section is None else decode_runtime_apis(apis_section)
    core_version = None if apis is None else core_version_from_apis(apis)
    try:
        version, _ = RuntimeVersion.decode_at_with_version_hint(
            sections["runtime_version"], 0, core_version
        )
    except ScaleDecodeError as exc:
        raise RuntimeCodeError(f"failed to decode the runtime_version section: {exc}") from None
    if apis is not None:
        version = dataclasses.replace(version, apis=apis)
    return version
