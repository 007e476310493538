"""Tests of pychain.primitives.extrinsic (v4 extrinsics) against the recorded vectors of
py-substrate-interface 1.8.1 and polkadot.js 16.5.6 (node template and Polkadot 1002005)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.errors import PychainError
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import (
    CHECK_NON_ZERO_SENDER,
    STANDARD_EXTENSIONS,
    STANDARD_EXTENSIONS_WITH_METADATA_HASH,
    ExtrinsicDecodeError,
    ExtrinsicEncodeError,
    ExtrinsicError,
    ExtrinsicSignature,
    MetadataHashMode,
    MissingSigningContext,
    SignedExtension,
    SigningContext,
    UncheckedExtrinsic,
    UnsupportedExtrinsicVersion,
    decode_extrinsic,
    sign_extrinsic,
    signing_message,
    signing_payload,
    verify_signature,
)
from pychain.primitives.hashing import blake2_256
from pychain.primitives.keys import Keypair
from pychain.primitives.multiaddress import (
    Address20,
    Address32,
    AddressId,
    AddressIndex,
    AddressRaw,
    Ed25519Signature,
    Sr25519Signature,
)
from pychain.primitives.scale import U8, ScaleDecodeError, encode_compact

PY_NODE = "py_substrate_interface_1.8.1_node_template_transfers.json"
PY_POLKADOT = "py_substrate_interface_1.8.1_polkadot1002005_transfers.json"
PJS_NODE = "polkadot_js_16.5.6_node_template_transfers.json"
PJS_POLKADOT = "polkadot_js_16.5.6_polkadot1002005_transfers.json"
REMARK = "py_substrate_interface_1.8.1_polkadot1002005_remark300_hashed_payload.json"


@dataclass(frozen=True)
class Case:
    """One recorded extrinsic with everything needed to check it."""

    name: str
    extrinsic: bytes
    hash: bytes
    message: bytes  # the bytes that were signed (recorded signature_payload)
    ctx: SigningContext
    extensions: tuple[SignedExtension, ...]
    call: bytes
    nonce: int
    tip: int
    era: Era
    signer: bytes
    scheme: str


def _hex(text: str) -> bytes:
    assert text.startswith("0x")
    return bytes.fromhex(text[2:])


def _load(folder: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "extrinsics" / name).read_text())
    return data


def _context(py_data: dict[str, Any]) -> SigningContext:
    """Spec/tx version, genesis and the birth-block hash recorded by py-substrate-interface."""
    genesis = _hex(py_data["chain"].split("genesis ")[1].split()[0].rstrip(","))
    birth = [v["birth_block_hash_used"] for v in py_data["vectors"] if "birth_block_hash_used" in v]
    return SigningContext(
        spec_version=py_data["runtime"]["spec_version"],
        transaction_version=py_data["runtime"]["transaction_version"],
        genesis_hash=genesis,
        birth_hash=_hex(birth[0]),
    )


@cache
def _cases(folder: Path) -> tuple[Case, ...]:
    cases: list[Case] = []
    for py_name, pjs_name, extensions in [
        (PY_NODE, PJS_NODE, STANDARD_EXTENSIONS),
        (PY_POLKADOT, PJS_POLKADOT, STANDARD_EXTENSIONS_WITH_METADATA_HASH),
    ]:
        py = _load(folder, py_name)
        ctx = _context(py)
        by_label = {v["label"]: v for v in py["vectors"]}
        keys = py["keys"]
        for v in py["vectors"]:
            scheme = v["label"].split("_")[0]
            era = (
                Era()
                if v["era_arg"] is None
                else Era.mortal(v["era_arg"]["period"], v["era_arg"]["current"])
            )
            common = dict(
                message=_hex(v["signature_payload"]),
                ctx=ctx,
                extensions=extensions,
                call=_hex(py["call"]["encoded"]),
                nonce=v["nonce"],
                tip=v["tip"],
                era=era,
                signer=_hex(keys[f"alice_{scheme}_pub"]),
                scheme=scheme,
            )
            cases.append(
                Case(
                    name=f"{py_name}:{v['label']}",
                    extrinsic=_hex(v["extrinsic"]),
                    hash=_hex(v["extrinsic_hash"]),
                    **common,  # type: ignore[arg-type]
                )
            )
            pjs = _load(folder, pjs_name)
            assert _hex(pjs["call_encoded"]) == common["call"]
            for pv in pjs["vectors"]:
                if pv["label"] == v["label"]:
                    cases.append(
                        Case(
                            name=f"{pjs_name}:{pv['label']}",
                            extrinsic=_hex(pv["extrinsic"]),
                            hash=_hex(pv["hash"]),
                            **common,  # type: ignore[arg-type]
                        )
                    )
        assert set(by_label) >= {v["label"] for v in _load(folder, pjs_name)["vectors"]}
    remark = _load(folder, REMARK)
    polkadot_ctx = _context(_load(folder, PY_POLKADOT))
    cases.append(
        Case(
            name=REMARK,
            extrinsic=_hex(remark["extrinsic"]),
            # The hash is not recorded for this vector: only re-encoding is checked through it.
            hash=blake2_256(_hex(remark["extrinsic"])),
            message=_hex(remark["signature_payload"]),
            ctx=polkadot_ctx,
            extensions=STANDARD_EXTENSIONS_WITH_METADATA_HASH,
            call=_hex(remark["call"]),
            nonce=remark["nonce"],
            tip=0,
            era=Era(),
            signer=_hex(_load(folder, PY_POLKADOT)["keys"]["alice_ed25519_pub"]),
            scheme="ed25519",
        )
    )
    return tuple(cases)


@pytest.fixture(scope="module")
def cases(vectors: Path) -> tuple[Case, ...]:
    return _cases(vectors)


def _decode(case: Case) -> UncheckedExtrinsic:
    return decode_extrinsic(case.extrinsic, case.extensions)


# ------------------------------------------------------------------------- recorded vectors


def test_vectors_all_files_are_covered(cases: tuple[Case, ...]) -> None:
    files = {c.name.split(":")[0] for c in cases}
    assert files == {PY_NODE, PY_POLKADOT, PJS_NODE, PJS_POLKADOT, REMARK}
    assert len(cases) == 15
    assert {c.scheme for c in cases} == {"ed25519", "sr25519"}
    assert any(not c.era.is_immortal for c in cases) and any(c.tip for c in cases)


def test_vectors_decode_fields_match(cases: tuple[Case, ...]) -> None:
    for case in cases:
        xt = _decode(case)
        assert xt.is_signed, case.name
        assert xt.signature is not None
        assert xt.call == case.call, case.name
        assert xt.nonce == case.nonce, case.name
        assert xt.tip == case.tip, case.name
        assert xt.era == case.era, case.name
        assert xt.signer == case.signer, case.name
        assert isinstance(xt.signature.address, AddressId)
        assert xt.signature.signature.scheme == case.scheme, case.name
        if case.extensions is STANDARD_EXTENSIONS_WITH_METADATA_HASH:
            assert xt.metadata_hash_mode is MetadataHashMode.DISABLED
        else:
            assert xt.metadata_hash_mode is None


def test_vectors_reencode_identically(cases: tuple[Case, ...]) -> None:
    for case in cases:
        xt = _decode(case)
        assert xt.encode() == case.extrinsic, case.name
        rebuilt = UncheckedExtrinsic(xt.call, xt.signature, case.extensions)
        assert rebuilt == xt
        assert rebuilt.encode() == case.extrinsic


def test_vectors_hash_matches(cases: tuple[Case, ...]) -> None:
    for case in cases:
        assert _decode(case).hash() == case.hash, case.name


def test_vectors_signing_payload_matches_recorded(cases: tuple[Case, ...]) -> None:
    for case in cases:
        payload = _decode(case).signing_payload(case.ctx)
        assert signing_message(payload) == case.message, case.name


def test_vectors_signature_verifies(cases: tuple[Case, ...]) -> None:
    for case in cases:
        assert verify_signature(_decode(case), case.ctx) is True, case.name


def test_remark300_payload_is_hashed_before_signing(vectors: Path, cases: tuple[Case, ...]) -> None:
    remark = _load(vectors, REMARK)
    case = next(c for c in cases if c.name == REMARK)
    payload = _decode(case).signing_payload(case.ctx)
    assert len(payload) == remark["signature_payload_raw_len"] > 256
    assert signing_message(payload) == blake2_256(payload) == case.message


def test_payload_at_threshold_is_not_hashed() -> None:
    assert signing_message(b"\x01" * 256) == b"\x01" * 256
    assert signing_message(b"\x01" * 257) == blake2_256(b"\x01" * 257)


def test_vectors_wrong_context_fails_verification(cases: tuple[Case, ...]) -> None:
    for case in cases:
        xt = _decode(case)
        c = case.ctx
        wrong = [
            SigningContext(c.spec_version + 1, c.transaction_version, c.genesis_hash, c.birth_hash),
            SigningContext(c.spec_version, c.transaction_version + 1, c.genesis_hash, c.birth_hash),
            SigningContext(c.spec_version, c.transaction_version, b"\x00" * 32, c.birth_hash),
        ]
        if not case.era.is_immortal:
            wrong.append(
                SigningContext(
                    c.spec_version, c.transaction_version, c.genesis_hash, c.genesis_hash
                )
            )
        for ctx in wrong:
            assert verify_signature(xt, ctx) is False, (case.name, ctx)


def test_vectors_wrong_extension_list_fails_verification(cases: tuple[Case, ...]) -> None:
    case = next(c for c in cases if c.extensions is STANDARD_EXTENSIONS_WITH_METADATA_HASH)
    # Without CheckMetadataHash the mode byte is read as the first call byte.
    xt = decode_extrinsic(case.extrinsic, STANDARD_EXTENSIONS)
    assert xt.call == b"\x00" + case.call
    assert verify_signature(xt, case.ctx) is False


def test_mortal_vector_without_birth_hash_raises_missing_context(cases: tuple[Case, ...]) -> None:
    case = next(c for c in cases if not c.era.is_immortal)
    ctx = SigningContext(case.ctx.spec_version, case.ctx.transaction_version, case.ctx.genesis_hash)
    with pytest.raises(MissingSigningContext, match="birth block"):
        verify_signature(_decode(case), ctx)


# ------------------------------------------------------------------------------- bit flips


def _accepted(raw: bytes, case: Case, ctx: SigningContext) -> bool:
    """Whether altered bytes still pass as a validly signed extrinsic (typed errors = no)."""
    try:
        xt = decode_extrinsic(raw, case.extensions)
    except ExtrinsicDecodeError:
        return False
    return verify_signature(xt, ctx)


def _flip(raw: bytes, bit: int) -> bytes:
    out = bytearray(raw)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _flip_ctx(case: Case) -> SigningContext:
    # A metadata hash is known, so that flipping the mode byte gives an invalid signature rather
    # than a missing-context error.
    c = case.ctx
    return SigningContext(
        c.spec_version, c.transaction_version, c.genesis_hash, c.birth_hash, b"\x42" * 32
    )


def _regions(case: Case) -> dict[str, range]:
    """Byte ranges of the signature, the extra data and the call within the encoding."""
    xt = _decode(case)
    assert xt.signature is not None
    inner_len = len(xt.encode_inner())
    prefix = len(case.extrinsic) - inner_len
    sig_start = prefix + 1 + 33 + 1
    sig_end = sig_start + len(xt.signature.signature.signature)
    call_start = len(case.extrinsic) - len(case.call)
    return {
        "signature": range(sig_start, sig_end),
        "extra": range(sig_end, call_start),
        "call": range(call_start, len(case.extrinsic)),
    }


def test_bitflip_every_signature_bit_fails_verification(cases: tuple[Case, ...]) -> None:
    case = next(c for c in cases if c.scheme == "ed25519" and c.name.startswith(PY_NODE))
    ctx = _flip_ctx(case)
    assert _accepted(case.extrinsic, case, ctx)
    region = _regions(case)["signature"]
    assert len(region) == 64
    for byte in region:
        for bit in range(8):
            assert not _accepted(_flip(case.extrinsic, byte * 8 + bit), case, ctx), (byte, bit)


def test_bitflip_every_call_and_extra_bit_fails_verification(cases: tuple[Case, ...]) -> None:
    case = next(c for c in cases if not c.era.is_immortal and c.name.startswith(PY_POLKADOT))
    ctx = _flip_ctx(case)
    regions = _regions(case)
    assert len(regions["extra"]) == 5  # era (2) ++ nonce (1) ++ tip (1) ++ mode (1)
    for name in ("extra", "call"):
        for byte in regions[name]:
            for bit in range(8):
                flipped = _flip(case.extrinsic, byte * 8 + bit)
                assert not _accepted(flipped, case, ctx), (name, byte, bit)


def test_bitflip_sampled_bits_in_every_vector_fail_verification(cases: tuple[Case, ...]) -> None:
    for case in cases:
        ctx = _flip_ctx(case)
        regions = _regions(case)
        for name, region in regions.items():
            bits = range(region.start * 8, region.stop * 8)
            for bit in bits[:: 29 if name != "extra" else 1]:
                assert not _accepted(_flip(case.extrinsic, bit), case, ctx), (case.name, name, bit)


# ------------------------------------------------------------------------ signing round trips

GENESIS = b"\x11" * 32
BIRTH = b"\x22" * 32
METADATA = b"\x33" * 32
CALL = bytes.fromhex("0000") + encode_compact(3) + b"abc"


@pytest.mark.parametrize("scheme", ["sr25519", "ed25519", "ecdsa"])
def test_sign_then_verify_round_trip_holds(scheme: str) -> None:
    pair = Keypair.from_uri("//Alice", scheme=scheme)
    era = Era.mortal(64, 1000)
    raw = sign_extrinsic(
        pair,
        CALL,
        nonce=9,
        era=era,
        tip=10**20,
        genesis_hash=GENESIS,
        spec_version=7,
        tx_version=2,
        birth_hash=BIRTH,
        metadata_hash=METADATA,
        extensions=STANDARD_EXTENSIONS_WITH_METADATA_HASH,
    )
    xt = decode_extrinsic(raw, STANDARD_EXTENSIONS_WITH_METADATA_HASH)
    assert xt.signer == pair.account_id
    assert xt.signature is not None and xt.signature.signature.scheme == scheme
    assert (xt.nonce, xt.tip, xt.era, xt.call) == (9, 10**20, era, CALL)
    assert xt.metadata_hash_mode is MetadataHashMode.ENABLED
    ctx = SigningContext(7, 2, GENESIS, BIRTH, METADATA)
    assert verify_signature(xt, ctx) is True
    assert verify_signature(xt, SigningContext(7, 2, GENESIS, BIRTH, b"\x34" * 32)) is False
    assert verify_signature(xt, SigningContext(7, 2, GENESIS, GENESIS, METADATA)) is False
    with pytest.raises(MissingSigningContext, match="metadata hash"):
        verify_signature(xt, SigningContext(7, 2, GENESIS, BIRTH))


@pytest.mark.parametrize("scheme", ["sr25519", "ed25519", "ecdsa"])
def test_sign_long_payload_then_verify_holds(scheme: str) -> None:
    pair = Keypair.from_uri("//Bob", scheme=scheme)
    call = b"\x00\x01" + encode_compact(400) + b"\xab" * 400
    raw = sign_extrinsic(pair, call, 0, Era(), 0, GENESIS, 1, 1)
    xt = decode_extrinsic(raw)
    assert len(xt.signing_payload(SigningContext(1, 1, GENESIS))) > 256
    assert verify_signature(xt, SigningContext(1, 1, GENESIS)) is True
    assert verify_signature(xt, SigningContext(1, 2, GENESIS)) is False


def test_ecdsa_signer_is_blake2_of_compressed_key() -> None:
    pair = Keypair.from_uri("//Alice", scheme="ecdsa")
    xt = decode_extrinsic(sign_extrinsic(pair, CALL, 0, Era(), 0, GENESIS, 1, 1))
    assert len(pair.public_key) == 33
    assert xt.signer == blake2_256(pair.public_key)
    assert xt.signature is not None and len(xt.signature.signature.signature) == 65


def test_ed25519_signing_reproduces_recorded_vectors(cases: tuple[Case, ...]) -> None:
    alice = Keypair.from_uri("//Alice", scheme="ed25519")
    checked = 0
    for case in cases:
        if case.scheme != "ed25519":
            continue
        assert alice.account_id == case.signer
        has_mode = case.extensions is STANDARD_EXTENSIONS_WITH_METADATA_HASH
        raw = sign_extrinsic(
            alice,
            case.call,
            case.nonce,
            case.era,
            case.tip,
            case.ctx.genesis_hash,
            case.ctx.spec_version,
            case.ctx.transaction_version,
            birth_hash=None if case.era.is_immortal else case.ctx.birth_hash,
            extensions=case.extensions,
        )
        assert raw == case.extrinsic, case.name
        assert has_mode == (decode_extrinsic(raw, case.extensions).metadata_hash_mode is not None)
        checked += 1
    assert checked == 13


def test_sign_mortal_without_birth_hash_fails() -> None:
    pair = Keypair.from_uri("//Alice", scheme="ed25519")
    with pytest.raises(MissingSigningContext):
        sign_extrinsic(pair, CALL, 0, Era.mortal(64, 100), 0, GENESIS, 1, 1)


def test_sign_metadata_hash_without_extension_fails() -> None:
    pair = Keypair.from_uri("//Alice", scheme="ed25519")
    with pytest.raises(ExtrinsicEncodeError, match="CheckMetadataHash"):
        sign_extrinsic(pair, CALL, 0, Era(), 0, GENESIS, 1, 1, metadata_hash=METADATA)


def test_custom_extension_list_round_trip_holds() -> None:
    custom = SignedExtension("CheckFlTask", U8)
    extensions = STANDARD_EXTENSIONS + (SignedExtension("PrevalidateAttests"), custom)
    pair = Keypair.from_uri("//Alice", scheme="ed25519")
    with pytest.raises(ExtrinsicEncodeError, match="CheckFlTask"):
        sign_extrinsic(pair, CALL, 1, Era(), 0, GENESIS, 1, 1, extensions=extensions)
    raw = sign_extrinsic(
        pair, CALL, 1, Era(), 0, GENESIS, 1, 1, extensions=extensions, extra={"CheckFlTask": 7}
    )
    xt = decode_extrinsic(raw, extensions)
    assert xt.signature is not None and xt.signature.extra["CheckFlTask"] == 7
    assert verify_signature(xt, SigningContext(1, 1, GENESIS)) is True
    payload = signing_payload(CALL, xt.signature.extra, SigningContext(1, 1, GENESIS), extensions)
    assert payload == xt.signing_payload(SigningContext(1, 1, GENESIS))


def test_duplicate_extension_identifier_fails() -> None:
    with pytest.raises(ExtrinsicError, match="twice"):
        decode_extrinsic(b"\x0c\x04\x00\x00", STANDARD_EXTENSIONS + (CHECK_NON_ZERO_SENDER,))


# ------------------------------------------------------------------------- bare and malformed


def test_bare_extrinsic_round_trip_holds() -> None:
    xt = UncheckedExtrinsic(CALL)
    raw = xt.encode()
    assert raw == encode_compact(1 + len(CALL)) + b"\x04" + CALL
    back = decode_extrinsic(raw)
    assert back == xt and not back.is_signed
    assert (back.era, back.nonce, back.tip, back.signer) == (None, None, None, None)
    assert back.hash() == blake2_256(raw)
    with pytest.raises(ExtrinsicError):
        verify_signature(back, SigningContext(1, 1, GENESIS))
    with pytest.raises(ExtrinsicError):
        back.signing_payload(SigningContext(1, 1, GENESIS))


@pytest.mark.parametrize("version", [0x00, 0x03, 0x05, 0x44, 0x85, 0xC4, 0xFF])
def test_decode_unsupported_version_fails(version: int) -> None:
    inner = bytes([version]) + CALL
    with pytest.raises(UnsupportedExtrinsicVersion, match=f"0x{version:02x}"):
        decode_extrinsic(encode_compact(len(inner)) + inner)


def test_decode_malformed_inputs_fail_with_typed_errors(cases: tuple[Case, ...]) -> None:
    good = cases[0].extrinsic
    inner = good[2:]  # two-byte compact prefix in the vectors
    bad = {
        "empty": b"",
        "length only": b"\x00",
        "truncated": good[:-1],
        "trailing": good + b"\x00",
        "call too short": encode_compact(2) + b"\x04\x00",
        "bad address variant": encode_compact(len(inner)) + b"\x84\x05" + inner[2:],
        "bad signature variant": good[:36] + b"\x03" + good[37:],
        "non-canonical length": b"\x01\x00" + good[2:],
    }
    for what, raw in bad.items():
        with pytest.raises(ExtrinsicDecodeError) as info:
            decode_extrinsic(raw)
        assert isinstance(info.value, ScaleDecodeError) and isinstance(info.value, PychainError)
        assert info.value.offset >= 0, what


def test_decode_at_reads_consecutive_extrinsics(cases: tuple[Case, ...]) -> None:
    body = cases[0].extrinsic + UncheckedExtrinsic(CALL).encode() + cases[1].extrinsic
    first, pos = UncheckedExtrinsic.decode_at(body, 0)
    second, pos = UncheckedExtrinsic.decode_at(body, pos)
    third, pos = UncheckedExtrinsic.decode_at(body, pos)
    assert pos == len(body)
    assert first.encode() == cases[0].extrinsic and third.encode() == cases[1].extrinsic
    assert second.call == CALL and not second.is_signed


@pytest.mark.parametrize(
    "address",
    [
        AddressIndex(5),
        AddressIndex(1 << 20),
        AddressRaw(b"raw-bytes"),
        Address32(b"\x07" * 32),
        Address20(b"\x08" * 20),
    ],
)
def test_other_address_variants_decode_but_do_not_verify(address: Any) -> None:
    pair = Keypair.from_uri("//Alice", scheme="sr25519")
    good = decode_extrinsic(sign_extrinsic(pair, CALL, 0, Era(), 0, GENESIS, 1, 1))
    assert good.signature is not None
    xt = UncheckedExtrinsic(
        CALL, ExtrinsicSignature(address, good.signature.signature, good.signature.extra)
    )
    back = decode_extrinsic(xt.encode())
    assert back == xt and back.signature is not None
    assert back.signature.address == address
    assert back.signer is None
    assert verify_signature(back, SigningContext(1, 1, GENESIS)) is False


def test_signature_scheme_mismatch_fails_verification(cases: tuple[Case, ...]) -> None:
    case = next(c for c in cases if c.scheme == "ed25519")
    xt = _decode(case)
    assert xt.signature is not None
    as_sr = Sr25519Signature(xt.signature.signature.signature)
    swapped = UncheckedExtrinsic(
        xt.call,
        ExtrinsicSignature(xt.signature.address, as_sr, xt.signature.extra),
        case.extensions,
    )
    assert verify_signature(swapped, case.ctx) is False
    assert isinstance(xt.signature.signature, Ed25519Signature)


def test_encode_short_call_fails() -> None:
    with pytest.raises(ExtrinsicEncodeError):
        UncheckedExtrinsic(b"\x00").encode()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decode_random_bytes_is_typed_error_or_canonical(raw: bytes) -> None:
    try:
        xt = decode_extrinsic(
            encode_compact(len(raw)) + raw, STANDARD_EXTENSIONS_WITH_METADATA_HASH
        )
    except ExtrinsicDecodeError:
        return
    assert xt.encode() == encode_compact(len(raw)) + raw


@settings(max_examples=150, deadline=None)
@given(
    body=st.binary(max_size=120),
    nonce=st.integers(0, 2**32 - 1),
    tip=st.integers(0, 2**128 - 1),
    period=st.integers(0, 1 << 17),
    current=st.integers(0, 2**32),
)
def test_signed_extrinsic_fields_round_trip_holds(
    body: bytes, nonce: int, tip: int, period: int, current: int
) -> None:
    pair = _ALICE_ED
    era = Era() if period == 0 else Era.mortal(period, current)
    call = b"\x07\x01" + body
    raw = sign_extrinsic(pair, call, nonce, era, tip, GENESIS, 3, 4, birth_hash=BIRTH)
    xt = decode_extrinsic(raw)
    assert (xt.call, xt.nonce, xt.tip, xt.era) == (call, nonce, tip, era)
    assert xt.encode() == raw
    assert verify_signature(xt, SigningContext(3, 4, GENESIS, BIRTH))


_ALICE_ED = Keypair.from_uri("//Alice", scheme="ed25519")


def test_sign_out_of_range_values_fail_with_typed_error() -> None:
    with pytest.raises(ExtrinsicEncodeError, match="ChargeTransactionPayment"):
        sign_extrinsic(_ALICE_ED, CALL, 0, Era(), 2**128, GENESIS, 1, 1)
    with pytest.raises(ExtrinsicEncodeError, match="CheckNonce"):
        sign_extrinsic(_ALICE_ED, CALL, 2**32, Era(), 0, GENESIS, 1, 1)
    with pytest.raises(ExtrinsicEncodeError, match="CheckSpecVersion"):
        sign_extrinsic(_ALICE_ED, CALL, 0, Era(), 0, GENESIS, -1, 1)


def test_decoded_extrinsics_are_hashable_and_deduplicate(cases: tuple[Case, ...]) -> None:
    pool = {_decode(c) for c in cases} | {_decode(cases[0])}
    # py-substrate-interface and polkadot.js produced byte-identical ed25519 extrinsics.
    assert len(pool) == len({c.extrinsic for c in cases})
