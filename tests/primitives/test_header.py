"""Block header, digest items and consensus logs, against real Polkadot/Kusama headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.primitives.consensus_logs import (
    AURA_ENGINE_ID,
    BABE_ENGINE_ID,
    GRANDPA_ENGINE_ID,
    AuthorityList,
    ForcedChange,
    GrandpaConsensusLog,
    OnDisabled,
    Pause,
    Resume,
    ScheduledChange,
    decode_aura_slot,
    decode_grandpa_log,
    describe_digest_item,
    engine_name,
    find_aura_slot,
    find_forced_change,
    find_scheduled_change,
)
from pychain.primitives.hashing import blake2_256
from pychain.primitives.header import (
    Consensus,
    Digest,
    DigestItem,
    Header,
    Other,
    PreRuntime,
    RuntimeEnvironmentUpdated,
    Seal,
)
from pychain.primitives.scale import ScaleDecodeError, ScaleEncodeError, encode_compact

# ------------------------------------------------------------------------------ vectors


def _header_vectors(vectors: Path) -> list[tuple[dict[str, Any], bytes]]:
    listing = json.loads((vectors / "headers" / "headers_decoded.json").read_text())
    return [
        (entry, (vectors / "headers" / Path(entry["file"]).name).read_bytes())
        for entry in listing["headers"]
    ]


@pytest.fixture(scope="module")
def real_headers(vectors: Path) -> list[tuple[dict[str, Any], bytes]]:
    headers = _header_vectors(vectors)
    assert len(headers) == 2
    return headers


@pytest.fixture(scope="module")
def polkadot_header(vectors: Path) -> Header:
    return Header.decode((vectors / "headers" / "header-polkadot-512271.bin").read_bytes())


@pytest.fixture(scope="module")
def kusama_header(vectors: Path) -> Header:
    return Header.decode((vectors / "headers" / "header-kusama-7472481.bin").read_bytes())


def test_real_headers_reencode_byte_identical(
    real_headers: list[tuple[dict[str, Any], bytes]],
) -> None:
    for entry, raw in real_headers:
        assert len(raw) == entry["len"]
        assert Header.decode(raw).encode() == raw


def test_real_headers_fields_and_hash_match_vectors(
    real_headers: list[tuple[dict[str, Any], bytes]],
) -> None:
    for entry, raw in real_headers:
        header = Header.decode(raw)
        assert header.number == entry["number"]
        assert "0x" + header.hash().hex() == entry["blake2_256"]
        assert "0x" + header.parent_hash.hex() == entry["parent"]
        if "state_root" in entry:
            assert "0x" + header.state_root.hex() == entry["state_root"]
            assert "0x" + header.extrinsics_root.hex() == entry["extrinsics_root"]


def test_polkadot_header_digest_matches_vector(polkadot_header: Header) -> None:
    kinds = [
        (type(item).__name__, getattr(item, "engine", None)) for item in polkadot_header.digest
    ]
    assert kinds == [
        ("PreRuntime", BABE_ENGINE_ID),
        ("Consensus", BABE_ENGINE_ID),
        ("Consensus", GRANDPA_ENGINE_ID),
        ("Seal", BABE_ENGINE_ID),
    ]
    epoch = polkadot_header.digest[1]
    assert isinstance(epoch, Consensus) and len(epoch.data) == 7915
    seal = polkadot_header.seal()
    assert seal is not None and len(seal.data) == 64


def test_polkadot_header_frnk_scheduled_change_decodes(polkadot_header: Header) -> None:
    change = find_scheduled_change(polkadot_header)
    assert change is not None
    assert len(change.next_authorities) == 197
    assert {weight for _, weight in change.next_authorities} == {1}
    assert len({key for key, _ in change.next_authorities}) == 197
    assert change.delay == 0
    assert find_forced_change(polkadot_header) is None


def test_kusama_header_frnk_logs_decode_as_stated(kusama_header: Header) -> None:
    logs = [decode_grandpa_log(data) for data in kusama_header.consensus_logs(GRANDPA_ENGINE_ID)]
    disabled = [log for log in logs if isinstance(log, OnDisabled)]
    changes = [log for log in logs if isinstance(log, ScheduledChange)]
    assert len(disabled) == 11 and len(changes) == 1 and len(logs) == 12
    assert len(changes[0].next_authorities) == 900
    assert changes[0].delay == 0
    # BABE logs stay opaque: 11 OnDisabled + NextEpochData + NextConfigData.
    assert len(kusama_header.consensus_logs(BABE_ENGINE_ID)) == 13


def test_kusama_header_babe_pre_runtime_is_secondary_plain_slot(kusama_header: Header) -> None:
    data = kusama_header.pre_runtime(BABE_ENGINE_ID)
    assert data is not None and len(data) == 13
    assert data[0] == 2
    assert int.from_bytes(data[1:5], "little") == 140
    assert int.from_bytes(data[5:13], "little") == 270170680


def test_header_without_seal_drops_only_the_seal(polkadot_header: Header) -> None:
    bare = polkadot_header.without_seal()
    assert bare.digest == polkadot_header.digest[:-1]
    assert bare.seal() is None
    assert bare.hash() != polkadot_header.hash()
    assert bare.without_seal() is bare


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize("index", [1, 2, 3, 7, 9, 255])
def test_digest_item_unknown_index_rejected(index: int) -> None:
    with pytest.raises(ScaleDecodeError) as info:
        DigestItem.decode(bytes([index]) + b"\x00")
    assert info.value.offset == 0


def test_header_with_unknown_digest_index_rejected(polkadot_header: Header) -> None:
    raw = bytearray(polkadot_header.without_seal().encode())
    # The first digest item follows parent (32), number (compact), two roots and the vec length.
    offset = 32 + len(encode_compact(polkadot_header.number)) + 64 + 1
    assert raw[offset] == 6
    raw[offset] = 7
    with pytest.raises(ScaleDecodeError):
        Header.decode(bytes(raw))


def test_header_trailing_bytes_rejected(polkadot_header: Header) -> None:
    with pytest.raises(ScaleDecodeError):
        Header.decode(polkadot_header.encode() + b"\x00")


@pytest.mark.parametrize("cut", [0, 1, 31, 33, 100, 131, 200, 16103])
def test_header_truncated_rejected(vectors: Path, cut: int) -> None:
    raw = (vectors / "headers" / "header-polkadot-512271.bin").read_bytes()
    with pytest.raises(ScaleDecodeError):
        Header.decode(raw[:cut])


def test_header_number_beyond_u32_rejected() -> None:
    raw = bytes(32) + encode_compact(1 << 32) + bytes(64) + b"\x00"
    with pytest.raises(ScaleDecodeError):
        Header.decode(raw)
    with pytest.raises(ScaleEncodeError):
        Header(bytes(32), 1 << 32, bytes(32), bytes(32)).encode()


def test_runtime_environment_updated_is_one_byte() -> None:
    assert DigestItem.encode(RuntimeEnvironmentUpdated()) == b"\x08"
    assert DigestItem.decode(b"\x08") == RuntimeEnvironmentUpdated()


def test_digest_item_encodings_have_frozen_indices() -> None:
    assert DigestItem.encode(Other(b"\xaa")) == b"\x00\x04\xaa"
    assert DigestItem.encode(Consensus(b"FRNK", b"")) == b"\x04FRNK\x00"
    assert DigestItem.encode(Seal(b"aura", b"\x01")) == b"\x05aura\x04\x01"
    assert DigestItem.encode(PreRuntime(b"BABE", b"")) == b"\x06BABE\x00"


def test_genesis_style_header_hash_is_blake2_of_encoding() -> None:
    header = Header(bytes(32), 0, b"\x11" * 32, b"\x22" * 32)
    expected = bytes(32) + b"\x00" + b"\x11" * 32 + b"\x22" * 32 + b"\x00"
    assert header.encode() == expected
    assert header.hash() == blake2_256(expected)
    assert header.hash() is header.hash()


def test_equal_headers_are_equal_and_hash_alike() -> None:
    a = Header(bytes(32), 5, bytes(32), bytes(32), [Other(b"x")])
    b = Header(bytes(32), 5, bytes(32), bytes(32), (Other(b"x"),))
    a.hash()
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


# ------------------------------------------------------------------------ consensus logs


def test_forced_change_encoding_layout() -> None:
    key = b"\x07" * 32
    log = ForcedChange(10, ScheduledChange(((key, 3),), 5))
    encoded = GrandpaConsensusLog.encode(log)
    expected = b"\x02" + (10).to_bytes(4, "little") + b"\x04" + key
    expected += (3).to_bytes(8, "little") + (5).to_bytes(4, "little")
    assert encoded == expected
    assert decode_grandpa_log(encoded) == log


@pytest.mark.parametrize(
    ("log", "encoded"),
    [
        (OnDisabled(3), b"\x03" + (3).to_bytes(8, "little")),
        (Pause(7), b"\x04" + (7).to_bytes(4, "little")),
        (Resume(9), b"\x05" + (9).to_bytes(4, "little")),
    ],
)
def test_small_grandpa_logs_encode_with_frozen_indices(log: Any, encoded: bytes) -> None:
    assert GrandpaConsensusLog.encode(log) == encoded
    assert decode_grandpa_log(encoded) == log


@pytest.mark.parametrize("data", [b"\x00", b"\x06\x00\x00\x00\x00", b"\x03\x01", b""])
def test_grandpa_log_invalid_rejected(data: bytes) -> None:
    with pytest.raises(ScaleDecodeError):
        decode_grandpa_log(data)


def test_authority_list_codec_matches_scheduled_change_field() -> None:
    authorities = [(b"\x01" * 32, 1), (b"\x02" * 32, 2**64 - 1)]
    encoded = AuthorityList.encode(authorities)
    assert GrandpaConsensusLog.encode(ScheduledChange(tuple(authorities), 0)) == (
        b"\x01" + encoded + bytes(4)
    )
    assert AuthorityList.decode(encoded) == authorities


def test_aura_slot_decodes_and_rejects_bad_length() -> None:
    header = Header(
        bytes(32), 1, bytes(32), bytes(32), [PreRuntime(AURA_ENGINE_ID, (42).to_bytes(8, "little"))]
    )
    assert find_aura_slot(header) == 42
    assert find_aura_slot(Header(bytes(32), 1, bytes(32), bytes(32))) is None
    with pytest.raises(ScaleDecodeError):
        decode_aura_slot(b"\x01" * 7)
    with pytest.raises(ScaleDecodeError):
        decode_aura_slot(b"\x01" * 9)


def test_undecodable_frnk_log_is_skipped_by_find_but_reported_by_describe() -> None:
    bad = Consensus(GRANDPA_ENGINE_ID, b"\x09")
    good = Consensus(GRANDPA_ENGINE_ID, GrandpaConsensusLog.encode(ScheduledChange((), 4)))
    header = Header(bytes(32), 1, bytes(32), bytes(32), [bad, good])
    change = find_scheduled_change(header)
    assert change is not None and change.delay == 4
    view = describe_digest_item(bad)
    assert "decode_error" in view and "grandpa" not in view
    assert describe_digest_item(good)["grandpa"] == {
        "type": "ScheduledChange",
        "next_authorities": [],
        "delay": 4,
    }


def test_describe_digest_item_shapes() -> None:
    assert describe_digest_item(RuntimeEnvironmentUpdated()) == {
        "type": "RuntimeEnvironmentUpdated"
    }
    assert describe_digest_item(Other(b"\x01\x02")) == {"type": "Other", "data": "0x0102"}
    aura = describe_digest_item(PreRuntime(AURA_ENGINE_ID, (5).to_bytes(8, "little")))
    assert aura["engine"] == "aura" and aura["slot"] == 5
    babe = describe_digest_item(Seal(BABE_ENGINE_ID, b"\xff"))
    assert babe == {"type": "Seal", "engine": "BABE", "data": "0xff"}
    assert engine_name(b"\x00\x01ab") == "0x00016162"


# ---------------------------------------------------------------------------- properties

_engine = st.binary(min_size=4, max_size=4)
_payload = st.binary(max_size=80)
_digest_item = st.one_of(
    st.builds(Other, _payload),
    st.builds(Consensus, _engine, _payload),
    st.builds(Seal, _engine, _payload),
    st.builds(PreRuntime, _engine, _payload),
    st.just(RuntimeEnvironmentUpdated()),
)
_hash32 = st.binary(min_size=32, max_size=32)
_header = st.builds(
    Header,
    _hash32,
    st.integers(min_value=0, max_value=2**32 - 1),
    _hash32,
    _hash32,
    st.lists(_digest_item, max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(_header)
def test_header_roundtrip_property(header: Header) -> None:
    encoded = header.encode()
    decoded = Header.decode(encoded)
    assert decoded == header
    assert decoded.encode() == encoded
    assert decoded.hash() == blake2_256(encoded)
    assert Digest.decode(Digest.encode(list(header.digest))) == list(header.digest)


_authorities = st.lists(
    st.tuples(_hash32, st.integers(min_value=0, max_value=2**64 - 1)), max_size=5
).map(tuple)
_u32 = st.integers(min_value=0, max_value=2**32 - 1)
_grandpa_log = st.one_of(
    st.builds(ScheduledChange, _authorities, _u32),
    st.builds(ForcedChange, _u32, st.builds(ScheduledChange, _authorities, _u32)),
    st.builds(OnDisabled, st.integers(min_value=0, max_value=2**64 - 1)),
    st.builds(Pause, _u32),
    st.builds(Resume, _u32),
)


@settings(max_examples=200, deadline=None)
@given(_grandpa_log)
def test_grandpa_log_roundtrip_property(log: Any) -> None:
    encoded = GrandpaConsensusLog.encode(log)
    assert decode_grandpa_log(encoded) == log
    with pytest.raises(ScaleDecodeError):
        decode_grandpa_log(encoded + b"\x00")
