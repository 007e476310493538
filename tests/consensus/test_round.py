"""Round logic: prevote GHOST, estimate, completability, finality, equivocations, commits."""

from __future__ import annotations

import pytest

from consensus.grandpa.environment import InMemoryChain, InMemoryEnvironment
from consensus.grandpa.errors import (
    BadSignature,
    InsufficientWeight,
    NotDescendant,
    UnknownVoter,
)
from consensus.grandpa.justification import GrandpaJustification
from consensus.grandpa.messages import (
    Commit,
    Precommit,
    PrecommitEquivocation,
    Prevote,
    PrevoteEquivocation,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.round import (
    PRECOMMIT,
    PREVOTE,
    ImportResult,
    Round,
    RoundState,
    validate_commit,
)
from consensus.grandpa.verify import verify_justification
from consensus.grandpa.vote_graph import BlockNotDescendant
from tests.consensus.grandpa_builders import chain as header_chain
from tests.consensus.grandpa_builders import keypairs, voter_set

SIG = bytes(64)  # Round does not check signatures; the voter does before importing.
PAIRS = keypairs(4)
VOTERS = voter_set(PAIRS)
IDS = [pair.public_key for pair in PAIRS]


def h(name: str) -> bytes:
    return name.encode().ljust(32, b"\0")


def toy_env() -> InMemoryEnvironment:
    """G - A1 - A2 - A3 - A4 and a fork A1 - B2 - B3, all imported."""
    tree = InMemoryChain(h("G"))
    for block, parent in [
        ("A1", "G"),
        ("A2", "A1"),
        ("A3", "A2"),
        ("A4", "A3"),
        ("B2", "A1"),
        ("B3", "B2"),
    ]:
        tree.add(h(block), h(parent))
    env = InMemoryEnvironment(tree)
    for leaf in ("A4", "B3"):
        env.import_block(h(leaf))
    return env


NUMBERS = {"G": 0, "A1": 1, "A2": 2, "A3": 3, "A4": 4, "B2": 2, "B3": 3}


def b(name: str) -> tuple[bytes, int]:
    return h(name), NUMBERS[name]


def prevote(round_: Round, env: InMemoryEnvironment, voter: int, block: str) -> ImportResult:
    return round_.import_prevote(env, Prevote(*b(block)), IDS[voter], SIG)


def precommit(round_: Round, env: InMemoryEnvironment, voter: int, block: str) -> ImportResult:
    return round_.import_precommit(env, Precommit(*b(block)), IDS[voter], SIG)


def test_prevote_ghost_needs_threshold_weight() -> None:
    env, round_ = toy_env(), Round(1, VOTERS, b("G"))
    prevote(round_, env, 0, "A3")
    prevote(round_, env, 1, "A3")
    assert round_.prevote_ghost is None
    assert round_.estimate is None
    prevote(round_, env, 2, "A2")
    assert round_.prevote_ghost == b("A2")
    # Until threshold precommits are in, the estimate is the prevote GHOST.
    assert round_.estimate == b("A2")
    assert not round_.completable
    assert round_.finalized is None


def test_finalized_and_completable_with_all_precommits_on_ghost() -> None:
    env, round_ = toy_env(), Round(1, VOTERS, b("G"))
    for voter in range(4):
        prevote(round_, env, voter, "A3")
    assert round_.prevote_ghost == b("A3")
    precommit(round_, env, 0, "A3")
    precommit(round_, env, 1, "A3")
    precommit(round_, env, 2, "A2")
    assert round_.finalized == b("A2")
    assert round_.estimate == b("A3")
    assert round_.completable


def test_estimate_falls_back_when_ghost_cannot_get_precommits() -> None:
    env, round_ = toy_env(), Round(1, VOTERS, b("G"))
    for voter in range(4):
        prevote(round_, env, voter, "A3")
    precommit(round_, env, 0, "A3")
    for voter in (1, 2, 3):
        precommit(round_, env, voter, "A1")
    # A3 and A2 can reach at most 1 + 0 remaining + 1 equivocation = 2 < 3.
    assert round_.estimate == b("A1")
    assert round_.finalized == b("A1")
    assert round_.completable  # E < g(V)
    assert round_.state() == RoundState(b("A3"), b("A1"), b("A1"), True)


def test_not_completable_while_a_descendant_could_still_be_finalized() -> None:
    env, round_ = toy_env(), Round(1, VOTERS, b("G"))
    for voter in (0, 1, 2):
        prevote(round_, env, voter, "A3")
    prevote(round_, env, 3, "A4")
    assert round_.prevote_ghost == b("A3")
    precommit(round_, env, 0, "A4")
    precommit(round_, env, 1, "A4")
    precommit(round_, env, 2, "A3")
    assert round_.finalized == b("A3")
    assert round_.estimate == b("A3")
    # A4: 2 precommits + 1 voter not heard from could still make 3.
    assert not round_.completable
    precommit(round_, env, 3, "A3")
    # A4: 2 + 0 remaining + 1 possible equivocation = 3: still not completable.
    assert not round_.completable
    # Voter 2 equivocates: no equivocation is left to tolerate, A4 is out of reach.
    result = precommit(round_, env, 2, "A1")
    assert isinstance(result.equivocation, PrecommitEquivocation)
    assert round_.completable


def test_prevote_equivocation_detected_and_counted_on_both_branches() -> None:
    env, round_ = toy_env(), Round(3, VOTERS, b("G"))
    first = prevote(round_, env, 0, "A3")
    second = prevote(round_, env, 0, "B3")
    third = prevote(round_, env, 0, "A2")
    assert first.equivocation is None
    equivocation = second.equivocation
    assert isinstance(equivocation, PrevoteEquivocation)
    assert equivocation.round_number == 3 and equivocation.identity == IDS[0]
    assert equivocation.first == (Prevote(*b("A3")), SIG)
    assert equivocation.second == (Prevote(*b("B3")), SIG)
    assert third.duplicated
    assert round_.graph.cumulative_weight(h("A3"), PREVOTE) == 1
    assert round_.graph.cumulative_weight(h("B3"), PREVOTE) == 1
    assert round_.graph.cumulative_weight(h("A1"), PREVOTE) == 1
    assert round_.current_weight(PREVOTE) == 1
    assert round_.equivocators_weight(PREVOTE) == 1


def test_duplicate_and_unknown_voter_votes_are_not_counted() -> None:
    env, round_ = toy_env(), Round(1, VOTERS, b("G"))
    assert not prevote(round_, env, 0, "A2").duplicated
    assert prevote(round_, env, 0, "A2").duplicated
    stranger = round_.import_prevote(env, Prevote(*b("A2")), b"\x07" * 32, SIG)
    assert not stranger.valid_voter
    assert round_.current_weight(PREVOTE) == 1


def test_vote_below_base_raises_and_is_not_counted() -> None:
    env, round_ = toy_env(), Round(1, VOTERS, b("A2"))
    with pytest.raises(BlockNotDescendant):
        prevote(round_, env, 0, "B3")
    assert not round_.has_voted(IDS[0], PREVOTE)


def test_report_lists_missing_voters_and_weights() -> None:
    env, round_ = toy_env(), Round(5, VOTERS, b("G"))
    prevote(round_, env, 1, "A2")
    prevote(round_, env, 3, "A2")
    precommit(round_, env, 3, "A2")
    report = round_.report().to_json()
    assert report["round"] == 5
    assert report["totalWeight"] == 4 and report["thresholdWeight"] == 3
    assert report["prevotes"] == {
        "currentWeight": 2,
        "missing": ["0x" + IDS[0].hex(), "0x" + IDS[2].hex()],
    }
    assert report["precommits"]["currentWeight"] == 1
    assert len(report["precommits"]["missing"]) == 3


# ------------------------------------------------------------------------------ commits


def signed(voter: int, block: tuple[bytes, int], round_number: int = 1) -> SignedPrecommit:
    vote = Precommit(*block)
    signature = PAIRS[voter].sign(localized_payload(round_number, 0, vote))
    return SignedPrecommit(vote, signature, IDS[voter])


def test_validate_commit_accepts_supermajority_and_returns_ghost() -> None:
    env = toy_env()
    commit = Commit(h("A2"), 2, [signed(0, b("A3")), signed(1, b("A3")), signed(2, b("A4"))])
    assert validate_commit(1, 0, commit, VOTERS, env) == b("A3")


@pytest.mark.parametrize(
    ("precommits", "error"),
    [
        ([(0, "A3"), (1, "A3")], InsufficientWeight),
        ([(0, "A3"), (1, "A3"), (2, "B3")], NotDescendant),
    ],
)
def test_validate_commit_rejects_bad_commits(
    precommits: list[tuple[int, str]], error: type[Exception]
) -> None:
    env = toy_env()
    commit = Commit(h("A2"), 2, [signed(v, b(block)) for v, block in precommits])
    with pytest.raises(error):
        validate_commit(1, 0, commit, VOTERS, env)


def test_validate_commit_rejects_forged_signature_and_stranger() -> None:
    env = toy_env()
    good = [signed(0, b("A3")), signed(1, b("A3")), signed(2, b("A3"))]
    wrong_round = [good[0], good[1], signed(2, b("A3"), round_number=2)]
    with pytest.raises(BadSignature):
        validate_commit(1, 0, Commit(h("A3"), 3, wrong_round), VOTERS, env)
    stranger = SignedPrecommit(Precommit(*b("A3")), SIG, b"\x09" * 32)
    with pytest.raises(UnknownVoter):
        validate_commit(1, 0, Commit(h("A3"), 3, [*good, stranger]), VOTERS, env)


def test_round_commit_is_a_justification_verify_accepts() -> None:
    headers = header_chain(4, start_number=100)
    tree = InMemoryChain(headers[0].hash())
    for parent, child in zip(headers, headers[1:], strict=False):
        tree.add(child.hash(), parent.hash())
    env = InMemoryEnvironment(tree)
    env.import_block(headers[-1].hash())
    base = (headers[0].hash(), 100)
    round_ = Round(9, VOTERS, base)
    targets = [headers[3], headers[3], headers[2], headers[1]]
    for voter, header in enumerate(targets):
        block = (header.hash(), header.number)
        round_.import_prevote(env, Prevote(*block), IDS[voter], SIG)
    for voter, header in enumerate(targets):
        precommit_ = signed(voter, (header.hash(), header.number), round_number=9)
        round_.import_precommit(env, precommit_.precommit, IDS[voter], precommit_.signature)
    assert round_.finalized == (headers[2].hash(), 102)
    commit = round_.commit()
    assert commit is not None
    assert len(commit.precommits) == 3  # voter 3's precommit is below the finalized block
    justification = GrandpaJustification(9, commit, [headers[3]])
    result = verify_justification(justification, 0, VOTERS)
    assert (result.target_hash, result.target_number) == round_.finalized
    assert round_.current_weight(PRECOMMIT) == 4
