"""``memcore sessions``: the Claude Code sessions memcore saved (by its hooks or
``import-claude-code``), project by project, as session-start and the MCP ``sessions`` tool see
them: when each last did something, its branch and what it was about."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from memcore.cli._parser import Subparsers, _add
from memcore.cli._session_reads import HOW_SESSIONS_ARE_SAVED, warn_skipped
from memcore.cli._store_access import reading_store, run_reading
from memcore.cli._store_arguments import add_store_option, project_folder
from memcore.cli._store_names import recover_command
from memcore.errors import CorruptedMemoryError, NotFoundError

if TYPE_CHECKING:
    from memcore.claude_code.project import SessionRecord

#: The characters of a session id shown: as many as ``memcore digest`` needs to find it (it
#: takes the start of an id when only one session starts with it).
ID_SHOWN = 8
#: The characters of what a session was about, on its line.
SUMMARY_SHOWN = 100
#: Sessions listed per project without ``--all``.
LATEST_SHOWN = 10


def register(sub: Subparsers) -> None:
    """Add ``memcore sessions``."""
    p = _add(
        sub,
        "sessions",
        cmd_sessions,
        "list the Claude Code sessions saved, project by project",
        "List the Claude Code sessions the store holds (saved by memcore's hooks or by\n"
        "import-claude-code), project by project, the latest active first: the start of each\n"
        "session's id (`memcore digest ID` prints its handover note), when it last did\n"
        "something, its branch and what it was about. --project DIR lists only the project a\n"
        "session started in DIR would get the memory of. Read-only: nothing is created.",
    )
    add_store_option(p)
    p.add_argument(
        "--project",
        metavar="DIR",
        help="only the project of this folder (the folder or the nearest above it with memory)",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help=f"every session of each project (default: the {LATEST_SHOWN} latest)",
    )


async def _projects(
    url: str | None,
    folder: str | None,
    damaged: dict[str, list[str]],
    forgotten: dict[str, set[str]],
) -> dict[str, list[SessionRecord]]:
    """The projects to list, each with its sessions; a registry session with damaged records
    is put in ``damaged`` (its sessions are missing from the list: the command says so), and
    the sessions ``memcore forget`` marked in ``forgotten``, by project."""
    from memcore.claude_code.project import registry_session
    from memcore.claude_code.session_list import registry_items, saved_projects
    from memcore.claude_code.session_start import project_registry

    async with reading_store(url) as store:
        if folder is None:
            return await saved_projects(store, damaged, forgotten)
        project, records, marked = await project_registry(store, folder)
        await registry_items(store, registry_session(project), damaged)
        if marked:
            forgotten[project] = marked
        return {project: records} if records else {}


def _unlisted(url: str | None, damaged: dict[str, list[str]], where: str) -> CorruptedMemoryError:
    """Nothing to list because the registry records are damaged: said as such, with the repair
    (not "no session is saved", which would send the user to import them again)."""
    names = list(damaged)
    repair = (
        f"`{recover_command(url, names[0])}`"
        if len(names) == 1
        else f"`{recover_command(url, 'SESSION')}` for each session named above"
    )
    return CorruptedMemoryError(
        f"no Claude Code session of {where} could be listed: the saved list of "
        f"{', '.join(repr(n) for n in names)} is damaged; repair it with {repair}"
    )


def cmd_sessions(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.claude_code.session_list import session_summary
    from memcore.claude_code.session_start import session_time

    folder = None if args.project is None else project_folder(args.project)
    damaged: dict[str, list[str]] = {}
    forgotten: dict[str, set[str]] = {}
    projects = run_reading(args.store, _projects(args.store, folder, damaged, forgotten))
    if not projects and not forgotten:
        where = f"the project of {folder}" if folder else "the store"
        if damaged:
            raise _unlisted(args.store, damaged, where)
        saved = HOW_SESSIONS_ARE_SAVED
        raise NotFoundError(f"no Claude Code session of {where} is saved ({saved})")
    for name, keys in damaged.items():
        warn_skipped("memcore sessions", args.store, name, keys)
    # (a project whose sessions were all forgotten is listed by its marks: --undo needs an id)
    listed = {project: projects.get(project, []) for project in sorted({*projects, *forgotten})}
    for index, (project, records) in enumerate(listed.items()):
        if index:
            print(file=out)
        shown = records if args.all else records[:LATEST_SHOWN]
        more = len(records) - len(shown)
        count = f"{len(records)} session{'s' if len(records) != 1 else ''}"
        print(f"{project} ({count}{f', the {len(shown)} latest shown' if more else ''})", file=out)
        for record in shown:
            branch = f"  [{record.git_branch}]" if record.git_branch else ""
            about = session_summary(record, SUMMARY_SHOWN) or "(no digest yet)"
            print(
                f"  {record.session_id[:ID_SHOWN]}  {session_time(record)}{branch}  {about}",
                file=out,
            )
        if more:
            print(f"  ... and {more} more (--all lists them)", file=out)
        marked = sorted(s[:ID_SHOWN] for s in forgotten.get(project, ()))
        if marked:
            print(
                f"  forgotten: {', '.join(marked)} (`memcore forget --undo ID` lets one be "
                "saved again)",
                file=out,
            )
    return 0
