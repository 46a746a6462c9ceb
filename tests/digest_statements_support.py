"""What the statement suites share: a user's request and an agent's reply as items, an hour."""

from __future__ import annotations

from datetime import timedelta

from memcore import MemoryItem
from tests.digest_support import T0

HOUR = timedelta(hours=1)


def _asked(request: str) -> MemoryItem:
    meta = {"source": "claude-code", "role": "user", "kind": "task"}
    return MemoryItem("t", request, metadata=meta, created_at=T0)


def _agent(i: int, content: str) -> MemoryItem:
    meta = {"source": "claude-code", "role": "assistant", "kind": "fact"}
    return MemoryItem(f"a{i}", content, metadata=meta, created_at=T0 + timedelta(minutes=i))
