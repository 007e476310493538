"""Origins, dispatch errors and transaction-validity errors, shaped and encoded as Substrate's.

Mirrors ``frame_system::RawOrigin`` (Root, Signed, None), ``sp_runtime::DispatchError`` (with
``ModuleError { index, error: [u8; 4] }``, ``TokenError``, ``ArithmeticError``,
``TransactionalError``), ``sp_runtime::transaction_validity`` (``InvalidTransaction``,
``UnknownTransaction``, ``ValidTransaction``) and the ``ensure_*`` origin guards.

Errors are Python exceptions that carry a SCALE-encodable value, so the same object is raised by a
pallet, caught by the executive, and recorded in ``System.ExtrinsicFailed`` with Substrate's bytes.
The human-readable message of ``Other``/``Module`` is not encoded, as in Substrate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Annotated, Any

from pychain.errors import PychainError
from pychain.primitives.scale import (
    H256,
    U8,
    U64,
    Bool,
    Bytes,
    CEnum,
    Enum,
    FixedBytes,
    Struct,
    Vec,
)


class FrameError(PychainError):
    """Root of the runtime framework's errors."""


# ------------------------------------------------------------------------------------- origins


@dataclass(frozen=True)
class Origin:
    """``RawOrigin``: ``kind`` is ``"root"``, ``"signed"`` (with ``who``) or ``"none"``."""

    kind: str
    who: bytes | None = None

    @staticmethod
    def root() -> Origin:
        return Origin("root")

    @staticmethod
    def signed(who: bytes) -> Origin:
        return Origin("signed", bytes(who))

    @staticmethod
    def none() -> Origin:
        return Origin("none")

    def __repr__(self) -> str:
        return f"Origin.signed(0x{self.who.hex()})" if self.who else f"Origin.{self.kind}()"


def ensure_signed(origin: Origin) -> bytes:
    """The signer's account id, or ``BadOrigin``."""
    if origin.kind != "signed" or origin.who is None:
        raise DispatchError.bad_origin()
    return origin.who


def ensure_root(origin: Origin) -> None:
    if origin.kind != "root":
        raise DispatchError.bad_origin()


def ensure_none(origin: Origin) -> None:
    if origin.kind != "none":
        raise DispatchError.bad_origin()


# ----------------------------------------------------------------------------- dispatch errors


class TokenError(enum.IntEnum):
    FundsUnavailable = 0
    OnlyProvider = 1
    BelowMinimum = 2
    CannotCreate = 3
    UnknownAsset = 4
    Frozen = 5
    Unsupported = 6
    CannotCreateHold = 7
    NotExpendable = 8
    Blocked = 9


class ArithmeticError(enum.IntEnum):  # noqa: A001 - Substrate's name
    Underflow = 0
    Overflow = 1
    DivisionByZero = 2


class TransactionalError(enum.IntEnum):
    LimitReached = 0
    NoLayer = 1


@dataclass(frozen=True)
class DEOther(Struct):
    """``DispatchError::Other`` (its message is not encoded)."""


@dataclass(frozen=True)
class DECannotLookup(Struct):
    pass


@dataclass(frozen=True)
class DEBadOrigin(Struct):
    pass


@dataclass(frozen=True)
class ModuleError(Struct):
    """``ModuleError { index: u8 (pallet index), error: [u8; 4] (error index, then zeros) }``."""

    index: Annotated[int, U8]
    error: Annotated[bytes, FixedBytes(4)]


@dataclass(frozen=True)
class DEConsumerRemaining(Struct):
    pass


@dataclass(frozen=True)
class DENoProviders(Struct):
    pass


@dataclass(frozen=True)
class DETooManyConsumers(Struct):
    pass


@dataclass(frozen=True)
class DEToken(Struct):
    error: Annotated[TokenError, CEnum(TokenError)]


@dataclass(frozen=True)
class DEArithmetic(Struct):
    error: Annotated[ArithmeticError, CEnum(ArithmeticError)]


@dataclass(frozen=True)
class DETransactional(Struct):
    error: Annotated[TransactionalError, CEnum(TransactionalError)]


@dataclass(frozen=True)
class DEExhausted(Struct):
    pass


@dataclass(frozen=True)
class DECorruption(Struct):
    pass


@dataclass(frozen=True)
class DEUnavailable(Struct):
    pass


@dataclass(frozen=True)
class DERootNotAllowed(Struct):
    pass


#: ``sp_runtime::DispatchError`` variants with their frozen indices.
DispatchErrorCodec = Enum(
    "DispatchError",
    {
        0: DEOther,
        1: DECannotLookup,
        2: DEBadOrigin,
        3: ModuleError,
        4: DEConsumerRemaining,
        5: DENoProviders,
        6: DETooManyConsumers,
        7: DEToken,
        8: DEArithmetic,
        9: DETransactional,
        10: DEExhausted,
        11: DECorruption,
        12: DEUnavailable,
        13: DERootNotAllowed,
    },
    names={
        0: "Other",
        1: "CannotLookup",
        2: "BadOrigin",
        3: "Module",
        4: "ConsumerRemaining",
        5: "NoProviders",
        6: "TooManyConsumers",
        7: "Token",
        8: "Arithmetic",
        9: "Transactional",
        10: "Exhausted",
        11: "Corruption",
        12: "Unavailable",
        13: "RootNotAllowed",
    },
)


class DispatchError(FrameError):
    """A failed dispatch. ``value`` is the encodable ``DispatchError`` variant."""

    def __init__(self, value: Any, message: str = "") -> None:
        self.value = value
        self.message = message
        name = DispatchErrorCodec.variant_names[DispatchErrorCodec.index_of(value)]
        super().__init__(f"{name}: {message}" if message else name)

    def encode(self) -> bytes:
        return DispatchErrorCodec.encode(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DispatchError) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    @staticmethod
    def bad_origin() -> DispatchError:
        return DispatchError(DEBadOrigin())

    @staticmethod
    def other(message: str) -> DispatchError:
        return DispatchError(DEOther(), message)

    @staticmethod
    def module(pallet_index: int, error_index: int, name: str = "") -> DispatchError:
        return DispatchError(ModuleError(pallet_index, bytes([error_index, 0, 0, 0])), name)

    @staticmethod
    def token(error: TokenError) -> DispatchError:
        return DispatchError(DEToken(error), error.name)

    @staticmethod
    def arithmetic(error: ArithmeticError) -> DispatchError:
        return DispatchError(DEArithmetic(error), error.name)

    @staticmethod
    def corruption(message: str = "") -> DispatchError:
        return DispatchError(DECorruption(), message)


# ------------------------------------------------------------------------ transaction validity


class InvalidTransaction(enum.IntEnum):
    """``sp_runtime::transaction_validity::InvalidTransaction`` (``Custom(u8)`` is separate)."""

    Call = 0
    Payment = 1
    Future = 2
    Stale = 3
    BadProof = 4
    AncientBirthBlock = 5
    ExhaustsResources = 6
    Custom = 7
    BadMandatory = 8
    MandatoryValidation = 9
    BadSigner = 10


class UnknownTransaction(enum.IntEnum):
    CannotLookup = 0
    NoUnsignedValidator = 1
    Custom = 2


class TransactionValidityError(FrameError):
    """A transaction that cannot be included: ``Invalid(reason)`` or ``Unknown(reason)``.

    Encoding: ``0x00 ++ InvalidTransaction`` or ``0x01 ++ UnknownTransaction``; ``Custom`` carries
    one more byte.
    """

    def __init__(
        self,
        invalid: InvalidTransaction | None = None,
        unknown: UnknownTransaction | None = None,
        custom: int = 0,
        message: str = "",
    ) -> None:
        if (invalid is None) == (unknown is None):
            raise ValueError("exactly one of invalid / unknown")
        self.invalid = invalid
        self.unknown = unknown
        self.custom = custom
        kind = f"Invalid({invalid.name})" if invalid is not None else f"Unknown({unknown.name})"  # type: ignore[union-attr]
        super().__init__(f"{kind}: {message}" if message else kind)

    @property
    def reason(self) -> str:
        """``"Invalid.Stale"``-style name, handy in logs and RPC errors."""
        if self.invalid is not None:
            return f"Invalid.{self.invalid.name}"
        assert self.unknown is not None
        return f"Unknown.{self.unknown.name}"

    def encode(self) -> bytes:
        if self.invalid is not None:
            out = bytes([0, int(self.invalid)])
            return out + bytes([self.custom]) if self.invalid == InvalidTransaction.Custom else out
        assert self.unknown is not None
        out = bytes([1, int(self.unknown)])
        return out + bytes([self.custom]) if self.unknown == UnknownTransaction.Custom else out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TransactionValidityError) and self.encode() == other.encode()

    def __hash__(self) -> int:
        return hash(self.encode())


def invalid(reason: InvalidTransaction, message: str = "") -> TransactionValidityError:
    return TransactionValidityError(invalid=reason, message=message)


def unknown(reason: UnknownTransaction, message: str = "") -> TransactionValidityError:
    return TransactionValidityError(unknown=reason, message=message)


#: ``TransactionLongevity`` default: valid "forever".
MAX_LONGEVITY = (1 << 64) - 1


@dataclass
class ValidTransaction(Struct):
    """``ValidTransaction``: how the pool orders and links a transaction."""

    priority: Annotated[int, U64] = 0
    requires: Annotated[list[bytes], Vec(Bytes)] = field(default_factory=list)
    provides: Annotated[list[bytes], Vec(Bytes)] = field(default_factory=list)
    longevity: Annotated[int, U64] = MAX_LONGEVITY
    propagate: Annotated[bool, Bool] = True

    def combine_with(self, other: ValidTransaction) -> ValidTransaction:
        """``ValidTransaction::combine_with``: saturating priority sum, union of tags, min longevity."""
        return ValidTransaction(
            priority=min(self.priority + other.priority, (1 << 64) - 1),
            requires=self.requires + other.requires,
            provides=self.provides + other.provides,
            longevity=min(self.longevity, other.longevity),
            propagate=self.propagate and other.propagate,
        )


@dataclass(frozen=True)
class TransactionSource:
    """Where a transaction came from (``InBlock``, ``Local``, ``External``)."""

    kind: str = "External"


__all__ = [
    "FrameError",
    "Origin",
    "ensure_signed",
    "ensure_root",
    "ensure_none",
    "DispatchError",
    "DispatchErrorCodec",
    "ModuleError",
    "TokenError",
    "ArithmeticError",
    "TransactionalError",
    "InvalidTransaction",
    "UnknownTransaction",
    "TransactionValidityError",
    "invalid",
    "unknown",
    "ValidTransaction",
    "TransactionSource",
    "MAX_LONGEVITY",
    "H256",
]
