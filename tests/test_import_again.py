"""``memcore import-claude-code`` of a transcript already imported writes nothing: no new version,
no journal growth, the project's entry and the access log left as they were (as the saving hooks
do for a transcript already saved), whether it skips the unchanged transcript or, ``--reread``,
reads it again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore.claude_code.project import registry_session
from memcore.cli import main
from memcore.stores import open_store
from memcore.transfer import ACCESS_LOG_SESSION
from tests.claude_code_support import DATA
from tests.claude_hooks_support import EARLIER, PROJECT, _place

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


async def _versions(url: str, sessions: list[str]) -> dict[str, tuple[int, int]]:
    """Each session's version and journal length."""
    store = open_store(url)
    try:
        return {s: (await store.version(s), len(await store.read_journal(s))) for s in sessions}
    finally:
        await store.close()


def test_importing_the_same_transcript_again_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript, session = _place(tmp_path, EARLIER[0])
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    watched = [session, registry_session(PROJECT), ACCESS_LOG_SESSION]
    assert main(["import-claude-code", str(transcript), "--store", url]) == 0
    first = asyncio.run(_versions(url, watched))
    assert all(version > 0 for version, _ in first.values())
    capsys.readouterr()
    assert main(["import-claude-code", str(transcript), "--store", url]) == 0
    assert "nothing new to import" in capsys.readouterr().out  # (not even read again)
    assert asyncio.run(_versions(url, watched)) == first
    assert main(["import-claude-code", str(transcript), "--store", url, "--reread"]) == 0
    assert " 0 new or changed " in capsys.readouterr().out  # read again: nothing written
    assert asyncio.run(_versions(url, watched)) == first
