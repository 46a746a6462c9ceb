"""What the digest suites share: the real session, the clock, an agent's reply, a compaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from memcore import MemoryItem
from tests.claude_code_support import DATA
from tests.test_transcript_agent_records import _Records

REAL = DATA / "entireio__cli__20b81bf8.jsonl"
needs_data = pytest.mark.skipif(not REAL.is_file(), reason="development transcripts not present")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def _agent(i: int, content: str, **meta: object) -> MemoryItem:
    meta = {"source": "claude-code", "role": "assistant", **meta}
    return MemoryItem(f"a{i}", content, metadata=meta, created_at=T0 + timedelta(minutes=i))


def _compacted(records: _Records, summary: str) -> None:
    """Claude Code's compaction, as it writes it: the summary as a user message."""
    records.user(
        "This session is being continued from a previous conversation that ran out of "
        f"context. {summary}",
        isCompactSummary=True,
    )
