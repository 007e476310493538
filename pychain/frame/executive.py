"""The executive: validates transactions and executes blocks through the runtime's pallets.

Mirrors ``frame_executive::Executive``:

* ``initialize_block(parent_hash, number, digest)`` → ``System::initialize`` then every pallet's
  ``on_initialize`` (in runtime order), the base block weight registered as mandatory;
* ``apply_extrinsic(bytes)`` → decode, check the signature (``BadProof``), run the signed
  extensions' ``pre_dispatch`` (nonce, weight, fee — *outside* the dispatch layer, so they stick
  even when the call fails), dispatch in a transactional layer, ``post_dispatch``, and record
  ``ExtrinsicSuccess`` / ``ExtrinsicFailed``. A ``TransactionValidityError`` leaves no trace: the
  whole application runs in a layer that is rolled back, and the extrinsic is not included;
* ``finalize_block()`` → ``on_idle`` with the remaining weight, ``on_finalize`` for every pallet,
  ``System::finalize`` (extrinsics root = ordered trie root of the body, state root of the state);
* ``execute_block(block)`` → the above for an imported block; the computed header must equal the
  block's (same state and extrinsics roots), else :class:`BlockExecutionError`;
* ``validate_transaction(bytes, block_hash)`` → ``TaggedTransactionQueue_validate_transaction``:
  signature and extensions' ``validate`` on top of the given block, changes discarded.

Bare extrinsics are inherents (``Pallet.is_inherent``; only inside blocks, origin None, must be
mandatory-class) or calls a pallet accepts through ``validate_unsigned``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pychain.frame.dispatch import (
    DispatchError,
    FrameError,
    InvalidTransaction,
    Origin,
    TransactionValidityError,
    UnknownTransaction,
    ValidTransaction,
    invalid,
    unknown,
)
from pychain.frame.extensions import CheckContext, ExtensionLogic
from pychain.frame.externalities import current, with_transaction
from pychain.frame.runtime import Runtime, RuntimeCall
from pychain.frame.weights import DispatchClass, DispatchInfo, Weight
from pychain.primitives.block import Block
from pychain.primitives.era import Era
from pychain.primitives.extrinsic import (
    ExtrinsicError,
    MissingSigningContext,
    SignedExtension,
    SigningContext,
    UncheckedExtrinsic,
    signer_account_id,
    verify_signature,
)
from pychain.primitives.header import Header, PreRuntime, Seal
from pychain.primitives.scale import ScaleDecodeError


class BlockExecutionError(FrameError):
    """An imported block does not execute to the header it claims (or contains an invalid
    extrinsic)."""


@dataclass(frozen=True)
class CheckedExtrinsic:
    """An extrinsic whose signature has been checked: signer (None if bare), call, extra."""

    who: bytes | None
    call: RuntimeCall
    info: DispatchInfo
    extra: dict[str, Any]
    length: int


@dataclass(frozen=True)
class ApplyOutcome:
    """Result of an applied extrinsic: ``error`` is None on success (``DispatchOutcome``)."""

    error: DispatchError | None
    info: DispatchInfo


class Executive:
    """Runs the runtime's block lifecycle; all state goes through the current externalities."""

    def __init__(
        self,
        runtime: Runtime,
        extensions: Sequence[SignedExtension],
        extension_logic: Sequence[ExtensionLogic],
    ) -> None:
        self.runtime = runtime
        self.extensions = tuple(extensions)
        self.extension_logic = tuple(extension_logic)
        declared = [e.identifier for e in self.extensions]
        implemented = [e.identifier for e in self.extension_logic]
        if declared != implemented:
            raise FrameError(f"extension formats {declared} and logic {implemented} differ")
        self.system = runtime.system
        self._extrinsics: list[bytes] = []

    # ------------------------------------------------------------------------ checking

    def _signing_context(self, era: Era | None, current_block: int) -> SigningContext:
        version = self.system.config.version
        genesis_hash = self.system.BlockHash.get(0)
        birth_hash = None
        if era is not None and not era.is_immortal:
            birth = era.birth(current_block)
            # Verify the birth block is known (within BlockHashCount) and not in the future.
            if birth >= current_block or not self.system.BlockHash.contains_key(birth):
                raise invalid(InvalidTransaction.AncientBirthBlock, f"birth block {birth} unknown")
            birth_hash = self.system.BlockHash.get(birth)
        return SigningContext(version.spec_version, version.transaction_version, genesis_hash, birth_hash)

    def check(self, encoded: bytes) -> CheckedExtrinsic:
        """Decode an extrinsic and check its signature (``Checkable::check``)."""
        try:
            uxt = UncheckedExtrinsic.decode(encoded, self.extensions)
            call = self.runtime.decode_call(uxt.call)
        except (ScaleDecodeError, ExtrinsicError) as exc:
            raise invalid(InvalidTransaction.Call, f"undecodable extrinsic: {exc}") from None
        info = self.runtime.dispatch_info(call)
        if uxt.signature is None:
            return CheckedExtrinsic(None, call, info, {}, len(encoded))
        who = signer_account_id(uxt.signature.address)
        if who is None:
            raise unknown(UnknownTransaction.CannotLookup, "only MultiAddress::Id is supported")
        current_block = self.system.Number.get()
        ctx = self._signing_context(uxt.era, current_block)
        try:
            valid = verify_signature(uxt, ctx)
        except MissingSigningContext as exc:
            raise invalid(InvalidTransaction.BadProof, str(exc)) from None
        # Verify the signature covers this call, extra and chain context.
        if not valid:
            raise invalid(InvalidTransaction.BadProof, "bad signature")
        return CheckedExtrinsic(who, call, info, dict(uxt.signature.extra), len(encoded))

    def _context(self, xt: CheckedExtrinsic) -> CheckContext:
        assert xt.who is not None
        return CheckContext(xt.who, xt.call, xt.info, xt.length, xt.extra, self.system.Number.get())

    # ---------------------------------------------------------------------- validation

    def validate_transaction(self, encoded: bytes, block_hash: bytes) -> ValidTransaction:
        """Validate against the state of ``block_hash`` as if building its child.

        Runs inside a storage layer that is always rolled back: validation changes nothing.
        """
        ext = current()
        ext.start_transaction()
        try:
            number = self.system.Number.get()
            self.system.initialize(number + 1, block_hash, [])
            xt = self.check(encoded)
            if xt.who is None:
                return self._validate_unsigned(xt)
            ctx = self._context(xt)
            # Verify the call is not an inherent smuggled in a signed transaction.
            if xt.info.dispatch_class == DispatchClass.Mandatory:
                raise invalid(InvalidTransaction.MandatoryValidation, "mandatory call in a transaction")
            valid = ValidTransaction()
            for logic in self.extension_logic:
                valid = valid.combine_with(logic.validate(ctx))
            return valid
        finally:
            ext.rollback_transaction()

    def _pallet_of(self, call: RuntimeCall) -> Any:
        return self.runtime.pallet(call.pallet)

    def _validate_unsigned(self, xt: CheckedExtrinsic) -> ValidTransaction:
        pallet = self._pallet_of(xt.call)
        if pallet.is_inherent(xt.call):
            raise invalid(InvalidTransaction.MandatoryValidation, "inherents are not transactions")
        validate = getattr(pallet, "validate_unsigned", None)
        if validate is None:
            raise unknown(UnknownTransaction.NoUnsignedValidator, f"{xt.call.pallet}.{xt.call.name}")
        result: ValidTransaction = validate(xt.call)
        return result

    # --------------------------------------------------------------------- block lifecycle

    def initialize_block(self, parent_hash: bytes, number: int, digest: Sequence[Any] = ()) -> None:
        self._extrinsics = []
        self.system.initialize(number, parent_hash, digest)
        weight = self.system.config.block_weights.base_block
        for pallet in self.runtime.pallets:
            weight = weight.saturating_add(pallet.on_initialize(number))
        self.system.register_extra_weight_unchecked(weight, DispatchClass.Mandatory)
        self.system.note_finished_initialize()

    def apply_extrinsic(self, encoded: bytes) -> ApplyOutcome:
        """Apply one extrinsic to the block being built; raises ``TransactionValidityError``
        (and changes nothing) when it cannot be included."""
        index = len(self._extrinsics)
        outcome = with_transaction(lambda: self._apply(encoded, index))
        self._extrinsics.append(bytes(encoded))
        return outcome

    def _apply(self, encoded: bytes, index: int) -> ApplyOutcome:
        xt = self.check(encoded)
        if xt.who is None:
            pallet = self._pallet_of(xt.call)
            if pallet.is_inherent(xt.call):
                # Verify inherents are mandatory (they cannot be skipped or fail).
                if xt.info.dispatch_class != DispatchClass.Mandatory:
                    raise invalid(InvalidTransaction.BadMandatory, "inherent is not mandatory")
            else:
                self._validate_unsigned(xt)
            self.system.register_extra_weight_unchecked(xt.info.weight, xt.info.dispatch_class)
            error = self._dispatch(xt.call, Origin.none())
            if error is not None and xt.info.dispatch_class == DispatchClass.Mandatory:
                raise invalid(InvalidTransaction.BadMandatory, f"inherent failed: {error}")
            self.system.note_applied_extrinsic(index, error, xt.info)
            return ApplyOutcome(error, xt.info)
        ctx = self._context(xt)
        if xt.info.dispatch_class == DispatchClass.Mandatory:
            raise invalid(InvalidTransaction.BadMandatory, "mandatory call in a signed extrinsic")
        pres = [logic.pre_dispatch(ctx) for logic in self.extension_logic]
        error = self._dispatch(xt.call, Origin.signed(xt.who))
        actual_weight = xt.info.weight
        for logic, pre in zip(self.extension_logic, pres, strict=True):
            logic.post_dispatch(pre, ctx, actual_weight, error is None)
        self.system.note_applied_extrinsic(index, error, xt.info)
        return ApplyOutcome(error, xt.info)

    def _dispatch(self, call: RuntimeCall, origin: Origin) -> DispatchError | None:
        try:
            self.runtime.dispatch(call, origin)
        except DispatchError as exc:
            return exc
        return None

    def finalize_block(self) -> Header:
        self.system.note_finished_extrinsics(len(self._extrinsics))
        number = self.system.Number.get()
        limits = self.system.config.block_weights
        remaining = limits.max_block.saturating_sub(self.system.block_weight().total())
        for pallet in self.runtime.pallets:
            if remaining.ref_time == 0:
                break
            used = pallet.on_idle(number, remaining)
            remaining = remaining.saturating_sub(used)
        for pallet in self.runtime.pallets:
            pallet.on_finalize(number)
        header: Header = self.system.finalize(self._extrinsics)
        return header

    def execute_block(self, block: Block) -> Header:
        """Re-execute an imported block; raise :class:`BlockExecutionError` on any mismatch."""
        header = block.header
        # ``extract_pre_digest``: only PreRuntime items go in; the rest is re-deposited.
        pre_digest = [item for item in header.digest if isinstance(item, PreRuntime)]
        unsealed = [item for item in header.digest if not isinstance(item, Seal)]
        self.initialize_block(header.parent_hash, header.number, pre_digest)
        for i, encoded in enumerate(block.extrinsics):
            try:
                self.apply_extrinsic(encoded)
            except TransactionValidityError as exc:
                raise BlockExecutionError(f"extrinsic {i} is invalid: {exc}") from exc
        computed = self.finalize_block()
        if computed.extrinsics_root != header.extrinsics_root:
            raise BlockExecutionError(
                f"extrinsics root mismatch: computed 0x{computed.extrinsics_root.hex()}, "
                f"header 0x{header.extrinsics_root.hex()}"
            )
        if tuple(computed.digest) != tuple(unsealed):
            raise BlockExecutionError("digest mismatch between the header and its execution")
        if computed.state_root != header.state_root:
            raise BlockExecutionError(
                f"state root mismatch: computed 0x{computed.state_root.hex()}, "
                f"header 0x{header.state_root.hex()}"
            )
        return computed

    @property
    def applied_extrinsics(self) -> list[bytes]:
        return list(self._extrinsics)


__all__ = [
    "Executive",
    "ApplyOutcome",
    "CheckedExtrinsic",
    "BlockExecutionError",
    "Weight",
]
