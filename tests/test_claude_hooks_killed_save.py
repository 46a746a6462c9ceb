"""A save killed between writing the session's access log and recording how far it read its
transcript: the next save reads the same records again, and must not append their accesses
twice (the log is the prefetcher's and knowledge transfer's training data)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.access_log import load_access_log, save_access_log
from memcore.stores import open_store
from tests.claude_code_support import DATA

TRANSCRIPT = DATA / "entireio__cli__cde341db.jsonl"

#: A hook process that dies (as by SIGKILL: no cleanup) right after its access log is written.
_DIES_AFTER_THE_LOG = """
import os, sys
import memcore.access_log as access_log
real = access_log.save_access_log
async def save_then_die(*args, **kwargs):
    await real(*args, **kwargs)
    os._exit(137)
access_log.save_access_log = save_then_die
from memcore.claude_code.hooks import hook_main
sys.exit(hook_main(["stop"]))
"""


def _session_of(lines: list[bytes]) -> tuple[str, str]:
    for line in lines:
        record = json.loads(line)
        if record.get("sessionId") and record.get("cwd"):
            return str(record["sessionId"]), str(record["cwd"])
    raise AssertionError("no session id")


def _save(home: Path, payload: str, *, dies: bool = False) -> int:
    env = dict(os.environ, MEMCORE_HOME=str(home), MEMCORE_CATCH_UP="0")
    command = (
        [sys.executable, "-c", _DIES_AFTER_THE_LOG]
        if dies
        else [sys.executable, "-m", "memcore", "hook", "stop"]
    )
    done = subprocess.run(
        command, input=payload, text=True, env=env, capture_output=True, timeout=120
    )
    return done.returncode


def _log(home: Path, session: str) -> list[str]:
    async def read() -> list[str]:
        store = open_store(f"sqlite:///{home / 'memory.db'}")
        try:
            return await load_access_log(store, session)
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.mark.skipif(not TRANSCRIPT.exists(), reason="the shared transcripts are not here")
def test_a_save_killed_after_its_access_log_does_not_double_it(tmp_path: Path) -> None:
    lines = TRANSCRIPT.read_bytes().splitlines(keepends=True)
    session, cwd = _session_of(lines)
    transcript = tmp_path / f"{session}.jsonl"
    payload = json.dumps({"session_id": session, "transcript_path": str(transcript), "cwd": cwd})
    transcript.write_bytes(b"".join(lines[:80]))
    assert _save(tmp_path / "home", payload) == 0
    transcript.write_bytes(b"".join(lines))  # the session went on
    assert _save(tmp_path / "home", payload, dies=True) == 137
    assert _save(tmp_path / "home", payload) == 0  # reads the same records again
    assert _save(tmp_path / "home", payload) == 0
    # one save of the whole transcript: the log it keeps
    assert _save(tmp_path / "whole", payload) == 0
    assert _log(tmp_path / "home", session) == _log(tmp_path / "whole", session)


def test_an_append_from_the_same_start_replaces_the_last_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"

    async def run() -> list[list[str]]:
        seen = []
        await save_access_log(url, "s", ["a", "b"], append=False)
        await save_access_log(url, "s", ["c"], since="read to 2")
        seen.append(await load_access_log(url, "s"))
        await save_access_log(url, "s", ["c", "d"], since="read to 2")  # (the same records again)
        seen.append(await load_access_log(url, "s"))
        await save_access_log(url, "s", ["e"], since="read to 4")
        seen.append(await load_access_log(url, "s"))
        await save_access_log(url, "s", ["f"])  # (no start named: appended)
        seen.append(await load_access_log(url, "s"))
        return seen

    assert asyncio.run(run()) == [
        ["a", "b", "c"],
        ["a", "b", "c", "d"],
        ["a", "b", "c", "d", "e"],
        ["a", "b", "c", "d", "e", "f"],
    ]
