"""Load memory on demand: a proxy that loads one item on first use, and a lazy session view.

Long sessions hold tens of thousands of items, and a turn reads a handful. :class:`LazyMemoryProxy`
stands in for one item and calls its loader the first time anything is read from it (exactly
once, even when many threads race to be first). :class:`LazySession` opens a stored session by
reading its records but decoding none of them: an item is checked (XXH64), unpacked and turned
into a ``MemoryItem`` only when it is read.

What the lazy view saves, honestly: the Store protocol has no per-key read, so opening still
fetches every record's bytes (one ``read_snapshot``); what it skips is the per-item work that
dominates a full load (checksum, msgpack decode, building ``MemoryItem``s and their datetimes)
and the memory of the decoded objects (the records stay as compact bytes).
``benchmarks/test_bench_lazy.py`` measures open time against a full load on SQLite and memory://.
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, SupportsIndex, TypeVar

from memcore.errors import CorruptedMemoryError, MemcoreError, NotFoundError, ValidationError
from memcore.model import MemoryItem
from memcore.stores import open_store
from memcore.stores.base import (
    Entry,
    Snapshot,
    Store,
    decode_entry,
    encode_entry,
    is_store,
    validate_session_id,
)

T = TypeVar("T")

_UNSET: Any = object()
_OWN = frozenset({"_item_id", "_loader", "_lock", "_value", "_loading"})


class LazyMemoryProxy(Generic[T]):
    """Stands in for one item; ``loader(item_id)`` runs on first attribute access, once.

    ``item_id`` is a non-empty string, as a ``MemoryItem``'s id (else ``ValidationError``).
    Attribute reads, writes and the common protocols (``str``, ``format``, ``==``, ``len``,
    iteration, ``in``, indexing, truthiness) go to the loaded item, and so does ``hash``: a proxy
    hashes as its item does, so a proxy of an unhashable item is unhashable too (``TypeError``, as
    for the item itself: a ``MemoryItem`` is a mutable dataclass, so no set or dict key; use its
    ``id``). ``repr`` does not load (nor fail, even on a proxy never initialized).
    ``loaded`` and ``item_id`` are the proxy's own (they shadow same-named item attributes; use
    :func:`is_loaded` and :func:`unwrap` where that matters). If the loader raises, its error
    propagates as it is (the loader is the caller's code, and so is what it raises; only a
    ``KeyError`` becomes ``NotFoundError``, which is still one) and the proxy stays unloaded,
    so a later access tries again. A loader that returns a ``MemoryItem`` with another id is a
    ``ValidationError`` (the proxy stays unloaded). The loader must be a plain function:
    attribute access cannot await.

    ``copy.copy`` gives a proxy of the same key and loader (sharing the loaded item, if any);
    ``copy.deepcopy`` one holding a deep copy of the loaded item. Pickling is refused
    (``ValidationError``): a proxy is a loader function and a lock; pickle ``unwrap(proxy)``.
    """

    __slots__ = ("__weakref__", "_item_id", "_loader", "_loading", "_lock", "_value")
    _checks_id = True  # (a LazySession's proxies are by key: see _KeyProxy)

    def __init__(self, item_id: str, loader: Callable[[str], T]) -> None:
        if not isinstance(item_id, str) or not item_id:  # (as MemoryItem checks its id)
            raise ValidationError(f"item id must be a non-empty string (got {item_id!r})")
        if not callable(loader):
            raise ValidationError("loader must be callable: loader(item_id) -> item")
        if inspect.iscoroutinefunction(loader):
            raise ValidationError(
                "loader must be a plain function (attribute access cannot await); load async "
                "items ahead of time, or wrap the coroutine with asyncio.run_coroutine_threadsafe"
            )
        object.__setattr__(self, "_item_id", item_id)
        object.__setattr__(self, "_loader", loader)
        object.__setattr__(self, "_lock", threading.RLock())
        object.__setattr__(self, "_value", _UNSET)
        object.__setattr__(self, "_loading", False)

    # --- loading ---

    def _target(self) -> T:
        value = self._value
        if value is not _UNSET:  # the fast path: loaded, no lock
            return value  # type: ignore[no-any-return]
        with self._lock:
            value = self._value
            if value is not _UNSET:  # another thread loaded it while we waited
                return value  # type: ignore[no-any-return]
            item_id = self._item_id
            if self._loading:
                raise MemcoreError(f"the loader of {item_id!r} read the proxy it is loading")
            object.__setattr__(self, "_loading", True)
            try:
                value = self._loader(item_id)
            except KeyError as exc:  # (the item is missing: said in memcore's terms, still a
                if isinstance(exc, NotFoundError):  # KeyError for code that catches that)
                    raise
                raise NotFoundError(f"no item {item_id!r}: the loader found none ({exc})") from exc
            finally:
                object.__setattr__(self, "_loading", False)
            if value is None:  # (``dict.get``'s way of saying so: an AttributeError later)
                raise NotFoundError(f"no item {item_id!r}: the loader returned None")
            if inspect.isawaitable(value):
                # (a plain function that returns a coroutine: kept, the proxy stood for the
                # coroutine for good, never awaited)
                if inspect.iscoroutine(value):
                    value.close()
                raise ValidationError(
                    f"the loader of {item_id!r} returned an awaitable: a proxy's loader must "
                    "return the item itself (attribute access cannot await)"
                )
            if self._checks_id and isinstance(value, MemoryItem) and value.id != item_id:
                # (a loader keyed wrongly, or reading another session: the proxy would stand
                # for another item under this one's id, silently)
                raise ValidationError(
                    f"the loader of {item_id!r} returned the item {value.id!r}: a proxy stands "
                    "for the item it was made for"
                )
            object.__setattr__(self, "_value", value)
            object.__setattr__(self, "_loader", None)  # drop what the loader closed over
            return value  # type: ignore[no-any-return]

    @property
    def loaded(self) -> bool:
        """Whether the item has been loaded (reading this never loads it)."""
        return self._value is not _UNSET

    @property
    def item_id(self) -> str:
        return self._item_id  # type: ignore[no-any-return]

    # --- copies, and no pickles ---

    def _twin(self, value: Any) -> LazyMemoryProxy[T]:
        twin: LazyMemoryProxy[T] = object.__new__(type(self))
        object.__setattr__(twin, "_item_id", self._item_id)
        object.__setattr__(twin, "_loader", self._loader)  # (None once loaded)
        object.__setattr__(twin, "_lock", threading.RLock())
        object.__setattr__(twin, "_value", value)
        object.__setattr__(twin, "_loading", False)
        return twin

    def __copy__(self) -> LazyMemoryProxy[T]:
        with self._lock:  # (not half-way through a load by another thread)
            return self._twin(self._value)

    def __deepcopy__(self, memo: dict[int, Any]) -> LazyMemoryProxy[T]:
        with self._lock:
            value = self._value
            twin = self._twin(_UNSET)
        memo[id(self)] = twin  # (before the item: it may refer back to its proxy)
        if value is not _UNSET:
            object.__setattr__(twin, "_value", copy.deepcopy(value, memo))
        return twin

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        item_id = getattr(self, "_item_id", None)
        raise ValidationError(
            f"a LazyMemoryProxy ({item_id!r}) cannot be pickled: it holds a loader function and "
            "a lock; pickle the item itself (memcore.lazy.unwrap(proxy))"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__reduce_ex__(2)

    # --- delegation ---

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the proxy itself lacks; its own slots lack a value only in a
        # proxy never initialized (``__new__`` alone): reading them must not load (recursion).
        if name in _OWN:
            raise AttributeError(f"this LazyMemoryProxy was never initialized: no {name!r}")
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            raise AttributeError(f"{name!r} belongs to the proxy")
        setattr(self._target(), name, value)

    def __delattr__(self, name: str) -> None:
        if name in _OWN:
            raise AttributeError(f"{name!r} belongs to the proxy")
        delattr(self._target(), name)

    def __repr__(self) -> str:
        item_id = getattr(self, "_item_id", _UNSET)  # (unset in a proxy never initialized)
        if item_id is _UNSET:
            return "<LazyMemoryProxy (never initialized)>"
        value = getattr(self, "_value", _UNSET)
        if value is _UNSET:
            return f"<LazyMemoryProxy {item_id!r} (not loaded)>"
        return f"<LazyMemoryProxy {item_id!r} loaded: {value!r}>"

    def __str__(self) -> str:
        return str(self._target())

    def __format__(self, spec: str) -> str:
        return format(self._target(), spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyMemoryProxy):
            other = other._target()
        return bool(self._target() == other)

    def __hash__(self) -> int:
        return hash(self._target())

    def __bool__(self) -> bool:
        return bool(self._target())

    def __len__(self) -> int:
        return len(self._target())  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._target())  # type: ignore[call-overload,no-any-return]

    def __contains__(self, item: object) -> bool:
        return item in self._target()  # type: ignore[operator]

    def __getitem__(self, key: Any) -> Any:
        return self._target()[key]  # type: ignore[index]

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._target())) | {"loaded", "item_id"})


class _KeyProxy(LazyMemoryProxy[T]):
    """A :class:`LazyMemoryProxy` of a stored key (``LazySession.proxy``): the record under a key
    is what it stands for, whatever id the item inside says (records written straight to a
    store may differ; the view reads them as they are, and so do its proxies)."""

    __slots__ = ()
    _checks_id = False


def _proxy(proxy: object) -> None:
    if not isinstance(proxy, LazyMemoryProxy):  # (an AttributeError on ``_value`` otherwise)
        raise ValidationError(f"expected a LazyMemoryProxy (got {type(proxy).__name__})")


def is_loaded(proxy: LazyMemoryProxy[Any]) -> bool:
    """Whether ``proxy`` has loaded its item (never loads it; not shadowed by item attributes)."""
    _proxy(proxy)
    return proxy._value is not _UNSET


def unwrap(proxy: LazyMemoryProxy[T]) -> T:
    """The loaded item itself (loading it if needed), e.g. for ``isinstance`` checks."""
    _proxy(proxy)
    return proxy._target()


# --- a lazy view of a stored session -------------------------------------------------------------

# A record's payload is the msgpack map {"v", "t", "r", "d"} (see ``encode_entry``), so its last
# bytes before the 8-byte XXH64 are the "d" key and the deletion flag. Reading them tells a
# tombstone from a live key without decoding. Derived from ``encode_entry`` itself, never copied.
_CHECKSUM_SIZE = 8


def _flag_bytes(record: bytes) -> tuple[int, int, int]:
    """The three bytes before the checksum (indexing bytes makes no new objects)."""
    end = len(record) - _CHECKSUM_SIZE
    if end < 3:
        return (-1, -1, -1)
    return (record[end - 3], record[end - 2], record[end - 1])


_KEY_A, _KEY_B, _LIVE_FLAG = _flag_bytes(encode_entry(Entry({"x": 1}, 1, "r", False)))
_TOMBSTONE_FLAG = _flag_bytes(encode_entry(Entry(None, 1, "r", True)))[2]
_PEEK_OK = (
    _LIVE_FLAG != _TOMBSTONE_FLAG
    and _flag_bytes(encode_entry(Entry(None, 1, "r", True)))[:2] == (_KEY_A, _KEY_B)
    and _flag_bytes(encode_entry(Entry("another", 2**40, "replica-2", False)))
    == (_KEY_A, _KEY_B, _LIVE_FLAG)
)


class LazySession(Mapping[str, Any]):
    """A read-only mapping of one stored session's live items, each decoded on first read.

    Opening (:meth:`open`) reads the session's records and decodes none; ``len``, iteration and
    ``in`` use each record's trailing deletion flag, so they need no decoding either. Reading an
    item checks its XXH64 and decodes it (``CorruptedMemoryError`` if the bytes are bad) and keeps
    the result; a bad record never stops the open, only its own read. A key that is deleted (a
    tombstone) or absent raises ``NotFoundError`` (a ``KeyError``). The view is a snapshot: later
    writes to the store are not seen. Safe to read from several threads (a race may decode one
    item twice; both results are equal).
    """

    def __init__(self, session_id: str, snapshot: Snapshot) -> None:
        self.session_id = validate_session_id(session_id)
        if not isinstance(snapshot, Snapshot):
            raise ValidationError(
                f"a LazySession reads a Snapshot (got {type(snapshot).__name__}): "
                "use LazySession.open(store, session_id)"
            )
        self.version = snapshot.version
        self.digest = snapshot.digest
        self._records: dict[str, bytes] = {}
        self._decoded: dict[str, Any] = {}
        records = self._records
        key_a, key_b, live = _KEY_A, _KEY_B, _LIVE_FLAG
        for key, record in snapshot.records.items():
            end = len(record) - _CHECKSUM_SIZE
            if _PEEK_OK and end >= 3 and record[end - 3] == key_a and record[end - 2] == key_b:
                flag = record[end - 1]
                if flag == live:
                    records[key] = record
                    continue
            # a tombstone (few, and short) or an unexpected layout: decoded now, checksum and
            # all, so that a live record whose flag byte was flipped is not dropped unseen
            try:
                entry = decode_entry(record)
            except CorruptedMemoryError:
                records[key] = record  # listed; reading it raises, like any corrupt record
                continue
            if not entry.deleted:
                records[key] = record
                self._decoded[key] = entry.value

    @classmethod
    async def open(cls, store: Store | str | None, session_id: str) -> LazySession:
        """Read the session's records from ``store`` (one snapshot read), decoding none.

        ``store``: an open store (left open), or a URL (None: the default store) opened
        read-only for the read and closed after it; a URL naming no store is a
        ``NotFoundError``, never a new one.
        """
        validate_session_id(session_id)
        if store is None or isinstance(store, str):
            opened = open_store(store, read_only=True)
            try:
                return cls(session_id, await opened.read_snapshot(session_id))
            finally:
                await opened.close()
        if not is_store(store):
            raise ValidationError(f"expected a store URL or a Store (got {type(store).__name__})")
        return cls(session_id, await store.read_snapshot(session_id))

    def _record(self, key: object) -> bytes | None:
        """The record under ``key``; None for a key that is no str (no item has it: a list
        was a ``TypeError`` of the dict, where ``get`` should give its default)."""
        return self._records.get(key) if isinstance(key, str) else None

    def __getitem__(self, key: str) -> Any:
        if isinstance(key, str):
            try:
                return self._decoded[key]
            except KeyError:
                pass
        record = self._record(key)
        if record is None:
            raise NotFoundError(f"no item {key!r} in session {self.session_id!r}")
        entry = decode_entry(record)
        if entry.deleted:  # the flag peek said live; trust the checked decode
            raise NotFoundError(f"item {key!r} in session {self.session_id!r} is deleted")
        self._decoded[key] = entry.value
        return entry.value

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._records

    def entry(self, key: str) -> Entry:
        """The whole decoded entry (value, HLC stamp, writing replica); not cached."""
        record = self._record(key)
        if record is None:
            raise NotFoundError(f"no item {key!r} in session {self.session_id!r}")
        return decode_entry(record)

    def proxy(self, key: str) -> LazyMemoryProxy[Any]:
        """A :class:`LazyMemoryProxy` for ``key`` that reads through this view."""
        if key not in self:
            raise NotFoundError(f"no item {key!r} in session {self.session_id!r}")
        return _KeyProxy(key, self.__getitem__)

    @property
    def decoded_count(self) -> int:
        """How many items have been decoded so far."""
        return len(self._decoded)

    def release(self, key: str | None = None) -> None:
        """Drop decoded items (one, or all) to give their memory back; they decode again later."""
        if key is None:
            self._decoded.clear()
        elif isinstance(key, str):
            self._decoded.pop(key, None)

    def __repr__(self) -> str:
        return (
            f"<LazySession {self.session_id!r} version={self.version} items={len(self)} "
            f"decoded={self.decoded_count}>"
        )


__all__ = ["LazyMemoryProxy", "LazySession", "is_loaded", "unwrap"]
