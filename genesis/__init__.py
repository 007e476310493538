"""Chain specs (Substrate JSON format), presets and genesis building.

* :mod:`genesis.chain_spec` -- load raw and light JSON chain specs (``sc_chain_spec``);
* :mod:`genesis.genesis_block` -- genesis state root (trie layout read from the runtime's
  embedded ``RuntimeVersion``), genesis header and hash (``construct_genesis_block``);
* :mod:`genesis.errors` -- ``GenesisError``, the package's error root, and ``ChainSpecError``.
"""
