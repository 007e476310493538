"""pychain's networking layer (``sc-network`` and its protocols).

| module | what |
|---|---|
| :mod:`~pychain.network.messages` | SCALE wire messages, protocol ids, size limits |
| :mod:`~pychain.network.service` | the ``NetworkService`` Protocol, events, shared protocol logic |
| :mod:`~pychain.network.libp2p_network` | ``Libp2pNetwork``: py-libp2p (TCP, Noise, Yamux, GossipSub) |
| :mod:`~pychain.network.memory` | ``MemoryNetwork`` + ``MemoryHub``: the in-memory twin |
| :mod:`~pychain.network.reputation` | peer scores and bans |
| :mod:`~pychain.network.sync` | block sync (ancestry search, download, import) and serving |
| :mod:`~pychain.network.identity` | the ed25519 node key and peer id |
"""
