"""consensus.aura: slots, slot authors, the pre-digest and the seal, and header checks."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.aura import (
    AuraError,
    BadSeal,
    FutureSlot,
    MissingPreDigest,
    MissingSeal,
    NoAuthorities,
    SlotNotIncreasing,
    check_header,
    find_pre_digest,
    next_slot_start,
    pre_digest,
    seal_header,
    slot_at,
    slot_author,
)
from pychain.primitives.header import Header, PreRuntime, Seal
from pychain.primitives.keyring import dev_keypair

ALICE = dev_keypair("Alice")
BOB = dev_keypair("Bob")
ALICE_ED = dev_keypair("Alice", "ed25519")
AUTHORITIES = [ALICE.public_key, BOB.public_key]


def _header(slot: int, number: int = 3) -> Header:
    return Header(b"\x01" * 32, number, b"\x02" * 32, b"\x03" * 32, [pre_digest(slot)])


def test_slot_at_divides_the_timestamp() -> None:
    assert slot_at(0, 1000) == 0
    assert slot_at(999, 1000) == 0
    assert slot_at(1000, 1000) == 1
    assert slot_at(1_700_000_123_456, 6000) == 283_333_353
    assert next_slot_start(1_500, 1000) == 2_000
    assert next_slot_start(2_000, 1000) == 3_000


def test_slot_at_bad_duration_is_rejected() -> None:
    with pytest.raises(AuraError):
        slot_at(10, 0)
    with pytest.raises(AuraError):
        slot_at(-1, 1000)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=1, max_value=40))
def test_slot_author_round_robin(slot: int, n: int) -> None:
    keys = [i.to_bytes(32, "little") for i in range(n)]
    assert slot_author(slot, keys) == keys[slot % n]
    # The next n slots visit every authority once.
    assert {slot_author(slot + k, keys) for k in range(n)} == set(keys)


def test_slot_author_of_empty_set_is_an_error() -> None:
    with pytest.raises(NoAuthorities):
        slot_author(5, [])


def test_pre_digest_encodes_the_slot_as_u64() -> None:
    item = pre_digest(0x0102030405)
    assert item == PreRuntime(b"aura", bytes.fromhex("0504030201000000"))
    assert find_pre_digest(_header(0x0102030405)) == 0x0102030405


def test_find_pre_digest_missing_or_malformed_is_rejected() -> None:
    with pytest.raises(MissingPreDigest):
        find_pre_digest(Header(bytes(32), 1, bytes(32), bytes(32), []))
    bad = Header(bytes(32), 1, bytes(32), bytes(32), [PreRuntime(b"aura", b"\x01\x02")])
    with pytest.raises(MissingPreDigest):
        find_pre_digest(bad)
    twice = Header(bytes(32), 1, bytes(32), bytes(32), [pre_digest(1), pre_digest(2)])
    with pytest.raises(MissingPreDigest):
        find_pre_digest(twice)


def test_sealed_header_checks_for_slot_author() -> None:
    # Slot 4 belongs to authorities[0] = Alice.
    sealed = seal_header(_header(4), ALICE)
    seal = sealed.seal()
    assert seal is not None and seal.engine == b"aura" and len(seal.data) == 64
    checked = check_header(sealed, 3, AUTHORITIES, now_slot=4)
    assert (checked.slot, checked.author) == (4, ALICE.public_key)
    assert checked.pre_hash == _header(4).hash()
    # The first block after genesis has no parent slot.
    assert check_header(sealed, None, AUTHORITIES).slot == 4


def test_ed25519_authorities_are_supported() -> None:
    sealed = seal_header(_header(6), ALICE_ED)
    assert check_header(sealed, None, [ALICE_ED.public_key], scheme="ed25519").slot == 6
    with pytest.raises(BadSeal):
        check_header(sealed, None, [ALICE_ED.public_key], scheme="sr25519")


def test_seal_by_another_authority_is_rejected() -> None:
    # Slot 5 belongs to Bob; Alice's seal is refused.
    with pytest.raises(BadSeal):
        check_header(seal_header(_header(5), ALICE), 4, AUTHORITIES)


def test_tampered_sealed_header_is_rejected() -> None:
    sealed = seal_header(_header(4), ALICE)
    tampered = dataclasses.replace(sealed, state_root=b"\x09" * 32)
    with pytest.raises(BadSeal):
        check_header(tampered, 3, AUTHORITIES)


def test_slot_not_above_parent_is_rejected() -> None:
    sealed = seal_header(_header(4), ALICE)
    with pytest.raises(SlotNotIncreasing):
        check_header(sealed, 4, AUTHORITIES)
    with pytest.raises(SlotNotIncreasing):
        check_header(sealed, 9, AUTHORITIES)


def test_future_slot_is_rejected() -> None:
    with pytest.raises(FutureSlot):
        check_header(seal_header(_header(4), ALICE), 1, AUTHORITIES, now_slot=3)


def test_unsealed_or_foreign_sealed_header_is_rejected() -> None:
    with pytest.raises(MissingSeal):
        check_header(_header(4), 3, AUTHORITIES)
    foreign = dataclasses.replace(
        _header(4), digest=(*_header(4).digest, Seal(b"BABE", ALICE.sign(_header(4).hash())))
    )
    with pytest.raises(MissingSeal):
        check_header(foreign, 3, AUTHORITIES)


def test_sealing_twice_is_an_error() -> None:
    with pytest.raises(AuraError):
        seal_header(seal_header(_header(4), ALICE), ALICE)
