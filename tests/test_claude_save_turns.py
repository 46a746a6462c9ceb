"""One save of a session at a time (``memcore.claude_code.save_turns``): a save that starts
while another of the same session runs waits for its turn, then reads on from where that one
stopped; a turn held by a stopped process is waited for a bounded time only."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from memcore.access_log import load_access_log
from memcore.claude_code.save_turns import BUCKETS, lock_path, session_turn
from memcore.claude_code.transcripts import parse_transcript
from tests.claude_code_support import DATA
from tests.claude_hooks_support import _hook, _payload, _place, _state

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def test_a_turn_is_one_holder_s_and_a_wait_for_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMCORE_HOME", str(tmp_path / "home"))

    async def check() -> None:
        async with session_turn("s1") as first:
            assert first
            async with session_turn("s1", wait=0.05) as second:
                assert not second  # (held: the wait ended, the block still ran)
        async with session_turn("s1", wait=0.05) as again:
            assert again  # let go with its block

    asyncio.run(check())
    assert lock_path("s1").startswith(str(tmp_path / "home"))
    assert len({lock_path(f"s{n}") for n in range(5000)}) == BUCKETS  # a fixed set of files
    assert oct(os.stat(Path(lock_path("s1")).parent).st_mode & 0o777) == "0o700"


def test_a_save_waits_for_the_turn_of_its_session_then_reads_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save started while another save of the session holds its turn writes nothing until
    the turn is let go; then it saves once: the items and the access log of one import."""
    monkeypatch.setenv("MEMCORE_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, session = _place(tmp_path / "claude", "entireio__cli__839b35f7.jsonl")
    whole = transcript.read_bytes()
    lines = whole.splitlines(keepends=True)
    transcript.write_bytes(b"".join(lines[: len(lines) // 2]))
    assert _hook("stop", _payload("Stop", session, transcript), url)[0] == 0
    half = asyncio.run(_state(url, session))
    transcript.write_bytes(whole)
    holding, release = threading.Event(), threading.Event()

    def hold_the_turn() -> None:
        async def held() -> None:
            async with session_turn(session, wait=5.0) as taken:
                assert taken
                holding.set()
                await asyncio.to_thread(release.wait, 30)

        asyncio.run(held())

    holder = threading.Thread(target=hold_the_turn)
    holder.start()
    assert holding.wait(30)
    saves = [
        threading.Thread(target=_hook, args=("stop", _payload("Stop", session, transcript), url))
        for _ in range(2)
    ]
    for save in saves:
        save.start()
    try:
        saves[0].join(0.5)  # (a save of the second half alone takes a fraction of that)
        assert saves[0].is_alive()  # waiting for the turn (at most ``WAIT``)
        assert asyncio.run(_state(url, session)) == half  # nothing written meanwhile
    finally:
        release.set()
        holder.join(30)
        for save in saves:
            save.join(60)
    single = parse_transcript(_alone(tmp_path, whole))
    stored = asyncio.run(_state(url, session))
    assert {k: v.to_dict() for k, v in stored.items()} == {i.id: i.to_dict() for i in single.items}
    assert asyncio.run(load_access_log(url, session)) == single.accesses


def _alone(tmp_path: Path, whole: bytes) -> Path:
    """The whole transcript at a path of its own, for a parse of it alone."""
    path = tmp_path / "alone" / "session.jsonl"
    path.parent.mkdir()
    path.write_bytes(whole)
    return path
