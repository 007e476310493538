"""GRANDPA verification cost: signature checks and whole-justification verification.

Two measurements, each against a baseline run in the same process:

* **signatures per second** for ed25519 (GRANDPA's scheme, through ``ed25519_zebra``) and sr25519
  (schnorrkel bindings), once through ``pychain.primitives.keys.verify_signature`` and once through
  the raw bindings (the baseline): the ratio is the overhead of pychain's wrapper;
* **justification verification** (``consensus.grandpa.verify.verify_justification``) for 6 and
  300 voters, every voter precommitting on the target (a synthetic justification signed with
  freshly derived ed25519 keys). No other justification verifier exists in this environment, so
  the baseline is the bare cost of the signature checks it must do: the printed share is
  ``signatures x (raw ed25519 verify time) / (justification verify time)`` — 100 % would mean
  the rest of the verification (decoding aside, voter lookups, routes, weights, GHOST) is free.

The signed message is GRANDPA's 53-byte localized precommit payload. Figures are printed, never
asserted. ``run(quick=True)`` shortens every timing loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import ed25519_zebra
import sr25519

from consensus.grandpa.justification import GrandpaJustification
from consensus.grandpa.messages import Commit, Precommit, SignedPrecommit, localized_payload
from consensus.grandpa.verify import verify_justification
from consensus.grandpa.voter_set import VoterSet
from pychain.primitives.hashing import blake2_256
from pychain.primitives.keys import Keypair, verify_signature

ROUND = 439_559
SET_ID = 3
TARGET = Precommit(blake2_256(b"bench target"), 302_592)


def _seconds_per_call(fns: dict[str, Callable[[], object]], min_seconds: float) -> dict[str, float]:
    """Best-of-five seconds per call of each function, the rounds interleaved.

    Interleaving the candidates round by round keeps a burst of load from other processes from
    favouring one of them; each batch is sized to take about ``min_seconds / 5``.
    """
    batches: dict[str, int] = {}
    for name, fn in fns.items():
        batch = 1
        while True:
            start = time.perf_counter()
            for _ in range(batch):
                fn()
            if time.perf_counter() - start >= min_seconds / 5 or batch >= 1 << 20:
                break
            batch *= 2
        batches[name] = batch
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(5):
        for name, fn in fns.items():
            batch = batches[name]
            start = time.perf_counter()
            for _ in range(batch):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / batch)
    return best


def _signature_rates(min_seconds: float) -> None:
    """Print verifications per second through ``keys.verify_signature`` and the raw bindings."""
    payload = localized_payload(ROUND, SET_ID, TARGET)
    raw_verify = {"ed25519": ed25519_zebra.ed_verify, "sr25519": sr25519.verify}
    for scheme, raw in raw_verify.items():
        pair = Keypair.from_uri("//Alice", scheme=scheme)
        signature = pair.sign(payload)
        assert verify_signature(scheme, pair.public_key, payload, signature)
        timings = _seconds_per_call(
            {
                "raw": partial(raw, signature, payload, pair.public_key),
                "wrapped": partial(verify_signature, scheme, pair.public_key, payload, signature),
            },
            min_seconds,
        )
        print(
            f"  {scheme:8} keys.verify_signature {1 / timings['wrapped']:9,.0f}/s   "
            f"raw bindings {1 / timings['raw']:9,.0f}/s   "
            f"raw/wrapper time {timings['raw'] / timings['wrapped']:5.2f}"
        )


def _synthetic(voters: int) -> tuple[GrandpaJustification, VoterSet]:
    pairs = [
        Keypair.from_seed(blake2_256(b"bench voter" + i.to_bytes(4, "little")), "ed25519")
        for i in range(voters)
    ]
    payload = localized_payload(ROUND, SET_ID, TARGET)
    precommits = [SignedPrecommit(TARGET, pair.sign(payload), pair.public_key) for pair in pairs]
    commit = Commit(TARGET.target_hash, TARGET.target_number, precommits)
    return (
        GrandpaJustification(ROUND, commit, []),
        VoterSet([(pair.public_key, 1) for pair in pairs]),
    )


def run(quick: bool) -> None:
    min_seconds = 0.2 if quick else 0.6
    print("signature verification (53-byte GRANDPA precommit payload):")
    _signature_rates(min_seconds)
    print("justification verification (all precommits on the target):")
    for voters in (6, 300):
        justification, voter_set = _synthetic(voters)
        raw = justification.encode()
        assert verify_justification(justification, SET_ID, voter_set).signed_weight == voters
        signatures = len(justification.commit.precommits)
        payload = localized_payload(ROUND, SET_ID, TARGET)
        first = justification.commit.precommits[0]
        timings = _seconds_per_call(
            {
                "verify": partial(verify_justification, justification, SET_ID, voter_set),
                "decode": partial(GrandpaJustification.decode, raw),
                "signature": partial(ed25519_zebra.ed_verify, first.signature, payload, first.id),
            },
            min_seconds,
        )
        verify_ms = timings["verify"] * 1e3
        signature_ms = signatures * timings["signature"] * 1e3
        print(
            f"  {voters:3} voters ({signatures} sigs, {len(raw):,} bytes): "
            f"verify {verify_ms:8.3f} ms   decode {timings['decode'] * 1e3:7.3f} ms   "
            f"raw signature checks alone {signature_ms:8.3f} ms   "
            f"signature share {signature_ms / verify_ms:6.1%}"
        )
