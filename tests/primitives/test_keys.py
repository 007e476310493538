"""Tests of pychain.primitives.keys, bip39 and keyring: real signatures and known dev keys."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sr25519
from hypothesis import given, settings
from hypothesis import strategies as st

from pychain.errors import PychainError
from pychain.primitives import bip39
from pychain.primitives.hashing import blake2_256
from pychain.primitives.keyring import KeyringError, dev_keypair, dev_names, dev_uri
from pychain.primitives.keys import (
    DEV_PHRASE,
    SCHEMES,
    CryptoError,
    DerivationError,
    DeriveJunction,
    InvalidPhraseError,
    InvalidSecretUriError,
    InvalidSeedError,
    Keypair,
    UnknownSchemeError,
    _keccak_f1600,
    parse_secret_uri,
    verify_signature,
)
from pychain.primitives.scale import Str, decode_compact
from pychain.primitives.ss58 import ss58_encode

# Well-known development accounts (sp_keyring; `subkey inspect //Name`): sr25519 public key and
# generic SS58 address. The address is recomputed from the key, so a typo in either fails.
KNOWN_SR25519 = {
    "Alice": (
        "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    ),
    "Bob": (
        "8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48",
        "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
    ),
    "Charlie": (
        "90b5ab205c6974c9ea841be688864633dc9ca8a357843eeacf2314649965fe22",
        "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
    ),
    "Dave": (
        "306721211d5404bd9da88e0204360a1a9ab8b87c66c1bc2fcdd37f3c2222cc20",
        "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy",
    ),
    "Eve": (
        "e659a7a1628cdd93febc04a4e0646ea20e9f5f0ce097d9a05290d4a9e054df4e",
        "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw",
    ),
    "Ferdie": (
        "1cbd2d43530a44705ad088af313e18f80b53ef16b36177cd4b77b846f2a5f07c",
        "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL",
    ),
}
KNOWN_STASH_SS58 = {
    "Alice": "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY",
    "Bob": "5HpG9w8EBLe5XCrbczpwq5TSXvedjrBGCwqxK1iQ7qUsSWFc",
    "Charlie": "5Ck5SLSHYac6WFt5UZRSsdJjwmpSZq85fd5TRNAdZQVzEAPT",
    "Dave": "5HKPmK9GYtE1PSLsS1qiYU9xQ9Si1NcEhdeCq9sw5bqu4ns8",
    "Eve": "5FCfAonRZgTFrTd9HREEyeJjDpT397KMzizE6T3DvebLFE7n",
    "Ferdie": "5CRmqmsiNFExV6VbdmPJViVxrWmkaXXvBrSX8oqBT8R9vmWk",
}
# `subkey inspect //Alice`'s secret seed (the hard-derived sr25519 mini secret) and the dev
# phrase's root key; `subkey inspect --scheme ecdsa //Alice`'s compressed key and account id.
ALICE_SR25519_SEED = "e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a"
DEV_ROOT_SEED = "fac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e"
DEV_ROOT_PUBLIC = "46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
ALICE_ECDSA_PUBLIC = "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1"
ALICE_ECDSA_ACCOUNT = "01e552298e47454041ea31273b4b630c64c104e4514aa3643490b8aaca9cf8ed"
BOB_ED25519_PUBLIC = "d17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69"

SUBSTRATE_INTERFACE_FILES = (
    "py_substrate_interface_1.8.1_node_template_transfers.json",
    "py_substrate_interface_1.8.1_polkadot1002005_transfers.json",
)


def _load(vectors: Path, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((vectors / "extrinsics" / name).read_text())


def _signed_parts(extrinsic_hex: str) -> tuple[bytes, int, bytes]:
    """(signer, MultiSignature variant, signature) of a signed v4 extrinsic (MultiAddress::Id)."""
    raw = bytes.fromhex(extrinsic_hex[2:])
    _, pos = decode_compact(raw, 0)
    assert raw[pos] == 0x84 and raw[pos + 1] == 0x00  # signed v4, MultiAddress::Id
    signer = raw[pos + 2 : pos + 34]
    variant = raw[pos + 34]
    sig_len = 65 if variant == 2 else 64
    return signer, variant, raw[pos + 35 : pos + 35 + sig_len]


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# ------------------------------------------------------------------------------ known keys


def test_alice_keys_match_vectors(vectors: Path) -> None:
    for name in SUBSTRATE_INTERFACE_FILES:
        keys = _load(vectors, name)["keys"]
        assert "0x" + Keypair.from_uri("//Alice").public_key.hex() == keys["alice_sr25519_pub"]
        ed = Keypair.from_uri("//Alice", "ed25519")
        assert "0x" + ed.public_key.hex() == keys["alice_ed25519_pub"]
        assert ss58_encode(ed.account_id) == keys["alice_ed25519_ss58"]


def test_transfer_destination_is_bob(vectors: Path) -> None:
    call = _load(vectors, SUBSTRATE_INTERFACE_FILES[0])["call"]
    bob = dev_keypair("bob")
    assert "0x" + bob.public_key.hex() == call["dest_pub"]
    assert ss58_encode(bob.account_id) == call["dest_ss58"]


@pytest.mark.parametrize("name", sorted(KNOWN_SR25519))
def test_dev_sr25519_keys_match_known_values(name: str) -> None:
    public, address = KNOWN_SR25519[name]
    pair = dev_keypair(name)
    assert pair.public_key.hex() == public
    assert ss58_encode(pair.account_id) == address
    assert ss58_encode(dev_keypair(name + "//stash").account_id) == KNOWN_STASH_SS58[name]


def test_alice_sr25519_seed_matches_subkey() -> None:
    alice = Keypair.from_uri("//Alice")
    assert alice.seed is not None and alice.seed.hex() == ALICE_SR25519_SEED
    # The recomputed mini secret expands to the same key as the bindings' hard derivation.
    root = Keypair.from_phrase(DEV_PHRASE)
    assert root.seed is not None
    chain_code = DeriveJunction.parse("/Alice").chain_code
    _, public, _ = sr25519.hard_derive_keypair(
        (chain_code, *sr25519.pair_from_seed(root.seed)), b""
    )
    assert public == alice.public_key


def test_dev_phrase_root_key_matches_known_value() -> None:
    root = Keypair.from_uri(DEV_PHRASE)
    assert root.seed is not None and root.seed.hex() == DEV_ROOT_SEED
    assert root.public_key.hex() == DEV_ROOT_PUBLIC


def test_hex_seed_uri_gives_same_key_and_children() -> None:
    assert Keypair.from_uri("0x" + ALICE_SR25519_SEED).public_key == dev_keypair("alice").public_key
    stash = Keypair.from_uri("0x" + ALICE_SR25519_SEED + "//stash")
    assert stash.public_key == dev_keypair("alice//stash").public_key


def test_ecdsa_alice_matches_known_value() -> None:
    alice = Keypair.from_uri("//Alice", "ecdsa")
    assert alice.public_key.hex() == ALICE_ECDSA_PUBLIC
    assert alice.account_id.hex() == ALICE_ECDSA_ACCOUNT
    assert alice.account_id == blake2_256(alice.public_key)


def test_ed25519_bob_matches_known_value() -> None:
    assert dev_keypair("Bob", "ed25519").public_key.hex() == BOB_ED25519_PUBLIC


# ------------------------------------------------------------------ real signatures (vectors)


def test_ed25519_signature_matches_real_extrinsics(vectors: Path) -> None:
    alice = Keypair.from_uri("//Alice", "ed25519")
    checked = 0
    for name in SUBSTRATE_INTERFACE_FILES:
        for vector in _load(vectors, name)["vectors"]:
            signer, variant, signature = _signed_parts(vector["extrinsic"])
            if variant != 0:
                continue
            payload = bytes.fromhex(vector["signature_payload"][2:])
            assert signer == alice.public_key
            assert alice.sign(payload) == signature  # ed25519 is deterministic
            assert verify_signature("ed25519", signer, payload, signature)
            checked += 1
    assert checked == 6


def test_ed25519_hashed_payload_signature_matches(vectors: Path) -> None:
    data = _load(
        vectors, "py_substrate_interface_1.8.1_polkadot1002005_remark300_hashed_payload.json"
    )
    signer, variant, signature = _signed_parts(data["extrinsic"])
    hashed = bytes.fromhex(data["signature_payload"][2:])
    assert variant == 0 and len(hashed) == 32
    assert Keypair.from_uri("//Alice", "ed25519").sign(hashed) == signature


def test_sr25519_real_extrinsic_signature_verifies(vectors: Path) -> None:
    checked = 0
    for name in SUBSTRATE_INTERFACE_FILES:
        for vector in _load(vectors, name)["vectors"]:
            signer, variant, signature = _signed_parts(vector["extrinsic"])
            if variant != 1:
                continue
            payload = bytes.fromhex(vector["signature_payload"][2:])
            assert signer == dev_keypair("alice").public_key
            assert verify_signature("sr25519", signer, payload, signature)
            assert not verify_signature("sr25519", signer, payload + b"\x00", signature)
            checked += 1
    assert checked == 2


def test_grandpa_precommit_signatures_verify(vectors: Path) -> None:
    data = json.loads((vectors / "grandpa" / "polkadot_block302592_justification.json").read_text())
    for precommit in data["precommits"]:
        payload = (
            b"\x01"
            + bytes.fromhex(precommit["target_hash"][2:])
            + precommit["target_number"].to_bytes(4, "little")
            + data["round"].to_bytes(8, "little")
            + data["set_id"].to_bytes(8, "little")
        )
        authority = bytes.fromhex(precommit["authority_id"][2:])
        signature = bytes.fromhex(precommit["signature"][2:])
        assert verify_signature("ed25519", authority, payload, signature)
        wrong_set = payload[:-8] + (data["set_id"] + 1).to_bytes(8, "little")
        assert not verify_signature("ed25519", authority, wrong_set, signature)


# ------------------------------------------------------------------------ sign and verify


@pytest.mark.parametrize("scheme", SCHEMES)
@settings(max_examples=40, deadline=None)
@given(message=st.binary(max_size=300))
def test_sign_then_verify_succeeds(scheme: str, message: bytes) -> None:
    pair = dev_keypair("charlie", scheme)
    signature = pair.sign(message)
    assert len(signature) == (65 if scheme == "ecdsa" else 64)
    assert pair.verify(message, signature)
    assert verify_signature(scheme, pair.public_key, message, signature)
    assert not dev_keypair("dave", scheme).verify(message, signature)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_one_bit_flip_makes_verify_false(scheme: str) -> None:
    pair = dev_keypair("alice", scheme)
    message = b"pychain bit-flip test message"
    signature = pair.sign(message)
    assert pair.verify(message, signature)
    for bit in range(len(signature) * 8):
        assert not verify_signature(scheme, pair.public_key, message, _flip(signature, bit)), bit
    for bit in range(len(message) * 8):
        assert not verify_signature(scheme, pair.public_key, _flip(message, bit), signature), bit
    for bit in range(0, len(pair.public_key) * 8, 3):
        assert not verify_signature(scheme, _flip(pair.public_key, bit), message, signature), bit


def test_sr25519_signatures_are_randomized_but_both_verify() -> None:
    pair = dev_keypair("eve")
    first, second = pair.sign(b"m"), pair.sign(b"m")
    assert first != second
    assert pair.verify(b"m", first) and pair.verify(b"m", second)


def test_ecdsa_verify_accepts_account_id_and_27_based_v() -> None:
    pair = dev_keypair("alice", "ecdsa")
    signature = pair.sign(b"hello")
    assert signature[64] in (0, 1)
    assert verify_signature("ecdsa", pair.account_id, b"hello", signature)
    shifted = signature[:64] + bytes([signature[64] + 27])
    assert verify_signature("ecdsa", pair.public_key, b"hello", shifted)
    assert not verify_signature(
        "ecdsa", dev_keypair("bob", "ecdsa").account_id, b"hello", signature
    )


def test_ecdsa_signature_is_over_blake2_256_of_message() -> None:
    import coincurve

    pair = dev_keypair("ferdie", "ecdsa")
    signature = pair.sign(b"payload")
    recovered = coincurve.PublicKey.from_signature_and_message(
        signature, blake2_256(b"payload"), hasher=None
    )
    assert recovered.format(compressed=True) == pair.public_key


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(
    "public_key, signature",
    [
        (b"", b""),
        (b"\x00" * 32, b"\xff" * 64),  # non-canonical scalar s
        (b"\xff" * 33, b"\xff" * 65),
        (b"\x01" * 31, b"\x01" * 63),
        ("not bytes", None),
        (32, 64),  # ints are not byte strings (bytes(32) would be 32 zero bytes)
    ],
)
def test_verify_malformed_input_returns_false(
    scheme: str, public_key: object, signature: object
) -> None:
    result = verify_signature(scheme, public_key, b"msg", signature)  # type: ignore[arg-type]
    assert result is False


def test_ed25519_verify_follows_zip215_for_small_order_key() -> None:
    # ed25519-zebra (ZIP-215), as Substrate: the identity-like all-zero key and signature verify.
    assert verify_signature("ed25519", b"\x00" * 32, b"msg", b"\x00" * 64)
    assert not verify_signature("ed25519", b"\x00" * 32, b"msg", b"\x00" * 32 + b"\xff" * 32)


def test_sign_non_bytes_raises_typed_error() -> None:
    with pytest.raises(CryptoError):
        dev_keypair("alice").sign("text")  # type: ignore[arg-type]


def test_verify_unknown_scheme_raises_typed_error() -> None:
    with pytest.raises(UnknownSchemeError):
        verify_signature("rsa", b"\x00" * 32, b"", b"\x00" * 64)
    with pytest.raises(UnknownSchemeError):
        Keypair.from_uri("//Alice", "secp256r1")


# ------------------------------------------------------------------------ secret URIs


def test_junction_chain_codes_follow_substrate_encoding() -> None:
    assert DeriveJunction.parse("5") == DeriveJunction(
        (5).to_bytes(8, "little").ljust(32, b"\0"), False
    )
    assert DeriveJunction.parse("+7").chain_code[:8] == (7).to_bytes(8, "little")
    alice = DeriveJunction.parse("/Alice")
    assert alice.hard and alice.chain_code == b"\x14Alice" + b"\0" * 26
    overflow = DeriveJunction.parse(str(2**64))  # not a u64: encoded as a string
    assert overflow.chain_code == Str.encode(str(2**64)).ljust(32, b"\0")
    long = "x" * 40
    assert DeriveJunction.parse(long).chain_code == blake2_256(Str.encode(long))


def test_parse_secret_uri_splits_phrase_path_password() -> None:
    uri = parse_secret_uri(DEV_PHRASE + "//hard/soft///my pass")
    assert uri.phrase == DEV_PHRASE and uri.password == "my pass"
    assert [j.hard for j in uri.junctions] == [True, False]
    assert parse_secret_uri("//Alice").phrase == DEV_PHRASE
    assert parse_secret_uri("//Alice").password is None


def test_invalid_secret_uri_format_is_rejected() -> None:
    with pytest.raises(InvalidSecretUriError):
        parse_secret_uri("bad-chars!//x")
    with pytest.raises(InvalidSecretUriError):
        parse_secret_uri(42)  # type: ignore[arg-type]


def test_password_changes_key_and_override_wins() -> None:
    plain = Keypair.from_uri("//Alice")
    with_pw = Keypair.from_uri("//Alice///secret")
    assert with_pw.public_key != plain.public_key
    assert Keypair.from_uri("//Alice", password="secret").public_key == with_pw.public_key
    assert Keypair.from_uri("//Alice///other", password="secret").public_key == with_pw.public_key


def test_phrase_password_seed_is_pbkdf2_over_entropy() -> None:
    entropy = bip39.mnemonic_to_entropy(DEV_PHRASE)
    expected = hashlib.pbkdf2_hmac("sha512", entropy, b"mnemonicpw", 2048)[:32]
    pair = Keypair.from_uri(DEV_PHRASE + "///pw", "ed25519")
    assert pair.seed == expected
    assert pair.public_key == Keypair.from_seed(expected, "ed25519").public_key


def test_sr25519_soft_derivation_matches_public_derivation() -> None:
    alice = dev_keypair("alice")
    child = Keypair.from_uri("//Alice/0")
    assert child.seed is None  # a soft junction loses the seed, as in Substrate
    chain_code = DeriveJunction.parse("0").chain_code
    _, public = sr25519.derive_pubkey((chain_code, alice.public_key), b"")
    assert child.public_key == public
    assert child.verify(b"m", child.sign(b"m"))
    # A later hard junction still derives, but the seed stays unknown.
    grandchild = Keypair.from_uri("//Alice/0//x")
    assert grandchild.seed is None and grandchild.public_key != child.public_key


def test_hard_and_soft_paths_differ() -> None:
    keys = {
        Keypair.from_uri(uri).public_key for uri in ("//Alice", "/Alice", "//Alice//1", "//Alice/1")
    }
    assert len(keys) == 4


@pytest.mark.parametrize("scheme", ["ed25519", "ecdsa"])
def test_soft_derivation_rejected_for_ed25519_and_ecdsa(scheme: str) -> None:
    with pytest.raises(DerivationError):
        Keypair.from_uri("//Alice/soft", scheme)
    assert (
        Keypair.from_uri("//Alice//hard", scheme).public_key
        != dev_keypair("alice", scheme).public_key
    )


def test_ed25519_hard_derivation_is_blake2_of_scale_tuple() -> None:
    root = Keypair.from_phrase(DEV_PHRASE, "ed25519")
    assert root.seed is not None
    chain_code = b"\x14Alice" + b"\0" * 26
    child_seed = blake2_256(Str.encode("Ed25519HDKD") + root.seed + chain_code)
    assert Keypair.from_uri("//Alice", "ed25519").seed == child_seed


@pytest.mark.parametrize(
    "phrase",
    [
        DEV_PHRASE.replace("walk", "walkk"),  # not a word
        DEV_PHRASE.replace("walk", "wall"),  # valid word, bad checksum
        DEV_PHRASE.rsplit(" ", 1)[0],  # 11 words
        DEV_PHRASE.upper(),  # the English list is lowercase
    ],
)
def test_bad_phrase_rejected(phrase: str) -> None:
    with pytest.raises(InvalidPhraseError):
        Keypair.from_uri(phrase)


@pytest.mark.parametrize(
    "uri", ["0x1234", "0x" + "zz" * 32, "0x" + "00" * 33, "0x" + "00" * 16 + " " + "00" * 16]
)
def test_bad_hex_seed_rejected(uri: str) -> None:
    with pytest.raises(InvalidSeedError):
        Keypair.from_uri(uri)


def test_invalid_ecdsa_seed_rejected() -> None:
    with pytest.raises(InvalidSeedError):
        Keypair.from_seed(b"\xff" * 32, "ecdsa")  # above the curve order
    with pytest.raises(InvalidSeedError):
        Keypair.from_seed(b"\x00" * 31, "sr25519")


def test_errors_share_one_root() -> None:
    for error in (InvalidPhraseError, InvalidSeedError, DerivationError, KeyringError):
        assert issubclass(error, CryptoError) and issubclass(error, PychainError)


# ------------------------------------------------------------------------------- bip39


def test_bip39_official_vectors_round_trip() -> None:
    # BIP-0039 reference vectors (trezor/python-mnemonic vectors.json, English).
    cases = {
        "00" * 16: "abandon " * 11 + "about",
        "7f" * 16: "legal winner thank year wave sausage worth useful legal winner thank yellow",
        "ff" * 16: "zoo " * 11 + "wrong",
        "00" * 32: "abandon " * 23 + "art",
    }
    for entropy_hex, phrase in cases.items():
        entropy = bytes.fromhex(entropy_hex)
        assert bip39.entropy_to_mnemonic(entropy) == phrase
        assert bip39.mnemonic_to_entropy(phrase) == entropy


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([16, 20, 24, 28, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_bip39_entropy_round_trip(entropy: bytes) -> None:
    phrase = bip39.entropy_to_mnemonic(entropy)
    assert len(phrase.split()) == len(entropy) * 3 // 4
    assert bip39.mnemonic_to_entropy(phrase) == entropy


def test_bip39_wordlist_is_official() -> None:
    words = bip39.wordlist()
    assert len(words) == 2048 and words[0] == "abandon" and words[-1] == "zoo"


def test_bip39_bad_entropy_rejected() -> None:
    with pytest.raises(bip39.Bip39Error):
        bip39.entropy_to_mnemonic(b"\x00" * 15)
    with pytest.raises(bip39.Bip39Error):
        bip39.generate_mnemonic(13)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("words", [12, 24])
def test_generate_returns_phrase_that_rebuilds_pair(scheme: str, words: int) -> None:
    pair = Keypair.generate(scheme, words)
    assert pair.phrase is not None and len(pair.phrase.split()) == words
    assert Keypair.from_uri(pair.phrase, scheme).public_key == pair.public_key


# ----------------------------------------------------------------------------- keyring


def test_dev_keypair_names_are_case_insensitive() -> None:
    assert dev_keypair("ALICE").public_key == dev_keypair("alice").public_key
    assert dev_keypair("AliceStash").public_key == dev_keypair("alice//stash").public_key
    assert dev_uri("Bob//Stash") == "//Bob//stash"
    assert len(dev_names(include_stash=True)) == 12


@pytest.mark.parametrize("name", ["Mallory", "", "alice//stash//x", "stash"])
def test_dev_keypair_unknown_name_raises_keyring_error(name: str) -> None:
    with pytest.raises(KeyringError):
        dev_keypair(name)


# ------------------------------------------------------------------ Merlin building block


def test_keccak_permutation_matches_sha3() -> None:
    for message in (b"", b"abc"):
        state = bytearray(200)
        padded = bytearray(message) + b"\x06" + b"\x00" * (135 - len(message))
        padded[135] |= 0x80
        for i, byte in enumerate(padded):
            state[i] ^= byte
        _keccak_f1600(state)
        assert bytes(state[:32]) == hashlib.sha3_256(message).digest()
