"""The Sudo pallet (``pallet_sudo``): a key that dispatches calls as Root (dev chains only)."""

from pychain.pallets.sudo.pallet import (
    DispatchResultCodec,
    KeyChanged,
    KeyRemoved,
    Sudid,
    Sudo,
    SudoAsDone,
    SudoError,
    SudoEvent,
)
from pychain.pallets.sudo.types import (
    BOXED_CALL,
    BoxedCallCodec,
    SudoGenesisConfig,
    UnboundCallCodecError,
    lookup,
)

__all__ = [
    "BOXED_CALL",
    "BoxedCallCodec",
    "DispatchResultCodec",
    "KeyChanged",
    "KeyRemoved",
    "Sudid",
    "Sudo",
    "SudoAsDone",
    "SudoError",
    "SudoEvent",
    "SudoGenesisConfig",
    "UnboundCallCodecError",
    "lookup",
]
