"""RuntimeVersion decoding and reading it from (compressed) wasm runtime code."""

from __future__ import annotations

import pytest
import zstandard

from genesis.chain_spec import ChainSpec
from pychain.primitives.runtime_version import (
    CORE_API_ID,
    WASM_MAGIC,
    ZSTD_PREFIX,
    RuntimeCodeError,
    RuntimeVersion,
    decode_runtime_apis,
    maybe_decompress,
    read_embedded_version,
    wasm_custom_sections,
)
from pychain.primitives.scale import U32, Str


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _custom(name: str, body: bytes) -> bytes:
    payload = _leb(len(name)) + name.encode() + body
    return b"\x00" + _leb(len(payload)) + payload


def _module(*sections: bytes) -> bytes:
    # A type section (id 1) with no types, then the given sections.
    return WASM_MAGIC + b"\x01\x01\x00" + b"".join(sections)


def _version_prefix(name: str = "demo") -> bytes:
    return Str.encode(name) * 2 + U32.encode(1) + U32.encode(7) + U32.encode(2) + b"\x00"


def _apis(core: int) -> bytes:
    return b"\x11" * 8 + U32.encode(1) + CORE_API_ID + U32.encode(core)


def test_real_runtimes_embedded_versions(loaded_specs: dict[str, ChainSpec]) -> None:
    def code(name: str) -> bytes:
        raw = loaded_specs[f"chainspecs/{name}.json"].raw
        assert raw is not None
        return raw.top[b":code"]

    template = read_embedded_version(code("substrate-node-template"))
    assert template is not None
    assert (template.spec_name, template.spec_version, template.core_version()) == (
        "node-template",
        100,
        3,
    )
    assert template.transaction_version == 1 and template.trie_state_version() == 0
    coretime = read_embedded_version(code("polkadot-coretime"))
    assert coretime is not None and coretime.spec_name == "coretime-polkadot"
    core = coretime.core_version()
    assert core is not None and core >= 4
    assert coretime.trie_state_version() == 1
    collectives = read_embedded_version(code("polkadot-collectives"))
    assert collectives is not None and collectives.core_version() == 4
    assert collectives.trie_state_version() == 0
    assert read_embedded_version(code("westend")) is None


def test_core_version_hint_selects_trailing_fields() -> None:
    body = _version_prefix() + U32.encode(5) + b"\x01"
    v2, end2 = RuntimeVersion.decode_at_with_version_hint(body, 0, 2)
    assert (v2.transaction_version, v2.state_version, end2) == (1, 0, len(body) - 5)
    v3, end3 = RuntimeVersion.decode_at_with_version_hint(body, 0, 3)
    assert (v3.transaction_version, v3.state_version, end3) == (5, 0, len(body) - 1)
    v4, end4 = RuntimeVersion.decode_at_with_version_hint(body, 0, 4)
    assert (v4.transaction_version, v4.state_version, end4) == (5, 1, len(body))
    legacy, _ = RuntimeVersion.decode_at_with_version_hint(body, 0, None)
    assert (legacy.transaction_version, legacy.state_version) == (1, 0)


def test_core_version_read_from_apis_when_no_hint() -> None:
    version = RuntimeVersion("a", "b", 1, 2, 3, ((CORE_API_ID, 4),), 9, 1)
    decoded, end = RuntimeVersion.decode_at_with_version_hint(version.encode(), 0, None)
    assert decoded == version and end == len(version.encode())
    assert RuntimeVersion.decode(version.encode()) == version


def test_state_version_above_one_means_v1() -> None:
    assert RuntimeVersion("a", "b", 0, 0, 0, (), 1, 2).trie_state_version() == 1
    assert RuntimeVersion("a", "b", 0, 0, 0, (), 1, 0).trie_state_version() == 0


def test_embedded_version_uses_runtime_apis_section() -> None:
    body = _version_prefix() + U32.encode(5) + b"\x01"
    module = _module(_custom("runtime_version", body), _custom("runtime_apis", _apis(4)))
    version = read_embedded_version(module)
    assert version is not None
    assert version.core_version() == 4 and version.state_version == 1
    assert len(version.apis) == 2
    # Without the apis section the version is read as legacy (no trailing fields).
    legacy = read_embedded_version(_module(_custom("runtime_version", body)))
    assert legacy is not None and legacy.state_version == 0 and legacy.apis == ()


def test_compressed_module_reads_like_plain() -> None:
    body = _version_prefix() + U32.encode(5) + b"\x01"
    module = _module(_custom("runtime_version", body), _custom("runtime_apis", _apis(4)))
    compressed = ZSTD_PREFIX + zstandard.ZstdCompressor().compress(module)
    assert maybe_decompress(compressed) == module
    assert read_embedded_version(compressed) == read_embedded_version(module)


def test_decompression_bomb_limit_enforced() -> None:
    blob = ZSTD_PREFIX + zstandard.ZstdCompressor().compress(bytes(2 * 1024 * 1024))
    with pytest.raises(RuntimeCodeError, match="more than"):
        maybe_decompress(blob, limit=1024 * 1024)
    assert len(maybe_decompress(blob, limit=2 * 1024 * 1024)) == 2 * 1024 * 1024


def test_corrupt_zstd_rejected() -> None:
    with pytest.raises(RuntimeCodeError, match="zstd"):
        maybe_decompress(ZSTD_PREFIX + b"\x28\xb5\x2f\xfd garbage")


def test_plain_blob_is_returned_unchanged() -> None:
    assert maybe_decompress(b"not compressed") == b"not compressed"


def test_non_wasm_has_no_sections() -> None:
    assert wasm_custom_sections(b"hello") is None
    assert read_embedded_version(b"hello") is None
    assert read_embedded_version(_module(_custom("other", b"x"))) is None


@pytest.mark.parametrize(
    "module",
    [
        WASM_MAGIC + b"\x00\x05\x01",
        WASM_MAGIC + b"\x01",
        WASM_MAGIC + b"\x01\xff\xff\xff\xff\xff\x01",
        WASM_MAGIC + b"\x00\x02\x05a",
        WASM_MAGIC + b"\x00\x03\x02\xff\xfe",
    ],
)
def test_broken_wasm_framing_rejected(module: bytes) -> None:
    with pytest.raises(RuntimeCodeError):
        wasm_custom_sections(module)


def test_runtime_apis_section_must_be_whole_entries() -> None:
    assert decode_runtime_apis(_apis(4)) == ((b"\x11" * 8, 1), (CORE_API_ID, 4))
    with pytest.raises(RuntimeCodeError, match="multiple of 12"):
        decode_runtime_apis(_apis(4)[:-1])


def test_undecodable_version_section_rejected() -> None:
    module = _module(_custom("runtime_version", b"\x10ab"))
    with pytest.raises(RuntimeCodeError, match="runtime_version"):
        read_embedded_version(module)


def test_runtime_version_json_shape() -> None:
    version = RuntimeVersion("a", "b", 1, 2, 3, ((CORE_API_ID, 4),), 9, 1)
    view = version.to_json()
    assert view["specName"] == "a" and view["stateVersion"] == 1
    assert view["apis"] == [["0xdf6acb689907609b", 4]]
