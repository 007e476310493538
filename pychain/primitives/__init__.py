"""Primitives: SCALE codec, hashing, keys and signatures, SS58 addresses, headers."""
