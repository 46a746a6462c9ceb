"""``memcore mcp`` as a client meets it: memcore's own error messages, the tools' schemas and
bounds, what recall ranks first, and which project a server started in a subfolder serves."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from memcore import __version__
from memcore.claude_code.commands import normalize_command
from memcore.claude_code.mcp_answers import format_hits
from memcore.claude_code.mcp_server import (
    KINDS,
    MAX_DIGEST_BUDGET,
    MAX_NOTE_CHARS,
    MAX_SESSIONS_SHOWN,
    MIN_DIGEST_BUDGET,
    MemoryService,
    Recalled,
    sessions_text,
)
from memcore.claude_code.project import SessionRecord, registry_key, registry_session
from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem
from memcore.stores import open_store
from tests.claude_code_support import DATA
from tests.claude_hooks_support import PROJECT, _hook, _payload, _place
from tests.test_claude_mcp import is_error, server_params
from tests.test_search_manager import commit_foreign

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")


def _text(result: object) -> str:
    return "\n".join(str(getattr(c, "text", "")) for c in getattr(result, "content", []))


async def test_memcores_errors_reach_the_client_as_its_messages(tmp_path: Path) -> None:
    """A bad argument or a session not of this project is the model's to read and correct:
    it gets memcore's message (not "Error executing tool X"), and the server's stderr gets no
    traceback."""
    pytest.importorskip("mcp")
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    params = server_params(f"sqlite:///{tmp_path / 'memory.db'}", PROJECT)
    calls: list[tuple[str, dict[str, Any], str]] = [
        ("remember", {"content": "   "}, "content must be non-empty text"),
        ("remember", {"content": "x" * (MAX_NOTE_CHARS + 1)}, "more than a note holds"),
        ("recall", {"query": "x", "k": 0}, "k must be a whole number from 1 to 50 (got 0)"),
        ("recall", {"query": "x", "k": 51}, "(got 51)"),
        ("digest", {"budget": 5}, f"from {MIN_DIGEST_BUDGET} to {MAX_DIGEST_BUDGET} (got 5)"),
        ("digest", {"budget": 100_000_000}, "(got 100000000)"),
        ("digest", {"session": "nope"}, "session 'nope' is not part of this project's memory"),
        ("forget", {"id": "nope"}, "no memory 'nope' in this project"),
    ]
    calls += [  # refused by the schema before the tool runs: one line, argument and value
        ("recall", {"query": "x", "k": "abc"}, "recall: bad arguments: k: Input should be a"),
        ("recall", {}, "recall: bad arguments: query: Field required"),
        ("remember", {"content": "x", "kind": "nope"}, "kind: Input should be 'fact'"),
        ("forget", {"id": ["a"]}, "id: Input should be a valid string (got ['a'])"),
    ]
    with (tmp_path / "server.err").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            info = getattr(init, "server_info", None) or getattr(init, "serverInfo", None)
            assert info is not None
            assert info.version == __version__
            for name, arguments, message in calls:
                result = await session.call_tool(name, arguments)
                assert is_error(result), name
                assert message in _text(result), (name, _text(result))
                assert not _text(result).startswith("Error executing tool"), _text(result)
                assert "\n" not in _text(result)
            ok = await session.call_tool("remember", {"content": "`make release` tags."})
            assert not is_error(ok)
    logged = (tmp_path / "server.err").read_text()
    assert "Traceback" not in logged
    assert "unexpected" not in logged
    assert "failed" not in logged  # (the model got each error: the log need not say it again)


async def test_kind_and_priority_are_choices_in_the_schema(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from memcore.claude_code.mcp_server import build_server

    store = open_store("memory://")
    service = MemoryService(store, PROJECT)
    try:
        server = build_server(service)
        tools = {tool.name: tool for tool in await server.list_tools()}
        schema = getattr(tools["remember"], "input_schema", None) or tools["remember"].inputSchema
        properties = schema["properties"]
        assert properties["kind"]["enum"] == list(KINDS)
        assert set(properties["priority"]["enum"]) == {"critical", "high", "normal", "low"}
        described = tools["digest"].description or ""
        assert f"{MIN_DIGEST_BUDGET} to {MAX_DIGEST_BUDGET}" in described
        assert f"at most {MAX_NOTE_CHARS:,} characters" in (tools["remember"].description or "")
    finally:
        await service.close()
        await store.close()


@pytest.fixture
async def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 'memory.db'}")
    service = MemoryService(store, PROJECT)
    yield service
    await service.close()
    await store.close()


async def _file_session(service: MemoryService, session: str, digest: str) -> None:
    """A saved session of the project, as the hooks file it, with one item."""
    record = SessionRecord(session, PROJECT, digest, "2026-01-01T00:00:00")
    service.manager.set(service.registry, registry_key(session), record.to_item())
    service.manager.set(session, "x", MemoryItem("x", "The user asked: fix the cart totals."))
    await service.manager.sync_session_memory(service.registry)
    await service.manager.sync_session_memory(session)


async def test_a_note_longer_than_a_note_holds_is_refused_and_nothing_saved(
    service: MemoryService,
) -> None:
    """A 3,000,000-character note was stored, to be read whole by every recall that hit it: a
    note past ``MAX_NOTE_CHARS`` is refused, naming the limit, so the model says it shorter."""
    whole = await service.remember("  " + "y" * MAX_NOTE_CHARS + "\n")  # (the ends not counted)
    assert len(MemoryItem.coerce(service.manager.get(service.notes, whole)).content) == 4000
    for size in (MAX_NOTE_CHARS + 1, 3_000_000):
        with pytest.raises(ValidationError) as refused:
            await service.remember("z" * size)
        assert str(refused.value) == (
            f"content is {size:,} characters, more than a note holds ({MAX_NOTE_CHARS:,}): "
            "nothing was saved; say it in fewer words, or as several notes"
        )
    assert list(service.manager.state(service.notes)) == [whole]


@pytest.mark.parametrize("budget", [0, 5, MIN_DIGEST_BUDGET - 1, MAX_DIGEST_BUDGET + 1, 10**8])
async def test_digest_budgets_out_of_bounds_are_refused(
    service: MemoryService, budget: int
) -> None:
    await _file_session(service, "s-1", "## What was asked\n- fix the cart")
    with pytest.raises(ValidationError, match=f"got {budget}"):
        await service.digest(budget=budget)
    assert await service.digest(budget=MIN_DIGEST_BUDGET)  # the bounds themselves are fine
    assert await service.digest(budget=MAX_DIGEST_BUDGET)


async def test_forget_needs_an_id(service: MemoryService) -> None:
    with pytest.raises(ValidationError):
        await service.forget("  ")


async def test_a_long_summary_is_cut_at_a_word_and_says_so(service: MemoryService) -> None:
    words = " ".join(f"statement{n:03d}" for n in range(40))
    await _file_session(service, "s-1", f"## What was asked\n- {words}")
    (listed,) = await service.sessions()
    summary = listed["summary"]
    assert len(summary) <= 200
    assert summary.endswith("\u2026")
    kept = summary[:-1]
    assert words.startswith(kept)
    assert words[len(kept)] == " "  # a whole word before the cut
    await _file_session(service, "s-2", "## What was asked\n- fix the cart")
    assert {s["summary"] for s in await service.sessions()} >= {"fix the cart"}  # whole: uncut


async def test_sessions_lists_the_newest_and_counts_the_others(service: MemoryService) -> None:
    """A project some months old has hundreds of sessions, and every line the tool gives is in
    the model's context: the newest ``limit`` are listed, the rest counted."""
    for n in range(5):
        record = SessionRecord(
            f"s-{n}", PROJECT, f"## What was asked\n- task {n}", f"2026-01-0{n + 1}T00:00:00"
        )
        service.manager.set(service.registry, registry_key(f"s-{n}"), record.to_item())
    await service.manager.sync_session_memory(service.registry)
    listed = await service.sessions()
    lines = sessions_text(listed, 2).splitlines()
    assert [line.split(" ")[0] for line in lines[:2]] == ["s-4", "s-3"]
    assert lines[2].startswith("... and 3 older session(s), not listed")
    assert len(sessions_text(listed, 5).splitlines()) == 5
    assert len(sessions_text(listed).splitlines()) == 5  # (fewer than the default)
    for bad in (0, MAX_SESSIONS_SHOWN + 1, True, "3"):
        with pytest.raises(ValidationError, match="limit must be"):
            sessions_text(listed, bad)  # type: ignore[arg-type]
    assert sessions_text([], 3) == "No session of this project has been saved yet."


@needs_data
def test_a_remembered_note_ranks_above_transcript_lines_and_a_command_is_one_hit(
    tmp_path: Path,
) -> None:
    """Sessions of the project ran `mise run lint` dozens of times, with `| tail -20`,
    `2>&1`...: a note remembered about it comes first, and each command comes once whatever
    its plumbing."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    for source in sorted(DATA.glob("entireio__cli__*.jsonl")):
        transcript, session = _place(tmp_path, source.name)
        if _first_cwd(transcript) == PROJECT:
            assert _hook("session-end", _payload("SessionEnd", session, transcript), url)[0] == 0

    async def recall() -> tuple[str, list[Recalled]]:
        store = open_store(url)
        service = MemoryService(store, PROJECT)
        try:
            note = await service.remember(
                "Before committing, run `mise run lint` and `mise run test`; CI rejects lint "
                "errors.",
                kind="preference",
            )
            return note, await service.recall("mise run lint", k=16)
        finally:
            await service.close()
            await store.close()

    note, hits = asyncio.run(recall())
    assert hits[0].id == note
    commands = [
        normalize_command(re.findall(r"`([^`]+)`", hit.content)[0])
        for hit in hits
        if hit.kind == "tool_call" and hit.content.startswith("Run `")
    ]
    assert len(commands) == len(set(commands)) >= 2


def _first_cwd(transcript: Path) -> str | None:
    from memcore.claude_code.discovery import transcript_head

    return transcript_head(transcript).cwd


@needs_data
def test_a_server_started_in_a_subfolder_serves_the_project(tmp_path: Path) -> None:
    """Claude Code started in ``packages/codegen`` of a project whose sessions were saved:
    its MCP server serves that project's memory; one in another project serves nothing."""
    from tests.test_claude_hooks_projects import CHX, CODEGEN, MOVING

    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, session = _place(tmp_path, MOVING, CHX)
    assert _hook("session-end", _payload("SessionEnd", session, transcript, CODEGEN), url)[0] == 0

    async def listed(project: str) -> list[str]:
        store = open_store(url)
        served = MemoryService(store, project)
        try:
            return [s["session"] for s in await served.sessions()]
        finally:
            await served.close()
            await store.close()

    assert asyncio.run(listed(CODEGEN)) == [session]
    assert asyncio.run(listed("/Users/marc/Workspace/chx-fork")) == []
    assert registry_session(CHX) != registry_session(CODEGEN)


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("how do I run the tests", "run tests test"),  # (words under 4 letters kept as they are)
        (
            "which file handles the prepare-commit-msg hook",
            "file files handles handle prepare prepares commit commits msg hook hooks",
        ),
        ("what are the dependencies?", "dependencies dependency"),
        ("what runs the linters", "runs run linters linter lint linte"),  # (an agent's plural)
        ("how do I", "how do"),  # only question words: they are the question
        ("`state_checksum` speed", "state_checksum statechecksum state checksum speed speeds"),
        # verb and agent endings come off, with the letter the ending doubled or dropped
        ("what command runs the linter", "command commands runs run linter lint linte"),
        ("which tests are failing", "tests test failing fail faile"),
        ("who stopped the fixes", "stopped stopp stop fixes fix"),
        ("why was it computed", "computed comput compute"),
    ],
)
def test_a_question_is_looked_for_by_its_words_and_their_other_forms(
    question: str, terms: str
) -> None:
    from memcore.claude_code.recall_rank import question_terms, question_words

    assert question_terms(question) == terms
    # word by word, each with its forms: what is looked for is all of them, in that order
    words = question_words(question)
    assert " ".join(forms for _, forms in words).split() == terms.split()
    assert all(forms.split()[0] == word for word, forms in words)


async def test_a_conclusion_ranks_above_narration_and_thinking_that_match_as_well(
    service: MemoryService,
) -> None:
    """Three transcript lines with the same words: the agent's conclusion (normal priority)
    before its narration and its thinking (imported at low priority); and a question's words
    (``how``, ``the``) do not decide the order."""
    session = "s-1"
    await _file_session(service, session, "## What was asked\n- name the branches")
    meta = {"source": "claude-code"}
    said = "shadow branches are named by the commit hash"
    service.manager.set(
        session,
        "t",
        MemoryItem("t", f"Thinking: {said}.", "low", metadata={**meta, "kind": "thinking"}),
    )
    service.manager.set(
        session,
        "n",
        MemoryItem("n", f"Let me see how {said}.", "low", metadata={**meta, "kind": "fact"}),
    )
    service.manager.set(
        session,
        "c",
        MemoryItem("c", f"Found: {said}.", "normal", metadata={**meta, "kind": "fact"}),
    )
    await service.manager.sync_session_memory(session)
    hits = await service.recall("how are the shadow branches named", k=3)
    assert hits[0].id == "c"
    assert {hit.id for hit in hits[1:]} == {"t", "n"}


async def test_recall_shows_the_calls_an_agent_s_words_led_to(service: MemoryService) -> None:
    """The agent's words say why, the calls after them which file: a hit on the words shows
    both (the import's ``then``), and the tool's text says them on the hit's line."""
    session = "s-1"
    await _file_session(service, session, "## What was asked\n- rename typegen")
    meta = {"source": "claude-code", "kind": "fact", "role": "assistant"}
    then = ["Edit `packages/cli/src/bin/json-output.ts`: `| 'codegen'`"]
    service.manager.set(
        session,
        "n",
        MemoryItem(
            "n", "Now update the command type union.", "low", metadata={**meta, "then": then}
        ),
    )
    await service.manager.sync_session_memory(session)
    hits = await service.recall("where did the command type union change", k=3)
    assert hits[0].id == "n"
    assert hits[0].then == tuple(then)
    shown = format_hits(hits, "where did the command type union change")
    assert shown.splitlines()[0].endswith(
        "Now update the command type union. -> then: "
        "Edit `packages/cli/src/bin/json-output.ts`: `| 'codegen'`"
    )


async def test_recall_says_which_words_of_the_query_nothing_has(service: MemoryService) -> None:
    """ "What is the wingman feature" where no item says "wingman" (in any of its forms) finds
    features in general: the tool says so under the hits, so that they are not taken for an
    answer. A word some item has in another form ("tests" for "test") is not named."""
    session = "s-1"
    await _file_session(service, session, "## What was asked\n- add the export feature")
    meta = {"source": "claude-code", "kind": "fact", "role": "assistant"}
    service.manager.set(
        session, "f", MemoryItem("f", "The export feature has a test.", metadata=meta)
    )
    await service.manager.sync_session_memory(session)
    hits, unmatched = await service.recall_unmatched("what is the wingman feature", k=3)
    assert hits
    assert unmatched == ["wingman"]
    shown = format_hits(hits, "what is the wingman feature", unmatched)
    # (each hit says when: a result of last month may no longer hold)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", hits[0].when)
    assert f"(fact, session s-1, {hits[0].when} UTC): " in shown
    assert shown.endswith(
        '(Nothing searched mentions "wingman": the hits above match the query\'s other words only.)'
    )
    assert (await service.recall_unmatched("which tests has the export feature", k=3))[1] == []
    assert (await service.recall_unmatched("wingman", k=3)) == ([], [])


async def test_digest_takes_the_start_of_a_session_id_and_sessions_say_what_it_was_about(
    service: MemoryService,
) -> None:
    """As the command line does: ``839b`` names the one session whose id starts with it (two
    that start alike are a clear error); and a compacted session's summary in ``sessions`` is
    what was asked, not the line's lead-in."""
    await _file_session(
        service,
        "839b35f7-4dbd",
        "## What was asked\n- Before the compaction (Claude's summary): Fix the cart totals.",
    )
    await _file_session(service, "839c0000-aaaa", "## What was asked\n- fix the checkout")
    assert "cart" in await service.digest(session="839b")
    with pytest.raises(ValidationError, match="starts the ids of 2 sessions"):
        await service.digest(session="839")
    with pytest.raises(NotFoundError):
        await service.digest(session="ffff")
    await _file_session(
        service,
        "a1d04b39-0000",
        '## What was asked\n- Claude Code titled the session "Cart totals in cents".\n- fix it',
    )
    summaries = {s["session"]: s["summary"] for s in await service.sessions()}
    assert summaries["839b35f7-4dbd"] == "Fix the cart totals."
    assert summaries["a1d04b39-0000"] == "Cart totals in cents"  # a title (newer Claude Code)


def test_notes_remembered_through_the_tool_are_notes_in_a_digest() -> None:
    """A remembered shortcut, preference or task is no request the user made in a session:
    a digest of the notes says them as notes ("The user ran the command Run the linter ..."
    and "The latest request is not answered yet: ..." misread them)."""
    from memcore import session_digest

    def note(key: str, text: str, kind: str) -> MemoryItem:
        return MemoryItem(key, text, metadata={"kind": kind, "source": "mcp"})

    digest = session_digest(
        [
            note("a", "Run the linter with `mise run lint`.", "shortcut"),
            note("b", "The user prefers table-driven Go tests.", "preference"),
            note("c", "Port the cart to the new API.", "task"),
            note("d", "Keep amounts in cents, never floats.", "decision"),
            note("e", "Add a test for the empty cart.", "todo"),
        ],
        300,
    )
    # (what was decided is a decision, what is still to do is open: the kinds ``remember`` takes)
    assert digest.text.splitlines() == [
        "## Decisions and results",
        "- Decided: Keep amounts in cents, never floats.",
        "",
        "## Still open",
        "- To do: Add a test for the empty cart.",
        "",
        "## Notes",
        "- Shortcut: Run the linter with `mise run lint`.",
        "- Preference: The user prefers table-driven Go tests.",
        "- Task: Port the cart to the new API.",
    ]


async def test_recall_gives_k_hits_when_runs_of_one_command_fill_the_pool(
    service: MemoryService,
) -> None:
    """Sixty successful runs of one command are one hit (``said_as``), and they filled the
    pool of distinct texts asked of the index: five notes that match too went unshown and
    recall gave one hit for eight asked. The pool grows until ``k`` hits remain once folded,
    or the index has no more."""
    session = "s-1"
    await _file_session(service, session, "## What was asked\n- fix the migrations")
    command = "go test ./pkg/migrate"
    for n in range(60):
        service.manager.set(
            session,
            f"run{n:02d}",
            MemoryItem(
                f"run{n:02d}",
                f"`{command}` succeeded (exit 0): ok migrate {n}.{n}s migrate migrate",
                metadata={
                    "kind": "tool_result",
                    "command": command,
                    "exit_code": 0,
                    "source": "claude-code",
                },
            ),
        )
    await service.manager.sync_session_memory(session)
    notes = [
        await service.remember(f"note {n}: the migrate step {n} needs a lock") for n in range(5)
    ]
    hits = await service.recall("migrate", 8)
    assert len(hits) == 6  # (all there are: one for the runs, and the notes)
    assert {hit.id for hit in hits} >= set(notes)
    assert sum(hit.id.startswith("run") for hit in hits) == 1
    assert len(await service.recall("migrate", 3)) == 3


async def test_recall_shows_a_long_note_at_the_code_name_it_was_found_by(
    service: MemoryService,
) -> None:
    """ "phase active" finds a note by the words of ``TestInitializeSession_SetsPhaseActive``
    (the index's code words): the note, too long to show whole, is shown where that name is,
    from a word's start, not from its first 600 characters."""
    name = "TestInitializeSession_SetsPhaseActive"
    steps = " ".join(f"Step {n}: updated config entry {n} and reran the build." for n in range(20))
    text = f"{steps} Finally, {name} was flaky because the clock ran; froze it."
    await service.remember(text)
    query = "what about phase active"
    hits, unmatched = await service.recall_unmatched(query, 3)
    (line,) = format_hits(hits, query, unmatched).splitlines()
    shown = line.split("): ", 1)[1]
    assert shown.startswith("...")
    body = shown[3:]
    assert text.endswith(body)  # (to the text's end, which has the name)
    assert text[-len(body) - 1] == " "  # (from a word's start)


async def test_recall_leaves_out_a_record_that_is_no_item(service: MemoryService) -> None:
    """A record another program committed to a saved session through the plain store API
    (no memory item) made every ``recall`` of the project a ValidationError: the index, and
    the answer of a user's request read from its session's items, decoded it."""
    session = "s-1"
    await _file_session(service, session, "## What was asked\n- fix the cart")
    meta = {"source": "claude-code", "kind": "task", "role": "user"}
    service.manager.set(session, "t", MemoryItem("t", "please fix the cart totals", metadata=meta))
    await service.manager.sync_session_memory(session)
    await commit_foreign(service.store, session, "raw", {"foo": "cart totals"})
    hits = await service.recall("cart totals", k=5)
    assert {hit.id for hit in hits} == {"t", "x"}
