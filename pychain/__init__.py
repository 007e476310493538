"""pychain: a Python node of a Substrate-style chain for decentralised federated learning.

Layers (lower never import higher): primitives → trie/storage → frame → pallets → runtime →
chain → network/rpc → node. See DESIGN.md in the shared folder and README.md.
"""

__version__ = "0.1.0"
