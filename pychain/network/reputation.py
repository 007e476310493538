"""Peer reputation: scores that fall with misbehaviour, decay back towards zero, and ban.

Mirrors ``sc-network``'s peer store (``sc_network::peer_store``, formerly ``sc-peerset``):
each peer has an integer reputation; the node and the protocols report
:class:`ReputationChange` values (``report_peer``); below :data:`BAN_THRESHOLD` the peer is
disconnected and refused for :data:`BAN_DURATION_S`; reputations decay exponentially towards zero
(Substrate: ×0.98 per second, here ``score -= score // 50`` per whole second, integer).

Spam: every gossip message or request a peer sends is counted in one-second windows; each time a
window's count passes :data:`SPAM_MESSAGES_PER_SECOND` the peer pays :data:`SPAM`.

This module is the pure core (STYLE §7): no I/O, time comes from an injected clock.

Differences from Substrate: a smaller integer scale (``-1000`` bans instead of 71% of
``i32::MIN``), a fixed ban duration, and a per-peer message-rate check that Substrate spreads over
its protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "ReputationChange",
    "PeerReputation",
    "BAN_THRESHOLD",
    "BAN_DURATION_S",
    "MAX_REPUTATION",
    "SPAM_MESSAGES_PER_SECOND",
    "MALFORMED_MESSAGE",
    "INVALID_BLOCK",
    "BAD_JUSTIFICATION",
    "BAD_RESPONSE",
    "REQUEST_TIMEOUT",
    "SPAM",
    "GENESIS_MISMATCH",
    "GOOD_MESSAGE",
    "GOOD_BLOCK",
]


@dataclass(frozen=True)
class ReputationChange:
    """``sc_network::ReputationChange``: a signed amount and why."""

    value: int
    reason: str


#: At or below this score a peer is banned (Substrate: ``BANNED_THRESHOLD``).
BAN_THRESHOLD = -1000
#: Scores are capped above so that a long-good peer cannot bank unlimited credit.
MAX_REPUTATION = 1000
#: How long a banned peer is refused (seconds).
BAN_DURATION_S = 60.0
#: Messages per second per peer above which the peer pays :data:`SPAM`.
SPAM_MESSAGES_PER_SECOND = 1000
#: Each whole second, a score moves towards zero by ``score // DECAY_DIVISOR`` (at least 1).
DECAY_DIVISOR = 50

MALFORMED_MESSAGE = ReputationChange(-400, "malformed message")
INVALID_BLOCK = ReputationChange(BAN_THRESHOLD, "invalid block")
BAD_JUSTIFICATION = ReputationChange(-500, "bad justification")
BAD_RESPONSE = ReputationChange(-300, "bad block response")
REQUEST_TIMEOUT = ReputationChange(-100, "request timed out")
SPAM = ReputationChange(-300, "message rate over the limit")
GENESIS_MISMATCH = ReputationChange(BAN_THRESHOLD, "genesis mismatch")
GOOD_MESSAGE = ReputationChange(1, "good message")
GOOD_BLOCK = ReputationChange(10, "good block")


@dataclass
class _Entry:
    score: int = 0
    last_decay: float = 0.0
    banned_until: float | None = None
    window_start: float = 0.0
    window_count: int = 0


class PeerReputation:
    """Reputation book of every peer seen (peer ids are strings)."""

    def __init__(
        self,
        clock: Callable[[], float],
        ban_threshold: int = BAN_THRESHOLD,
        ban_duration_s: float = BAN_DURATION_S,
        spam_limit: int = SPAM_MESSAGES_PER_SECOND,
    ) -> None:
        self._clock = clock
        self.ban_threshold = ban_threshold
        self.ban_duration_s = ban_duration_s
        self.spam_limit = spam_limit
        self._peers: dict[str, _Entry] = {}

    def _entry(self, peer: str) -> _Entry:
        now = self._clock()
        entry = self._peers.get(peer)
        if entry is None:
            entry = _Entry(last_decay=now, window_start=now)
            self._peers[peer] = entry
            return entry
        # A ban that has run out is lifted with a clean slate.
        if entry.banned_until is not None and now >= entry.banned_until:
            entry.banned_until = None
            entry.score = 0
            entry.last_decay = now
        # Decay once per whole elapsed second (bounded loop: 600 steps reach zero anyway).
        steps = int(now - entry.last_decay)
        if steps > 0:
            for _ in range(min(steps, 600)):
                if entry.score == 0:
                    break
                delta = max(abs(entry.score) // DECAY_DIVISOR, 1)
                entry.score += -delta if entry.score > 0 else delta
            entry.last_decay += steps
        return entry

    def score(self, peer: str) -> int:
        """The peer's current reputation (0 for a peer never reported)."""
        return self._entry(peer).score

    def is_banned(self, peer: str) -> bool:
        return self._entry(peer).banned_until is not None

    def report(self, peer: str, change: ReputationChange) -> bool:
        """Apply ``change``; returns True when this report bans the peer."""
        entry = self._entry(peer)
        if entry.banned_until is not None:
            return False
        entry.score = min(entry.score + change.value, MAX_REPUTATION)
        if entry.score <= self.ban_threshold:
            entry.banned_until = self._clock() + self.ban_duration_s
            return True
        return False

    def ban(self, peer: str) -> bool:
        """Ban ``peer`` outright (e.g. another genesis); True if it was not banned already."""
        entry = self._entry(peer)
        if entry.banned_until is not None:
            return False
        entry.score = min(entry.score, self.ban_threshold)
        entry.banned_until = self._clock() + self.ban_duration_s
        return True

    def on_message(self, peer: str) -> bool:
        """Count one message from ``peer``; True when the spam cost just banned it."""
        entry = self._entry(peer)
        now = self._clock()
        if now - entry.window_start >= 1.0:
            entry.window_start = now
            entry.window_count = 0
        entry.window_count += 1
        if entry.window_count > self.spam_limit and entry.window_count % self.spam_limit == 1:
            return self.report(peer, SPAM)
        return False
