"""Substrate's JSON-RPC methods over pychain's chain, pool and runtime.

Method names, aliases, parameters and JSON shapes follow ``sc-rpc`` / ``sc-rpc-api`` (the legacy
``system_*``, ``chain_*``, ``state_*``, ``author_*``, ``payment_*``, ``grandpa_*`` families) as
read by py-substrate-interface 1.8.1 and polkadot.js 16.5 (see SUBSTRATE.md, "Runtime APIs and
JSON-RPC shapes"). ``state_call`` serves the runtime APIs a client needs: ``Core_version``,
``Metadata_metadata``, ``Metadata_metadata_versions``, ``AccountNonceApi_account_nonce``,
``TransactionPaymentApi_query_info``/``query_fee_details``,
``TaggedTransactionQueue_validate_transaction``, ``GrandpaApi_grandpa_authorities``/
``current_set_id``, ``AuraApi_slot_duration``/``authorities``.

Errors use Substrate's codes: ``author_*`` pool errors 1010 (invalid transaction, with the
validity reason in ``data``), 1011 (unknown validity), 1013 (already imported), 1014 (priority too
low), 1016 (immediately dropped); bad hex or unknown blocks are ``-32602``; state that is gone is
4003 ("State already discarded"), as ``sc-rpc`` reports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from pychain.chain.client import Chain, FinalityResult, ImportResult
from pychain.chain.errors import (
    AlreadyImported,
    ChainError,
    InvalidPoolTransaction,
    PoolFull,
    TooLowPriority,
    TransactionTooLarge,
)
from pychain.chain.pool import TransactionPool, TxStatus
from pychain.errors import PychainError
from pychain.frame.dispatch import TransactionValidityError, UnknownTransaction
from pychain.frame.weights import DispatchClass, Weight
from pychain.primitives.header import DigestItem, Header
from pychain.primitives.runtime_version import RuntimeVersion
from pychain.primitives.scale import (
    U8,
    U32,
    U64,
    U128,
    Bytes,
    FixedBytes,
    ScaleDecodeError,
    Tuple,
    Vec,
    decode_compact,
    encode_compact,
)
from pychain.primitives.ss58 import SS58Error, ss58_decode
from pychain.rpc.server import (
    CALL_EXECUTION_FAILED,
    Params,
    RpcError,
    RpcModule,
    SubscriptionSink,
    invalid_params,
)

log = logging.getLogger("pychain.rpc")

#: ``sc-rpc-api`` author error codes.
POOL_INVALID_TX = 1010
POOL_UNKNOWN_VALIDITY = 1011
POOL_ALREADY_IMPORTED = 1013
POOL_TOO_LOW_PRIORITY = 1014
POOL_IMMEDIATELY_DROPPED = 1016
BAD_FORMAT = 1001
UNSUPPORTED_KEY_TYPE = 1005
#: ``sc-rpc-api`` state error for pruned/unknown state.
STATE_DISCARDED = 4003

MAX_KEYS_PAGED = 1000
MAX_BLOCK_RANGE = 1000


# ------------------------------------------------------------------------------------ context


@dataclass
class RpcContext:
    """Everything the RPC methods read: filled in by the node."""

    chain: Chain
    pool: TransactionPool
    version: RuntimeVersion
    metadata: Callable[[], bytes]
    chain_name: str = "Development"
    chain_type: str = "Development"
    properties: dict[str, Any] = field(
        default_factory=lambda: {"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UNIT"}
    )
    node_name: str = "pychain-node"
    node_version: str = "0.1.0"
    peers: Callable[[], list[dict[str, Any]]] = lambda: []
    is_syncing: Callable[[], bool] = lambda: False
    should_have_peers: bool = False
    local_peer_id: str = ""
    roles: list[str] = field(default_factory=lambda: ["Authority"])
    #: ``grandpa_roundState`` answer provider (None: single-voter dev chain defaults).
    grandpa_round_state: Callable[[], dict[str, Any]] | None = None
    #: ``author_insertKey(key_type, suri, public_hex)`` (unsafe); None disables key methods.
    insert_key: Callable[[str, str, bytes], None] | None = None
    has_key: Callable[[bytes, str], bool] | None = None
    rotate_keys: Callable[[], bytes] | None = None
    #: Gossip an extrinsic the pool accepted from ``author_submit*`` to the peers (Substrate's
    #: RPC submissions are propagated like any local one); None: no network.
    broadcast: Callable[[bytes], None] | None = None


# --------------------------------------------------------------------------------- encoding


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def from_hex(value: Any, what: str, length: int | None = None) -> bytes:
    """Strict ``0x`` hex parameter → bytes, or ``-32602``."""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise invalid_params(f"{what} must be a 0x-prefixed hex string")
    try:
        data = bytes.fromhex(value[2:])
    except ValueError:
        raise invalid_params(f"{what} is not valid hex") from None
    if length is not None and len(data) != length:
        raise invalid_params(f"{what} must be {length} bytes, got {len(data)}")
    return data


def header_json(header: Header) -> dict[str, Any]:
    return {
        "parentHash": to_hex(header.parent_hash),
        "number": hex(header.number),
        "stateRoot": to_hex(header.state_root),
        "extrinsicsRoot": to_hex(header.extrinsics_root),
        "digest": {"logs": [to_hex(DigestItem.encode(item)) for item in header.digest]},
    }


def version_json(version: RuntimeVersion) -> dict[str, Any]:
    return {
        "specName": version.spec_name,
        "implName": version.impl_name,
        "authoringVersion": version.authoring_version,
        "specVersion": version.spec_version,
        "implVersion": version.impl_version,
        "apis": [[to_hex(api_id), api_version] for api_id, api_version in version.apis],
        "transactionVersion": version.transaction_version,
        "stateVersion": version.state_version,
        "systemVersion": version.state_version,
    }


def weight_json(weight: Weight) -> dict[str, int]:
    return {"ref_time": weight.ref_time, "proof_size": weight.proof_size}


_CLASS_NAMES = {DispatchClass.Normal: "normal", DispatchClass.Operational: "operational",
                DispatchClass.Mandatory: "mandatory"}


def status_json(status: TxStatus) -> Any:
    """``TransactionStatus`` as Substrate serialises it."""
    kind = status.kind
    if kind in ("future", "ready", "dropped", "invalid"):
        return kind
    if kind == "broadcast":
        return {"broadcast": []}
    if kind in ("inBlock", "retracted", "finalized", "finalityTimeout"):
        assert status.block is not None
        return {kind: to_hex(status.block)}
    if kind == "usurped":
        return {"usurped": to_hex(status.by or b"")}
    return kind


def pool_error(exc: PychainError) -> RpcError:
    """Map a pool failure to ``sc-rpc``'s author error."""
    if isinstance(exc, InvalidPoolTransaction):
        validity = exc.validity
        if isinstance(validity, TransactionValidityError):
            if validity.unknown is not None:
                return RpcError(
                    POOL_UNKNOWN_VALIDITY,
                    "Unknown Transaction Validity",
                    _unknown_reason(validity.unknown),
                )
            return RpcError(POOL_INVALID_TX, "Invalid Transaction", _invalid_reason(validity))
        return RpcError(POOL_INVALID_TX, "Invalid Transaction", str(exc))
    if isinstance(exc, AlreadyImported):
        return RpcError(POOL_ALREADY_IMPORTED, "Transaction Already Imported", str(exc))
    if isinstance(exc, TooLowPriority):
        return RpcError(POOL_TOO_LOW_PRIORITY, "Priority is too low", str(exc))
    if isinstance(exc, PoolFull | TransactionTooLarge):
        return RpcError(POOL_IMMEDIATELY_DROPPED, "Immediately Dropped", str(exc))
    return RpcError(POOL_INVALID_TX, "Invalid Transaction", str(exc))


def _invalid_reason(validity: TransactionValidityError) -> str:
    # sc-rpc puts the Debug of the runtime reason in `data`, e.g. "Transaction is outdated".
    texts = {
        "Call": "Transaction call is not expected",
        "Payment": "Inability to pay some fees (e.g. account balance too low)",
        "Future": "Transaction will be valid in the future",
        "Stale": "Transaction is outdated",
        "BadProof": "Transaction has a bad signature",
        "AncientBirthBlock": "Transaction has an ancient birth block",
        "ExhaustsResources": "Transaction would exhaust the block limits",
        "Custom": f"Custom error: {validity.custom}",
        "BadMandatory": "A call was labelled as mandatory, but resulted in an Error.",
        "MandatoryValidation": "Transaction dispatch is mandatory; transactions must not be validated.",
        "BadSigner": "Invalid signing address",
    }
    assert validity.invalid is not None
    return texts.get(validity.invalid.name, validity.invalid.name)


def _unknown_reason(reason: UnknownTransaction) -> str:
    return {
        UnknownTransaction.CannotLookup: "Could not lookup information required to validate the transaction",
        UnknownTransaction.NoUnsignedValidator: "Could not find an unsigned validator for the unsigned transaction",
        UnknownTransaction.Custom: "Unknown custom error",
    }[reason]


# ----------------------------------------------------------------------------- notifications


class ChainEvents:
    """Fans the chain's import and finality notifications out to RPC subscriptions.

    The chain calls its listeners synchronously (possibly from a worker thread); events are handed
    to the trio loop with ``run_sync_soon`` and delivered to each subscriber's channel. A subscriber
    whose channel is full loses the event (the server closes slow clients anyway).
    """

    def __init__(self, chain: Chain) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._imports: set[trio.MemorySendChannel[ImportResult]] = set()
        self._finality: set[trio.MemorySendChannel[FinalityResult]] = set()
        chain.subscribe_imports(lambda r: self._post(self._imports, r))
        chain.subscribe_finality(lambda r: self._post(self._finality, r))

    def _post(self, channels: set[Any], event: Any) -> None:
        def deliver() -> None:
            for channel in list(channels):
                try:
                    channel.send_nowait(event)
                except trio.WouldBlock:
                    pass
                except (trio.ClosedResourceError, trio.BrokenResourceError):
                    channels.discard(channel)

        try:
            self._token.run_sync_soon(deliver)
        except trio.RunFinishedError:
            pass

    def imports(self) -> tuple[trio.MemorySendChannel[ImportResult], trio.MemoryReceiveChannel[ImportResult]]:
        send, receive = trio.open_memory_channel[ImportResult](256)
        self._imports.add(send)
        return send, receive

    def finality(
        self,
    ) -> tuple[trio.MemorySendChannel[FinalityResult], trio.MemoryReceiveChannel[FinalityResult]]:
        send, receive = trio.open_memory_channel[FinalityResult](256)
        self._finality.add(send)
        return send, receive

    def drop(self, channel: Any) -> None:
        self._imports.discard(channel)
        self._finality.discard(channel)
        channel.close()


# ------------------------------------------------------------------------------------ module


class SubstrateRpc:
    """Builds the :class:`RpcModule` with every method for a node's :class:`RpcContext`."""

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx
        self.events = ChainEvents(ctx.chain)
        self.module = RpcModule()
        self._metadata_cache: bytes | None = None
        self._register()

    # -------------------------------------------------------------------------- helpers

    @property
    def chain(self) -> Chain:
        return self.ctx.chain

    def _block_hash(self, value: Any, what: str = "block hash") -> bytes:
        """Optional block-hash param → a known block's hash (default: best)."""
        if value is None:
            return self.chain.best_hash()
        block_hash = from_hex(value, what, 32)
        if self.chain.header(block_hash) is None:
            raise RpcError(STATE_DISCARDED, "State already discarded", f"unknown block {value}")
        return block_hash

    def _header(self, block_hash: bytes) -> Header:
        header = self.chain.header(block_hash)
        if header is None:
            raise RpcError(STATE_DISCARDED, "State already discarded", f"unknown block {to_hex(block_hash)}")
        return header

    def metadata(self) -> bytes:
        if self._metadata_cache is None:
            self._metadata_cache = self.ctx.metadata()
        return self._metadata_cache

    def _account(self, value: Any) -> bytes:
        if isinstance(value, str) and value.startswith("0x"):
            return from_hex(value, "account", 32)
        if not isinstance(value, str):
            raise invalid_params("account must be an SS58 address or 0x hex")
        try:
            account, _ = ss58_decode(value)
        except SS58Error as exc:
            raise invalid_params(f"bad SS58 address: {exc}") from None
        return account

    # ------------------------------------------------------------------------ registration

    def _register(self) -> None:
        m = self.module
        m.register("rpc_methods", self.rpc_methods)
        # system
        m.register("system_name", self._const(lambda: self.ctx.node_name))
        m.register("system_version", self._const(lambda: self.ctx.node_version))
        m.register("system_chain", self._const(lambda: self.ctx.chain_name))
        m.register("system_chainType", self._const(lambda: self.ctx.chain_type))
        m.register("system_properties", self._const(lambda: self.ctx.properties))
        m.register("system_health", self.system_health)
        m.register("system_peers", self._const(lambda: self.ctx.peers()), unsafe=True)
        m.register("system_localPeerId", self._const(lambda: self.ctx.local_peer_id))
        m.register("system_nodeRoles", self._const(lambda: self.ctx.roles))
        m.register("system_localListenAddresses", self._const(lambda: []))
        m.register("system_syncState", self.system_sync_state)
        m.register("system_accountNextIndex", self.account_next_index, aliases=("account_nextIndex",))
        # chain
        m.register("chain_getBlockHash", self.get_block_hash, aliases=("chain_getHead",))
        m.register("chain_getHeader", self.get_header)
        m.register("chain_getBlock", self.get_block)
        m.register("chain_getFinalizedHead", self.get_finalized_head, aliases=("chain_getFinalisedHead",))
        m.register_subscription(
            "chain_subscribeNewHeads", "chain_newHead", "chain_unsubscribeNewHeads",
            self.sub_new_heads, aliases=("chain_subscribeNewHead", "subscribe_newHead"),
            unsubscribe_aliases=("chain_unsubscribeNewHead", "unsubscribe_newHead"),
        )
        m.register_subscription(
            "chain_subscribeFinalizedHeads", "chain_finalizedHead", "chain_unsubscribeFinalizedHeads",
            self.sub_finalized_heads, aliases=("chain_subscribeFinalisedHeads",),
            unsubscribe_aliases=("chain_unsubscribeFinalisedHeads",),
        )
        m.register_subscription(
            "chain_subscribeAllHeads", "chain_allHead", "chain_unsubscribeAllHeads", self.sub_all_heads
        )
        # state
        m.register("state_getRuntimeVersion", self.get_runtime_version, aliases=("chain_getRuntimeVersion",))
        m.register("state_getMetadata", self.get_metadata)
        m.register("state_getStorage", self.get_storage, aliases=("state_getStorageAt",))
        m.register("state_getStorageHash", self.get_storage_hash, aliases=("state_getStorageHashAt",))
        m.register("state_getStorageSize", self.get_storage_size, aliases=("state_getStorageSizeAt",))
        m.register("state_getKeysPaged", self.get_keys_paged, aliases=("state_getKeysPagedAt",))
        m.register("state_queryStorageAt", self.query_storage_at)
        m.register("state_getReadProof", self.get_read_proof)
        m.register("state_call", self.state_call, aliases=("state_callAt",))
        m.register_subscription(
            "state_subscribeStorage", "state_storage", "state_unsubscribeStorage", self.sub_storage
        )
        m.register_subscription(
            "state_subscribeRuntimeVersion", "state_runtimeVersion", "state_unsubscribeRuntimeVersion",
            self.sub_runtime_version, aliases=("chain_subscribeRuntimeVersion",),
            unsubscribe_aliases=("chain_unsubscribeRuntimeVersion",),
        )
        # author
        m.register("author_submitExtrinsic", self.submit_extrinsic)
        m.register_subscription(
            "author_submitAndWatchExtrinsic", "author_extrinsicUpdate", "author_unwatchExtrinsic",
            self.watch_extrinsic, prepare=self.submit_for_watch,
        )
        m.register("author_pendingExtrinsics", self.pending_extrinsics)
        m.register("author_insertKey", self.insert_key, unsafe=True)
        m.register("author_rotateKeys", self.rotate_keys, unsafe=True)
        m.register("author_hasKey", self.has_key, unsafe=True)
        m.register("author_removeExtrinsic", self.remove_extrinsic, unsafe=True)
        # payment
        m.register("payment_queryInfo", self.payment_query_info)
        m.register("payment_queryFeeDetails", self.payment_query_fee_details)
        # grandpa
        m.register("grandpa_roundState", self.grandpa_round_state)

    def _const(self, fn: Callable[[], Any]) -> Callable[[Params], Any]:
        async def handler(params: Params) -> Any:
            params.max(0)
            return fn()

        return handler

    # ------------------------------------------------------------------------------- rpc

    async def rpc_methods(self, params: Params) -> Any:
        return {"methods": self.module.method_names(), "version": 1}

    # ---------------------------------------------------------------------------- system

    async def system_health(self, params: Params) -> Any:
        return {
            "peers": len(self.ctx.peers()),
            "isSyncing": self.ctx.is_syncing(),
            "shouldHavePeers": self.ctx.should_have_peers,
        }

    async def system_sync_state(self, params: Params) -> Any:
        best = self.chain.best()[1]
        return {"startingBlock": 0, "currentBlock": best, "highestBlock": best}

    async def account_next_index(self, params: Params) -> Any:
        params.max(1)
        who = self._account(params.require(0, "account"))
        nonce = self.chain.account_nonce(who)
        # Count this account's transactions already in the pool (their nonces follow on).
        from pychain.frame.extensions import nonce_tag

        provided = {tag for tx in self.ctx.pool.ready() for tag in tx.provides}
        while nonce_tag(who, nonce) in provided:
            nonce += 1
        return nonce

    # ----------------------------------------------------------------------------- chain

    async def get_block_hash(self, params: Params) -> Any:
        params.max(1)
        value = params.get(0)
        if isinstance(value, list):
            if len(value) > MAX_BLOCK_RANGE:
                raise invalid_params(f"at most {MAX_BLOCK_RANGE} block numbers")
            return [self._hash_for(v) for v in value]
        return self._hash_for(value)

    def _hash_for(self, value: Any) -> str | None:
        if value is None:
            return to_hex(self.chain.best_hash())
        if isinstance(value, str):
            try:
                number = int(value, 16) if value.startswith("0x") else int(value)
            except ValueError:
                raise invalid_params(f"bad block number {value!r}") from None
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise invalid_params("block number must be an integer or hex string")
        if not 0 <= number < 1 << 32:
            raise invalid_params("block number out of range")
        block_hash = self.chain.hash_at(number)
        return None if block_hash is None else to_hex(block_hash)

    async def get_header(self, params: Params) -> Any:
        params.max(1)
        value = params.get(0)
        if value is None:
            return header_json(self.chain.best_header())
        header = self.chain.header(from_hex(value, "block hash", 32))
        return None if header is None else header_json(header)

    async def get_block(self, params: Params) -> Any:
        params.max(1)
        value = params.get(0)
        block_hash = self.chain.best_hash() if value is None else from_hex(value, "block hash", 32)
        block = self.chain.block(block_hash)
        if block is None:
            return None
        justifications = self.chain.justifications(block_hash)
        return {
            "block": {
                "header": header_json(block.header),
                "extrinsics": [to_hex(xt) for xt in block.extrinsics],
            },
            "justifications": [[to_hex(engine), to_hex(data)] for engine, data in justifications]
            or None,
        }

    async def get_finalized_head(self, params: Params) -> Any:
        return to_hex(self.chain.finalized()[0])

    async def sub_new_heads(self, params: Params, sink: SubscriptionSink) -> None:
        await self._follow_imports(sink, best_only=True)

    async def sub_all_heads(self, params: Params, sink: SubscriptionSink) -> None:
        await self._follow_imports(sink, best_only=False)

    async def _follow_imports(self, sink: SubscriptionSink, best_only: bool) -> None:
        send, receive = self.events.imports()
        try:
            sink.send(header_json(self.chain.best_header()))
            async for result in receive:
                if best_only and not result.is_new_best:
                    continue
                header = self.chain.header(result.hash)
                if header is not None:
                    sink.send(header_json(header))
        finally:
            self.events.drop(send)

    async def sub_finalized_heads(self, params: Params, sink: SubscriptionSink) -> None:
        send, receive = self.events.finality()
        try:
            sink.send(header_json(self._header(self.chain.finalized()[0])))
            async for result in receive:
                for block_hash in result.finalized or (result.hash,):
                    header = self.chain.header(block_hash)
                    if header is not None:
                        sink.send(header_json(header))
        finally:
            self.events.drop(send)

    # ----------------------------------------------------------------------------- state

    async def get_runtime_version(self, params: Params) -> Any:
        params.max(1)
        self._block_hash(params.get(0))
        return version_json(self.ctx.version)

    async def get_metadata(self, params: Params) -> Any:
        params.max(1)
        self._block_hash(params.get(0))
        return to_hex(self.metadata())

    def _storage_value(self, params: Params) -> bytes | None:
        params.max(2)
        key = from_hex(params.require(0, "storage key"), "storage key")
        block_hash = self._block_hash(params.get(1))
        return self.chain.state_at(block_hash).get(key)

    async def get_storage(self, params: Params) -> Any:
        value = self._storage_value(params)
        return None if value is None else to_hex(value)

    async def get_storage_hash(self, params: Params) -> Any:
        from pychain.primitives.hashing import blake2_256

        value = self._storage_value(params)
        return None if value is None else to_hex(blake2_256(value))

    async def get_storage_size(self, params: Params) -> Any:
        value = self._storage_value(params)
        return None if value is None else len(value)

    async def get_keys_paged(self, params: Params) -> Any:
        params.max(4)
        prefix_raw = params.get(0)
        prefix = b"" if prefix_raw is None else from_hex(prefix_raw, "prefix")
        count = params.require(1, "count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise invalid_params("count must be a non-negative integer")
        if count > MAX_KEYS_PAGED:
            raise invalid_params(f"count exceeds maximum value ({MAX_KEYS_PAGED})")
        start_raw = params.get(2)
        start = None if start_raw is None else from_hex(start_raw, "start key")
        block_hash = self._block_hash(params.get(3))
        keys = self.chain.state_at(block_hash).keys_paged(prefix, count, start)
        return [to_hex(k) for k in keys]

    async def query_storage_at(self, params: Params) -> Any:
        params.max(2)
        raw_keys = params.require(0, "keys")
        if not isinstance(raw_keys, list):
            raise invalid_params("keys must be an array")
        keys = [from_hex(k, "storage key") for k in raw_keys]
        block_hash = self._block_hash(params.get(1))
        state = self.chain.state_at(block_hash)
        changes = []
        for key in keys:
            value = state.get(key)
            changes.append([to_hex(key), None if value is None else to_hex(value)])
        return [{"block": to_hex(block_hash), "changes": changes}]

    async def get_read_proof(self, params: Params) -> Any:
        params.max(2)
        raw_keys = params.require(0, "keys")
        if not isinstance(raw_keys, list):
            raise invalid_params("keys must be an array")
        keys = [from_hex(k, "storage key") for k in raw_keys]
        block_hash = self._block_hash(params.get(1))
        proof = self.chain.state_at(block_hash).read_proof(keys)
        return {"at": to_hex(block_hash), "proof": [to_hex(node) for node in proof]}

    async def sub_storage(self, params: Params, sink: SubscriptionSink) -> None:
        params.max(1)
        raw_keys = params.get(0)
        if raw_keys is not None and not isinstance(raw_keys, list):
            raise invalid_params("keys must be an array")
        keys = [from_hex(k, "storage key") for k in raw_keys or []]
        send, receive = self.events.imports()
        try:
            best = self.chain.best_hash()
            last = self._snapshot(best, keys)
            sink.send({"block": to_hex(best), "changes": [[to_hex(k), _opt_hex(v)] for k, v in last.items()]})
            async for result in receive:
                if not result.is_new_best:
                    continue
                now = self._snapshot(result.hash, keys)
                changed = [[to_hex(k), _opt_hex(v)] for k, v in now.items() if last.get(k) != v]
                last = now
                if changed:
                    sink.send({"block": to_hex(result.hash), "changes": changed})
        finally:
            self.events.drop(send)

    def _snapshot(self, block_hash: bytes, keys: list[bytes]) -> dict[bytes, bytes | None]:
        state = self.chain.state_at(block_hash)
        return {key: state.get(key) for key in keys}

    async def sub_runtime_version(self, params: Params, sink: SubscriptionSink) -> None:
        sink.send(version_json(self.ctx.version))
        await trio.sleep_forever()  # the runtime never changes (no set_code)

    async def state_call(self, params: Params) -> Any:
        params.max(3)
        method = params.require(0, "method")
        if not isinstance(method, str):
            raise invalid_params("method must be a string")
        data = from_hex(params.get(1, "0x"), "call data")
        block_hash = self._block_hash(params.get(2))
        handler = self._runtime_apis().get(method)
        if handler is None:
            raise RpcError(CALL_EXECUTION_FAILED, f"Execution failed: Exported method {method} is not found")
        try:
            return to_hex(handler(data, block_hash))
        except (ScaleDecodeError, ValueError) as exc:
            raise RpcError(
                CALL_EXECUTION_FAILED, f"Execution failed: cannot decode the arguments of {method}: {exc}"
            ) from None
        except ChainError as exc:
            raise RpcError(CALL_EXECUTION_FAILED, f"Execution failed: {exc}") from None

    # ----------------------------------------------------------------------- runtime APIs

    def _runtime_apis(self) -> dict[str, Callable[[bytes, bytes], bytes]]:
        return {
            "Core_version": lambda data, at: self.ctx.version.encode(),
            "Metadata_metadata": lambda data, at: encode_compact(len(self.metadata())) + self.metadata(),
            "Metadata_metadata_versions": lambda data, at: Vec(U32).encode([14]),
            "AccountNonceApi_account_nonce": self._api_account_nonce,
            "TransactionPaymentApi_query_info": self._api_query_info,
            "TransactionPaymentApi_query_fee_details": self._api_query_fee_details,
            "TaggedTransactionQueue_validate_transaction": self._api_validate,
            "GrandpaApi_grandpa_authorities": self._api_grandpa_authorities,
            "GrandpaApi_current_set_id": self._api_grandpa_set_id,
            "AuraApi_slot_duration": self._api_slot_duration,
            "AuraApi_authorities": self._api_aura_authorities,
        }

    def _api_account_nonce(self, data: bytes, at: bytes) -> bytes:
        who = FixedBytes(32).decode(data)
        return U32.encode(self.chain.account_nonce(who, at))

    def _split_uxt_and_len(self, data: bytes) -> tuple[bytes, int]:
        length, start = decode_compact(data, 0, 32)
        end = start + length
        if end + 4 != len(data):
            raise ValueError("expected an extrinsic followed by a u32 length")
        return data[:end], U32.decode(data[end:])

    def _api_query_info(self, data: bytes, at: bytes) -> bytes:
        uxt, _ = self._split_uxt_and_len(data)
        try:
            info = self.chain.query_info(uxt, at)
        except TransactionValidityError as exc:
            raise ValueError(str(exc)) from None
        return info.encode()

    def _fee_details(self, uxt: bytes, at: bytes) -> tuple[int, int, int, int]:
        info = self.chain.query_info(uxt, at)
        pallet = self.chain.runtime.pallet("TransactionPayment")
        model = pallet.config.fee_model if hasattr(pallet.config, "fee_model") else None
        if model is None:
            return 0, 0, 0, 0
        base = model.base_fee
        length_fee = model.length_fee_per_byte * len(uxt)
        weight_fee = model.weight_to_fee(info.weight)
        return base, length_fee, weight_fee, info.partial_fee

    def _api_query_fee_details(self, data: bytes, at: bytes) -> bytes:
        uxt, _ = self._split_uxt_and_len(data)
        base, length_fee, weight_fee, _ = self._fee_details(uxt, at)
        # FeeDetails { inclusion_fee: Option<InclusionFee { base, len, adjusted_weight }>, tip }
        return b"\x01" + U128.encode(base) + U128.encode(length_fee) + U128.encode(weight_fee) + U128.encode(0)

    def _api_validate(self, data: bytes, at: bytes) -> bytes:
        # (source: TransactionSource u8, tx: Extrinsic, block_hash: H256)
        source = U8.decode(data[:1])
        if source > 2:
            raise ValueError("bad transaction source")
        length, start = decode_compact(data, 1, 32)
        end = start + length
        uxt = data[1:end]
        block_hash = FixedBytes(32).decode(data[end:])
        try:
            valid = self.chain.validate_transaction(uxt, block_hash)
        except TransactionValidityError as exc:
            return b"\x01" + exc.encode()
        return b"\x00" + valid.encode()

    def _api_grandpa_authorities(self, data: bytes, at: bytes) -> bytes:
        grandpa = self.chain.runtime.pallet("Grandpa")
        authorities = self.chain.call_at(at, grandpa.grandpa_authorities)
        return Vec(Tuple(FixedBytes(32), U64)).encode([(bytes(a), int(w)) for a, w in authorities])

    def _api_grandpa_set_id(self, data: bytes, at: bytes) -> bytes:
        grandpa = self.chain.runtime.pallet("Grandpa")
        return U64.encode(self.chain.call_at(at, lambda: grandpa.CurrentSetId.get()))

    def _api_slot_duration(self, data: bytes, at: bytes) -> bytes:
        aura = self.chain.runtime.pallet("Aura")
        return U64.encode(int(aura.slot_duration()))

    def _api_aura_authorities(self, data: bytes, at: bytes) -> bytes:
        aura = self.chain.runtime.pallet("Aura")
        return Vec(FixedBytes(32)).encode(list(self.chain.call_at(at, lambda: aura.Authorities.get())))

    # ---------------------------------------------------------------------------- author

    def _submit(self, params: Params) -> bytes:
        params.max(1)
        return from_hex(params.require(0, "extrinsic"), "extrinsic")

    async def submit_extrinsic(self, params: Params) -> Any:
        xt = self._submit(params)
        try:
            tx_hash = self.ctx.pool.submit(xt)
        except (ChainError, TransactionValidityError) as exc:
            raise pool_error(exc) from None
        if self.ctx.broadcast is not None:
            self.ctx.broadcast(xt)
        return to_hex(tx_hash)

    async def submit_for_watch(self, params: Params) -> trio.MemoryReceiveChannel[TxStatus]:
        """Submit before the subscription exists: a refused transaction answers the request with
        the pool's error (1010 …), as Substrate does."""
        xt = self._submit(params)
        send, receive = trio.open_memory_channel[TxStatus](64)
        token = trio.lowlevel.current_trio_token()

        def listener(status: TxStatus) -> None:
            def deliver() -> None:
                try:
                    send.send_nowait(status)
                except (trio.WouldBlock, trio.ClosedResourceError):
                    pass

            try:
                token.run_sync_soon(deliver)
            except trio.RunFinishedError:
                pass

        try:
            self.ctx.pool.submit_and_watch(xt, listener=listener)
        except (ChainError, TransactionValidityError) as exc:
            raise pool_error(exc) from None
        if self.ctx.broadcast is not None:
            self.ctx.broadcast(xt)
        return receive

    async def watch_extrinsic(
        self, receive: trio.MemoryReceiveChannel[TxStatus], sink: SubscriptionSink
    ) -> None:
        # The listener saw every status from submission on (the past ones arrive through it too).
        async for status in receive:
            sink.send(status_json(status))
            if status.is_final:
                return

    async def pending_extrinsics(self, params: Params) -> Any:
        return [to_hex(xt) for xt in self.ctx.pool.pending()]

    async def remove_extrinsic(self, params: Params) -> Any:
        params.max(1)
        raw = params.require(0, "extrinsics")
        if not isinstance(raw, list):
            raise invalid_params("expected an array of extrinsics or hashes")
        from pychain.primitives.hashing import blake2_256

        hashes = []
        for item in raw:
            if isinstance(item, dict) and "hash" in item:
                hashes.append(from_hex(item["hash"], "hash", 32))
            elif isinstance(item, dict) and "extrinsic" in item:
                hashes.append(blake2_256(from_hex(item["extrinsic"], "extrinsic")))
            else:
                raise invalid_params("items must be {hash} or {extrinsic}")
        present = [h for h in hashes if h in self.ctx.pool]
        self.ctx.pool.remove_invalid(present, "removed by author_removeExtrinsic")
        return [to_hex(h) for h in present]

    async def insert_key(self, params: Params) -> Any:
        params.max(3)
        key_type = params.require(0, "key type")
        suri = params.require(1, "secret URI")
        public = from_hex(params.require(2, "public key"), "public key")
        if self.ctx.insert_key is None:
            raise RpcError(UNSUPPORTED_KEY_TYPE, "Key insertion is not available on this node")
        if not isinstance(key_type, str) or len(key_type.encode()) != 4 or not isinstance(suri, str):
            raise RpcError(UNSUPPORTED_KEY_TYPE, "Unsupported key type", key_type)
        try:
            self.ctx.insert_key(key_type, suri, public)
        except PychainError as exc:
            raise RpcError(BAD_FORMAT, f"Key insertion failed: {exc}") from None
        return None

    async def rotate_keys(self, params: Params) -> Any:
        if self.ctx.rotate_keys is None:
            raise RpcError(UNSUPPORTED_KEY_TYPE, "Key rotation is not available on this node")
        return to_hex(self.ctx.rotate_keys())

    async def has_key(self, params: Params) -> Any:
        params.max(2)
        public = from_hex(params.require(0, "public key"), "public key")
        key_type = params.require(1, "key type")
        if self.ctx.has_key is None:
            return False
        return bool(self.ctx.has_key(public, str(key_type)))

    # --------------------------------------------------------------------------- payment

    async def payment_query_info(self, params: Params) -> Any:
        params.max(2)
        xt = from_hex(params.require(0, "extrinsic"), "extrinsic")
        block_hash = self._block_hash(params.get(1))
        try:
            info = self.chain.query_info(xt, block_hash)
        except TransactionValidityError as exc:
            raise RpcError(CALL_EXECUTION_FAILED, f"Unable to query dispatch info: {exc}") from None
        return {
            "weight": weight_json(info.weight),
            "class": _CLASS_NAMES[DispatchClass(info.dispatch_class)],
            "partialFee": str(info.partial_fee),
        }

    async def payment_query_fee_details(self, params: Params) -> Any:
        params.max(2)
        xt = from_hex(params.require(0, "extrinsic"), "extrinsic")
        block_hash = self._block_hash(params.get(1))
        try:
            base, length_fee, weight_fee, _ = self._fee_details(xt, block_hash)
        except TransactionValidityError as exc:
            raise RpcError(CALL_EXECUTION_FAILED, f"Unable to query fee details: {exc}") from None
        return {
            "inclusionFee": {
                "baseFee": hex(base),
                "lenFee": hex(length_fee),
                "adjustedWeightFee": hex(weight_fee),
            },
            "tip": "0x0",
        }

    # --------------------------------------------------------------------------- grandpa

    async def grandpa_round_state(self, params: Params) -> Any:
        if self.ctx.grandpa_round_state is not None:
            return self.ctx.grandpa_round_state()
        return {
            "setId": 0,
            "best": {
                "round": 0,
                "totalWeight": 1,
                "thresholdWeight": 1,
                "prevotes": {"currentWeight": 0, "missing": []},
                "precommits": {"currentWeight": 0, "missing": []},
            },
            "background": [],
        }


def _opt_hex(value: bytes | None) -> str | None:
    return None if value is None else to_hex(value)


__all__ = ["RpcContext", "SubstrateRpc", "header_json", "version_json", "status_json", "Bytes"]
