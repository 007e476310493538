"""Transaction eras: how long a signed extrinsic stays valid.

Mirrors ``sp_runtime::generic::Era`` (polkadot-sdk ``substrate/primitives/runtime/src/generic/era.rs``;
Polkadot specification, section "Extrinsics", "Mortality"). An era is either

* **immortal**, encoded as the single byte ``0x00``: the transaction is valid forever and its
  ``CheckMortality`` additional-signed data is the genesis hash; or
* **mortal** ``(period, phase)``, encoded as a little-endian ``u16``: the transaction is valid from
  its *birth* block (the largest block ``<= current`` whose number is ``phase`` modulo ``period``)
  up to, but excluding, its *death* block ``birth + period``; the additional-signed data is the
  hash of the birth block.

Encoding of a mortal era, as in Substrate:

* ``period`` is a power of two in ``[4, 65536]``;
* ``quantize_factor = max(period >> 12, 1)``; the phase is stored divided by it (so only the
  first 4096 phases of a very long period are distinct);
* low 4 bits: ``clamp(trailing_zeros(period) - 1, 1, 15)``; high 12 bits: ``phase / quantize_factor``.

Decoding is strict: a first byte other than ``0x00`` must be followed by a second byte, and the
decoded ``period`` must be at least 4 with ``phase < period`` (Substrate's "Invalid period and
phase"). Every accepted encoding re-encodes to the same two bytes.

Differences from Substrate: :class:`Era` is one frozen dataclass with ``period == 0`` meaning
immortal instead of a two-variant enum; constructing a mortal era directly (not through
:meth:`Era.mortal`) checks that the phase is already quantized, so that no value is silently
changed on encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

from pychain.errors import PychainError
from pychain.primitives.scale import Codec, ScaleDecodeError, ScaleEncodeError

__all__ = [
    "EraError",
    "InvalidEra",
    "InvalidEraEncoding",
    "Era",
    "ERA",
    "MIN_PERIOD",
    "MAX_PERIOD",
    "IMMORTAL_DEATH",
]

#: Smallest mortal period (``sp_runtime::generic::Era::mortal`` clamps to ``[4, 1 << 16]``).
MIN_PERIOD = 4
#: Largest mortal period.
MAX_PERIOD = 1 << 16
#: ``Era::death`` of an immortal era: ``u64::MAX``.
IMMORTAL_DEATH = (1 << 64) - 1


class EraError(PychainError):
    """Root of the errors about transaction eras."""


class InvalidEra(EraError, ValueError):
    """A mortal era's period or phase is not one Substrate can encode."""


class InvalidEraEncoding(EraError, ScaleDecodeError):
    """Bytes that are not a valid SCALE encoding of an ``Era``."""


def _quantize_factor(period: int) -> int:
    return max(period >> 12, 1)


@dataclass(frozen=True)
class Era:
    """A transaction era: ``Era()`` is immortal, ``Era(period, phase)`` is mortal.

    Build a mortal era for "valid for about ``period`` blocks from block ``current``" with
    :meth:`Era.mortal`, which rounds and quantizes exactly as Substrate does.
    """

    period: int = 0
    phase: int = 0

    def __post_init__(self) -> None:
        for name in ("period", "phase"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidEra(f"era {name} must be an int, got {type(value).__name__}")
        if self.period == 0:
            if self.phase != 0:
                raise InvalidEra("an immortal era (period 0) has no phase")
            return
        # Verify the period is a power of two within [4, 65536].
        if not MIN_PERIOD <= self.period <= MAX_PERIOD or self.period & (self.period - 1):
            raise InvalidEra(
                f"era period {self.period} is not a power of two in [{MIN_PERIOD}, {MAX_PERIOD}]"
            )
        # Verify the phase lies within the period.
        if not 0 <= self.phase < self.period:
            raise InvalidEra(f"era phase {self.phase} is not in [0, {self.period})")
        # Verify the phase is representable (a multiple of the quantize factor).
        factor = _quantize_factor(self.period)
        if self.phase % factor:
            raise InvalidEra(
                f"era phase {self.phase} is not a multiple of the quantize factor {factor}"
            )

    # ------------------------------------------------------------------ constructors

    @classmethod
    def immortal(cls) -> Era:
        """``Era::Immortal``."""
        return cls()

    @classmethod
    def mortal(cls, period: int, current: int) -> Era:
        """``Era::mortal(period, current)``: valid for ``period`` blocks (rounded up to a power
        of two, clamped to ``[4, 65536]``) starting at block ``current``."""
        if isinstance(period, bool) or not isinstance(period, int) or period < 0:
            raise InvalidEra(f"requested era period must be a non-negative int, got {period!r}")
        if isinstance(current, bool) or not isinstance(current, int) or current < 0:
            raise InvalidEra(f"current block must be a non-negative int, got {current!r}")
        # checked_next_power_of_two, with overflow falling back to 1 << 16, then the clamp.
        rounded = 1 if period <= 1 else 1 << (period - 1).bit_length()
        calc_period = min(max(rounded, MIN_PERIOD), MAX_PERIOD)
        phase = current % calc_period
        factor = _quantize_factor(calc_period)
        return cls(calc_period, phase // factor * factor)

    # ------------------------------------------------------------------ queries

    @property
    def is_immortal(self) -> bool:
        return self.period == 0

    def birth(self, current: int) -> int:
        """``Era::birth``: the first block in which a transaction of this era is valid, given
        that ``current`` is a block it is valid in (0 for immortal)."""
        if self.is_immortal:
            return 0
        return (max(current, self.phase) - self.phase) // self.period * self.period + self.phase

    def death(self, current: int) -> int:
        """``Era::death``: the first block in which the transaction is no longer valid
        (``u64::MAX`` for immortal)."""
        if self.is_immortal:
            return IMMORTAL_DEATH
        return self.birth(current) + self.period

    # ------------------------------------------------------------------ SCALE

    def encode(self) -> bytes:
        return ERA.encode(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Era:
        return ERA.decode(data)

    def to_json(self) -> str | dict[str, int]:
        """``"immortal"`` or ``{"period": p, "phase": q}`` (the shape printed by the CLI)."""
        if self.is_immortal:
            return "immortal"
        return {"period": self.period, "phase": self.phase}


class _EraCodec(Codec[Era]):
    """SCALE codec of :class:`Era` (one byte for immortal, two for mortal)."""

    name = "Era"
    min_size = 1

    def encode_into(self, value: Era, out: bytearray) -> None:
        if not isinstance(value, Era):
            raise ScaleEncodeError(f"Era expects an Era, got {type(value).__name__}")
        if value.is_immortal:
            out.append(0)
            return
        trailing_zeros = (value.period & -value.period).bit_length() - 1
        low = min(max(trailing_zeros - 1, 1), 15)
        encoded = low | ((value.phase // _quantize_factor(value.period)) << 4)
        out += encoded.to_bytes(2, "little")

    def decode_at(self, data: bytes, pos: int) -> tuple[Era, int]:
        if pos >= len(data):
            raise InvalidEraEncoding("input too short for Era", pos)
        first = data[pos]
        if first == 0:
            return Era(), pos + 1
        if pos + 1 >= len(data):
            raise InvalidEraEncoding("input too short for a mortal Era (needs 2 bytes)", pos)
        encoded = first | (data[pos + 1] << 8)
        period = 2 << (encoded & 0xF)
        phase = (encoded >> 4) * _quantize_factor(period)
        # Verify the period and phase as Substrate does ("Invalid period and phase").
        if period < MIN_PERIOD or phase >= period:
            raise InvalidEraEncoding(
                f"invalid mortal era 0x{data[pos : pos + 2].hex()}: period {period}, phase {phase}",
                pos,
            )
        return Era(period, phase), pos + 2


#: The SCALE codec of ``Era``.
ERA: Codec[Era] = _EraCodec()
