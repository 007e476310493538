"""Aura-style slot authoring: the pure parts (slots, slot authors, pre-digest, seal, seal check).

Counterparts: ``sc-consensus-aura`` and ``sp-consensus-aura`` (Polkadot spec, "Block Production",
section "Aura"; Substrate's ``sc_consensus_aura::{slot_author, find_pre_digest, check_header}``):

* time is cut into slots of ``slot_duration`` ms: ``slot = timestamp_ms // slot_duration``
  (:func:`slot_at`), and the author of ``slot`` is ``authorities[slot % n]`` (:func:`slot_author`);
* the author puts ``PreRuntime(b"aura", slot as u64 LE)`` in the header before building
  (:func:`pre_digest`), and after building appends ``Seal(b"aura", signature)`` where the signature
  is over the hash of the header *without* the seal, the "pre-hash" (:func:`seal_header`);
* on import (:func:`check_header`) the seal must be the last digest item, the pre-digest must carry
  a slot strictly above the parent's, the slot must not be in the future, and the seal must verify
  under the slot author's key.

Differences: the key scheme of the authorities is a parameter (sr25519 in the node template and in
pychain's presets; ed25519 is accepted too) rather than a type parameter; a block from a slot in
the future is rejected outright (Substrate defers it in the import queue). There is no wall clock
here: callers pass the time in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from pychain.errors import PychainError
from pychain.primitives.block import Block
from pychain.primitives.consensus_logs import AURA_ENGINE_ID
from pychain.primitives.header import Header, PreRuntime, Seal
from pychain.primitives.keys import Keypair, verify_signature
from pychain.primitives.scale import U64, ScaleDecodeError

__all__ = [
    "AURA_ENGINE_ID",
    "AuraError",
    "BadSeal",
    "CheckedHeader",
    "FutureSlot",
    "MissingPreDigest",
    "MissingSeal",
    "NoAuthorities",
    "SlotNotIncreasing",
    "check_header",
    "find_pre_digest",
    "next_slot_start",
    "pre_digest",
    "seal_block",
    "seal_header",
    "slot_at",
    "slot_author",
]

#: Signature schemes an Aura authority may use (``sp_consensus_aura::{sr25519, ed25519}``).
AURA_SCHEMES = ("sr25519", "ed25519")


class AuraError(PychainError):
    """Root of Aura's errors: a header that Aura refuses (``sc_consensus_aura::Error``)."""


class MissingPreDigest(AuraError):
    """The header has no (or a malformed) ``PreRuntime(b"aura", slot)`` item."""


class MissingSeal(AuraError):
    """The header's last digest item is not an Aura ``Seal``."""


class BadSeal(AuraError):
    """The seal is not a valid signature of the pre-hash by the slot's author."""


class SlotNotIncreasing(AuraError):
    """The block's slot is not above its parent's (two blocks in one slot, or going back)."""


class FutureSlot(AuraError):
    """The block claims a slot that has not started yet."""


class NoAuthorities(AuraError):
    """The authority set is empty: nobody may author."""


# ----------------------------------------------------------------------------------- slots


def slot_at(timestamp_ms: int, slot_duration: int) -> int:
    """``Slot::from_timestamp``: the slot containing ``timestamp_ms``."""
    if slot_duration <= 0:
        raise AuraError(f"slot duration must be positive, got {slot_duration}")
    if timestamp_ms < 0:
        raise AuraError(f"timestamp must not be negative, got {timestamp_ms}")
    return timestamp_ms // slot_duration


def next_slot_start(timestamp_ms: int, slot_duration: int) -> int:
    """The timestamp (ms) at which the slot after the one containing ``timestamp_ms`` starts."""
    return (slot_at(timestamp_ms, slot_duration) + 1) * slot_duration


def slot_author(slot: int, authorities: Sequence[bytes]) -> bytes:
    """``slot_author``: ``authorities[slot % n]``; :class:`NoAuthorities` if the set is empty."""
    if not authorities:
        raise NoAuthorities("the Aura authority set is empty")
    return authorities[slot % len(authorities)]


# ------------------------------------------------------------------------- digest and seal


def pre_digest(slot: int) -> PreRuntime:
    """``PreDigest``: the ``PreRuntime(b"aura", slot u64)`` item an author puts in its header."""
    return PreRuntime(AURA_ENGINE_ID, U64.encode(slot))


def find_pre_digest(header: Header) -> int:
    """``find_pre_digest``: the slot of ``header``; :class:`MissingPreDigest` if absent or bad.

    Only one Aura pre-runtime item is allowed (Substrate refuses ``MultipleHeaders``).
    """
    items = [
        item
        for item in header.digest
        if isinstance(item, PreRuntime) and item.engine == AURA_ENGINE_ID
    ]
    if not items:
        raise MissingPreDigest(f"block #{header.number} has no Aura pre-runtime digest")
    if len(items) > 1:
        raise MissingPreDigest(f"block #{header.number} has several Aura pre-runtime digests")
    try:
        slot: int = U64.decode(items[0].data)
    except ScaleDecodeError as exc:
        raise MissingPreDigest(f"block #{header.number}: malformed Aura slot: {exc}") from None
    return slot


def seal_header(header: Header, pair: Keypair) -> Header:
    """Append ``Seal(b"aura", sign(pre_hash))`` to an unsealed header (the author's last step)."""
    if header.seal() is not None:
        raise AuraError(f"block #{header.number} is already sealed")
    if pair.scheme not in AURA_SCHEMES:
        raise AuraError(f"Aura keys are sr25519 or ed25519, not {pair.scheme}")
    signature = pair.sign(header.hash())
    return dataclasses.replace(header, digest=(*header.digest, Seal(AURA_ENGINE_ID, signature)))


def seal_block(block: Block, pair: Keypair) -> Block:
    """``block`` with its header sealed by ``pair`` (see :func:`seal_header`)."""
    return Block(seal_header(block.header, pair), block.extrinsics)


@dataclass(frozen=True)
class CheckedHeader:
    """What :func:`check_header` established about a sealed header."""

    slot: int
    author: bytes
    pre_hash: bytes


def check_header(
    header: Header,
    parent_slot: int | None,
    authorities: Sequence[bytes],
    scheme: str = "sr25519",
    now_slot: int | None = None,
) -> CheckedHeader:
    """``check_header``: verify an imported header's slot and seal.

    ``parent_slot`` is the parent's slot (``None`` for a child of genesis, which has none),
    ``authorities`` the Aura authorities at the parent, ``now_slot`` the current slot of the
    importing node (``None`` skips the future check). Raises an :class:`AuraError` subclass.
    """
    if scheme not in AURA_SCHEMES:
        raise AuraError(f"Aura keys are sr25519 or ed25519, not {scheme}")
    # Verify the last digest item is an Aura seal.
    seal = header.seal()
    if seal is None or seal.engine != AURA_ENGINE_ID:
        raise MissingSeal(f"block #{header.number} is not sealed by Aura")
    unsealed = header.without_seal()
    # Verify the header carries exactly one well-formed slot.
    slot = find_pre_digest(unsealed)
    # Verify the slot increases along the chain.
    if parent_slot is not None and slot <= parent_slot:
        raise SlotNotIncreasing(
            f"block #{header.number}: slot {slot} is not above its parent's slot {parent_slot}"
        )
    # Verify the slot has started.
    if now_slot is not None and slot > now_slot:
        raise FutureSlot(f"block #{header.number}: slot {slot} is after the current {now_slot}")
    # Verify the seal is the slot author's signature of the pre-hash.
    author = slot_author(slot, authorities)
    pre_hash = unsealed.hash()
    if not verify_signature(scheme, author, pre_hash, seal.data):
        raise BadSeal(
            f"block #{header.number}: seal is not a signature of slot {slot}'s author "
            f"0x{author.hex()}"
        )
    return CheckedHeader(slot, author, pre_hash)
