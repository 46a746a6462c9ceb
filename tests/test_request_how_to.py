"""A long request's sentences past its line that say how the user wants the work done ("Use X
instead of Y", "Run the tests with ..."), through the import and the digest: a label that
introduces context ("Use case:", "Context:", "Background:", "Example:") is no such sentence,
whatever its first word, and one that heads an instruction ("Note:") does not hide it."""

from __future__ import annotations

import pytest

from memcore import session_digest
from tests.test_transcript_agent_records import _Records

#: Enough of a request's own detail to take it past the words its line says.
_FILLER = " ".join(
    f"The exporter handles case number {n} of the notes format quietly." for n in range(20)
)
#: How the user wants the work done: kept, whatever labels come before them.
_HOW = [
    "Use the existing renderer instead of writing a new one.",
    "Run the tests with make check before you finish.",
]


def _asked(*paragraphs: str) -> list[str]:
    """The lines of the digest's "asked" section past the request's own line, of a session
    whose long request ends on ``paragraphs`` and then ``_HOW``."""
    request = "\n\n".join(
        ["Please add a markdown export to the notes app.", _FILLER, *paragraphs, *_HOW]
    )
    work = _Records()
    work.user(request)
    work.said("Done: the export is in.")
    asked = session_digest(work.items(), 4000).sections["asked"].splitlines()
    assert asked[0].startswith("- The user asked: Please add a markdown export")
    return [line.removeprefix("  - ") for line in asked[1:]]


@pytest.mark.parametrize(
    "label",
    [
        "Use case: people who keep their notes in a wiki want a copy they can paste there.",
        "Use cases: a wiki copy of the notes, and a backup in plain text.",
        "use case: a copy for the wiki, pasted by hand.",
        "**Use case:**\n\nPeople who keep their notes in a wiki want a copy.",
        "Run output: the exporter stops after the twelfth note without a message.",
        "Run log:\nnote 12 skipped, note 13 skipped, done.",
    ],
)
def test_a_label_of_context_is_no_instruction_of_how(label: str) -> None:
    """A label that says what the work is for or what was seen is no how-to of the request,
    though "Use case:" starts as "Use X" does and "Run output:" as "Run X" does; the real how-to
    sentences after it are kept."""
    assert _asked(label) == _HOW


def test_an_instruction_under_a_label_is_one_and_context_under_one_is_not() -> None:
    """A label that heads an instruction ("Note:", "Constraints:", a bold heading) is no
    instruction itself, nor does it hide the one after it; under a label of context
    ("Context:", "Background:", "Example:", "For example:") even "use X" is context."""
    asked = _asked(
        "Note: only export the notes the user can read.",
        "**Constraints**: keep the old HTML export working as it is.",
        "Context: we use the print view's HTML as the source.",
        "Background: only admins could export notes until last spring.",
        "Example: run it on a note with two headings and you get two sections.",
        "For example: use a note with a table and a list.",
    )
    assert asked == [
        "Note: only export the notes the user can read.",
        "Constraints: keep the old HTML export working as it is.",
        *_HOW,
    ]


def test_what_is_wrong_is_said_under_a_label_of_context_too() -> None:
    """A label of context does not hide the problem it states: what is wrong is what the work
    is for, whatever heads it."""
    asked = _asked(
        "Use case: the export of a note with a table is broken.",
        "Use case: people paste notes into a wiki.",
    )
    assert asked == ["Use case: the export of a note with a table is broken.", *_HOW]
