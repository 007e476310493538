"""GRANDPA: messages, justifications, verification, round logic, voter and simulator.

Mirrors ``finality-grandpa`` (the pure round logic), ``sp-consensus-grandpa`` (wire types,
signed payloads, equivocation proofs) and ``sc-consensus-grandpa`` (justifications and gossip
commit checks). Polkadot spec, chapter "Finality"; paper arXiv:2007.01560.

* :mod:`~consensus.grandpa.messages` — votes, the ``Message`` enum, signed payloads, commits
  (full, compact, gossip), equivocations and equivocation proofs;
* :mod:`~consensus.grandpa.justification` — ``GrandpaJustification``;
* :mod:`~consensus.grandpa.voter_set` — ``VoterSet`` and the ``n − ⌊(n − 1)/3⌋`` threshold;
* :mod:`~consensus.grandpa.verify` — justification, gossip-commit and equivocation-proof checks;
* :mod:`~consensus.grandpa.errors` — ``GrandpaError`` and one class per failed rule;
* :mod:`~consensus.grandpa.vote_graph` — the GHOST vote graph (``finality_grandpa::vote_graph``);
* :mod:`~consensus.grandpa.round` — one round: GHOSTs, estimate, completability, commits;
* :mod:`~consensus.grandpa.environment` — the voter's ``Environment``, gossip messages, persisted
  voter state, in-memory twins;
* :mod:`~consensus.grandpa.voter` — the voter state machine (timers, votes, catch-up);
* :mod:`~consensus.grandpa.simulator` — N voters on a mock clock with injectable faults.

Everything here is pure and synchronous: no I/O and no wall clock; the voter is told the time
and the simulator draws from one seeded ``random.Random``.
"""
