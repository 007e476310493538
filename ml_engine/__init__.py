"""Off-chain machine learning: datasets, models, training, update encoding, attacks, participant.

The learning core — :mod:`ml_engine.data` (bundled datasets, stratified split, IID / Dirichlet /
shard partitions), :mod:`ml_engine.models` (torch models, flat parameter vectors),
:mod:`ml_engine.training` (local SGD, evaluation, float FedAvg baseline), :mod:`ml_engine.encoding`
(clip → scale 2^s → round → clamp to int32) and :mod:`ml_engine.attacks` (Byzantine behaviours) —
imports nothing from ``pychain`` (DESIGN.md §1); floats and torch live only here. Errors derive from
:class:`ml_engine.errors.MlEngineError`.
"""
