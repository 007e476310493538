"""Substrate base-16 modified Merkle-Patricia state trie (layouts V0 and V1) and read proofs."""
