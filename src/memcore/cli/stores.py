"""``memcore inspect``, ``verify``, ``backup`` and ``recover``: look into a store and repair it.

Each takes ``--store URL`` (the default store when absent; the older ``COMMAND URL SESSION`` form
is accepted too). ``inspect`` and ``verify`` only look: they open the store read-only and never
create a store or a session. Every command that names a session fails when it does not exist.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING, TextIO

from memcore.cli._common import (
    EXIT_ERROR,
    Subparsers,
    _add,
    _positive_int,
    _preview,
    add_session_arguments,
    named_session,
    open_existing_store,
    read_state,
    read_states,
    reading_store,
    recover_command,
    run,
    run_reading,
    store_and_session,
    store_label,
    take_unlisted,
    unlisted_problem,
    user_sessions,
)
from memcore.errors import CorruptedMemoryError, NotFoundError
from memcore.frames import FRAME_CODECS
from memcore.model import MemoryItem, RecoveryResult
from memcore.stores import BackupInfo

if TYPE_CHECKING:
    from memcore.recovery import SessionHealth


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    p = _add(
        sub,
        "inspect",
        cmd_inspect,
        "list a store's sessions, or one session's items",
        "List the sessions of a store (the default store when --store is absent), or with a\n"
        "SESSION that session's items. Read-only: nothing is created or changed.",
    )
    add_session_arguments(p, required=False)
    p.add_argument("--limit", type=_positive_int, default=50, help="items to list (default: 50)")

    p = _add(
        sub,
        "verify",
        cmd_verify,
        "check every stored record's checksum",
        "Read every session in the store (or only SESSION) and check each record's checksum\n"
        "and each session's state checksum. Read-only. Exits 1 when anything is corrupted.",
    )
    add_session_arguments(p, required=False)

    p = _add(
        sub,
        "backup",
        cmd_backup,
        "write a compressed, checksummed backup of a session",
        "Snapshot a session (records, version and digest) into a backup kept in the store, then\n"
        "keep only the newest --keep backups. `memcore recover` restores from these.",
    )
    add_session_arguments(p, required=True)
    p.add_argument(
        "--keep", type=_positive_int, default=5, help="backups to keep, newest first (default: 5)"
    )
    p.add_argument(
        "--compact-journal",
        action="store_true",
        help="also drop journal entries every kept backup covers (no journal-only rebuild after)",
    )
    p.add_argument(
        "--codec",
        choices=FRAME_CODECS,
        default="lz4",
        help="the backup's frame: lz4 (fastest, default) or zstd (smaller)",
    )

    p = _add(
        sub,
        "recover",
        cmd_recover,
        "repair a corrupted session from its backup and change journal",
    )
    add_session_arguments(p, required=True)


async def _listing(
    url: str | None,
) -> tuple[list[tuple[str, dict[str, MemoryItem] | None]], int]:
    """Each user session with its items (None: damaged, not read), and how many internal
    sessions were left out."""
    async with reading_store(url) as store:
        every = await store.list_sessions()
        shown = user_sessions(every)
        states = await read_states(store, url, shown, "memcore inspect")
        return [(name, states.get(name)) for name in shown], len(every) - len(shown)


async def _one_session(url: str | None, session: str) -> tuple[str, dict[str, MemoryItem]]:
    """The session ``session`` names (itself, or the one whose id starts with it) and its
    items."""
    async with reading_store(url) as store:
        name = await named_session(store, url, session)
        return name, await read_state(store, url, name)


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    session = store_and_session(args, "memcore inspect", required=False)
    label = store_label(args.store)
    if session is None:
        listing, internal = run_reading(args.store, _listing(args.store))
        hidden = f" (and {internal} of memcore's own)" if internal else ""
        print(f"{label}: {len(listing)} session(s){hidden}", file=out)
        for name, state in listing:
            if state is None:
                repair = recover_command(args.store, name)
                print(f"  {name}: DAMAGED, not read; repair it with `{repair}`", file=out)
                continue
            kinds = Counter(str(i.metadata.get("kind", "-")) for i in state.values())
            # the most common kinds, ties by name: the same whatever order the store reads in
            top = sorted(kinds.items(), key=lambda kind: (-kind[1], kind[0]))[:4]
            listed = ", ".join(f"{k} {n}" for k, n in top)
            print(f"  {name}: {len(state)} items ({listed})", file=out)
        return 0
    session, state = run_reading(args.store, _one_session(args.store, session))
    items = sorted(state.values(), key=lambda item: (item.created_at, item.id))
    from memcore.codec import state_checksum

    print(
        f"{session}: {len(items)} items, state checksum {state_checksum(state):016x} ({label})",
        file=out,
    )
    for item in items[-args.limit :]:
        kind = item.metadata.get("kind", "-")
        print(
            f"  {item.created_at:%Y-%m-%d %H:%M} {item.priority!s:8} {kind!s:11} "
            f"{item.id}  {_preview(item.content, 70)}",
            file=out,
        )
    if len(items) > args.limit:
        print(f"  ({len(items) - args.limit} older items not shown; see --limit)", file=out)
    return 0


async def _verify(url: str | None, session: str | None) -> list[SessionHealth]:
    from memcore.recovery import SessionHealth, verify_session, verify_store

    async with open_existing_store(url) as store:
        if session is not None:
            name = session
            try:
                name = await named_session(store, url, session)
                return [await verify_session(name, store)]
            except CorruptedMemoryError as exc:  # (its version, or a record cell, unreadable)
                await store.list_sessions()  # (a store damaged as a whole: its error, as is)
                take_unlisted(store)  # (a probe: what it left out is no news of this session)
                return [_unreadable(name, exc)]
        reports = list((await verify_store(store)).sessions)
        # a session the store could not list (a Redis key of the wrong type) is damage of its own
        for name, reason in take_unlisted(store).items():
            problem = (unlisted_problem(reason),)
            reports.append(SessionHealth(name, 0, 0, 0, None, None, (), problem))
        return sorted(reports, key=lambda report: report.session_id)


def _unreadable(session: str, exc: CorruptedMemoryError) -> SessionHealth:
    """The report of a session that cannot be read at all, as ``verify_store`` makes it for
    each such session of a store: ``verify SESSION`` says it as the same CORRUPTED line and
    summary (with the command that repairs it), not as a one-line error."""
    from memcore.recovery import SessionHealth

    return SessionHealth(session, 0, 0, 0, None, None, (), (f"unreadable: {exc}",))


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    session = store_and_session(args, "memcore verify", required=False)
    reports = run(_verify(args.store, session))
    bad = 0
    for report in reports:
        bad += not report.ok
        print(f"  {report.session_id}: {report.describe()}", file=out)
    label = store_label(args.store)
    names = [report.session_id for report in reports if not report.ok]
    repair = recover_command(args.store, names[0] if len(names) == 1 else "SESSION")
    print(
        f"{label}: {len(reports)} session(s) checked, "
        + (
            f"{bad} corrupted ({', '.join(names)}): repair "
            f"{'it' if bad == 1 else 'each'} with `{repair}`"
            if bad
            else "all ok"
        ),
        file=out,
    )
    return EXIT_ERROR if bad else 0


async def _backup(args: argparse.Namespace, session: str) -> tuple[str, BackupInfo]:
    from memcore.recovery import create_backup

    async with open_existing_store(args.store, read_only=False) as store:
        session = await named_session(store, args.store, session)
        if await store.version(session) == 0:
            raise NotFoundError(f"session {session!r} holds nothing to back up")
        return session, await create_backup(
            session,
            store,
            keep=args.keep,
            compact_journal=args.compact_journal,
            codec=args.codec,
        )


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    session = store_and_session(args, "memcore backup", required=True)
    assert session is not None
    session, info = run(_backup(args, session))
    print(
        f"backup {info.backup_id} of {session!r}: version {info.version}, "
        f"{info.size:,} bytes, {args.codec} frame (keeping the newest {args.keep})"
        + ("; journal compacted" if args.compact_journal else ""),
        file=out,
    )
    return 0


async def _recover(url: str | None, session: str) -> RecoveryResult:
    from memcore.recovery import arecover_corrupted_memory

    async with open_existing_store(url, read_only=False) as store:
        try:
            name = await named_session(store, url, session)
        except CorruptedMemoryError:  # (there, but too damaged to read: what recovery is for)
            name = session
        return await arecover_corrupted_memory(name, store)


def cmd_recover(args: argparse.Namespace, out: TextIO) -> int:
    session = store_and_session(args, "memcore recover", required=True)
    assert session is not None
    result = run(_recover(args.store, session))
    note = ""
    if result.rebuild_required:
        note = (
            "; rebuilt from the journal"
            if result.success
            else "; no backup could serve and the journal could not rebuild it"
        )
    message = " ".join(result.message.split())  # one line, whatever the engine's check said
    print(
        f"{'recovered' if result.success else 'NOT recovered'}: {message} "
        f"({result.updates_applied} journal updates applied{note})",
        file=out,
    )
    return 0 if result.success else EXIT_ERROR
