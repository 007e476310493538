"""Storage descriptors: ``StorageValue``, ``StorageMap``, ``StorageDoubleMap``, ``StorageNMap`` and
``CountedStorageMap``, with FRAME's key hashing.

Mirrors ``frame_support::storage::types``. A descriptor is declared as a class attribute of a pallet;
its key is ``twox_128(pallet name) ++ twox_128(item name) ++ hasher(SCALE(key))…`` (Polkadot spec,
"Storage keys"). Query kinds: with ``default=`` given, an absent value reads as that default
(``ValueQuery``); without, it reads as ``None`` (``OptionQuery``). Storing the default does not
delete the entry (as FRAME). Reads and writes go to the current externalities (see
``pychain.frame.externalities``). A stored value that fails to decode raises
:class:`StorageCorruptionError` rather than being silently replaced by the default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pychain.frame.dispatch import FrameError
from pychain.frame.externalities import current, iter_prefix_keys
from pychain.primitives.hashing import HASHERS, storage_prefix, twox_128
from pychain.primitives.scale import U32, Codec, ScaleDecodeError

_MISSING: Any = object()

#: Hashers whose output ends with the raw key, so keys can be read back when iterating.
_CONCAT_HASH_LEN = {"Blake2_128Concat": 16, "Twox64Concat": 8, "Identity": 0}


class StorageCorruptionError(FrameError):
    """A stored value does not decode as its declared type."""


class StorageItem:
    """Common part: the item's name, its pallet's name and its 32-byte prefix."""

    kind = "item"

    def __init__(self, value: Codec[Any], default: Any = _MISSING, docs: str = "") -> None:
        self.value_codec = value
        self.default = default
        self.docs = docs
        self.name = ""
        self.pallet_name = ""
        self._prefix: bytes | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.pallet_name = getattr(owner, "name", owner.__name__)

    def bind(self, pallet_name: str) -> None:
        """Set the pallet name explicitly (used when a pallet is instantiated under another name)."""
        self.pallet_name = pallet_name
        self._prefix = None

    @property
    def prefix(self) -> bytes:
        if self._prefix is None:
            if not self.pallet_name or not self.name:
                raise FrameError("storage item used before it was declared in a pallet")
            self._prefix = storage_prefix(self.pallet_name, self.name)
        return self._prefix

    @property
    def is_optional(self) -> bool:
        return self.default is _MISSING

    def default_bytes(self) -> bytes:
        """Encoded default for metadata: ``0x00`` (None) for OptionQuery items."""
        return b"\x00" if self.is_optional else self.value_codec.encode(self.default)

    def _decode(self, key: bytes, raw: bytes | None) -> Any:
        if raw is None:
            return None if self.is_optional else self.default
        try:
            return self.value_codec.decode(raw)
        except ScaleDecodeError as exc:
            raise StorageCorruptionError(
                f"{self.pallet_name}.{self.name} at 0x{key.hex()}: {exc}"
            ) from exc

    def _get(self, key: bytes) -> Any:
        return self._decode(key, current().storage_get(key))

    def _put(self, key: bytes, value: Any) -> None:
        current().storage_set(key, self.value_codec.encode(value))

    def _mutate(self, key: bytes, fn: Callable[[Any], Any]) -> Any:
        """Read, apply ``fn``, write back (``None`` from fn on an optional item removes it)."""
        new = fn(self._get(key))
        if new is None and self.is_optional:
            current().storage_clear(key)
        else:
            self._put(key, new)
        return new

    def clear_all(self, limit: int | None = None) -> int:
        """Remove every entry under this item's prefix (``clear``/``kill`` for maps)."""
        return current().clear_prefix(self.prefix, limit)


class StorageValue(StorageItem):
    """A single value at ``twox_128(pallet) ++ twox_128(name)``."""

    kind = "value"

    def hashed_key(self) -> bytes:
        return self.prefix

    def get(self) -> Any:
        return self._get(self.prefix)

    def put(self, value: Any) -> None:
        self._put(self.prefix, value)

    def kill(self) -> None:
        current().storage_clear(self.prefix)

    def exists(self) -> bool:
        return current().storage_exists(self.prefix)

    def take(self) -> Any:
        value = self.get()
        self.kill()
        return value

    def mutate(self, fn: Callable[[Any], Any]) -> Any:
        return self._mutate(self.prefix, fn)


class StorageNMap(StorageItem):
    """A map with any number of keys, each with its own hasher (the general case)."""

    kind = "nmap"

    def __init__(
        self,
        keys: Sequence[tuple[str, Codec[Any]]],
        value: Codec[Any],
        default: Any = _MISSING,
        docs: str = "",
    ) -> None:
        super().__init__(value, default, docs)
        for hasher_name, _ in keys:
            if hasher_name not in HASHERS:
                raise FrameError(f"unknown storage hasher {hasher_name!r}")
        self.hasher_names = tuple(h for h, _ in keys)
        self.key_codecs = tuple(c for _, c in keys)
        self._hashers = tuple(HASHERS[h] for h in self.hasher_names)

    def hashed_key(self, *keys: Any) -> bytes:
        if len(keys) != len(self.key_codecs):
            raise FrameError(f"{self.name} takes {len(self.key_codecs)} key(s), got {len(keys)}")
        out = bytearray(self.prefix)
        for hasher, codec, key in zip(self._hashers, self.key_codecs, keys, strict=True):
            out += hasher(codec.encode(key))
        return bytes(out)

    def _prefix_for(self, partial: Sequence[Any]) -> bytes:
        out = bytearray(self.prefix)
        for hasher, codec, key in zip(self._hashers, self.key_codecs, partial, strict=False):
            out += hasher(codec.encode(key))
        return bytes(out)

    def get(self, *keys: Any) -> Any:
        return self._get(self.hashed_key(*keys))

    def insert(self, *keys_and_value: Any) -> None:
        *keys, value = keys_and_value
        self._put(self.hashed_key(*keys), value)

    def remove(self, *keys: Any) -> None:
        current().storage_clear(self.hashed_key(*keys))

    def contains_key(self, *keys: Any) -> bool:
        return current().storage_exists(self.hashed_key(*keys))

    def take(self, *keys: Any) -> Any:
        key = self.hashed_key(*keys)
        value = self._get(key)
        current().storage_clear(key)
        return value

    def mutate(self, *keys_and_fn: Any) -> Any:
        *keys, fn = keys_and_fn
        return self._mutate(self.hashed_key(*keys), fn)

    def _decode_keys(self, raw_key: bytes) -> tuple[Any, ...]:
        """Read the keys back from a full storage key (concat hashers only)."""
        pos = len(self.prefix)
        keys = []
        for hasher_name, codec in zip(self.hasher_names, self.key_codecs, strict=True):
            hash_len = _CONCAT_HASH_LEN.get(hasher_name)
            if hash_len is None:
                raise FrameError(f"{self.name}: cannot iterate keys hashed with {hasher_name}")
            pos += hash_len
            value, pos = codec.decode_at(raw_key, pos)
            keys.append(value)
        return tuple(keys)

    def iter(self, *partial: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
        """``(keys, value)`` for every entry under the (partial) key, in storage-key order."""
        ext = current()
        for raw_key in list(iter_prefix_keys(self._prefix_for(partial))):
            yield self._decode_keys(raw_key), self._decode(raw_key, ext.storage_get(raw_key))

    def iter_keys(self, *partial: Any) -> Iterator[tuple[Any, ...]]:
        for raw_key in list(iter_prefix_keys(self._prefix_for(partial))):
            yield self._decode_keys(raw_key)

    def clear_prefix(self, *partial: Any, limit: int | None = None) -> int:
        return current().clear_prefix(self._prefix_for(partial), limit)


class StorageMap(StorageNMap):
    """``StorageMap<Hasher, Key, Value>``: one key."""

    kind = "map"

    def __init__(
        self,
        hasher: str,
        key: Codec[Any],
        value: Codec[Any],
        default: Any = _MISSING,
        docs: str = "",
    ) -> None:
        super().__init__([(hasher, key)], value, default, docs)

    def iter(self, *partial: Any) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        for keys, value in super().iter(*partial):
            yield keys[0], value

    def iter_keys(self, *partial: Any) -> Iterator[Any]:  # type: ignore[override]
        for keys in super().iter_keys(*partial):
            yield keys[0]


class StorageDoubleMap(StorageNMap):
    """``StorageDoubleMap<Hasher1, Key1, Hasher2, Key2, Value>``."""

    kind = "double_map"

    def __init__(
        self,
        hasher1: str,
        key1: Codec[Any],
        hasher2: str,
        key2: Codec[Any],
        value: Codec[Any],
        default: Any = _MISSING,
        docs: str = "",
    ) -> None:
        super().__init__([(hasher1, key1), (hasher2, key2)], value, default, docs)

    def iter_prefix(self, key1: Any) -> Iterator[tuple[Any, Any]]:
        """``(key2, value)`` for every entry whose first key is ``key1``."""
        for keys, value in super().iter(key1):
            yield keys[1], value


class CountedStorageMap(StorageMap):
    """``CountedStorageMap``: a map plus a ``CounterFor<Name>`` u32 value kept in step."""

    kind = "counted_map"

    @property
    def counter_key(self) -> bytes:
        return twox_128(self.pallet_name.encode()) + twox_128(f"CounterFor{self.name}".encode())

    def count(self) -> int:
        raw = current().storage_get(self.counter_key)
        return 0 if raw is None else U32.decode(raw)

    def _set_count(self, value: int) -> None:
        current().storage_set(self.counter_key, U32.encode(value))

    def insert(self, *keys_and_value: Any) -> None:
        *keys, _ = keys_and_value
        if not self.contains_key(*keys):
            self._set_count(self.count() + 1)
        super().insert(*keys_and_value)

    def remove(self, *keys: Any) -> None:
        if self.contains_key(*keys):
            self._set_count(self.count() - 1)
        super().remove(*keys)

    def take(self, *keys: Any) -> Any:
        existed = self.contains_key(*keys)
        value = super().take(*keys)
        if existed:
            self._set_count(self.count() - 1)
        return value

    def mutate(self, *keys_and_fn: Any) -> Any:
        *keys, _ = keys_and_fn
        existed = self.contains_key(*keys)
        result = super().mutate(*keys_and_fn)
        exists = self.contains_key(*keys)
        if exists != existed:
            self._set_count(self.count() + (1 if exists else -1))
        return result

    def clear_all(self, limit: int | None = None) -> int:
        removed = super().clear_all(limit)
        self._set_count(self.count() - removed)
        return removed
