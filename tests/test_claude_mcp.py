"""``memcore mcp``: the project's memory as MCP tools, driven by the official MCP client."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from memcore.claude_code.mcp_server import MemoryService
from memcore.errors import NotFoundError, ValidationError
from memcore.stores import open_store

PROJECT = "/home/alice/shop"


@pytest.fixture
async def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 'memory.db'}")
    service = MemoryService(store, PROJECT)
    yield service
    await service.close()
    await store.close()


async def test_remember_recall_forget(service: MemoryService, tmp_path: Path) -> None:
    first = await service.remember(
        "cart.py rounds totals with round(); the fix is Decimal.quantize.", kind="decision"
    )
    await service.remember("The user prefers pytest -x for quick runs.", kind="preference")
    hits = await service.recall("how are cart totals rounded?")
    assert hits[0].id == first
    assert hits[0].kind == "decision"
    assert await service.recall("kubernetes helm chart") == []
    # another project never sees these notes, through the same store
    other = MemoryService(service.store, "/home/alice/other")
    try:
        assert await other.recall("cart totals rounded") == []
    finally:
        await other.close()
    assert await service.forget(first) == service.notes
    assert all(hit.id != first for hit in await service.recall("cart totals rounded"))
    with pytest.raises(NotFoundError):
        await service.forget(first)


async def _copies_and_texts(service: MemoryService, copies: int, tail: str) -> None:
    """``copies`` keys holding one text, and four different texts, all naming `cart_total`."""
    from memcore import MemoryItem

    mine = {"project": service.project}  # (a note is the project's that names its folder)
    for n in range(copies):
        item = MemoryItem(f"grep-{n}", "Grep `cart_total` found 0", metadata=mine)
        service.manager.set(service.notes, item.id, item)
    for n in range(4):
        await service.remember(f"`cart_total()` rounds case {n} {tail}")
    await service.manager.sync_session_memory(service.notes)


async def test_recall_gives_the_same_words_once(service: MemoryService) -> None:
    """A text stored under several keys (a search repeated) is one hit, and k hits still come
    back when there are k different texts that match."""
    await _copies_and_texts(service, 3, "with Decimal.quantize.")
    hits = await service.recall("cart_total", k=4)
    texts = [" ".join(hit.content.split()) for hit in hits]
    assert len(texts) == len(set(texts)) == 4
    assert texts.count("Grep `cart_total` found 0") == 1


async def test_recall_finds_k_texts_however_many_copies(service: MemoryService) -> None:
    """Copies beyond what the first ask of the index covers still leave k different texts."""
    await _copies_and_texts(service, 40, "with Decimal.quantize and more.")
    texts = [" ".join(hit.content.split()) for hit in await service.recall("cart_total", k=4)]
    assert len(set(texts)) == 4
    assert len(await service.recall("cart_total", k=50)) == 5  # every different text, no more


async def test_the_recall_index_is_kept_and_follows_every_change(
    service: MemoryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's index is built once: a later recall compares no session that did not
    change and decodes only its hits; it finds what another replica wrote, changed or deleted
    since, decoding only those values."""
    from memcore import MemoryItem
    from memcore.sync import DistributedMemoryManager

    await service.remember("cart.py rounds totals with Decimal.quantize.")
    assert [h.content for h in await service.recall("quantize")] == [
        "cart.py rounds totals with Decimal.quantize."
    ]
    compared: list[str] = []
    decoded: list[str] = []
    value_hashes, get = service.manager.value_hashes, service.manager.get

    def counted_hashes(session: str) -> dict[str, int]:
        compared.append(session)
        return value_hashes(session)

    def counted_get(session: str, key: str) -> object:
        decoded.append(key)
        return get(session, key)

    monkeypatch.setattr(service.manager, "value_hashes", counted_hashes)
    monkeypatch.setattr(service.manager, "get", counted_get)
    await service.recall("quantize")
    assert compared == []
    assert len(decoded) == 1  # the hit
    decoded.clear()

    other = DistributedMemoryManager(storage_backend=service.store, replica_id="other")
    try:
        await other.sync_session_memory(service.notes)
        (key,) = other.state(service.notes)
        mine = {"project": service.project}  # (as another server of the project writes them)
        changed = MemoryItem(
            key, "cart.py rounds totals with banker's rounding now.", metadata=mine
        )
        other.set(service.notes, key, changed)
        late = MemoryItem("late", "tax.py adds VAT after quantize.", metadata=mine)
        other.set(service.notes, "late", late)
        await other.sync_session_memory(service.notes)
        hits = await service.recall("quantize")
        assert [h.id for h in hits] == ["late"]
        assert sorted(decoded) == sorted([key, "late", "late"])  # the two changed, the hit
        assert [h.id for h in await service.recall("banker")] == [key]
        other.delete(service.notes, "late")
        await other.sync_session_memory(service.notes)
        assert await service.recall("quantize") == []
        assert compared == [service.notes] * 2  # the changed session, once after each change
    finally:
        await other.close()


async def test_bad_arguments(service: MemoryService) -> None:
    with pytest.raises(ValidationError):
        await service.remember("   ")
    with pytest.raises(ValidationError):
        await service.remember("x", kind="gossip")
    with pytest.raises(ValidationError):
        await service.remember("x", priority="urgent")
    with pytest.raises(ValidationError):
        await service.recall("x", k=0)
    with pytest.raises(NotFoundError):
        await service.recall("x", session="not-this-projects")
    with pytest.raises(NotFoundError):
        await service.digest()  # no session saved yet
    assert await service.sessions() == []


def test_digest_and_sessions_of_saved_claude_code_sessions(tmp_path: Path) -> None:
    from tests.claude_code_support import DATA
    from tests.claude_hooks_support import EARLIER, PROJECT, _hook, _payload, _place

    if not DATA.is_dir():
        pytest.skip("the shared transcripts are not here")
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, session = _place(tmp_path, EARLIER[0])
    assert _hook("session-end", _payload("SessionEnd", session, transcript), url)[1:] == ("", "")

    async def check() -> None:
        store = open_store(url)
        service = MemoryService(store, PROJECT)
        try:
            listed = await service.sessions()
            assert [s["session"] for s in listed] == [session]
            # what the session was about (the digest's first statement), and when it last did
            # something
            summary = listed[0]["summary"]
            # (what was asked; a compacted session's without the lead-in of its digest line)
            assert summary.startswith(("The user ", "Fix error"))
            assert not summary.startswith("Before the compaction")
            assert listed[0]["last_activity"].startswith("2026-")
            text = await service.digest(budget=400)
            assert "## " in text
            hits = await service.recall("hooks_claudecode_handlers.go repository error")
            assert hits
            assert hits[0].session == session
        finally:
            await service.close()
            await store.close()

    asyncio.run(check())


def is_error(result: object) -> bool:
    """``is_error`` on mcp 2, ``isError`` on mcp 1."""
    return bool(getattr(result, "is_error", getattr(result, "isError", False)))


def server_params(url: str, project: str) -> Any:
    """How the official client starts ``memcore mcp`` on ``url`` for ``project`` (needs mcp)."""
    from mcp import StdioServerParameters

    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "memcore", "mcp", "--store", url, "--project", project],
        env=dict(os.environ),
    )


async def test_the_server_over_stdio_with_the_official_client(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    params = server_params(f"sqlite:///{tmp_path / 'memory.db'}", PROJECT)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {"remember", "recall", "forget", "digest", "sessions"}
        assert all(len(tool.description or "") > 80 for tool in tools.values())
        for note in (
            "The billing service retries failed webhooks three times with exponential backoff.",
            "Deploys go through `make release`; never push tags by hand.",
        ):
            result = await session.call_tool("remember", {"content": note, "kind": "fact"})
            assert not is_error(result)
        result = await session.call_tool("recall", {"query": "how often are webhooks retried?"})
        assert not is_error(result)
        text = result.content[0].text  # type: ignore[union-attr]
        assert text.splitlines()[0].endswith(
            "The billing service retries failed webhooks three times with exponential backoff."
        )
        bad = await session.call_tool("remember", {"content": "x", "kind": "gossip"})
        assert is_error(bad)


async def test_a_session_left_out_of_a_refresh_leaves_the_index() -> None:
    from memcore import MemoryItem
    from memcore.claude_code.project_recall import ProjectRecall
    from memcore.sync import DistributedMemoryManager

    manager = DistributedMemoryManager(storage_backend=open_store("memory://"), replica_id="r")
    try:
        manager.set("a", "x", MemoryItem("x", "the cart rounds totals"))
        manager.set("b", "y", MemoryItem("y", "the cart adds tax"))
        manager.set("b", "z", MemoryItem("z", "scaffolding", metadata={"kind": "scaffolding"}))
        recall = ProjectRecall()
        recall.refresh(manager, ["a", "b"])
        assert len(recall) == 2  # Claude Code's scaffolding is never indexed
        assert {(name, item.id) for name, item, _ in recall.search("cart", 5)} == {
            ("a", "x"),
            ("b", "y"),
        }
        recall.refresh(manager, ["a"])
        assert [(name, item.id) for name, item, _ in recall.search("cart", 5)] == [("a", "x")]
        assert len(recall) == 1
    finally:
        await manager.close()


async def test_a_refresh_reindexes_exactly_the_values_that_changed() -> None:
    from memcore import MemoryItem
    from memcore.claude_code.project_recall import ProjectRecall
    from memcore.sync import DistributedMemoryManager

    manager = DistributedMemoryManager(storage_backend=open_store("memory://"), replica_id="r")
    try:
        manager.set("a", "x", MemoryItem("x", "the cart rounds totals"))
        manager.set("a", "y", MemoryItem("y", "the invoice adds tax"))
        recall = ProjectRecall()
        recall.refresh(manager, ["a"])
        manager.set("a", "x", MemoryItem("x", "the basket rounds totals"))  # new words
        manager.set(
            "a", "y", MemoryItem("y", "the invoice adds tax", metadata={"kind": "scaffolding"})
        )
        recall.refresh(manager, ["a"])
        assert recall.search("cart", 5) == []
        assert [item.content for _, item, _ in recall.search("basket", 5)] == [
            "the basket rounds totals"
        ]
        assert recall.search("invoice", 5) == []  # became Claude Code's plumbing: dropped
        assert len(recall) == 1
        other = DistributedMemoryManager(storage_backend=open_store("memory://"), replica_id="s")
        try:  # another replica's refresh starts the index afresh from its own sessions
            other.set("b", "z", MemoryItem("z", "the basket is empty"))
            recall.refresh(other, ["b"])
            assert [(n, i.id) for n, i, _ in recall.search("basket", 5)] == [("b", "z")]
        finally:
            await other.close()
    finally:
        await manager.close()


async def test_a_shared_notes_session_is_indexed_for_its_owner_only() -> None:
    """Folders whose paths differ only in ``/`` and ``-`` share a notes session: each one's
    index holds its own notes, and a hit another folder wrote over since the refresh is not
    shown."""
    from memcore import MemoryItem
    from memcore.claude_code.project_recall import ProjectRecall
    from memcore.sync import DistributedMemoryManager

    def note(text: str, project: str) -> MemoryItem:
        return MemoryItem("note:1", text, metadata={"kind": "fact", "project": project})

    manager = DistributedMemoryManager(storage_backend=open_store("memory://"), replica_id="r")
    try:
        manager.set("notes.-x-a-b", "note:1", note("the cart rounds totals", "/x/a-b"))
        recall = ProjectRecall()
        recall.refresh(manager, ["notes.-x-a-b"], {"notes.-x-a-b": "/x/a/b"})
        assert (len(recall), recall.search("cart", 5)) == (0, [])
        recall.refresh(manager, ["notes.-x-a-b"], {"notes.-x-a-b": "/x/a-b"})  # (its owner's)
        assert [i.content for _, i, _ in recall.search("cart", 5)] == ["the cart rounds totals"]
        manager.set("notes.-x-a-b", "note:1", note("the cart rounds totals", "/x/a/b"))
        assert recall.search("cart", 5) == []  # written over by the other folder, unrefreshed
    finally:
        await manager.close()


async def test_a_code_name_is_found_whatever_its_form_in_the_question(
    service: MemoryService,
) -> None:
    """The index keeps each name whole as it was written, with its words beside it: a
    question naming it in another form (snake_case for CamelCase, CONSTANT_CASE for a
    camelCase name) found nothing."""
    camel = await service.remember("`StripIDEContextTags` drops the IDE's context tags.")
    snake = await service.remember("`shadow_branch_hash_length` is 7 characters.")
    await service.remember("The tests are run with `go test ./...` from the root.")
    for query, wanted in (
        ("strip_ide_context_tags", camel),
        ("which file has StripIDEContextTags", camel),
        ("SHADOW_BRANCH_HASH_LENGTH", snake),
        ("ShadowBranchHashLength", snake),
    ):
        hits = await service.recall(query, k=1)
        assert [hit.id for hit in hits] == [wanted], query


def _saved(tmp_path: Path, lines: list[str]) -> tuple[str, tuple[int, str, str]]:
    """A transcript of ``lines`` saved by the session-end hook into an SQLite store: its URL,
    and what the hook returned."""
    from tests.claude_hooks_support import _hook, _payload
    from tests.test_transcript_agent_records import CWD, SESSION

    transcript = tmp_path / f"{SESSION}.jsonl"
    transcript.write_text("\n".join(lines) + "\n")
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    return url, _hook("session-end", _payload("SessionEnd", SESSION, transcript, CWD), url)


def _recalled(url: str, query: str) -> str:
    """What the MCP ``recall`` tool shows for ``query`` (3 hits) in the project's memory."""
    from memcore.claude_code.mcp_answers import format_hits
    from tests.test_transcript_agent_records import CWD

    async def recall() -> str:
        store = open_store(url)
        service = MemoryService(store, CWD)
        try:
            return format_hits(await service.recall(query, k=3), query)
        finally:
            await service.close()
            await store.close()

    return asyncio.run(recall())


def test_a_failure_recalled_says_the_change_that_fixed_it(tmp_path: Path) -> None:
    """Asked why something failed, recall finds the failure: the answer is its fix, which the
    import linked to it (``fixed_by``) and the hit now says."""
    from tests.test_claude_code_links import _Session
    from tests.test_transcript_agent_records import CWD

    records = _Session()
    records.user("make the warning test pass")
    failing = "go test ./cli/ -run TestSessionWarning -v"
    records.ran(failing, "--- FAIL: TestSessionWarning_Hint (0.1s)\nFAIL", 1)
    records.edited(f"{CWD}/cli/hooks.go", "warn()", "warn(hint)")
    records.ran(failing, "ok  cli 0.3s")
    url, saved = _saved(tmp_path, records.lines)
    assert saved == (0, "", "")
    shown = _recalled(url, "why did TestSessionWarning_Hint fail")
    failure = next(line for line in shown.splitlines() if "FAIL" in line and "(error" in line)
    assert failure.endswith(" -> fixed by: Edit `cli/hooks.go`, changing `warn()`: `warn(hint)`")


def test_a_request_recalled_says_what_the_agent_answered_in_its_turn(tmp_path: Path) -> None:
    """Asked again in the user's words, recall finds the user's request; the answer, in the
    agent's words, is the turn's last conclusion, which the hit now says (not the next turn's)."""
    from tests.test_transcript_agent_records import _Records

    records = _Records()
    records.user("why does every command hang for a second before the prompt returns?")
    records.said("Let me look at the shutdown path.")
    records.said("Found it: `Close()` blocks because a shutdown timeout of 0 waits for ever.")
    records.user("ok, now add a changelog entry")
    records.said("Added the entry to `CHANGELOG.md`.")
    url, saved = _saved(tmp_path, records.lines)
    assert saved[0] == 0
    shown = _recalled(url, "why did every command hang before the prompt")
    request = next(line for line in shown.splitlines() if "(task" in line)
    assert request.endswith(
        " -> answered: Found it: `Close()` blocks because a shutdown timeout of 0 waits for ever."
    )


def test_a_turn_s_answer_is_its_last_conclusion_else_its_last_words() -> None:
    from datetime import datetime, timedelta, timezone

    from memcore import MemoryItem
    from memcore.claude_code.turn_answers import ANSWER_CHARS, turn_answer

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def item(n: int, kind: str, text: str, statement: str | None = None) -> MemoryItem:
        meta = {"kind": kind, "role": "assistant" if kind == "fact" else "user"}
        if statement:
            meta["statement"] = statement
        return MemoryItem(f"i{n}", text, created_at=t0 + timedelta(seconds=n), metadata=meta)

    request = item(0, "task", "why?")
    items = [
        request,
        item(1, "fact", "Because of the cache.", "conclusion"),
        item(2, "fact", "Let me also check the logs.", "narration"),
        item(3, "task", "thanks"),
        item(4, "fact", "You're welcome.", "conclusion"),
    ]
    assert turn_answer(items, request) == "Because of the cache."
    assert turn_answer(items[:1] + items[2:3], request) == "Let me also check the logs."
    assert turn_answer(items[3:], items[3]) == "You're welcome."
    assert turn_answer([request], request) == ""
    long = item(1, "fact", "word " * 200, "conclusion")
    said = turn_answer([request, long], request)
    assert len(said) <= ANSWER_CHARS
    assert said.endswith("word...")


def test_the_digest_of_a_session_whose_items_the_store_lost_says_so(tmp_path: Path) -> None:
    """Its project's list names it and the store holds none of it (a Redis Cluster node that
    came back empty): the digest was an empty text, given as an answer."""
    from tests.claude_code_support import DATA
    from tests.claude_hooks_support import EARLIER, PROJECT, _hook, _payload, _place

    if not DATA.is_dir():
        pytest.skip("the shared transcripts are not here")
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, session = _place(tmp_path, EARLIER[0])
    assert _hook("session-end", _payload("SessionEnd", session, transcript), url)[0] == 0

    async def check() -> None:
        store = open_store(url)
        service = MemoryService(store, PROJECT)
        try:
            await store.delete_session(session)
            with pytest.raises(NotFoundError, match="holds no stored item"):
                await service.digest()
        finally:
            await service.close()
            await store.close()

    asyncio.run(check())
