"""Key-value storage: a KV protocol, an LMDB backend, an in-memory twin and transactional overlays."""
