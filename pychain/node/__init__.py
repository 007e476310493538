"""The pychain node: authoring, import, networking, GRANDPA, RPC and metrics in one trio nursery.

Substrate counterparts: ``sc-service`` (assembly, :mod:`pychain.node.service`), ``sc-cli``'s
``RunCmd`` options (:mod:`pychain.node.config`), ``sc-consensus-aura``'s slot worker and verifier
(:mod:`pychain.node.authoring`, over the pure :mod:`consensus.aura`) and a one-voter
``sc-consensus-grandpa`` (:mod:`pychain.node.finality`), the network glue
(:mod:`pychain.node.network`) and the GRANDPA voter environment (:mod:`pychain.node.grandpa`).
DESIGN.md §1 ("node") and §4.
"""

from pychain.node.authoring import AuthoredBlock, BlockImporter, SlotAuthor, short_hash
from pychain.node.config import (
    ChainSetup,
    NodeConfig,
    NodeKeys,
    database_path,
    keystore_path,
    load_chain_setup,
    select_keys,
)
from pychain.node.errors import DatabaseGenesisMismatch, KeyUnavailable, NodeConfigError, NodeError
from pychain.node.finality import FinalizedBlock, SingleVoterFinality
from pychain.node.service import Broadcast, Node, NodeClock, configure_logging, run_node

__all__ = [
    "AuthoredBlock",
    "BlockImporter",
    "Broadcast",
    "ChainSetup",
    "DatabaseGenesisMismatch",
    "FinalizedBlock",
    "KeyUnavailable",
    "Node",
    "NodeClock",
    "NodeConfig",
    "NodeConfigError",
    "NodeError",
    "NodeKeys",
    "SingleVoterFinality",
    "SlotAuthor",
    "configure_logging",
    "database_path",
    "keystore_path",
    "load_chain_setup",
    "run_node",
    "select_keys",
    "short_hash",
]
