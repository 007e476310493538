"""The chain client: genesis, block import, fork choice, finality, authoring and state queries.

Mirrors ``sc_service::Client`` with ``sc_client_db::Backend`` (Polkadot spec, "Block Production"
and "Finality" chapters; DESIGN.md §4-5):

* :meth:`Chain.open` writes the genesis block (state trie of the genesis storage, header with the
  empty extrinsics root) or resumes a database, refusing one written for another genesis;
* :meth:`Chain.import_block` is the import queue + ``BlockImport`` pipeline: decode -> already
  known? -> parent known (``UnknownParent``) -> number = parent + 1 -> on the chain of the last
  finalized block -> execute with the :class:`~pychain.frame.executive.Executive` on an overlay
  over the parent's state -> state root check -> commit header, body, trie nodes and the canonical
  index in ONE write batch. Nothing is written when any step fails;
* fork choice is ``LongestChain`` restricted to descendants of the last finalized block; on a tie
  the first block seen stays best;
* :meth:`Chain.build_block` is ``sc_basic_authorship``'s proposer with ``BlockBuilder``: inherents
  first, then as many pool transactions as fit, skipping (and reporting) invalid ones. It keeps the
  post-state, so importing the own block (``origin="own"``) does not execute it again;
* :meth:`Chain.state_at` answers ``state_*`` queries (get, keys paged, read proofs) at any block,
  and :meth:`Chain.call_at` runs runtime APIs (``AccountNonceApi``, ``TaggedTransactionQueue``,
  ``TransactionPaymentApi``) against a block's state in a throwaway overlay.

Differences: no block-import pipeline stages for consensus (seal and justification checks are
the consensus layer's job before calling :meth:`import_block`), no state pruning, no child tries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pychain.chain.backend import KvNodeStore, StateTrie, new_block_ext, write_nodes
from pychain.chain.errors import (
    BadStateRoot,
    BlockBuildError,
    ChainError,
    GenesisMismatch,
    InvalidBlock,
    NotDescendantOfFinalized,
    StateUnavailable,
    UnknownParent,
)
from pychain.chain.store import BlockStore, Justification
from pychain.errors import PychainError
from pychain.frame.dispatch import (
    InvalidTransaction,
    TransactionValidityError,
    ValidTransaction,
    invalid,
)
from pychain.frame.executive import BlockExecutionError, Executive
from pychain.frame.runtime import Runtime
from pychain.frame.weights import FeeModel, RuntimeDispatchInfo
from pychain.primitives.block import Block
from pychain.primitives.extrinsic import UncheckedExtrinsic
from pychain.primitives.header import Header
from pychain.primitives.scale import ScaleDecodeError
from pychain.storage.errors import StorageError
from pychain.storage.kv import KeyValueStore
from pychain.trie import TrieCommit, build_trie_nodes, generate_proof, ordered_trie_root
from pychain.trie.errors import MissingNode, TrieError

__all__ = [
    "BuiltBlock",
    "Chain",
    "ImportResult",
    "StateView",
    "FinalityResult",
    "MAX_SKIPPED_TRANSACTIONS",
]

R = TypeVar("R")

#: ``sc_basic_authorship::MAX_SKIPPED_TRANSACTIONS``: after this many transactions in a row that
#: do not fit (``ExhaustsResources``), the block is considered full.
MAX_SKIPPED_TRANSACTIONS = 8

#: How many built-but-not-yet-imported blocks keep their post-state in memory.
BUILT_CACHE_SIZE = 16

#: Keys in a genesis storage map that start with this belong to child tries (not supported).
CHILD_STORAGE_PREFIX = b":child_storage:"

Origin = Literal["network", "own"]


@dataclass(frozen=True)
class ImportResult:
    """Outcome of :meth:`Chain.import_block` (``ImportResult`` + ``ImportedAux``)."""

    hash: bytes
    number: int
    #: ``"imported"``, or ``"known"`` when the block was already in the store.
    status: str
    is_new_best: bool = False
    #: Canonical blocks replaced by this import (a reorg), highest first.
    retracted: tuple[bytes, ...] = ()
    #: Blocks that became canonical, lowest first (the imported block last).
    enacted: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class FinalityResult:
    """Outcome of :meth:`Chain.finalize`: the newly finalized blocks (lowest first) and any
    reorg of the best chain it forced."""

    hash: bytes
    number: int
    finalized: tuple[bytes, ...] = ()
    retracted: tuple[bytes, ...] = ()
    enacted: tuple[bytes, ...] = ()


@dataclass
class BuiltBlock:
    """A block proposed by :meth:`Chain.build_block`, with its post-state kept for import."""

    block: Block
    post_state: TrieCommit
    #: Pool transactions included, in block order.
    included: list[bytes] = field(default_factory=list)
    #: Pool transactions left out and why (invalid, or no room left).
    skipped: list[tuple[bytes, PychainError]] = field(default_factory=list)

    @property
    def invalid(self) -> list[bytes]:
        """Skipped transactions the pool should drop (all but those that merely did not fit)."""
        return [xt for xt, err in self.skipped if not _exhausts_resources(err)]


def _exhausts_resources(err: PychainError) -> bool:
    return (
        isinstance(err, TransactionValidityError)
        and err.invalid == InvalidTransaction.ExhaustsResources
    )


def _check_justification(justification: object) -> None:
    """A justification is ``(engine id: 4 bytes, encoded justification: bytes)``."""
    if (
        not isinstance(justification, tuple)
        or len(justification) != 2
        or not isinstance(justification[0], bytes)
        or len(justification[0]) != 4
        or not isinstance(justification[1], bytes)
    ):
        raise ChainError("a justification is (4-byte consensus engine id, bytes)")


class StateView:
    """Read access to the state of one block (``state_getStorage``, ``state_getKeysPaged``,
    ``state_getReadProof``)."""

    def __init__(self, nodes: KvNodeStore, block_hash: bytes, header: Header) -> None:
        self.block_hash = block_hash
        self.header = header
        self.root = header.state_root
        self._nodes = nodes
        try:
            self._trie = StateTrie(nodes, self.root)
        except MissingNode as exc:
            raise StateUnavailable(f"state of 0x{block_hash.hex()} is missing: {exc}") from exc

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key`` at this block, or ``None``."""
        return self._trie.get(key)

    def next_key(self, key: bytes) -> bytes | None:
        """The smallest key strictly greater than ``key``, or ``None``."""
        return self._trie.next_key(key)

    def keys_paged(self, prefix: bytes, count: int, start_key: bytes | None = None) -> list[bytes]:
        """Up to ``count`` keys starting with ``prefix``, in order, after ``start_key`` if given."""
        if count <= 0:
            return []
        if start_key is None or start_key < prefix:
            key = prefix if self._trie.get(prefix) is not None else self._trie.next_key(prefix)
        else:
            key = self._trie.next_key(start_key)
        out: list[bytes] = []
        while key is not None and key.startswith(prefix) and len(out) < count:
            out.append(key)
            key = self._trie.next_key(key)
        return out

    def pairs(self, prefix: bytes = b"") -> list[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        return list(self._trie.items(prefix))

    def read_proof(self, keys: Iterable[bytes]) -> list[bytes]:
        """Trie nodes proving the values (or absence) of ``keys`` under :attr:`root`."""
        return generate_proof(self._nodes, self.root, list(keys))


class Chain:
    """Block store + runtime + executive: the node's view of the chain."""

    def __init__(
        self,
        kv: KeyValueStore,
        runtime: Runtime,
        executive: Executive,
        genesis_hash: bytes,
    ) -> None:
        self.kv = kv
        self.store = BlockStore(kv)
        self.runtime = runtime
        self.executive = executive
        self.genesis_hash = genesis_hash
        self._built: dict[bytes, TrieCommit] = {}
        self._import_listeners: list[Callable[[ImportResult], None]] = []
        self._finality_listeners: list[Callable[[FinalityResult], None]] = []

    # ---------------------------------------------------------------------------- genesis

    @staticmethod
    def genesis_header(genesis_storage: Mapping[bytes, bytes], state_version: int) -> Header:
        """``construct_genesis_block``: zero parent, number 0, state root, empty extrinsics."""
        root, _ = build_trie_nodes(dict(genesis_storage), state_version)
        return Header(bytes(32), 0, root, ordered_trie_root([], state_version), ())

    @classmethod
    def open(
        cls,
        kv: KeyValueStore,
        runtime: Runtime,
        executive: Executive,
        genesis_storage: Mapping[bytes, bytes],
        state_version: int | None = None,
    ) -> Chain:
        """Write the genesis block into an empty store, or resume one written for it.

        ``state_version`` (the genesis trie layout) defaults to the runtime's. Raises
        :class:`GenesisMismatch` when the store holds another chain.
        """
        if state_version is None:
            state_version = runtime.system.config.state_version
        storage = dict(genesis_storage)
        # Verify the genesis has no child tries (the backend supports the top trie only).
        for key in storage:
            if key.startswith(CHILD_STORAGE_PREFIX):
                raise ChainError(f"genesis child trie key 0x{key.hex()} is not supported")
        root, nodes = build_trie_nodes(storage, state_version)
        header = Header(bytes(32), 0, root, ordered_trie_root([], state_version), ())
        genesis_hash = header.hash()
        store = BlockStore(kv)
        stored = store.genesis_hash()
        if stored is None:
            with kv.batch() as batch:
                write_nodes(batch, nodes)
                store.insert_block(batch, header, [])
                store.set_genesis(batch, genesis_hash)
        elif stored != genesis_hash:
            raise GenesisMismatch(stored, genesis_hash)
        return cls(kv, runtime, executive, genesis_hash)

    # ----------------------------------------------------------------------------- queries

    @property
    def state_version(self) -> int:
        """Trie layout of block states (the runtime's ``state_version``)."""
        version: int = self.runtime.system.config.state_version
        return version

    def best(self) -> tuple[bytes, int]:
        return self.store.best()

    def best_hash(self) -> bytes:
        return self.store.best()[0]

    def best_header(self) -> Header:
        return self.store.expect_header(self.best_hash())

    def finalized(self) -> tuple[bytes, int]:
        return self.store.finalized()

    def header(self, block_hash: bytes) -> Header | None:
        return self.store.header(block_hash)

    def block(self, block_hash: bytes) -> Block | None:
        return self.store.block(block_hash)

    def hash_at(self, number: int) -> bytes | None:
        return self.store.hash_at(number)

    def justifications(self, block_hash: bytes) -> list[Justification]:
        return self.store.justifications(block_hash)

    def _nodes(self) -> KvNodeStore:
        return KvNodeStore(self.kv)

    def state_at(self, block_hash: bytes | None = None) -> StateView:
        """Read functions over the state of ``block_hash`` (default: the best block)."""
        block_hash = self.best_hash() if block_hash is None else block_hash
        return StateView(self._nodes(), block_hash, self.store.expect_header(block_hash))

    def call_at(self, block_hash: bytes | None, fn: Callable[[], R]) -> R:
        """Run ``fn`` (runtime code) on the state of ``block_hash``; its writes are discarded."""
        block_hash = self.best_hash() if block_hash is None else block_hash
        header = self.store.expect_header(block_hash)
        try:
            ext, _ = new_block_ext(self._nodes(), header.state_root)
            return ext.execute_with(fn)
        except MissingNode as exc:
            raise StateUnavailable(f"state of 0x{block_hash.hex()} is missing: {exc}") from exc

    # --------------------------------------------------------------------- runtime APIs

    def account_nonce(self, who: bytes, at: bytes | None = None) -> int:
        """``AccountNonceApi_account_nonce``."""
        system = self.runtime.system
        nonce: int = self.call_at(at, lambda: system.account_nonce(who))
        return nonce

    def validate_transaction(self, xt: bytes, at: bytes | None = None) -> ValidTransaction:
        """``TaggedTransactionQueue_validate_transaction`` on top of ``at`` (default best).

        Raises :class:`TransactionValidityError`; any other runtime failure on these bytes is
        reported as ``Invalid(Call)``.
        """
        return self.validate_transactions([xt], at)[0]

    def validate_transactions(
        self, xts: Sequence[bytes], at: bytes | None = None
    ) -> list[ValidTransaction]:
        """Validate several transactions against one state; raises on the first invalid one."""
        results = self.validate_many(xts, at)
        for result in results:
            if isinstance(result, TransactionValidityError):
                raise result
        return [r for r in results if isinstance(r, ValidTransaction)]

    def validate_many(
        self, xts: Sequence[bytes], at: bytes | None = None
    ) -> list[ValidTransaction | TransactionValidityError]:
        """Validate each of ``xts`` on top of ``at``; one result (or error) per transaction."""
        at = self.best_hash() if at is None else at
        executive = self.executive

        def run() -> list[ValidTransaction | TransactionValidityError]:
            out: list[ValidTransaction | TransactionValidityError] = []
            for xt in xts:
                try:
                    out.append(executive.validate_transaction(xt, at))
                except TransactionValidityError as exc:
                    out.append(exc)
                except (TrieError, StorageError):
                    raise
                except PychainError as exc:
                    out.append(invalid(InvalidTransaction.Call, f"{type(exc).__name__}: {exc}"))
            return out

        return self.call_at(at, run)

    def query_info(self, xt: bytes, at: bytes | None = None) -> RuntimeDispatchInfo:
        """``TransactionPaymentApi_query_info``: weight, class and fee (without tip) of ``xt``.

        Answered by the runtime's ``TransactionPayment`` pallet at ``at`` when it has one (its fee
        multiplier lives in state); otherwise from the call's dispatch info and the default
        :class:`~pychain.frame.weights.FeeModel`. Undecodable bytes raise ``Invalid(Call)``.
        """
        pallet = self._transaction_payment()
        if pallet is not None:

            def ask() -> RuntimeDispatchInfo:
                try:
                    answer: RuntimeDispatchInfo = pallet.query_info(xt, len(xt))
                except (TrieError, StorageError):
                    raise
                except PychainError as exc:
                    raise invalid(InvalidTransaction.Call, str(exc)) from None
                return answer

            return self.call_at(at, ask)
        try:
            uxt = UncheckedExtrinsic.decode(xt, self.executive.extensions)
            call = self.runtime.decode_call(uxt.call)
        except (ScaleDecodeError, PychainError) as exc:
            raise invalid(InvalidTransaction.Call, f"undecodable extrinsic: {exc}") from None
        info = self.runtime.dispatch_info(call)
        fee = FeeModel().compute_fee(len(xt), info, 0) if uxt.signature is not None else 0
        return RuntimeDispatchInfo(info.weight, info.dispatch_class, fee)

    def _transaction_payment(self) -> Any | None:
        try:
            pallet = self.runtime.pallet("TransactionPayment")
        except PychainError:
            return None
        return pallet if callable(getattr(pallet, "query_info", None)) else None

    # ------------------------------------------------------------------------------ import

    def subscribe_imports(self, listener: Callable[[ImportResult], None]) -> None:
        """Call ``listener`` after every block import that wrote a block."""
        self._import_listeners.append(listener)

    def subscribe_finality(self, listener: Callable[[FinalityResult], None]) -> None:
        """Call ``listener`` after every finality change."""
        self._finality_listeners.append(listener)

    def import_block(
        self,
        block: Block | bytes,
        justification: Justification | None = None,
        origin: Origin = "network",
    ) -> ImportResult:
        """Verify, execute and store ``block``; raises a :class:`ChainError` and writes nothing
        when it cannot be imported. With ``justification`` the block is also finalized."""
        if origin not in ("network", "own"):
            raise ChainError(f"block origin must be 'network' or 'own', got {origin!r}")
        # Verify the block decodes.
        if isinstance(block, bytes | bytearray | memoryview):
            try:
                block = Block.decode(bytes(block))
            except ScaleDecodeError as exc:
                raise InvalidBlock(f"undecodable block: {exc}") from None
        if not isinstance(block, Block):
            raise InvalidBlock(f"expected a Block or its encoding, got {type(block).__name__}")
        if justification is not None:
            _check_justification(justification)
        header = block.header
        block_hash = header.hash()
        # Verify it is new (a justification for a known block may still finalize it).
        if self.store.contains(block_hash):
            if justification is not None and self._finalizable(block_hash):
                self.finalize(block_hash, justification)
            return ImportResult(block_hash, header.number, "known")
        # Verify its parent is known and it is the next height.
        parent = self.store.header(header.parent_hash)
        if parent is None:
            raise UnknownParent(f"parent 0x{header.parent_hash.hex()} of #{header.number} unknown")
        if header.number != parent.number + 1:
            raise InvalidBlock(f"number {header.number} does not follow parent #{parent.number}")
        # Verify it builds on the last finalized block.
        finalized_hash, finalized_number = self.store.finalized()
        if header.number <= finalized_number or not self.store.is_descendant(
            finalized_hash, header.parent_hash
        ):
            raise NotDescendantOfFinalized(
                f"#{header.number} 0x{block_hash.hex()} is not on the chain of finalized "
                f"#{finalized_number}"
            )
        # Verify it executes to its header (or reuse the state this node computed for it).
        post_state = (
            self._built.pop(header.without_seal().hash(), None) if origin == "own" else None
        )
        if post_state is None or post_state.root != header.state_root:
            post_state = self._execute(block, parent)
        # Commit everything in one write transaction.
        best_hash, best_number = self.store.best()
        is_new_best = header.number > best_number
        retracted: list[bytes] = []
        enacted: list[bytes] = []
        with self.kv.batch() as batch:
            write_nodes(batch, post_state.nodes)
            self.store.insert_block(
                batch, header, block.extrinsics, [justification] if justification else []
            )
            if is_new_best:
                retracted, enacted = self.store.set_best(batch, header, best_number)
        result = ImportResult(
            block_hash, header.number, "imported", is_new_best, tuple(retracted), tuple(enacted)
        )
        for listener in self._import_listeners:
            listener(result)
        if justification is not None:
            self.finalize(block_hash)  # the justification is already stored with the block
        return result

    def _execute(self, block: Block, parent: Header) -> TrieCommit:
        header = block.header
        ext, root_of = new_block_ext(self._nodes(), parent.state_root)
        try:
            ext.execute_with(lambda: self.executive.execute_block(block))
        except BlockExecutionError as exc:
            if str(exc).startswith("state root mismatch"):
                computed = root_of.commit(ext.changes(), self.state_version).root
                raise BadStateRoot(header.state_root, computed) from None
            raise InvalidBlock(str(exc)) from None
        except MissingNode as exc:
            raise StateUnavailable(f"parent state is missing: {exc}") from exc
        except StorageError:
            raise
        except Exception as exc:  # a block from the network must never crash the node
            raise InvalidBlock(f"execution failed: {type(exc).__name__}: {exc}") from None
        post_state = root_of.commit(ext.drain(), self.state_version)
        if post_state.root != header.state_root:
            raise BadStateRoot(header.state_root, post_state.root)
        return post_state

    # ---------------------------------------------------------------------------- finality

    def finalize(
        self, block_hash: bytes, justification: Justification | None = None
    ) -> FinalityResult:
        """Mark ``block_hash`` (and its ancestors) final, storing ``justification`` with it.

        If the best block does not descend from it, the best chain moves to the longest leaf
        that does (ties: the first seen). Finalizing a block off the finalized chain raises
        :class:`NotDescendantOfFinalized`.
        """
        if justification is not None:
            _check_justification(justification)
        header = self.store.expect_header(block_hash)
        finalized_hash, finalized_number = self.store.finalized()
        # Verify the block extends the finalized chain.
        if not self.store.is_descendant(finalized_hash, block_hash):
            raise NotDescendantOfFinalized(
                f"0x{block_hash.hex()} does not descend from finalized #{finalized_number}"
            )
        newly: list[bytes] = []
        cursor, cursor_header = block_hash, header
        while cursor_header.number > finalized_number:
            newly.append(cursor)
            cursor = cursor_header.parent_hash
            cursor_header = self.store.expect_header(cursor)
        newly.reverse()
        best_hash, best_number = self.store.best()
        leaves = self.store.leaves()
        alive = [leaf for leaf in leaves if self.store.is_descendant(block_hash, leaf)]
        retracted: list[bytes] = []
        enacted: list[bytes] = []
        with self.kv.batch() as batch:
            self.store.set_finalized(batch, block_hash, justification)
            if not self.store.is_descendant(block_hash, best_hash):
                new_best = block_hash
                new_number = header.number
                for leaf in alive:
                    number = self.store.expect_header(leaf).number
                    if number > new_number:
                        new_best, new_number = leaf, number
                retracted, enacted = self.store.set_best(
                    batch, self.store.expect_header(new_best), best_number
                )
            if alive != leaves:
                self.store.set_leaves(batch, alive or [block_hash])
        result = FinalityResult(
            block_hash, header.number, tuple(newly), tuple(retracted), tuple(enacted)
        )
        for listener in self._finality_listeners:
            listener(result)
        return result

    def _finalizable(self, block_hash: bytes) -> bool:
        finalized_hash, _ = self.store.finalized()
        return self.store.is_descendant(finalized_hash, block_hash)

    # ---------------------------------------------------------------------------- authoring

    def build_block(
        self,
        parent_hash: bytes,
        inherent_digest: Sequence[Any] = (),
        extrinsics: Iterable[bytes] = (),
        inherents: Sequence[bytes] = (),
        max_skipped: int = MAX_SKIPPED_TRANSACTIONS,
        should_stop: Callable[[], bool] | None = None,
    ) -> BuiltBlock:
        """Propose a child of ``parent_hash``: ``inherents`` (which must apply), then as many of
        ``extrinsics`` as fit. Invalid ones are skipped and reported in the result.

        ``should_stop`` is asked before each transaction (the author's slot deadline: the chain
        layer reads no clock itself); when it answers ``True`` the block is closed.
        """
        parent = self.store.header(parent_hash)
        if parent is None:
            raise BlockBuildError(f"cannot build on unknown block 0x{parent_hash.hex()}")
        executive = self.executive
        try:
            ext, root_of = new_block_ext(self._nodes(), parent.state_root)
        except MissingNode as exc:
            raise StateUnavailable(f"parent state is missing: {exc}") from exc
        included: list[bytes] = []
        skipped: list[tuple[bytes, PychainError]] = []

        def run() -> Header:
            executive.initialize_block(parent_hash, parent.number + 1, list(inherent_digest))
            for i, inherent in enumerate(inherents):
                try:
                    executive.apply_extrinsic(inherent)
                except PychainError as exc:
                    raise BlockBuildError(f"inherent {i} cannot be applied: {exc}") from exc
            exhausted = 0
            for xt in extrinsics:
                if should_stop is not None and should_stop():
                    break
                try:
                    executive.apply_extrinsic(xt)
                except (TrieError, StorageError):
                    raise
                except PychainError as exc:
                    skipped.append((xt, exc))
                    if _exhausts_resources(exc):
                        exhausted += 1
                        if exhausted >= max_skipped:
                            break
                    continue
                included.append(xt)
            return executive.finalize_block()

        try:
            header = ext.execute_with(run)
        except BlockBuildError:
            raise
        except MissingNode as exc:
            raise StateUnavailable(f"parent state is missing: {exc}") from exc
        except PychainError as exc:
            raise BlockBuildError(f"block building failed: {type(exc).__name__}: {exc}") from exc
        post_state = root_of.commit(ext.drain(), self.state_version)
        block = Block(header, tuple(executive.applied_extrinsics))
        if len(self._built) >= BUILT_CACHE_SIZE:
            self._built.pop(next(iter(self._built)))
        self._built[header.hash()] = post_state
        return BuiltBlock(block, post_state, included, skipped)
