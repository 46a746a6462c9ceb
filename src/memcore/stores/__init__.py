"""Stores: where sessions live. ``open_store(url)`` picks the backend from the URL's scheme.

* ``memory://``: this process only (tests, single-process replicas);
* ``sqlite:///path/to.db``: the embedded default, safe for many processes on one machine;
* ``redis://[user:password@]host:port/db`` and ``rediss://``: many machines;
* ``redis+cluster://[user:password@]host:port[,host:port...]`` and ``rediss+cluster://``:
  Redis Cluster (several nodes: seeds, any that answers will do).

Store URLs are shown to people only through ``mask_url`` (passwords masked).

With no URL the default is ``sqlite`` at ``$MEMCORE_HOME/memory.db`` (else a per-user data dir).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from memcore.errors import ValidationError
from memcore.home import default_home, xdg_data_home
from memcore.stores.base import (
    BackupInfo,
    Delta,
    Entry,
    JournalEntry,
    Snapshot,
    Store,
    decode_entry,
    encode_entry,
    is_store,
    live_digest,
    validate_key,
    validate_session_id,
)
from memcore.stores.urls import mask_url


def default_url() -> str:
    return f"sqlite:///{default_home() / 'memory.db'}"


def open_store(url: str | None = None, *, read_only: bool = False, create: bool = True) -> Store:
    """Open the store a URL names (see the module docstring); ``ValidationError`` if unknown.

    ``read_only=True``: for commands that only look; an SQLite file is opened read-only (it works
    on read-only media) and nothing is ever created: a missing file is a ``NotFoundError``.
    ``create=False``: writable, but a missing SQLite file is a ``NotFoundError`` rather than a
    new empty store. (``memory://`` and Redis have nothing to create: both options only promise
    that memcore itself will not write through a read-only store.)
    """
    if url is None:
        url = default_url()
    scheme = _scheme(url)
    if scheme == "memory":
        from memcore.stores.memory import MemoryStore

        return MemoryStore(url)
    if scheme == "sqlite":
        from memcore.stores.sqlite import SQLiteStore

        return SQLiteStore(url, read_only=read_only, create=create)
    if scheme in ("redis", "rediss", "redis+cluster", "rediss+cluster"):
        from memcore.stores.redis import RedisStore

        return RedisStore(url)
    raise _unknown_scheme(url)


def _scheme(url: object) -> str:
    """The scheme of the store URL ``url``, lower case; ``ValidationError`` for no string, and
    for one Python's URL parser refuses (``redis://[::1``: "Invalid IPv6 URL", a bare
    ``ValueError`` the hooks said as it was), naming the URL (its password masked)."""
    if not isinstance(url, str):
        raise ValidationError(f"a store URL is a string (got {type(url).__name__})")
    try:
        return urlsplit(url).scheme.lower()
    except ValueError as exc:
        raise ValidationError(f"invalid store URL {mask_url(url)!r}: {exc}") from None


def _unknown_scheme(url: str) -> ValidationError:
    return ValidationError(
        f"unknown store URL {mask_url(url)!r}: use memory://, sqlite:///path, "
        "redis://host:port/db or redis+cluster://host:port"
    )


def check_store_url(url: str) -> str:
    """``url`` if it names a store memcore can open (its scheme known, its path and parameters
    well formed), else ``ValidationError``: read, never opened, so nothing is created."""
    scheme = _scheme(url)
    if scheme == "sqlite":
        from memcore.stores.sqlite_urls import parse_sqlite_url

        parse_sqlite_url(url)
    elif scheme in ("redis", "rediss", "redis+cluster", "rediss+cluster"):
        from memcore.stores.redis_urls import parse_redis_url

        parse_redis_url(url)
    elif scheme != "memory":
        raise _unknown_scheme(url)
    return url


def resolve_store(backend: str | Store | None) -> tuple[Store, bool]:
    """``(store, owned)``: a URL (or None, the default) is opened and owned by the caller, who
    must close it; a store object is lent and stays its owner's to close."""
    if backend is None or isinstance(backend, str):
        return open_store(backend), True
    if is_store(backend):
        return backend, False
    raise ValidationError(f"expected a store URL or a Store (got {type(backend).__name__})")


__all__ = [
    "BackupInfo",
    "Delta",
    "Entry",
    "JournalEntry",
    "Snapshot",
    "Store",
    "check_store_url",
    "decode_entry",
    "default_home",
    "default_url",
    "encode_entry",
    "is_store",
    "live_digest",
    "mask_url",
    "open_store",
    "resolve_store",
    "validate_key",
    "validate_session_id",
    "xdg_data_home",
]
