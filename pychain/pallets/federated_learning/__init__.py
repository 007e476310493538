"""The FederatedLearning pallet (DecentralML; no FRAME counterpart): stake-weighted federated learning
tasks, rounds and rewards on chain. ``aggregation`` holds the pure, integer-exact aggregation kernels
that every validator re-computes in ``on_finalize`` (DESIGN.md §2 and §3)."""
