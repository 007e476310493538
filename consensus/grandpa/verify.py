"""Verification of GRANDPA justifications, gossip commits and equivocation proofs (pure code).

Counterparts, whose rules are followed (Polkadot spec, "Finality", section "Justification" and
definition of a valid commit; paper arXiv:2007.01560 section 3):

* ``sc_consensus_grandpa::GrandpaJustification::verify_with_voter_set`` (+ the target check of
  ``decode_and_verify_finalizes``) for :func:`verify_justification`;
* ``finality_grandpa::validate_commit`` for the weight and GHOST rules inside it;
* ``sc_consensus_grandpa::communication::check_compact_commit`` for :func:`verify_commit_message`;
* ``sp_consensus_grandpa::check_equivocation_proof`` for :func:`check_equivocation_proof`.

The rules, in the order they are checked (cheap structural ones before signatures):

1. the commit has precommits, and its target is the expected block when one is given;
2. no header appears twice in ``votes_ancestries``;
3. for each precommit, in order: its signer is a voter (``UnknownVoter``; finality-grandpa merely
   skips unknown signers, which ``ignore_unknown_voters=True`` reproduces), its target is the
   commit target or a descendant proven by walking parent links through ``votes_ancestries`` with
   every header's number one below its child's (``NotDescendant``), and its ed25519 signature over
   ``localized_payload(round, set_id, precommit)`` verifies (``BadSignature``);
4. every ancestry header lies on some precommit's route to the target (``UnusedAncestry``);
5. the weight of distinct known signers reaches the threshold (``InsufficientWeight``). A voter who
   signed two different precommits (an equivocator) is counted once — and, as in finality-grandpa,
   for every block; repeats of a vote and further equivocations are ignored;
6. the precommit GHOST is the commit target itself: no child of the target also gathers a
   supermajority (``TargetNotGhost``), as ``validate_commit`` requires.

Differences from Substrate: routes are walked from each precommit back to the *commit target*
(Substrate walks back to the lowest precommit, so it also rejects commits whose precommits fork
below the target, which this accepts when rule 6 holds); block numbers along a route are checked;
repeated ancestry headers and (by default) unknown signers are errors, as in the bridge verifier
``bp-header-chain``. Every failure raises a subclass of
:class:`~consensus.grandpa.errors.JustificationError`; success returns a
:class:`VerificationResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consensus.grandpa.errors import (
    BadEquivocationSignature,
    BadSignature,
    DuplicateAncestry,
    ExcessiveWeight,
    InsufficientWeight,
    Malformed,
    NotDescendant,
    SameVote,
    SetIdMismatch,
    TargetMismatch,
    TargetNotGhost,
    UnknownVoter,
    UnusedAncestry,
)
from consensus.grandpa.justification import GrandpaJustification
from consensus.grandpa.messages import (
    EquivocationProof,
    FullCommitMessage,
    Precommit,
    PrevoteEquivocation,
    SignedPrecommit,
    localized_payload,
)
from consensus.grandpa.voter_set import VoterSet
from pychain.primitives.header import Header
from pychain.primitives.keys import verify_signature
from pychain.primitives.scale import U32, U64

__all__ = [
    "VerificationResult",
    "verify_justification",
    "verify_commit_message",
    "verify_commit",
    "check_equivocation_proof",
]

#: GRANDPA signs with ed25519 (``sp_consensus_grandpa::AuthorityId`` is an ``ed25519::Public``).
SIGNATURE_SCHEME = "ed25519"
#: ``Message::Precommit`` variant index, the first byte of a precommit's signed payload.
_PRECOMMIT_INDEX = b"\x01"

#: An expected commit target: ``(hash, number)``, or ``(hash, None)`` to compare the hash only.
ExpectedTarget = tuple[bytes, int | None]


@dataclass(frozen=True)
class VerificationResult:
    """What a successful verification established."""

    round: int
    set_id: int
    target_hash: bytes
    target_number: int
    #: Distinct known voters whose precommits count, in the order they first appear.
    signers: tuple[bytes, ...]
    #: Voters who signed two different precommits (counted once, for every block).
    equivocators: tuple[bytes, ...]
    signed_weight: int
    threshold: int
    total_weight: int


def verify_justification(
    justification: GrandpaJustification,
    set_id: int,
    voters: VoterSet,
    expected_target: ExpectedTarget | None = None,
    *,
    ignore_unknown_voters: bool = False,
) -> VerificationResult:
    """Verify a justification for authority set ``set_id`` with voter set ``voters``.

    Raises a :class:`~consensus.grandpa.errors.JustificationError` subclass naming the first
    rule that fails (see the module docstring for the rules and their order).
    """
    commit = justification.commit
    return verify_commit(
        justification.round,
        set_id,
        commit.target_hash,
        commit.target_number,
        commit.precommits,
        justification.votes_ancestries,
        voters,
        expected_target,
        ignore_unknown_voters=ignore_unknown_voters,
    )


def verify_commit_message(
    message: FullCommitMessage,
    voters: VoterSet,
    set_id: int | None = None,
    expected_target: ExpectedTarget | None = None,
    votes_ancestries: Sequence[Header] = (),
) -> VerificationResult:
    """Verify a gossip commit message (round, set_id, compact commit).

    Follows ``check_compact_commit``: the set id must be ours (when ``set_id`` is given), both
    lists of the compact commit must have the same length, every signer must be a voter, and the
    signers' weight counted with repeats may not exceed ``total + f``. Then the commit is checked
    as a justification with ``votes_ancestries`` (none by default: every precommit must then be
    for the commit target itself).
    """
    # Verify the message is for our authority set.
    if set_id is not None and message.set_id != set_id:
        raise SetIdMismatch(set_id, message.set_id)
    # Verify precommits and signatures pair up.
    commit = message.message.to_commit()
    # Verify every signer is a voter and the weight is not impossibly large.
    bound = voters.total_weight + voters.max_faulty_weight
    carried = 0
    for index, signed in enumerate(commit.precommits):
        weight = voters.get_weight(signed.id)
        if weight is None:
            raise UnknownVoter(index, signed.id)
        carried += weight
        if carried > bound:
            raise ExcessiveWeight(carried, bound)
    return verify_commit(
        message.round,
        message.set_id,
        commit.target_hash,
        commit.target_number,
        commit.precommits,
        votes_ancestries,
        voters,
        expected_target,
    )


def verify_commit(
    round_number: int,
    set_id: int,
    target_hash: bytes,
    target_number: int,
    precommits: Sequence[SignedPrecommit],
    votes_ancestries: Sequence[Header],
    voters: VoterSet,
    expected_target: ExpectedTarget | None = None,
    *,
    ignore_unknown_voters: bool = False,
) -> VerificationResult:
    """The common core of :func:`verify_justification` and :func:`verify_commit_message`."""
    target = (target_hash, target_number)
    # Verify the commit carries precommits.
    if not precommits:
        raise Malformed("the commit has no precommits")
    # Verify the commit finalizes the block we expect.
    if expected_target is not None:
        expected_hash, expected_number = expected_target
        if expected_hash != target_hash or (
            expected_number is not None and expected_number != target_number
        ):
            raise TargetMismatch(expected_target, target)
    # Verify no ancestry header is given twice.
    ancestry: dict[bytes, Header] = {}
    for header in votes_ancestries:
        block_hash = header.hash()
        if block_hash in ancestry:
            raise DuplicateAncestry(block_hash)
        ancestry[block_hash] = header

    graph = _RouteGraph(target, ancestry)
    suffix = U64.encode(round_number) + U64.encode(set_id)
    first_vote: dict[bytes, tuple[Precommit, bytes]] = {}
    equivocators: dict[bytes, None] = {}
    for index, signed in enumerate(precommits):
        vote = signed.precommit
        # Verify the signer is a voter of this set.
        known = signed.id in voters
        if not known and not ignore_unknown_voters:
            raise UnknownVoter(index, signed.id)
        # Verify the precommit is for the target or a proven descendant of it.
        graph.prove(index, vote)
        # Verify the signature over (precommit, round, set_id).
        payload = _PRECOMMIT_INDEX + vote.target_hash + U32.encode(vote.target_number) + suffix
        if not verify_signature(SIGNATURE_SCHEME, signed.id, payload, signed.signature):
            raise BadSignature(index, signed.id)
        if not known:
            continue
        # Count the first vote of each voter; a different later vote makes it an equivocator.
        first = first_vote.get(signed.id)
        if first is None:
            first_vote[signed.id] = (vote, signed.signature)
        elif first != (vote, signed.signature):
            equivocators[signed.id] = None

    # Verify every ancestry header was needed by some precommit.
    for block_hash in ancestry:
        if block_hash not in graph.parent:
            raise UnusedAncestry(block_hash)

    # Verify distinct signers reach the supermajority threshold.
    threshold = voters.threshold
    signed_weight = voters.weight_of(first_vote)
    if signed_weight < threshold:
        raise InsufficientWeight(signed_weight, threshold)
    # Verify the precommit GHOST is the target itself (no child has a supermajority too).
    ghost = graph.ghost(
        {voter: vote for voter, (vote, _) in first_vote.items() if voter not in equivocators},
        voters,
        voters.weight_of(equivocators),
        threshold,
    )
    if ghost != target:
        raise TargetNotGhost(ghost)
    return VerificationResult(
        round=round_number,
        set_id=set_id,
        target_hash=target_hash,
        target_number=target_number,
        signers=tuple(first_vote),
        equivocators=tuple(equivocators),
        signed_weight=signed_weight,
        threshold=threshold,
        total_weight=voters.total_weight,
    )


class _RouteGraph:
    """The blocks proven to descend from the commit target, with their parent links."""

    def __init__(self, target: tuple[bytes, int], ancestry: dict[bytes, Header]) -> None:
        self.target = target
        self.ancestry = ancestry
        #: proven block hash -> (number, parent hash); the target itself is not in it.
        self.parent: dict[bytes, tuple[int, bytes]] = {}

    def prove(self, index: int, vote: Precommit) -> None:
        """Walk from ``vote``'s target to the commit target, or raise :class:`NotDescendant`."""
        target_hash, target_number = self.target
        current, number = vote.target_hash, vote.target_number
        walked: list[tuple[bytes, int, bytes]] = []

        def refuse(detail: str) -> NotDescendant:
            return NotDescendant(index, (vote.target_hash, vote.target_number), detail)

        while current != target_hash:
            proven = self.parent.get(current)
            if proven is not None:
                if proven[0] != number:
                    raise refuse(f"block 0x{current.hex()} has number {proven[0]}, not {number}")
                break
            if number <= target_number:
                raise refuse(f"reached number {number} without meeting the target")
            header = self.ancestry.get(current)
            if header is None:
                raise refuse(f"no header for block 0x{current.hex()} in votes_ancestries")
            if header.number != number:
                raise refuse(f"header 0x{current.hex()} has number {header.number}, not {number}")
            walked.append((current, number, header.parent_hash))
            current, number = header.parent_hash, number - 1
        else:
            if number != target_number:
                raise refuse(f"the target block is #{target_number}, not #{number}")
        for block_hash, block_number, parent_hash in walked:
            self.parent[block_hash] = (block_number, parent_hash)

    def ghost(
        self,
        votes: dict[bytes, Precommit],
        voters: VoterSet,
        equivocator_weight: int,
        threshold: int,
    ) -> tuple[bytes, int]:
        """The highest block from the target down with ``threshold`` weight (precommit GHOST).

        ``votes`` are the counted votes of non-equivocators; equivocators' weight counts for
        every block, as in finality-grandpa's ``Context::weight``.
        """
        target_hash = self.target[0]
        weight: dict[bytes, int] = {}
        children: dict[bytes, list[bytes]] = {}
        for block_hash, (_, parent_hash) in self.parent.items():
            children.setdefault(parent_hash, []).append(block_hash)
        for voter, vote in votes.items():
            voter_weight = voters.get_weight(voter) or 0
            current = vote.target_hash
            while current != target_hash:
                weight[current] = weight.get(current, 0) + voter_weight
                current = self.parent[current][1]
        node = self.target
        while True:
            heavy = sorted(
                (self.parent[child][0], child)
                for child in children.get(node[0], ())
                if weight.get(child, 0) + equivocator_weight >= threshold
            )
            if not heavy:
                return node
            number, block_hash = heavy[0]
            node = (block_hash, number)


def check_equivocation_proof(proof: EquivocationProof) -> None:
    """Check that ``proof`` proves an equivocation; raise an ``EquivocationError`` if not.

    Mirrors ``sp_consensus_grandpa::check_equivocation_proof``: the two votes (by the same voter,
    in the same round, both carried by one proof) must have different targets, and both
    signatures must verify for ``(round, set_id)``. Whether ``identity`` belongs to the authority
    set ``set_id`` is the caller's business (the runtime checks a key-ownership proof).
    """
    equivocation = proof.equivocation
    (first, first_signature), (second, second_signature) = equivocation.first, equivocation.second
    kind = "prevote" if isinstance(equivocation, PrevoteEquivocation) else "precommit"
    # Verify the two votes differ.
    if (first.target_hash, first.target_number) == (second.target_hash, second.target_number):
        raise SameVote(f"both {kind}s are for #{first.target_number} 0x{first.target_hash.hex()}")
    # Verify both signatures.
    for which, vote, signature in (
        ("first", first, first_signature),
        ("second", second, second_signature),
    ):
        payload = localized_payload(equivocation.round_number, proof.set_id, vote)
        if not verify_signature(SIGNATURE_SCHEME, equivocation.identity, payload, signature):
            raise BadEquivocationSignature(which)
