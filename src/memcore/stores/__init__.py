"""Stores: where sessions live. ``open_store(url)`` picks the backend from the URL's scheme.

* ``memory://``: this process only (tests, single-process replicas);
* ``sqlite:///path/to.db``: the embedded default, safe for many processes on one machine;
* ``redis://[user:password@]host:port/db`` and ``rediss://``: many machines.

With no URL the default is ``sqlite`` at ``$MEMCORE_HOME/memory.db`` (else a per-user data dir).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from memcore.errors import ValidationError
from memcore.stores.base import (
    BackupInfo,
    Delta,
    Entry,
    JournalEntry,
    Snapshot,
    Store,
    decode_entry,
    encode_entry,
    live_digest,
    validate_key,
    validate_session_id,
)


def default_home() -> Path:
    """``$MEMCORE_HOME``, else ``$XDG_DATA_HOME/memcore``, else ``~/.local/share/memcore``."""
    home = os.environ.get("MEMCORE_HOME")
    if home:
        return Path(home).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "memcore"


def default_url() -> str:
    return f"sqlite:///{default_home() / 'memory.db'}"


def open_store(url: str | None = None) -> Store:
    """Open the store a URL names (see the module docstring); ``ValidationError`` if unknown."""
    if url is None:
        url = default_url()
    if not isinstance(url, str):
        raise ValidationError(f"a store URL is a string (got {type(url).__name__})")
    scheme = urlsplit(url).scheme.lower()
    if scheme == "memory":
        from memcore.stores.memory import MemoryStore

        return MemoryStore(url)
    if scheme == "sqlite":
        from memcore.stores.sqlite import SQLiteStore

        return SQLiteStore(url)
    if scheme in ("redis", "rediss"):
        from memcore.stores.redis import RedisStore

        return RedisStore(url)
    raise ValidationError(
        f"unknown store URL {url!r}: use memory://, sqlite:///path or redis://host:port/db"
    )


__all__ = [
    "BackupInfo",
    "Delta",
    "Entry",
    "JournalEntry",
    "Snapshot",
    "Store",
    "decode_entry",
    "default_home",
    "default_url",
    "encode_entry",
    "live_digest",
    "open_store",
    "validate_key",
    "validate_session_id",
]
