"""The notes remembered for a project at a small session-start budget: one long critical note
is cut at a word to its part of the room, not taken out with every note after it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore.claude_code import hooks
from memcore.claude_code.mcp_server import MemoryService
from memcore.claude_code.session_start import NOTE_LEAST_WORDS
from memcore.stores import open_store
from memcore.tokens import count_tokens
from tests.claude_hooks_support import PROJECT, _context, _hook, _payload

HEADING = "## Remembered for this project"
CRITICAL = "CRITICAL: never push to main directly. " + "word " * 700  # (a note holds 4,000)
LONG_TODOS = [f"todo {i}: fix the frobnicator number {i} " + "detail " * 40 for i in range(30)]
SHORT_TODOS = ["Run `make lint` before a commit.", "Bump the schema version."]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


def _remember(url: str, critical: str, todos: list[str]) -> None:
    async def run() -> None:
        store = open_store(url)
        service = MemoryService(store, PROJECT)
        try:
            await service.remember(critical, kind="fact", priority="critical")
            for todo in todos:
                await service.remember(todo, kind="todo")
        finally:
            await service.close()
            await store.close()

    asyncio.run(run())


def _notes(url: str, budget: int) -> list[str]:
    payload = _payload("SessionStart", "a-new-session", None, source="startup")
    code, out, err = _hook("session-start", payload, url, budget)
    assert (code, err) == (0, "")
    assert out, f"nothing at all told at budget {budget}"
    context = _context(out)
    assert count_tokens(context) <= budget
    return context.split(HEADING + "\n")[1].split("\n\n")[0].splitlines()


@pytest.mark.parametrize("budget", [100, 300])
def test_a_long_critical_note_is_cut_not_dropped(url: str, budget: int) -> None:
    _remember(url, CRITICAL, LONG_TODOS)
    first, *_ = _notes(url, budget)
    assert first.startswith("- CRITICAL: never push to main directly. word")
    assert first.endswith("word\u2026")  # cut after a whole word, and marked


def test_the_notes_after_a_cut_one_that_fit_are_kept(url: str) -> None:
    _remember(url, CRITICAL, SHORT_TODOS)
    notes = _notes(url, 300)
    # critical first, cut to leave room; then the latest first, whole
    assert notes[0].startswith("- CRITICAL: never push to main directly.")
    assert notes[0].endswith("\u2026")
    assert notes[1:] == [f"- {todo}" for todo in reversed(SHORT_TODOS)]


def test_notes_that_fit_are_shown_whole(url: str) -> None:
    short = "CRITICAL: never push to main directly."
    _remember(url, short, SHORT_TODOS)
    assert _notes(url, 300) == [f"- {short}", *(f"- {todo}" for todo in reversed(SHORT_TODOS))]


def test_a_cut_note_says_something_or_is_left_out(url: str) -> None:
    """A room too small for the first words of the note leaves it out, not a stub."""
    _remember(url, CRITICAL, LONG_TODOS)
    for budget in (40, 60, 100, 300, 600):
        payload = _payload("SessionStart", "a-new-session", None, source="startup")
        out = _hook("session-start", payload, url, budget)[1]
        context = _context(out) if out else ""
        assert count_tokens(context) <= budget
        if HEADING in context:
            lines = context.split(HEADING + "\n")[1].splitlines()
            assert all(len(line.split()) > NOTE_LEAST_WORDS for line in lines)


@pytest.mark.parametrize("at_once", [True, False], ids=["sqlite-at-once", "event-loop"])
def test_a_budget_that_holds_none_of_the_memory_says_so_on_stderr(
    url: str, monkeypatch: pytest.MonkeyPatch, at_once: bool
) -> None:
    """The hook told nothing, silently, of a project with memory at ``--budget 5``, where
    ``memcore digest --project`` says why: now one line on stderr (stdout stays empty, exit 0);
    a project with nothing saved still gets no line at all."""
    if not at_once:
        monkeypatch.setattr(hooks, "reads_at_once", lambda _url: False)
    payload = _payload("SessionStart", "a-new-session", None, source="startup")
    elsewhere = _payload("SessionStart", "a-new-session", None, cwd="/other/project")
    assert _hook("session-start", payload, url, 1) == (0, "", "")  # no store yet
    _remember(url, "Run `make lint` before a commit.", [])
    assert _hook("session-start", elsewhere, url, 1) == (0, "", "")  # nothing saved for it
    said = (
        f"memcore hook session-start: a budget of 1 token holds no line of what is saved of the "
        f"project of {PROJECT}: give a larger --budget\n"
    )
    assert _hook("session-start", payload, url, 1) == (0, "", said)
    code, out, err = _hook("session-start", payload, url, 2000)
    assert (code, err) == (0, "")
    assert "make lint" in _context(out)
