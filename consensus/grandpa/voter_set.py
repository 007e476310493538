"""The GRANDPA voter set: authority ids with weights, and the supermajority threshold.

Counterpart: ``finality_grandpa::VoterSet`` (Polkadot spec, "Finality", definition of the voter
set and of the threshold). With total weight ``n`` and ``f = ⌊(n − 1) / 3⌋`` faulty weight
tolerated, the threshold is ``n − f`` (e.g. 5 of 6, 5 of 7, 201 of 300).

Differences: ``finality-grandpa`` drops zero weights and sums the weights of a repeated id; here
both are refused with :class:`InvalidVoterSet`, as an authority list with them is a bug (Substrate's
``AuthoritySet`` also rejects empty lists and zero weights). Voters keep the order they were given
in (the authority list order); ids are 32-byte ed25519 public keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from consensus.grandpa.errors import InvalidVoterSet

#: A voter's weight is a u64 and so is the total (``VoterSet::new`` refuses an overflowing total).
MAX_WEIGHT = (1 << 64) - 1
#: GRANDPA authority ids are ed25519 public keys.
AUTHORITY_ID_LEN = 32


class VoterSet:
    """An immutable set of (authority id, weight) pairs."""

    __slots__ = ("_weights", "_order", "total_weight", "threshold")

    def __init__(self, voters: Iterable[tuple[bytes, int]]) -> None:
        weights: dict[bytes, int] = {}
        for position, entry in enumerate(voters):
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise InvalidVoterSet(f"voter {position} is not an (id, weight) pair")
            voter, weight = entry
            if not isinstance(voter, (bytes, bytearray)) or len(voter) != AUTHORITY_ID_LEN:
                raise InvalidVoterSet(f"voter {position}: id must be {AUTHORITY_ID_LEN} bytes")
            if isinstance(weight, bool) or not isinstance(weight, int):
                raise InvalidVoterSet(f"voter {position}: weight must be an int")
            if not 0 < weight <= MAX_WEIGHT:
                raise InvalidVoterSet(f"voter {position}: weight {weight} is not in 1..2^64-1")
            key = bytes(voter)
            if key in weights:
                raise InvalidVoterSet(f"voter {position}: id 0x{key.hex()} appears twice")
            weights[key] = weight
        if not weights:
            raise InvalidVoterSet("the voter set is empty")
        total = sum(weights.values())
        if total > MAX_WEIGHT:
            raise InvalidVoterSet(f"total weight {total} overflows a u64")
        self._weights = weights
        self._order = tuple(weights)
        self.total_weight: int = total
        self.threshold: int = compute_threshold(total)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, voter: object) -> bool:
        return voter in self._weights

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        return ((voter, self._weights[voter]) for voter in self._order)

    def __repr__(self) -> str:
        return (
            f"VoterSet({len(self)} voters, total {self.total_weight}, threshold {self.threshold})"
        )

    def get_weight(self, voter: bytes) -> int | None:
        """The weight of ``voter``, or ``None`` if it is not in the set."""
        return self._weights.get(voter)

    @property
    def ids(self) -> tuple[bytes, ...]:
        return self._order

    @property
    def max_faulty_weight(self) -> int:
        """``f``: the most weight that may be faulty while safety holds."""
        return self.total_weight - self.threshold

    def weight_of(self, voters: Iterable[bytes]) -> int:
        """Total weight of the distinct known voters among ``voters`` (unknown ones add nothing)."""
        return sum(self._weights.get(voter, 0) for voter in set(voters))


def compute_threshold(total_weight: int) -> int:
    """Supermajority threshold ``n − ⌊(n − 1) / 3⌋`` of a positive total weight ``n``."""
    if total_weight <= 0:
        raise InvalidVoterSet(f"total weight must be positive, got {total_weight}")
    return total_weight - (total_weight - 1) // 3
