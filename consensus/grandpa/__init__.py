"""GRANDPA: messages, justifications, verification; later the round logic and voter.

Mirrors ``finality-grandpa`` (the pure round logic), ``sp-consensus-grandpa`` (wire types,
signed payloads, equivocation proofs) and ``sc-consensus-grandpa`` (justifications and gossip
commit checks). Polkadot spec, chapter "Finality"; paper arXiv:2007.01560.

* :mod:`~consensus.grandpa.messages` — votes, the ``Message`` enum, signed payloads, commits
  (full, compact, gossip), equivocations and equivocation proofs;
* :mod:`~consensus.grandpa.justification` — ``GrandpaJustification``;
* :mod:`~consensus.grandpa.voter_set` — ``VoterSet`` and the ``n − ⌊(n − 1)/3⌋`` threshold;
* :mod:`~consensus.grandpa.verify` — justification, gossip-commit and equivocation-proof checks;
* :mod:`~consensus.grandpa.errors` — ``GrandpaError`` and one class per failed rule.

Everything here is pure and synchronous: no I/O, no clock, no randomness.
"""
