"""``memcore hook EVENT``: what runs inside Claude Code at its lifecycle events.

The saving events (``pre-compact``, ``session-end``, ``stop``) import the session's transcript,
sub-agents included, into the store and refresh the session's entry in its project's registry
(digest, preferences, shortcuts, files). ``session-start`` prints, as Claude Code's hook JSON,
what earlier sessions of the same project learned and the notes remembered for it, and after a
compaction also this session's own digest, within a token budget
(:mod:`memcore.claude_code.session_start`).

A hook sits on the user's critical path and must never break the session: :func:`run_hook`
turns every failure, a bad payload included, into exit status 0, nothing on stdout and one line
on stderr. On an SQLite store it imports asyncio only when it must: session-start reads the store
at once (:mod:`memcore.stores.sqlite_reader`), and a save first reads its registry entry the
same way, to know that nothing is unread or, for a session's first save, to fork a child that
parses a large transcript while this process imports and opens the rest
(:mod:`memcore.claude_code.parse_ahead`). A later save reads on from where the last one stopped,
in this process, beside the session's stored items (:mod:`memcore.claude_code.resume`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TextIO

from memcore.claude_code.forget import deleted_here, is_forgotten
from memcore.claude_code.hook_args import parse_args, plain_args, say
from memcore.claude_code.hook_events import DEFAULT_BUDGET, EVENTS, SAVING_EVENTS
from memcore.claude_code.project import (
    CheckedTranscript,
    ParsedSession,
    SessionRecord,
    check_transcript,
    filing_project,
    merge_files,
    now_text,
    parse_session,
    recount_changes,
    registry_key,
    registry_session,
    session_files,
    summarize_files,
    unchanged_since,
)
from memcore.claude_code.session_record import a_copy_of_less, fresh_record
from memcore.claude_code.stale_entries import pull, refresh_stale_record
from memcore.claude_code.stored_values import item_of, items_of
from memcore.claude_code.worktrees import placed
from memcore.errors import NotFoundError, ValidationError
from memcore.model import MemoryItem
from memcore.stores.sqlite_reader import reads_at_once

if TYPE_CHECKING:
    from memcore.claude_code.hook_start import Missed, Start
    from memcore.claude_code.parse_ahead import ParseAhead


class HookPayload(NamedTuple):
    """The fields of Claude Code's hook JSON that memcore uses."""

    session_id: str
    cwd: str
    transcript_path: str | None
    event: str
    source: str | None = None  # session-start: startup, resume, clear, compact

    @classmethod
    def parse(cls, text: str) -> HookPayload:
        if not text.strip():
            raise ValidationError("the hook payload is empty (Claude Code sends a JSON object)")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"the hook payload is not JSON ({exc.msg})") from exc
        except (ValueError, RecursionError) as exc:
            raise ValidationError(f"the hook payload is not readable JSON ({exc})") from exc
        if not isinstance(data, Mapping):
            raise ValidationError("the hook payload is not a JSON object")

        def text_field(name: str, required: bool) -> str | None:
            value = data.get(name)
            if not isinstance(value, str) or not value:
                if not required:  # (an event that needs it says so: ``locate_session``)
                    return None
                raise ValidationError(f"the hook payload has no {name!r} string")
            return value

        cwd = text_field("cwd", True)
        assert cwd is not None
        if not os.path.isabs(cwd):
            raise ValidationError(f"the hook payload's cwd is not an absolute path: {cwd!r}")
        session_id = text_field("session_id", True)
        assert session_id is not None
        return cls(
            session_id=session_id,
            cwd=cwd,
            transcript_path=text_field("transcript_path", False),
            event=str(data.get("hook_event_name", "")),
            source=text_field("source", False),
        )


class SaveReport(NamedTuple):
    """What a saving hook did."""

    session_id: str
    items_written: int
    items_total: int
    skipped: bool  # the transcript had not changed since the last save


def locate_session(payload: HookPayload) -> tuple[CheckedTranscript, list[Path]]:
    """The payload's session, its project and its transcript files, checked (see
    ``check_transcript``)."""
    if not payload.transcript_path:
        raise ValidationError("the hook payload has no transcript_path to save")
    transcript = Path(os.path.expanduser(payload.transcript_path))
    if not transcript.is_absolute():  # (as the session's own folder has it, not this process's)
        transcript = Path(payload.cwd) / transcript
    checked = check_transcript(transcript, payload.session_id, payload.cwd)
    return checked, session_files(transcript, checked.session_id)


async def save_session(
    payload: HookPayload,
    store: Any,
    *,
    refresh_digest: bool = True,
    ahead: ParseAhead | None = None,
) -> SaveReport:
    """Import the payload's transcript into its session and refresh the project registry.

    Idempotent and incremental: a transcript whose files are as far as the registry says they
    were read is not parsed again; one that grew is read on from where the last save stopped,
    and only new or changed items are written. ``refresh_digest=False`` (the ``stop`` hook,
    after every turn) keeps the stored digest unless the session grew by a tenth since it was
    made; pre-compact and session-end always make it afresh.

    The session is filed under the project its records started in, wherever the agent has
    ``cd``-ed since (see ``check_transcript``); started in a subfolder of a project that has
    memory, under that project (``filing_project``). A copy of the session at another path (a
    checkpoint's ``full.jsonl``, a shorter one) adds what it holds and takes nothing away: the
    entry keeps the files, branch and read offsets it knew.

    ``ahead``: a child process already parsing the transcript (``_look_ahead``), whose parse is
    taken when it was of the offsets the registry gives here (else this parses itself).
    """
    import asyncio

    from memcore.claude_code.save_turns import session_turn

    checked, files = await asyncio.to_thread(locate_session, payload)
    project = await filing_project(store, checked.project)  # (a subfolder: its project's)
    checked = checked._replace(project=project)
    async with session_turn(checked.session_id):  # (one save of a session at a time)
        return await _save_in_turn(checked, files, store, refresh_digest, ahead)


async def _save_in_turn(
    checked: CheckedTranscript,
    files: list[Path],
    store: Any,
    refresh_digest: bool,
    ahead: ParseAhead | None,
) -> SaveReport:
    """``save_session``'s work, in the session's save turn."""
    from memcore.sync import DistributedMemoryManager

    session_id = checked.session_id
    registry = registry_session(checked.project)
    manager = DistributedMemoryManager(storage_backend=store, replica_id=f"hook-{os.getpid()}")
    try:
        await manager.sync_session_memory(registry)
        entry_key = registry_key(session_id)
        # (a value there that is no entry, another program's: read as none, written over)
        held = item_of(manager.get(registry, entry_key), registry, entry_key, by="")
        if held is not None and is_forgotten(held):
            return SaveReport(session_id, 0, 0, True)  # (``memcore forget``: not saved again)
        previous = SessionRecord.from_item(held) if held else None
        # (its items gone while its entry says they were saved: on a cluster they live on
        # another node than the entry, which may lose its data alone; read again, below)
        if unchanged_since(previous, files) and not await _items_lost(store, previous):
            if refresh_digest and previous is not None and previous.needs_digest():
                await _remake_digests(manager, checked, previous)
            return SaveReport(session_id, 0, previous.items if previous else 0, True)
        read_to = previous.read_to if previous else None
        parsed = None
        if ahead is not None and read_to is None:
            from memcore import digest, transfer  # noqa: F401  (imported while the child parses)

            digest.engine()  # (its rules too: compiled, or the Python modules)
            parsed = ahead.result(files, session_id, read_to)
        await manager.sync_session_memory(session_id)
        # the keys held (only an earlier save's entry asks: its items lost, a copy of less)
        held_ids = manager.value_hashes(session_id).keys() if previous is not None else set()
        if read_to and previous is not None and len(held_ids) < previous.items:
            read_to = None  # (its items gone, or some: the part read before is read again too)
        if parsed is None:
            # reading on, the parse learns back from the stored items what it knew before
            stored = _recent_items(manager, session_id) if read_to else None
            parsed = parse_session(files, session_id, read_to, stored)
        if previous is not None and _read_nothing_new(parsed, previous):
            # only touched since (its time changed, not what it holds): nothing to write, not
            # even the entry's new times (a save is idempotent: no new version of anything)
            if refresh_digest and previous.needs_digest():
                await _remake_digests(manager, checked, previous)
            return SaveReport(session_id, 0, previous.items, True)
        written: set[str] = set()  # (an item of two of its files, a copy beside it: one)
        added = 0
        keep_held = bool(files) and a_copy_of_less(
            previous, files[0], (item.id for item in parsed.items), held_ids
        )
        for item in (*parsed.items, *parsed.amended):
            held_item = manager.get(session_id, item.id)
            if held_item is None and deleted_here(manager, session_id, item.id):
                continue  # (a memory forgotten on its own: not saved again)
            if held_item != item and not (keep_held and held_item is not None):
                try:
                    manager.set(session_id, item.id, item)
                except ValidationError:  # (a value no store can hold: that item alone is left
                    continue  # out, refused whole, not every later save of the session)
                written.add(item.id)
                added += held_item is None
        if written:
            await manager.sync_session_memory(session_id)
        # the accesses before the entry, which says how far the transcript was read: written
        # after it, a failed write lost them for good (the next save reads on past them)
        await _save_accesses(store, session_id, parsed, previous)
        record = _session_record(checked, manager, parsed, previous, refresh_digest, added)
        manager.set(registry, registry_key(session_id), record.to_item())
        await manager.sync_session_memory(registry)
        await refresh_stale_record(manager, registry, session_id)
        return SaveReport(session_id, len(written), record.items, False)
    finally:
        await manager.close()


def _read_nothing_new(parsed: ParsedSession, previous: SessionRecord) -> bool:
    """Whether ``parsed``, read on from ``previous``'s offsets, found nothing: no record, and
    each file read to the offset the entry says, at the size it says (only its time changed:
    a file touched, copied back, or a half-written last line still waiting)."""
    if not parsed.incremental or parsed.items or parsed.amended or parsed.accesses:
        return False
    for path, now in parsed.read_to.items():
        before = previous.read_to.get(path)
        if before is None or len(before) != 3 or [before[0], before[2]] != [now[0], now[2]]:
            return False
    return True


async def _items_lost(store: Any, previous: SessionRecord | None) -> bool:
    """Whether the store holds nothing of a session whose entry says items were saved."""
    return (
        previous is not None and previous.items > 0 and not await store.version(previous.session_id)
    )


async def _remake_digests(
    manager: Any, checked: CheckedTranscript, previous: SessionRecord
) -> None:
    """The entry of a session with nothing unread made afresh from its stored items: the last
    ``stop`` kept the digests of an earlier save (see ``SessionRecord.digest_stale``), and a
    session usually ends, or compacts, right after a turn that ``stop`` saved."""
    session_id = checked.session_id
    items = list((await pull(manager, session_id)).values())
    if not items:
        return
    record = fresh_record(
        session_id,
        checked.project,
        items,
        files=placed(recount_changes(previous.files, items), checked.tree),
        read_to=previous.read_to,
        git_branch=previous.git_branch,
    )
    registry = registry_session(checked.project)
    manager.set(registry, registry_key(session_id), record.to_item())
    await manager.sync_session_memory(registry)


def _held_items(manager: Any, session_id: str) -> list[MemoryItem]:
    """The session's items as this replica holds them (just synced); a value that is no
    memory item (another program's, through the plain store API) left out, unsaid: a hook's
    stderr says only its failure."""
    return list(items_of(manager, session_id, by="").values())


def _recent_items(manager: Any, session_id: str) -> list[MemoryItem]:
    """The session's items a save that reads on learns from: the ``RESUME_ITEMS`` written last
    (the whole session but in a very long one, whose every item it would otherwise decode at
    every turn: 20,000 items took a ``stop`` from 0.2 s to 0.5 s); as ``_held_items``."""
    latest = manager.latest(session_id, RESUME_ITEMS).items()
    found = (item_of(value, session_id, key, by="") for key, value in latest)
    return [item for item in found if item is not None]


#: The most stored items a save that reads on learns from, the latest written: a failure still
#: open, a task made or a file first backed up longer ago than this in a very long session is
#: not known to it (see ``memcore.claude_code.resume``).
RESUME_ITEMS = 4000


async def _save_accesses(
    store: Any, session_id: str, parsed: ParsedSession, previous: SessionRecord | None
) -> None:
    """Keep the session's access sequence: appended to after a save read on (from where the
    entry says the transcript was read to: a save killed before its entry, read again, does
    not append twice), replaced after a reading from the start, unless that reading (a
    shorter copy) found less than is kept."""
    from memcore.access_log import load_access_log, save_access_log

    saved = previous is not None
    again = saved and not parsed.incremental
    if again and len(parsed.accesses) <= len(await load_access_log(store, session_id)):
        return
    append = saved and parsed.incremental
    since = json.dumps(previous.read_to, sort_keys=True) if previous is not None else None
    await save_access_log(store, session_id, parsed.accesses, append=append, since=since)


def _session_record(
    checked: CheckedTranscript,
    manager: Any,
    parsed: ParsedSession,
    previous: SessionRecord | None,
    refresh_digest: bool,
    added: int,
) -> SessionRecord:
    """The session's registry entry after this save: digest and knowledge from the whole
    session (or the last save's digest, when it is still recent enough for a ``stop``); the
    files, read offsets and branch of the last save carried over (see ``merge_files``). Files
    of a linked git worktree are named at their place in the main working tree, as the project
    is (``checked.tree``)."""
    project, session_id, tree = checked.project, checked.session_id, checked.tree
    files = placed(summarize_files(parsed.accesses, parsed.items), tree)
    read_to = dict(parsed.read_to)
    if previous is not None:
        files = merge_files(previous.files, files, again=not parsed.incremental)
        read_to = {**previous.read_to, **read_to}
    branch = parsed.git_branch or (previous.git_branch if previous else "")
    if previous is not None and previous.git_branch and not parsed.incremental:
        newest = max((i.created_at for i in parsed.items), default=None)
        if newest is None or newest.isoformat(timespec="seconds") < previous.last_activity:
            branch = previous.git_branch  # an older copy's branch is not where the session is
    keep = (
        previous is not None
        and parsed.incremental
        and not refresh_digest
        and previous.digest
        and len(parsed.items) * 10 < max(previous.digest_items, 1)
    )
    if keep and previous is not None:
        record = dataclasses.replace(
            previous,
            updated_at=now_text(),
            items=previous.items + added,
            files=files,
            read_to=read_to,
            git_branch=branch,
            digest_stale=True,
        )
        newest = max((i.created_at for i in parsed.items), default=None)
        if newest is not None:
            record.last_activity = newest.isoformat(timespec="seconds")
        return record
    items = _held_items(manager, session_id)
    files = placed(recount_changes(files, items), tree)
    return fresh_record(session_id, project, items, files=files, read_to=read_to, git_branch=branch)


def hook_main(argv: Sequence[str]) -> int:
    """``memcore hook EVENT [--store URL] [--budget N]``: the hook's own small command line.

    ``memcore`` sends ``hook`` here before building the rest of its command line, so a hook
    pays for importing only what it uses. A malformed command line still exits 0.
    """
    plain = plain_args(argv)
    if plain is not None:
        event, store, budget_text = plain
    else:  # --help, a mistake, an abbreviation: as argparse reads it
        parsed = parse_args(argv)
        if parsed is None:
            return 0
        event, store, budget_text = parsed
    try:
        budget = int(budget_text)
    except ValueError:
        budget = 0
    if budget <= 0:  # (said as the other commands say it)
        say(
            sys.stderr,
            f"memcore hook: --budget must be a positive whole number (got {budget_text!r})",
        )
        return 0
    from memcore.claude_code.hook_input import read_payload

    try:
        fd: int | None = sys.stdin.fileno()
    except (OSError, ValueError, AttributeError):  # no descriptor (replaced in process; or
        fd = None  # closed, ``<&-``: Python sets sys.stdin None, and the payload is empty)
    try:
        payload = read_payload(fd) if fd is not None else (sys.stdin.read() if sys.stdin else "")
    except (OSError, ValueError) as exc:  # (UnicodeDecodeError among them)
        say(sys.stderr, f"memcore hook {event}: cannot read the payload: {exc}")
        return 0
    return run_hook(event, payload, store_url=store, budget=budget)


def run_hook(
    event: str,
    payload_text: str,
    *,
    store_url: str | None = None,
    budget: int = DEFAULT_BUDGET,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one hook; always returns 0 (a hook never breaks the user's session)."""
    # (None when the process started with its stdout closed, ``>&-``)
    stdout: TextIO | None = out or sys.stdout
    err = err or sys.stderr
    missed: list[Missed] = []
    note = ""  # (session-start: a budget that held none of the project's memory)
    try:
        if event not in EVENTS:
            raise ValidationError(f"unknown hook event {event!r} (one of {', '.join(EVENTS)})")
        payload = HookPayload.parse(payload_text)
        if event == "session-start" and payload.source == "compact":
            _save_compacted(payload, store_url, budget, err)
        if event == "session-start" and reads_at_once(store_url):
            from memcore.claude_code.hook_start import start_at_once

            text, missed, note = start_at_once(payload, store_url, budget)
        else:
            saved, ahead = (
                _look_ahead(payload, store_url, refresh=event != "stop")
                if event in SAVING_EVENTS
                else (False, None)
            )
            if saved:
                return 0  # nothing unread: the registry says the last save read it all
            import asyncio  # (not before: session-start on SQLite, and forking, without it)

            try:
                text, missed, note = asyncio.run(_run(event, payload, store_url, budget, ahead))
            finally:
                if ahead is not None:
                    ahead.cancel()  # (gone already when the save took its parse)
    except Exception as exc:  # a hook must not fail the user's session, whatever went wrong
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        reason = " ".join(text.split()) or type(exc).__name__
        say(err, f"memcore hook {event}: {reason}")
        return 0
    if text:
        try:
            if stdout is None:
                raise ValueError("stdout is closed")
            stdout.write(text)
            stdout.flush()
        except (OSError, ValueError) as exc:  # stdout closed (`| true`): no one reads
            say(err, f"memcore hook {event}: the output was not read ({exc})")
            if stdout is not None and stdout is sys.stdout:
                from memcore.cli import quiet_stdout

                quiet_stdout()
    if note:
        say(err, f"memcore hook {event}: {note}")
    if missed:  # (after the context: it is what Claude Code waits for)
        from memcore.claude_code.catch_up import launch

        if not launch(missed, payload.cwd, store_url):
            say(err, f"memcore hook {event}: could not start saving missed sessions")
    return 0


def _save_compacted(payload: HookPayload, store_url: str | None, budget: int, err: TextIO) -> None:
    """Save the session just compacted before its context is made: Claude Code runs
    ``pre-compact`` before it writes the compaction's boundary and summary, so only a save
    now holds the summary (its pending tasks and next step, which the session's own digest
    says as still open). A failure is said on ``err``; the context is made from what is stored."""
    try:
        saved, ahead = _look_ahead(payload, store_url, refresh=True)
        if saved:
            return
        import asyncio

        try:
            asyncio.run(_run("pre-compact", payload, store_url, budget, ahead))
        finally:
            if ahead is not None:
                ahead.cancel()
    except Exception as exc:  # (the context is still worth giving)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        say(err, f"memcore hook session-start: saving the compacted session failed: {reason}")


def end_process(code: int) -> NoReturn:
    """End the hook's process now, its output flushed, without the interpreter's own exit.

    That exit frees every object and module one by one and runs the atexit handlers: it added
    60-75 ms to a save of a fresh 3 MB transcript (a tenth of the hook's time, on Claude Code's
    critical path; alternated runs) after the hook had finished. A hook leaves nothing for it:
    its stores are closed (their worker threads done, SQLite's files synced as each commit left
    them) before ``hook_main`` returns, and it registers no atexit handler.
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # (None: the process started with it closed)
            with contextlib.suppress(OSError, ValueError):  # closed: what it held has no reader
                stream.flush()
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()  # a user's logging configuration may write to files
    os._exit(code)


async def _run(
    event: str,
    payload: HookPayload,
    store_url: str | None,
    budget: int,
    ahead: ParseAhead | None = None,
) -> Start:
    """What the hook prints, and (session-start) the transcripts to catch up and a note."""
    from memcore.claude_code.hook_start import Start, start_and_missed, start_output
    from memcore.stores import open_store

    if event in SAVING_EVENTS:
        store = open_store(store_url)
        try:
            await save_session(payload, store, refresh_digest=event != "stop", ahead=ahead)
        finally:
            await store.close()
        return Start("", [])
    store = open_store(store_url, read_only=True)  # only looks: never creates a store
    try:
        start = await start_and_missed(payload, store, budget)
    except NotFoundError:  # no store yet: nothing to say, nothing saved to catch up with
        return Start("", [])
    finally:
        await store.close()
    return start._replace(text=start_output(start.text))


def _look_ahead(
    payload: HookPayload, store_url: str | None, *, refresh: bool
) -> tuple[bool, ParseAhead | None]:
    """Before a save imports asyncio: (True, None) when the registry (read at once from an
    SQLite store) says the transcript was read to its end already, so that there is nothing to
    do (for a save that ``refresh``-es the digests, also that they are not older than the
    session's items); else maybe a child parsing a large unread part meanwhile
    (``memcore.claude_code.parse_ahead``). Never raises: whatever fails here, the save finds
    and says as it always has."""
    from memcore.claude_code.parse_ahead import ParseAhead, registry_entry

    if not reads_at_once(store_url):  # (another store's registry is read through the loop)
        return False, None
    try:
        checked, files = locate_session(payload)
        previous = registry_entry(store_url, checked.project, checked.session_id)
        if unchanged_since(previous, files):
            return not (refresh and previous is not None and previous.needs_digest()), None
        if previous is not None:  # reading on: parsed in the save, beside the stored items
            return False, None
        return False, ParseAhead.start(files, checked.session_id, None)
    except Exception:  # (the save reports it, through the store)
        return False, None


__all__ = [
    "DEFAULT_BUDGET",
    "EVENTS",
    "HookPayload",
    "SaveReport",
    "end_process",
    "hook_main",
    "run_hook",
    "save_session",
]
