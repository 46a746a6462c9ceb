"""``memcore inspect``, ``verify``, ``backup`` and ``recover``: look into a store and repair it.

Each takes ``--store URL`` (the default store when absent; the older ``COMMAND URL SESSION`` form
is accepted too). ``inspect`` and ``verify`` only look: they open the store read-only and never
create a store or a session. Every command that names a session fails when it does not exist.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from memcore.cli._exit_codes import EXIT_ERROR
from memcore.cli._parser import Subparsers, _add, _positive_int
from memcore.cli._session_reads import (
    _preview,
    named_session,
    read_state,
    read_states,
    user_sessions,
)
from memcore.cli._store_access import (
    Readable,
    open_existing_store,
    reading_store,
    run,
    run_reading,
    take_unlisted,
    unlisted_problem,
)
from memcore.cli._store_arguments import add_session_arguments, store_and_session
from memcore.cli._store_names import recover_command, store_label
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
    p.add_argument(
        "--deep",
        action="store_true",
        help="also decode every backup and journal entry, what `memcore recover` would need "
        "(reads the whole journal: slower)",
    )

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


@dataclass(frozen=True)
class _Damaged:
    """A session that is there but cannot be read (its version, or a record, unreadable):
    ``inspect SESSION`` reports what it can of it, as ``verify SESSION`` reports it CORRUPTED,
    rather than stopping at a one-line error."""

    name: str
    error: CorruptedMemoryError
    version_unreadable: bool
    backups: list[BackupInfo] | None  # None: they could not be listed either


async def _one_session(
    url: str | None, session: str
) -> tuple[str, dict[str, MemoryItem]] | _Damaged:
    """The session ``session`` names (itself, or the one whose id starts with it) and its
    items, or what could be learnt of it when it cannot be read."""
    async with reading_store(url) as store:
        name = session
        try:
            name = await named_session(store, url, session)
            return name, await read_state(store, url, name)
        except CorruptedMemoryError as exc:
            await store.list_sessions()  # (a store damaged as a whole: its error, as is)
            take_unlisted(store)  # (a probe: what it left out is no news of this session)
            return await _damage(store, name, exc)


async def _damage(store: Readable, name: str, exc: CorruptedMemoryError) -> _Damaged:
    """What a damaged session's other reads still tell: whether its version is what cannot be
    read, and its backups (what ``memcore recover`` would restore from)."""
    try:
        await store.version(name)
        unreadable_version = False
    except CorruptedMemoryError:
        unreadable_version = True
    try:
        backups: list[BackupInfo] | None = await store.list_backups(name)
    except CorruptedMemoryError:
        backups = None
    return _Damaged(name, exc, unreadable_version, backups)


def _say_damaged(damaged: _Damaged, url: str | None, out: TextIO) -> int:
    """``inspect SESSION`` of a session that cannot be read: what it is, what is wrong, what
    ``verify`` and ``recover`` would do; an error (exit 1), as in a listing of the store."""
    name, label = damaged.name, store_label(url)
    part = "its version is unreadable" if damaged.version_unreadable else "its items are unreadable"
    reason = " ".join(str(damaged.error).split())
    print(f"{name}: DAMAGED, not read: {part} ({reason}) ({label})", file=out)
    if damaged.backups is None:
        print("  backups: cannot be listed either", file=out)
    elif damaged.backups:
        latest = max(damaged.backups, key=lambda backup: backup.backup_id)
        print(
            f"  backups: {len(damaged.backups)}, the latest of version {latest.version}", file=out
        )
    else:
        print("  backups: none (a repair has only the change journal to rebuild from)", file=out)
    fix = (
        "first repairs what no read can take (its version), then checks its items against "
        "their kept digest"
        if damaged.version_unreadable
        else "restores the damaged items from a backup and the change journal"
    )
    repair = recover_command(url, name)
    print(
        f"  `memcore verify` reports it CORRUPTED; `{repair}` {fix} (nothing is written "
        "unless the result checks out)",
        file=out,
    )
    print(
        f"memcore inspect: error: session {name!r} is damaged; repair it with `{repair}`",
        file=sys.stderr,
    )
    return EXIT_ERROR


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
    found = run_reading(args.store, _one_session(args.store, session))
    if isinstance(found, _Damaged):
        return _say_damaged(found, args.store, out)
    session, state = found
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


async def _verify(url: str | None, session: str | None, deep: bool) -> list[SessionHealth]:
    from memcore.recovery import SessionHealth, verify_session, verify_store
    from memcore.verification import unreadable_report

    async with open_existing_store(url) as store:
        if session is not None:
            name = session
            try:
                name = await named_session(store, url, session)
                return [await verify_session(name, store, deep=deep)]
            except CorruptedMemoryError as exc:  # (its version, or a record cell, unreadable)
                await store.list_sessions()  # (a store damaged as a whole: its error, as is)
                take_unlisted(store)  # (a probe: what it left out is no news of this session)
                return [unreadable_report(name, exc)]  # (as verify_store says it)
        reports = list((await verify_store(store, deep=deep)).sessions)
        # a session the store could not list (a Redis key of the wrong type) is damage of its own
        for name, reason in take_unlisted(store).items():
            problem = (unlisted_problem(reason),)
            reports.append(SessionHealth(name, 0, 0, 0, None, None, (), problem))
        return sorted(reports, key=lambda report: report.session_id)


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    session = store_and_session(args, "memcore verify", required=False)
    reports = run(_verify(args.store, session, args.deep))
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
