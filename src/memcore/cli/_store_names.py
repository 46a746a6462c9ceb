"""How a command names a store and the repair of one of its sessions to the user: an SQLite
store by its real path, any other by its URL without a password, and the ``memcore recover``
line to run (kept apart from the parser so that error paths can name a store cheaply)."""

from __future__ import annotations

from pathlib import Path

from memcore.errors import ValidationError
from memcore.stores import default_url
from memcore.stores.urls import mask_url


def store_label(url: str | None) -> str:
    """How a store is shown to a user: an SQLite store by its real path (the default one
    included), any other by its URL without a password."""
    resolved = url or default_url()
    if resolved.lower().startswith("sqlite:"):
        from memcore.stores.sqlite_schema import parse_sqlite_url

        try:
            path = parse_sqlite_url(resolved)[0]
        except ValidationError:
            return mask_url(resolved)
        return path if path == ":memory:" else str(Path(path).absolute())
    return mask_url(resolved)


def recover_command(url: str | None, session: str) -> str:
    """The command that repairs ``session`` (``--store`` only when not the default store)."""
    store = "" if url is None else f" --store {mask_url(url)}"
    return f"memcore recover{store} {session}"


def _store_name(url: str | None) -> str:
    return store_label(url)


__all__ = ["_store_name", "recover_command", "store_label"]
