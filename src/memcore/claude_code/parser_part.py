"""What the mixins of ``RecordParser`` (``SideRecords``, ``ToolRecords``) read and call on it:
declared once here, defined by :class:`memcore.claude_code.record_parser.RecordParser`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memcore.claude_code.results import Transcript
from memcore.model import MemoryItem, Priority


class ParserPart:
    """A part of ``RecordParser``: the state and the methods its parts share."""

    out: Transcript
    root: str | None

    if TYPE_CHECKING:  # defined by RecordParser

        def add(
            self,
            item_id: str,
            kind: str,
            content: str,
            when: datetime,
            meta: dict[str, Any],
            priority: Priority | None = None,
        ) -> MemoryItem | None: ...

        def text(
            self,
            item_id: str,
            kind: str,
            text: str,
            when: datetime,
            meta: dict[str, Any],
            rec: Mapping[str, Any],
        ) -> None: ...


__all__ = ["ParserPart"]
