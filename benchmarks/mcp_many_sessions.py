"""The MCP server on a project some months old: its memory and its ``recall`` calls.

The project: the main transcripts under PATH (default ``../shared/data/claude-code/``; sub-agent
files left out) saved ``--copies`` times over by the ``session-end`` hook into one project of a
fresh SQLite store, each copy under new session ids and with its records' folders moved into the
project (``--copies 10``: 220 sessions, about 66,000 items). Then a child process serves that
project as ``memcore mcp`` does (:class:`memcore.claude_code.mcp_server.MemoryService`: the
first ``recall`` syncs every session and builds the project's index, the later ones bring it up
to date) and reports each call's time and the process's peak memory (``VmHWM``), which is
what one Claude Code session's server would hold.

Run ``python benchmarks/mcp_many_sessions.py [PATH] [--copies N] [--store-dir DIR]``; a store
already built in ``--store-dir`` is used again. Times are one run's, on whatever the machine is
doing: compare builds side by side, not with figures from another day.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from memcore.claude_code.hooks import run_hook

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "claude-code"
PROJECT = "/srv/project"  # (no such folder here: nothing of the project is looked up on disk)
QUERIES = ("why did the concurrent session warning block prompts", "lint failure", "checkpoint")


def _copy(source: Path, target: Path, session: str) -> None:
    """``source`` as another session of ``PROJECT``: its session ids and folders replaced."""
    text = source.read_text(encoding="utf-8")
    for old in set(re.findall(r'"sessionId":"([0-9a-f-]{36})"', text)):
        text = text.replace(old, session)
    folders = set(re.findall(r'"cwd":"([^"]+)"', text))
    for folder in sorted(folders, key=len, reverse=True):
        text = text.replace(folder, PROJECT)
    target.write_text(text, encoding="utf-8")


def build(data: Path, copies: int, where: Path) -> str:
    """Save the copies into a store in ``where`` (once); its URL."""
    url = f"sqlite:///{where / 'memory.db'}"
    if (where / "memory.db").exists():
        return url
    sources = sorted(p for p in data.glob("*.jsonl") if "agent-" not in p.name)
    started = time.perf_counter()
    number = 0
    for copy in range(copies):
        for source in sources:
            number += 1
            session = f"{copy:08x}-0000-4000-8000-{number:012x}"
            transcript = where / f"{session}.jsonl"
            _copy(source, transcript, session)
            payload = {
                "session_id": session,
                "transcript_path": str(transcript),
                "cwd": PROJECT,
                "hook_event_name": "SessionEnd",
                "reason": "exit",
            }
            err = io.StringIO()
            run_hook("session-end", json.dumps(payload), store_url=url, err=err)
            if err.getvalue():
                raise SystemExit(f"saving {source.name}: {err.getvalue().strip()}")
            transcript.unlink()
    print(f"saved {number} sessions in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return url


def serve(url: str) -> None:
    """The child: the server's work for three ``recall`` calls, then its figures as JSON."""
    from memcore.claude_code.mcp_server import MemoryService
    from memcore.stores import open_store

    async def calls() -> dict[str, object]:
        service = MemoryService(open_store(url), PROJECT)
        times = []
        for query in QUERIES:
            started = time.perf_counter()
            await service.recall(query)
            times.append(round(time.perf_counter() - started, 4))
        figures: dict[str, object] = {
            "sessions": len(await service._project_sessions()),
            "indexed": len(service._recall),
            "recall_s": times,
        }
        await service.close()
        await service.store.close()
        return figures

    figures = asyncio.run(calls())
    status = Path("/proc/self/status").read_text()
    peak = re.search(r"VmHWM:\s+(\d+) kB", status)
    figures["peak_mb"] = round(int(peak.group(1)) / 1024, 1) if peak else None
    print(json.dumps(figures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DATA)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--store-dir", type=Path, default=None)
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)  # (the child)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        where = args.store_dir or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        url = build(args.path, args.copies, where)
        child = subprocess.run(
            [sys.executable, __file__, "--serve", url], capture_output=True, text=True, check=True
        )
        print(child.stdout.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
