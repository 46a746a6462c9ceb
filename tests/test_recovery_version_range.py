"""An SQLite version outside the ones the file format holds (``-5``, ``2**40``: a hand edit).
A negative meta version was reported by ``verify`` (not by a store-wide one: the session was not
even listed) while recovery raised ``ValidationError: invalid version -5``; one past
``MAX_VERSION`` passed ``verify`` and recovery while every write then failed with a
``BackendError``. Each read now names the cell, and recovery sets it from the session's rows,
as it does a version that is no number (``memcore.stores.sqlite_cells``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager
from memcore.cli import EXIT_ERROR
from memcore.errors import CorruptedMemoryError
from memcore.recovery import recover_corrupted_memory, verify_store
from memcore.stores.sqlite_schema import MAX_VERSION
from tests.cli_support import run_cli
from tests.test_recovery_cells import _edit, _filled

RULES = [f"lint rule {n} of beta" for n in range(3)]


def _write_and_read(url: str) -> list[str]:
    """Beta's contents after a replica wrote one more item into it."""

    async def work() -> list[str]:
        manager = DistributedMemoryManager(url, replica_id="reader")
        try:
            await manager.sync_session_memory("beta")
            manager.set("beta", "k3", {"content": "lint rule 3 of beta"})
            assert (await manager.sync_session_memory("beta")).success
            return sorted(str(item.content) for item in manager.state("beta").values())
        finally:
            await manager.close()

    return asyncio.run(work())


@pytest.mark.parametrize("bad", [-5, -1, MAX_VERSION + 1, 2**62, 2**63 - 1])
def test_a_version_out_of_range_is_reported_and_set_from_the_rows(
    tmp_path: Path, bad: int, capsys: pytest.CaptureFixture[str]
) -> None:
    url, path = _filled(tmp_path)
    _edit(path, f"UPDATE meta SET version = {bad} WHERE session = 'beta'")
    report = asyncio.run(verify_store(url))
    assert report.corrupted == ("beta",)
    assert f"is {bad}, not a version this file format holds" in report.sessions[1].describe()
    code, out, _ = run_cli(capsys, "verify", "--store", url)
    assert code == EXIT_ERROR
    assert "1 corrupted (beta)" in out
    with pytest.raises(CorruptedMemoryError, match="memcore recover"):
        _write_and_read(url)  # (a sync names the cell and the repair, writing nothing)
    result = recover_corrupted_memory("beta", url)
    assert result.success, result.message
    assert (
        f"its version, {bad}, outside the versions this file format holds (0 to {MAX_VERSION}), "
        "set to 1 (the highest its rows hold)"
    ) in result.message
    assert _write_and_read(url) == [*RULES, "lint rule 3 of beta"]
    assert asyncio.run(verify_store(url)).corrupted == ()


def test_a_version_at_the_last_one_the_format_numbers_is_no_damage(tmp_path: Path) -> None:
    """A session can reach ``MAX_VERSION``: a write then says so, and recovery leaves it."""
    url, path = _filled(tmp_path)
    _edit(path, f"UPDATE meta SET version = {MAX_VERSION} WHERE session = 'beta'")
    result = recover_corrupted_memory("beta", url)
    assert result.success, result.message
    assert "is intact" in result.message


@pytest.mark.parametrize("bad", [-3, MAX_VERSION + 1])
def test_an_item_row_whose_version_is_out_of_range_is_moved_aside(tmp_path: Path, bad: int) -> None:
    """Such a row made recovery raise the session's version to it (every write then failed),
    or hid the item from every replica's delta; it is moved aside and the item rebuilt."""
    url, path = _filled(tmp_path)
    _edit(path, f"UPDATE items SET version = {bad} WHERE session = 'beta' AND key = 'k1'")
    report = asyncio.run(verify_store(url))
    assert report.corrupted == ("beta",)
    assert f"an item version of session 'beta' is {bad}" in report.sessions[1].describe()
    result = recover_corrupted_memory("beta", url)
    assert result.success, result.message
    assert "1 unreadable item row(s) moved to the table damaged_items" in result.message
    assert _write_and_read(url) == [*RULES, "lint rule 3 of beta"]
    assert asyncio.run(verify_store(url)).corrupted == ()
