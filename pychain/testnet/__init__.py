"""Local multi-validator testnets: ``cli.py testnet``, the fault tests, benchmarks, experiments.

Counterparts: zombienet (network files, native provider) and ``polkadot-launch``. Modules:
:mod:`~pychain.testnet.config` (network file), :mod:`~pychain.testnet.spec` (chain spec and
keystores), :mod:`~pychain.testnet.network` (processes and the :class:`Testnet` API),
:mod:`~pychain.testnet.rpc` (HTTP JSON-RPC polling), :mod:`~pychain.testnet.table` (live table),
:mod:`~pychain.testnet.partition` (cutting the network between groups of nodes),
:mod:`~pychain.testnet.finality` (measurements and safety checks over RPC).
"""

from pychain.testnet.config import (
    ContributorConfig,
    TestnetConfig,
    ValidatorConfig,
    config_from_toml,
    default_config,
    load_config,
    node_key_of,
)
from pychain.testnet.errors import (
    NodeProcessError,
    PartitionError,
    TestnetConfigError,
    TestnetError,
    TestnetRpcError,
    WaitTimeout,
)
from pychain.testnet.network import NodeInfo, NodeStatus, Testnet

__all__ = [
    "ContributorConfig",
    "NodeInfo",
    "NodeProcessError",
    "NodeStatus",
    "PartitionError",
    "Testnet",
    "TestnetConfig",
    "TestnetConfigError",
    "TestnetError",
    "TestnetRpcError",
    "ValidatorConfig",
    "WaitTimeout",
    "config_from_toml",
    "default_config",
    "load_config",
    "node_key_of",
]
