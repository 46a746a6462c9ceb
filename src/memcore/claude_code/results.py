"""What reading a transcript gives: the :class:`Transcript` and the records it describes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from memcore.model import MemoryItem


@dataclass(frozen=True, slots=True)
class MalformedLine:
    """A line that could not be used, and why."""

    path: Path
    line_no: int
    reason: str


@dataclass(frozen=True, slots=True)
class TokenSample:
    """One assistant API message: the text it generated and the output tokens the API billed.

    The usage is the one Claude Code wrote with the reply's records, which for a streamed reply
    is often taken at its start (1-20 output tokens for a reply of hundreds), and the API bills
    a reply's thinking whole where the transcript keeps a summary of it (``thinking``) or none."""

    message_id: str
    text: str
    output_tokens: int
    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    thinking: bool = False  # the reply thought (a thinking or redacted_thinking block)


#: Characters a token of generated text holds at most, on any plausible text: a reply whose
#: recorded output tokens are fewer than its characters over this was recorded mid-stream.
MAX_CHARS_PER_TOKEN = 8


def comparable(sample: TokenSample) -> bool:
    """Whether a reply's recorded usage can be held against its text: Claude Code often writes a
    streamed reply's usage as it stood at the reply's start (1-20 output tokens for hundreds
    generated: about half the replies of the shared transcripts), and the API bills thinking
    whole where the transcript keeps a summary of it."""
    return (
        sample.output_tokens > 0
        and bool(sample.text)
        and not sample.thinking
        and sample.output_tokens * MAX_CHARS_PER_TOKEN >= len(sample.text)
    )


@dataclass(slots=True)
class Transcript:
    """What one transcript file gave."""

    path: Path
    session_id: str
    agent_id: str | None = None
    items: list[MemoryItem] = field(default_factory=list)
    accesses: list[str] = field(default_factory=list)
    token_samples: list[TokenSample] = field(default_factory=list)
    malformed: list[MalformedLine] = field(default_factory=list)
    skipped_types: Counter[str] = field(default_factory=Counter)
    records: int = 0
    #: The byte offset read up to: the end of the last complete line (a line still being
    #: written is left for the next call with ``start_offset=end_offset``).
    end_offset: int = 0
    #: Items made before ``start_offset`` that the records read now changed (given the stored
    #: items: an error fixed now, the edits that fixed it), as they are now: apart from
    #: ``items``, which are the records read now (their counts are this read's alone).
    amended: list[MemoryItem] = field(default_factory=list)

    @property
    def usage_totals(self) -> dict[str, int]:
        """Summed API token counts over this transcript's assistant messages."""
        return {
            "input_tokens": sum(s.input_tokens for s in self.token_samples),
            "output_tokens": sum(s.output_tokens for s in self.token_samples),
            "cache_read_input_tokens": sum(s.cache_read_input_tokens for s in self.token_samples),
            "cache_creation_input_tokens": sum(
                s.cache_creation_input_tokens for s in self.token_samples
            ),
        }


__all__ = ["MalformedLine", "TokenSample", "Transcript"]
