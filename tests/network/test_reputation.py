"""Peer reputation: costs, bans and their expiry, decay and the spam rate."""

from __future__ import annotations

from pychain.network.reputation import (
    BAN_THRESHOLD,
    GOOD_BLOCK,
    INVALID_BLOCK,
    MALFORMED_MESSAGE,
    MAX_REPUTATION,
    SPAM,
    PeerReputation,
    ReputationChange,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_malformed_messages_lower_score_then_ban() -> None:
    book = PeerReputation(Clock())
    assert book.report("p", MALFORMED_MESSAGE) is False
    assert book.score("p") == MALFORMED_MESSAGE.value
    assert book.report("p", MALFORMED_MESSAGE) is False
    assert book.report("p", MALFORMED_MESSAGE) is True  # -1200 <= -1000
    assert book.is_banned("p")
    assert not book.is_banned("other")


def test_invalid_block_bans_at_once() -> None:
    book = PeerReputation(Clock())
    assert book.report("p", INVALID_BLOCK) is True
    assert book.score("p") <= BAN_THRESHOLD


def test_ban_expires_with_clean_slate() -> None:
    clock = Clock()
    book = PeerReputation(clock, ban_duration_s=60.0)
    book.ban("p")
    clock.now += 59.0
    assert book.is_banned("p")
    clock.now += 1.0
    assert not book.is_banned("p")
    assert book.score("p") == 0


def test_report_on_banned_peer_does_not_ban_again() -> None:
    book = PeerReputation(Clock())
    assert book.ban("p") is True
    assert book.ban("p") is False
    assert book.report("p", INVALID_BLOCK) is False


def test_score_decays_towards_zero() -> None:
    clock = Clock()
    book = PeerReputation(clock)
    book.report("p", ReputationChange(-500, "test"))
    clock.now += 1.0
    assert book.score("p") == -490  # 500 // 50 = 10 per second
    clock.now += 3600.0
    assert book.score("p") == 0


def test_good_behaviour_is_capped() -> None:
    book = PeerReputation(Clock())
    for _ in range(500):
        book.report("p", GOOD_BLOCK)
    assert book.score("p") == MAX_REPUTATION


def test_spam_rate_over_limit_costs_and_bans() -> None:
    clock = Clock()
    book = PeerReputation(clock, spam_limit=10)
    banned = [book.on_message("p") for _ in range(10)]
    assert not any(banned) and book.score("p") == 0
    book.on_message("p")  # the 11th message in one second
    assert book.score("p") == SPAM.value
    # A new window starts clean.
    clock.now += 1.0
    assert book.on_message("p") is False
    # Sustained flooding ends in a ban.
    results = [book.on_message("p") for _ in range(100)]
    assert any(results) and book.is_banned("p")
