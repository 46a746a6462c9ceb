"""``memcore hook``, ``mcp``, ``install-claude-code`` and ``uninstall-claude-code``: memcore
inside Claude Code."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from memcore.cli._parser import Subparsers, _add
from memcore.cli._store_arguments import DEFAULT_STORE_HELP, store_url
from memcore.errors import MemcoreError, ValidationError
from memcore.install_hints import pip_command

if TYPE_CHECKING:
    from memcore.claude_code.install import FileChange


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    from memcore.claude_code.hook_events import DEFAULT_BUDGET, HOOK_HELP

    # listed here; ``main`` hands ``memcore hook ...`` to ``hook_main`` (its own small parser,
    # with the options) before this parser is built, to keep a hook's imports few
    p = _add(
        sub,
        "hook",
        cmd_hook,
        "run as a Claude Code hook (reads the hook's JSON on stdin)",
        HOOK_HELP,
    )
    p.add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        help=f"EVENT [--store URL] [--budget N] (N: tokens session-start may add, "
        f"default {DEFAULT_BUDGET})",
    )

    p = _add(
        sub,
        "mcp",
        cmd_mcp,
        "serve the project's memory to Claude Code as MCP tools (stdio)",
        "An MCP server over stdio with the tools remember, recall, forget, digest and sessions,\n"
        "acting on one project's memory ($CLAUDE_PROJECT_DIR, else the working folder, named\n"
        "as the shell names it: $PWD when it is that folder, a linked folder's own path). Needs\n"
        "the optional `mcp` package (the [mcp] extra).",
    )
    p.add_argument("--store", metavar="URL", type=store_url, help=DEFAULT_STORE_HELP)
    p.add_argument("--project", metavar="PATH", help="the project folder (default: see above)")

    for install in (True, False):
        name = "install-claude-code" if install else "uninstall-claude-code"
        summary = (
            "add memcore's hooks and MCP server to Claude Code's settings"
            if install
            else "remove exactly what install-claude-code added"
        )
        p = _add(
            sub,
            name,
            cmd_install if install else cmd_uninstall,
            summary,
            f"{summary[:1].upper()}{summary[1:]}.\nUser scope: ~/.claude/settings.json and "
            "~/.claude.json (both in $CLAUDE_CONFIG_DIR when set);\nproject scope: "
            ".claude/settings.json and .mcp.json in the working folder.\nEverything else in "
            "those files is kept, and so is an entry install did not write\n(another memcore's "
            "hook, another server named memcore): it is said, and left alone.\n"
            + (
                "--replace puts memcore's in its place.\n"
                "A file of the user's is backed up (<name>.memcore-backup; an existing backup\n"
                "is never overwritten: the next is <name>.memcore-backup.2) before it changes.\n"
                "memcore's own entries (this environment's memcore, by absolute path) that you\n"
                "edited since are kept as they are; only missing ones are added."
                if install
                else "memcore's own entries go, edited or not; a file still as install left it\n"
                "gets its backup back, byte for byte. A backup holding nothing the file left\n"
                "lacks goes; any other is named, for you to compare."
            ),
        )
        p.add_argument(
            "--scope",
            choices=("user", "project"),
            default="user",
            help="user: every project of this user (default); project: the working folder's",
        )
        p.add_argument(
            "--settings", metavar="PATH", type=_json_path, help="Claude Code's settings JSON file"
        )
        p.add_argument(
            "--mcp-config", metavar="PATH", type=_json_path, help="the MCP servers' JSON file"
        )
        p.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
        if install:
            p.add_argument("--store", metavar="URL", type=store_url, help=DEFAULT_STORE_HELP)
            p.add_argument(
                "--replace",
                action="store_true",
                help="put memcore's hooks and server in place of entries install did not write "
                "(another memcore's hook, another server named memcore) and of its own entries "
                "changed since; without it those are kept, and said",
            )


def _json_path(text: str) -> str:
    """An argparse type: a settings file's path (an empty one names no file: it is not taken
    for the default's)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file")
    return text


def cmd_hook(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.claude_code.hooks import hook_main

    return hook_main(args.argv)


def cmd_mcp(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    if sys.stdin is None:  # (`<&-`: Python's stdin is then None; the server would read it)
        raise ValidationError(
            "stdin is closed: `memcore mcp` reads Claude Code's requests from stdin "
            "(Claude Code starts it with a pipe: see `memcore install-claude-code`)"
        )

    from memcore.claude_code.mcp_server import mcp_available, serve
    from memcore.stores import open_store

    if not mcp_available():
        raise MemcoreError(
            "the MCP server needs the `mcp` package: "
            f"{pip_command()} install 'mcp>=1.2' (the [mcp] extra)"
        )
    project = mcp_project(args.project)
    store = open_store(args.store)

    async def main() -> None:
        try:
            await serve(store, project)
        finally:
            await store.close()

    asyncio.run(main())
    return 0


def mcp_project(given: str | None) -> str:
    """The project folder the MCP server serves: ``--project``, else ``$CLAUDE_PROJECT_DIR``,
    else the working folder, made absolute against the folder as the shell names it (a linked
    folder's own path, under which the hooks filed its sessions, not the resolved one)."""
    from memcore.claude_code.project import logical_abspath

    return logical_abspath(given or os.environ.get("CLAUDE_PROJECT_DIR") or ".")


def _run_install(args: argparse.Namespace, out: TextIO, install: bool) -> int:
    import shlex
    from pathlib import Path

    from memcore.claude_code.install import absolute_store_url, memcore_command, plan
    from memcore.claude_code.install_merge import REPLACE_HINT
    from memcore.claude_code.mcp_server import mcp_installed
    from memcore.stores.urls import mask_url

    store_url = absolute_store_url(getattr(args, "store", None))
    server = mcp_installed()  # (else Claude Code would list a server that cannot start)
    changes = plan(
        install,
        scope=args.scope,
        settings=Path(args.settings).expanduser() if args.settings else None,
        mcp_config=Path(args.mcp_config).expanduser() if args.mcp_config else None,
        store=store_url,
        server=server,
        replace=getattr(args, "replace", False),
    )
    shown_url = mask_url(store_url) if store_url else None
    if not args.dry_run:
        changes.apply()  # all or nothing; what it did is said after
    for change in changes.changes:
        _say_change(change, args.dry_run, out)
        if args.dry_run and change.after is not None and change.after != change.before:
            text = change.after
            if store_url and shown_url and shown_url != store_url:  # never a password shown
                text = text.replace(store_url, shown_url)
            print(text, file=out, end="")
    if install and any(REPLACE_HINT in note for c in changes.changes for note in c.notes):
        print(
            "memcore's entries were not added where another's were kept (above): "
            "install-claude-code --replace puts them in.",
            file=out,
        )
    if install and not args.dry_run:
        _say_what_runs(changes.changes, server, out)
        store = f" --store {shlex.quote(shown_url)}" if shown_url else ""
        command = shlex.join([*memcore_command(), "import-claude-code"])
        masked = " (the store's password in place of ***)" if shown_url != store_url else ""
        print(f"To remember the sessions from before this: {command}{store}{masked}", file=out)
    if install and not server:
        print(
            f"The MCP server {'would not be' if args.dry_run else 'was not'} added: it needs the "
            f"`mcp` package ({pip_command()} install 'mcp>=1.2'); install-claude-code again "
            "after that adds it.",
            file=out,
        )
    if install and store_url is None:
        _say_where_hooks_store(out)
    if install and store_url and shown_url != store_url:
        hold = "would hold" if args.dry_run else "now hold"
        print(
            f"The store URL holds a password, and the files above {hold} it: keep them out of "
            "version control (a project's .claude/settings.json and .mcp.json are often shared).",
            file=out,
        )
    return 0


def _say_what_runs(changes: list[FileChange], server: bool, out: TextIO) -> None:
    """What Claude Code will now run of this memcore: not the events, nor the server, where
    another's entry was kept in its place."""
    from memcore.claude_code.install_merge import HOOK_EVENTS, MCP_SERVER_NAME, REPLACE_HINT

    others = {note.split(":", 1)[0] for c in changes for note in c.notes if REPLACE_HINT in note}
    events = [event for event in HOOK_EVENTS if f"hooks.{event}" not in others]
    offered = server and f"mcpServers.{MCP_SERVER_NAME}" not in others
    tools = "MCP tools (remember, recall, forget, digest, sessions)"
    if events:
        said = ", ".join(events[:-1]) + " and " + events[-1] if len(events) > 1 else events[0]
        print(f"Claude Code will run memcore at {said}" + (", and" if offered else "."), file=out)
        if offered:
            print(f"offer its {tools}.", file=out)
    elif offered:
        print(f"Claude Code will offer memcore's {tools}.", file=out)


def _say_where_hooks_store(out: TextIO) -> None:
    """Without ``--store``, the hooks and the server open the default store of the environment
    Claude Code runs them in: one whose default store moves with a variable set here
    (``$MEMCORE_HOME``, ``$XDG_DATA_HOME``) may not have it (an editor or a desktop launcher
    starts Claude Code without the shell's variables), and its memory would go elsewhere."""
    import os
    import shlex

    from memcore.errors import NoHomeError
    from memcore.stores import default_url, xdg_data_home

    try:  # (the files are written by now: what is wrong here is said, not an error)
        url = default_url()
    except NoHomeError as exc:  # (a relative $MEMCORE_HOME, say)
        print(
            f"The hooks use the default store of the environment Claude Code runs them in, and "
            f"here there is none ({exc}): if Claude Code starts with this environment, install "
            "with --store URL.",
            file=out,
        )
        return
    moved = ["MEMCORE_HOME"] if os.environ.get("MEMCORE_HOME") else []
    if xdg_data_home() is not None:  # (a relative one is ignored: it moves nothing)
        moved.append("XDG_DATA_HOME")
    if not moved:
        return
    names = " and ".join(f"${name}" for name in moved)
    print(
        f"The hooks use the store {names} names where Claude Code runs them (here {url}); if "
        f"Claude Code may start without {names}, install with --store {shlex.quote(url)}.",
        file=out,
    )


def _say_change(change: FileChange, dry_run: bool, out: TextIO) -> None:
    """One file's line, then what was kept or left in it, and the backups uninstall left."""
    name = f"{change.path} -> {change.target}" if change.target else str(change.path)
    if not change.changed:
        done = "already as it should be" if not change.notes else "nothing to change"
        print(f"{name}: {done}, left alone", file=out)
    else:
        backup = f" (backup: {change.backup})" if change.backup and not change.restores else ""
        print(f"{name}: {_what(change, dry_run)}{backup}{_folders(change, dry_run)}", file=out)
    for note in change.notes:
        print(f"  {note}", file=out)
    for kept in change.kept_backups:
        print(
            f"  backup kept: {kept}: it holds what the file no longer does (edits since the "
            "install, or entries an installer replaced); compare, then delete it",
            file=out,
        )


def _folders(change: FileChange, dry_run: bool) -> str:
    """The folders install makes (or would make) for the file, said: they were not there."""
    if not change.new_folders:
        return ""
    made = "would make" if dry_run else "made"
    plural = "s" if len(change.new_folders) > 1 else ""
    return f", and {made} the folder{plural} " + ", ".join(map(str, change.new_folders))


def _what(change: FileChange, dry_run: bool) -> str:
    """What install or uninstall does (or would do) to a file, in a word or three."""
    backups = "its backup" + ("s" if len(change.drop_backups) > 1 else "")
    if change.after == change.before:
        return f"would remove {backups}" if dry_run else f"removed {backups}"
    removed = "would remove" if dry_run else "removed"
    also = f", and {removed} {backups}" if change.drop_backups and not change.restores else ""
    if change.after is None:
        return removed + also
    if change.before is None:
        return "would create" if dry_run else "created"
    if change.restores:
        return "would restore from its backup" if dry_run else "restored from its backup"
    return ("would change" if dry_run else "changed") + also


def cmd_install(args: argparse.Namespace, out: TextIO) -> int:
    return _run_install(args, out, True)


def cmd_uninstall(args: argparse.Namespace, out: TextIO) -> int:
    return _run_install(args, out, False)
