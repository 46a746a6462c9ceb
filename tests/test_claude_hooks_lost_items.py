"""A store that lost a saved session's items but kept its project's list (on a Redis Cluster
the two live on different nodes, and a node restarted without persistence comes back empty):
the list said the transcript was read to its end, so every later save found nothing to read
and the session stayed gone. A save now reads the transcript again from its start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore.stores import open_store
from tests.claude_code_support import DATA
from tests.claude_hooks_support import EARLIER, _hook, _payload, _place, _read_state

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def _lose(url: str, session: str) -> None:
    """The session's items gone from the store, its project's list kept."""

    async def go() -> None:
        store = open_store(url)
        try:
            await store.delete_session(session)
        finally:
            await store.close()

    asyncio.run(go())


@pytest.fixture
def clean(tmp_path: Path) -> dict[str, object]:
    """The items one save of the whole transcript stores."""
    transcript, session = _place(tmp_path / "clean", EARLIER[0])
    url = f"sqlite:///{tmp_path / 'clean.db'}"
    assert _hook("session-end", _payload("SessionEnd", session, transcript), url)[0] == 0
    return {key: item.to_dict() for key, item in _read_state(url, session).items()}


def test_a_transcript_saved_whole_is_saved_again_once_its_items_are_lost(
    tmp_path: Path, clean: dict[str, object]
) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, session = _place(tmp_path, EARLIER[0])
    payload = _payload("SessionEnd", session, transcript)
    assert _hook("session-end", payload, url) == (0, "", "")
    _lose(url, session)
    assert _read_state(url, session) == {}
    stop = _payload("Stop", session, transcript)
    assert _hook("stop", stop, url) == (0, "", "")  # (the transcript has not changed)
    saved = {key: item.to_dict() for key, item in _read_state(url, session).items()}
    assert saved == clean


def test_a_save_reading_on_reads_from_the_start_once_the_part_before_is_lost(
    tmp_path: Path, clean: dict[str, object]
) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, session = _place(tmp_path, EARLIER[0])
    lines = transcript.read_bytes().splitlines(keepends=True)
    transcript.write_bytes(b"".join(lines[: len(lines) // 2]))
    stop = _payload("Stop", session, transcript)
    assert _hook("stop", stop, url) == (0, "", "")
    _lose(url, session)
    transcript.write_bytes(b"".join(lines))
    assert _hook("session-end", _payload("SessionEnd", session, transcript), url) == (0, "", "")
    saved = {key: item.to_dict() for key, item in _read_state(url, session).items()}
    assert saved == clean
