"""A store URL whose file path no file can have (a NUL byte, a lone surrogate) is refused when
the URL is read, with a ``ValidationError`` naming it, as a bad parameter is: it was taken, and
the first sync failed with a bare ``ValueError: embedded null byte``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager
from memcore.errors import ValidationError
from memcore.stores import check_store_url, open_store
from memcore.stores.sqlite import SQLiteStore, parse_sqlite_url
from memcore.stores.sqlite_reader import SQLiteReader

OPENERS: dict[str, Callable[[str], object]] = {
    "parse_sqlite_url": parse_sqlite_url,
    "check_store_url": check_store_url,
    "open_store": open_store,
    "open_store read-only": lambda url: open_store(url, read_only=True),
    "SQLiteStore": SQLiteStore,
    "SQLiteReader": SQLiteReader,
    "DistributedMemoryManager": DistributedMemoryManager,
}


@pytest.mark.parametrize(
    ("name", "why"),
    [("a\x00b.db", "NUL byte"), ("a\ud800b.db", "cannot be a file name")],
    ids=["NUL", "lone surrogate"],
)
@pytest.mark.parametrize("opener", sorted(OPENERS))
def test_a_path_no_file_can_have_is_refused_when_the_url_is_read(
    tmp_path: Path, opener: str, name: str, why: str
) -> None:
    url = f"sqlite:///{tmp_path}/{name}"
    with pytest.raises(ValidationError, match=why) as caught:
        OPENERS[opener](url)
    assert repr(url) in str(caught.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("option", ["ssl_certfile", "ssl_keyfile", "ssl_ca_certs", "ssl_ca_path"])
def test_a_redis_tls_file_path_with_a_nul_byte_is_refused(option: str) -> None:
    pytest.importorskip("redis")
    url = f"rediss://localhost:6379/0?{option}=/tmp/a%00b.pem"
    with pytest.raises(ValidationError, match=f"{option} is a file's path, and holds a NUL"):
        check_store_url(url)
    with pytest.raises(ValidationError, match=option):
        open_store(url)
