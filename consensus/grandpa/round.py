"""One GRANDPA round: prevotes, precommits, GHOSTs, estimate, completability and finality.

Counterpart: ``finality_grandpa::round::Round`` (paper arXiv:2007.01560, sections 3.1–3.2;
Polkadot spec "Finality", definitions "GRANDPA-GHOST", "Round estimate", "Completable round"
and "Finalizable block"). With threshold ``t = n − ⌊(n − 1)/3⌋`` of the total weight ``n``:

* the **prevote GHOST** ``g(V)`` is the highest block with prevote weight ``≥ t``;
* the **estimate** ``E`` is the highest ancestor of ``g(V)`` that could still gather ``t``
  precommit weight, counting for each block: the precommits already for it, all voters not yet
  heard from, and the further equivocations still possible (at most ``n − t`` weight in total
  may equivocate); until ``t`` precommit weight is in, ``E = g(V)``;
* the round is **completable** once ``t`` precommit weight is in and either ``E < g(V)`` or no
  descendant of ``E`` can still gather ``t`` precommit weight;
* the **finalized** block is the highest ancestor of ``g(V)`` with precommit weight ``≥ t``.

Equivocations: a voter's second, different vote of a kind is counted too (once per branch, see
:mod:`~consensus.grandpa.vote_graph`) and produces an :class:`PrevoteEquivocation` /
:class:`PrecommitEquivocation`; further votes of an equivocator are ignored. Signatures are the
caller's business (the voter checks them before importing); :func:`validate_commit` checks a
commit's signatures, ancestry and weight as finality-grandpa's ``validate_commit`` does.

Pure and synchronous; block hashes are 32-byte ``bytes``, blocks are ``(hash, number)`` pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consensus.grandpa.errors import (
    BadSignature,
    InsufficientWeight,
    Malformed,
    NotDescendant,
    TargetNotGhost,
    UnknownVoter,
)
from consensus.grandpa.messages import (
    Commit,
    Precommit,
    PrecommitEquivocation,
    Prevote,
    PrevoteEquivocation,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.vote_graph import BlockNotDescendant, Chain, VoteGraph, Weights
from consensus.grandpa.voter_set import VoterSet
from pychain.primitives.keys import verify_signature

__all__ = [
    "Block",
    "PREVOTE",
    "PRECOMMIT",
    "RoundState",
    "ImportResult",
    "PhaseReport",
    "RoundReport",
    "Round",
    "validate_commit",
]

#: A block as GRANDPA names it: ``(hash, number)``.
Block = tuple[bytes, int]
#: Vote kinds, the indices of the two weights tracked per vote-graph node.
PREVOTE = 0
PRECOMMIT = 1


@dataclass(frozen=True)
class RoundState:
    """``finality_grandpa::round::State``: what a round has established so far."""

    prevote_ghost: Block | None
    finalized: Block | None
    estimate: Block | None
    completable: bool

    @classmethod
    def genesis(cls, block: Block) -> RoundState:
        """The state of the fictitious round 0 whose every field is ``block``."""
        return cls(block, block, block, True)


@dataclass(frozen=True)
class ImportResult:
    """The outcome of importing one vote (``finality_grandpa::round::ImportResult``)."""

    valid_voter: bool
    duplicated: bool
    equivocation: PrevoteEquivocation | PrecommitEquivocation | None = None


@dataclass(frozen=True)
class PhaseReport:
    """Prevote or precommit progress: weight of distinct voters heard, voters not heard."""

    current_weight: int
    missing: tuple[bytes, ...]


@dataclass(frozen=True)
class RoundReport:
    """One round of Substrate's ``grandpa_roundState`` RPC answer (ids in hex, not SS58)."""

    round: int
    total_weight: int
    threshold_weight: int
    prevotes: PhaseReport
    precommits: PhaseReport

    def to_json(self) -> dict[str, Any]:
        def phase(report: PhaseReport) -> dict[str, Any]:
            return {
                "currentWeight": report.current_weight,
                "missing": ["0x" + voter.hex() for voter in report.missing],
            }

        return {
            "round": self.round,
            "totalWeight": self.total_weight,
            "thresholdWeight": self.threshold_weight,
            "prevotes": phase(self.prevotes),
            "precommits": phase(self.precommits),
        }


_SignedVote = tuple[Any, bytes]  # (Prevote | Precommit, signature)


class Round:
    """The votes of round ``number`` of voter set ``voters``, above block ``base``."""

    def __init__(self, number: int, voters: VoterSet, base: Block) -> None:
        self.number = number
        self.voters = voters
        self.base = base
        self.threshold = voters.threshold
        self._ids = voters.ids
        self._index = {voter: i for i, voter in enumerate(self._ids)}
        weights = [weight for _, weight in voters]
        self._weight_of = weights
        self.graph: VoteGraph[bytes] = VoteGraph(base[0], base[1], weights, kinds=2)
        #: voter index -> its one or two (vote, signature), per kind.
        self._votes: tuple[dict[int, list[_SignedVote]], dict[int, list[_SignedVote]]] = ({}, {})
        self._current_weight = [0, 0]
        self._equivocators_weight = [0, 0]
        #: Every counted vote in import order: (kind, vote, signature, voter id).
        self._history: list[tuple[int, Any, bytes, bytes]] = []
        self.prevote_ghost: Block | None = None
        self.finalized: Block | None = None
        self.estimate: Block | None = None
        self.completable = False

    # ------------------------------------------------------------------------------ import

    def import_prevote(
        self, chain: Chain[bytes], prevote: Prevote, signer: bytes, signature: bytes
    ) -> ImportResult:
        """Count a prevote (its signature already checked); see :meth:`_import`."""
        return self._import(PREVOTE, chain, prevote, signer, signature)

    def import_precommit(
        self, chain: Chain[bytes], precommit: Precommit, signer: bytes, signature: bytes
    ) -> ImportResult:
        """Count a precommit (its signature already checked); see :meth:`_import`."""
        return self._import(PRECOMMIT, chain, precommit, signer, signature)

    def _import(
        self, kind: int, chain: Chain[bytes], vote: Any, signer: bytes, signature: bytes
    ) -> ImportResult:
        """Count ``signer``'s vote; raise :class:`BlockNotDescendant` if it is not above base.

        An unknown signer's vote is not counted (``valid_voter=False``). The same vote again is
        ``duplicated``. A second, different vote is counted and reported as an equivocation;
        any vote after that is ignored (``duplicated=True``).
        """
        index = self._index.get(signer)
        # Verify the signer is a voter of this round.
        if index is None:
            return ImportResult(valid_voter=False, duplicated=False)
        previous = self._votes[kind].get(index)
        if previous is not None and (len(previous) == 2 or any(old == vote for old, _ in previous)):
            return ImportResult(valid_voter=True, duplicated=True)
        # Verify the block descends from the base (raises and changes nothing if not).
        self.graph.insert(vote.target_hash, vote.target_number, index, chain, kind)
        self._history.append((kind, vote, signature, signer))
        equivocation: PrevoteEquivocation | PrecommitEquivocation | None = None
        if previous is None:
            self._votes[kind][index] = [(vote, signature)]
            self._current_weight[kind] += self._weight_of[index]
        else:
            previous.append((vote, signature))
            self._equivocators_weight[kind] += self._weight_of[index]
            first, second = previous[0], previous[1]
            if kind == PREVOTE:
                equivocation = PrevoteEquivocation(self.number, signer, first, second)
            else:
                equivocation = PrecommitEquivocation(self.number, signer, first, second)
        if kind == PREVOTE:
            self.prevote_ghost = self.graph.find_ghost(
                self.prevote_ghost, lambda w: w[PREVOTE] >= self.threshold
            )
        self._update()
        return ImportResult(valid_voter=True, duplicated=False, equivocation=equivocation)

    # ------------------------------------------------------------------------------ state

    def _update(self) -> None:
        """Recompute finalized, estimate and completable (``Round::update``)."""
        threshold = self.threshold
        if self._current_weight[PREVOTE] < threshold or self.prevote_ghost is None:
            return
        ghost_hash, ghost_number = self.prevote_ghost
        precommitted = self._current_weight[PRECOMMIT]
        if precommitted >= threshold:
            self.finalized = self.graph.find_ancestor(
                ghost_hash, ghost_number, lambda w: w[PRECOMMIT] >= threshold
            )
        if precommitted < threshold:
            # Any block may still gather a supermajority of precommits.
            self.estimate = self.prevote_ghost
            self.completable = False
            return
        possible = self._could_reach_threshold
        self.estimate = self.graph.find_ancestor(ghost_hash, ghost_number, possible)
        if self.estimate is None:
            self.completable = False
        elif self.estimate != self.prevote_ghost:
            self.completable = True
        else:
            # E = g(V): completable only if no descendant of E could still be precommitted.
            self.completable = self.graph.find_ghost(self.estimate, possible) == self.estimate

    def _could_reach_threshold(self, weights: Weights) -> bool:
        """Whether a block with these weights could still reach ``threshold`` precommits."""
        total = self.voters.total_weight
        tolerated_equivocations = total - self.threshold
        additional_equivocations = max(
            0, tolerated_equivocations - self._equivocators_weight[PRECOMMIT]
        )
        precommitted = self._current_weight[PRECOMMIT]
        remaining = total - precommitted
        for_block = weights[PRECOMMIT]
        # Voters who precommitted elsewhere may still equivocate towards this block.
        possible_equivocations = min(max(0, precommitted - for_block), additional_equivocations)
        return for_block + remaining + possible_equivocations >= self.threshold

    def state(self) -> RoundState:
        return RoundState(self.prevote_ghost, self.finalized, self.estimate, self.completable)

    def precommit_ghost(self) -> Block | None:
        """The highest block with ``threshold`` precommit weight."""
        return self.graph.find_ghost(None, lambda w: w[PRECOMMIT] >= self.threshold)

    def current_weight(self, kind: int) -> int:
        """Weight of the distinct voters who cast a ``kind`` vote (equivocators once)."""
        return self._current_weight[kind]

    def equivocators_weight(self, kind: int) -> int:
        return self._equivocators_weight[kind]

    def has_voted(self, voter: bytes, kind: int) -> bool:
        index = self._index.get(voter)
        return index is not None and index in self._votes[kind]

    def votes_of(self, voter: bytes, kind: int) -> list[_SignedVote]:
        """The one or two (vote, signature) pairs counted for ``voter``."""
        index = self._index.get(voter)
        return [] if index is None else list(self._votes[kind].get(index, ()))

    def prevotes(self) -> list[tuple[Prevote, bytes, bytes]]:
        """Every counted prevote as (prevote, signature, voter id), in import order."""
        return [(v, s, i) for kind, v, s, i in self._history if kind == PREVOTE]

    def precommits(self) -> list[SignedPrecommit]:
        """Every counted precommit, in import order."""
        return [SignedPrecommit(v, s, i) for kind, v, s, i in self._history if kind == PRECOMMIT]

    def finalizing_precommits(self) -> list[SignedPrecommit]:
        """The precommits for the finalized block or its descendants (empty if none is)."""
        if self.finalized is None:
            return []
        target = self.finalized[0]
        return [
            signed
            for signed in self.precommits()
            if self.graph.is_equal_or_descendant(target, signed.precommit.target_hash)
        ]

    def commit(self) -> Commit | None:
        """A :class:`Commit` for the finalized block, or ``None`` if nothing is finalized."""
        if self.finalized is None:
            return None
        return Commit(self.finalized[0], self.finalized[1], self.finalizing_precommits())

    def report(self) -> RoundReport:
        """Progress for ``grandpa_roundState``: weights heard and voters missing per phase."""

        def phase(kind: int) -> PhaseReport:
            missing = tuple(
                voter for i, voter in enumerate(self._ids) if i not in self._votes[kind]
            )
            return PhaseReport(self._current_weight[kind], missing)

        return RoundReport(
            self.number,
            self.voters.total_weight,
            self.threshold,
            phase(PREVOTE),
            phase(PRECOMMIT),
        )


def validate_commit(
    round_number: int,
    set_id: int,
    commit: Commit,
    voters: VoterSet,
    chain: Chain[bytes],
) -> Block:
    """Check a commit as ``finality_grandpa::validate_commit`` does, plus its signatures.

    Every signer must be a voter (:class:`UnknownVoter`), every precommit must be for the target
    or a descendant (:class:`NotDescendant`, via ``chain``) and correctly signed for
    ``(round_number, set_id)`` (:class:`BadSignature`); the distinct signers must weigh at least
    the threshold (:class:`InsufficientWeight`), so that the precommit GHOST is the target or a
    descendant of it. Returns that GHOST.
    """
    target: Block = (commit.target_hash, commit.target_number)
    # Verify the commit carries precommits.
    if not commit.precommits:
        raise Malformed("the commit has no precommits")
    round_ = Round(round_number, voters, target)
    for index, signed in enumerate(commit.precommits):
        vote = signed.precommit
        # Verify the signer is a voter.
        if signed.id not in voters:
            raise UnknownVoter(index, signed.id)
        # Verify the signature over (precommit, round, set_id).
        payload = localized_payload(round_number, set_id, vote)
        if not verify_signature("ed25519", signed.id, payload, signed.signature):
            raise BadSignature(index, signed.id)
        # Verify the precommit is for the target or a descendant of it.
        try:
            round_.import_precommit(chain, vote, signed.id, signed.signature)
        except BlockNotDescendant as exc:
            raise NotDescendant(index, (vote.target_hash, vote.target_number), str(exc)) from None
    # Verify the distinct signers reach the threshold.
    weight = round_.current_weight(PRECOMMIT)
    if weight < voters.threshold:
        raise InsufficientWeight(weight, voters.threshold)
    ghost = round_.precommit_ghost()
    if ghost is None:
        raise TargetNotGhost(target)
    return ghost
