"""Linking a failure to the change that fixed it.

An agent's session is a loop of "run, fail, edit, run again". The useful memory is the pair:
"``go build`` failed with ``undefined: Foo``; editing ``types.go`` (``Foo``) fixed it". The
linker watches tool results in order:

* a failure opens an error under a key: the normalized command for Bash (so ``go test ./... 2>&1
  | tail`` and ``go test ./...`` are one check), the tool and its file or pattern otherwise;
* each successful edit after it is a candidate fix;
* the next success under the same key closes the error: its item gets ``fixed_by`` (the edits in
  between, or the succeeding call itself when nothing was edited) and ``resolved_by``; each of
  those edits gets the error's id in ``fixes``;
* a failed command is also closed by the next command when, with no edit in between, it is the
  same command run another way and succeeds (``git push`` failed, ``git push --set-upstream
  origin main`` passed): the way that worked is its fix.
* a failed check is also closed by a later check that passes and ran at least its tests: the
  same command with a broader test-name filter, or none (``-run TestSessionWarning`` failed,
  edits, ``-run TestSession`` passed).
* a failure that said something was not installed (``ModuleNotFoundError: No module named
  'PIL'``, ``zsh: command not found``) is closed by the next install that succeeds (``pip3
  install Pillow``): the install is its fix, whatever edits came between.
* a git merge, rebase or pull that stopped on conflicts is closed by the commit (or the
  ``--continue``) that carries it through, with the edits in between as its fix: running it
  again is not how a conflict ends.

An error never closed keeps ``resolved: False``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from memcore.claude_code.commands import (
    ends_conflicts,
    is_variant,
    normalize_command,
    stopped_on_conflicts,
)
from memcore.claude_code.picked_tests import covers
from memcore.claude_code.tools import EDIT_TOOLS
from memcore.lazy_re import lazy_compile
from memcore.model import MemoryItem

#: At most this many edits are named as one failure's fix (the last ones before the success).
_MAX_FIXES = 8
#: The successful edits a linker put back in place (``resume``) keeps: many times ``_MAX_FIXES``,
#: as the same edit may come twice (a call whose result came twice) and counts once.
_KEPT_EDITS = 8 * _MAX_FIXES
#: The key of a git command stopped on conflicts (see ``stopped_on_conflicts``).
_CONFLICTS = "git:conflicts"
#: A failure's words that something is not installed: a module, a program, a package.
_MISSING = lazy_compile(
    r"No module named|ModuleNotFoundError|command not found|Cannot find (?:module|package)\b"
    r"|is not installed|executable file not found"
)
#: A command that installs a package or a program (``pip3 install Pillow``, ``npm i -D x``,
#: ``brew install jq``, ``go get``, ``uv add``).
_INSTALLS = lazy_compile(
    r"^(?:sudo\s+)?(?:pip3?|python3?\s+-m\s+pip|uv\s+pip|uv|npm|pnpm|yarn|bun|brew"
    r"|apt(?:-get)?|cargo|gem|poetry|go)\s+(?:install|add|get|i)\b"
)


def link_key(tool: str, target: Mapping[str, Any]) -> str:
    """What a rerun must match to close a failure."""
    if tool == "Bash" and isinstance(target.get("command"), str):
        return f"cmd:{normalize_command(target['command'])}"
    for name in ("file_path", "pattern"):
        if isinstance(target.get(name), str):
            return f"{'edit' if tool in EDIT_TOOLS else tool}:{target[name]}"
    return f"tool:{tool}"


#: How many other commands may come between a failed command and its run another way (``gh
#: variable list -R old/name`` failed, ``gh repo view`` named the repository, then ``gh
#: variable list -R new/name`` worked): a lookup of the right value is part of the fix.
VARIANT_GAP = 2


def _followed(
    last_failed: tuple[str, str, int] | None, ok: bool, command: object, tool: str
) -> tuple[str, str, int] | None:
    """The last failed command after one more result: gone after an edit, a failure (which is
    the last failed one then) or ``VARIANT_GAP`` other commands; a look at a file or a search
    keeps it as it was."""
    if last_failed is None or not ok or tool in EDIT_TOOLS:
        return None
    if command is None:
        return last_failed
    key, failed, since = last_failed
    return (key, failed, since + 1) if since < VARIANT_GAP else None


def _tried_again(last_failed: tuple[str, str, int] | None, command: object, key: str) -> str:
    """The key of a failed ``command``: the last failed command's, when it is that command
    tried another way (``gh variable list -R a/box`` failed, then ``-R b/box`` too): one
    problem, which the way that works closes whole; else its own ``key``."""
    if last_failed is not None and isinstance(command, str) and is_variant(last_failed[1], command):
        return last_failed[0]
    return key


class FixLinker:
    """Follows one transcript's results; mutates the metadata of items it already emitted."""

    def __init__(self) -> None:
        #: The failures not closed yet, by key, oldest first: a check that failed again after an
        #: edit is still the same open problem, and the success that ends it closes them all.
        self.open: dict[str, list[MemoryItem]] = {}
        #: Every successful edit, in order, and where it stood when each open failure came (by
        #: the failure's id): a failure's candidate fixes are the edits after that point. One
        #: shared log, not a list per failure, so that failures never closed (a long session
        #: gathers hundreds) cost nothing per later edit.
        self.edits: list[MemoryItem] = []
        self.since: dict[str, int] = {}
        #: The last failed command, while no edit and at most ``VARIANT_GAP`` other commands
        #: have followed it (how many have is its third part).
        self.last_failed: tuple[str, str, int] | None = None

    def result(
        self,
        tool: str,
        target: Mapping[str, Any],
        ok: bool,
        result_item: MemoryItem | None,
        call_item: MemoryItem | None,
    ) -> None:
        key = link_key(tool, target)
        command = target.get("command") if tool == "Bash" else None
        last_failed = self.last_failed
        self.last_failed = _followed(last_failed, ok, command, tool)
        if not ok:
            if result_item is not None:
                if isinstance(command, str) and stopped_on_conflicts(command, result_item.content):
                    key = _CONFLICTS
                else:
                    key = _tried_again(last_failed, command, key)
                result_item.metadata["resolved"] = False
                self.open.setdefault(key, []).append(result_item)
                self.since[result_item.id] = len(self.edits)
                if isinstance(command, str):
                    self.last_failed = (key, command, 0)
            return
        if tool in EDIT_TOOLS and call_item is not None:
            self.edits.append(call_item)
        if key not in self.open:  # (the failed command just before, run another way)
            again = _tried_again(last_failed, command, key)
            key = again if again in self.open else key
        keys = [key]
        if isinstance(command, str):  # and the checks this run covers (a key: cmd:<its core>)
            keys += [k for k in self.open if k.startswith("cmd:") and covers(command, k[4:])]
            if ends_conflicts(command):
                keys.append(_CONFLICTS)
        for closed in dict.fromkeys(keys):
            for error in self.open.pop(closed, []):
                self._close(error, result_item, call_item)
        if isinstance(command, str) and _INSTALLS.match(normalize_command(command)):
            for key in [k for k in self.open if k.startswith("cmd:")]:
                missing = [e for e in self.open[key] if _MISSING.search(e.content)]
                for error in missing:
                    self.open[key].remove(error)
                    self._close(error, result_item, call_item, installed=True)
                if not self.open[key]:
                    del self.open[key]

    def resume(
        self,
        results: Sequence[tuple[MemoryItem, MemoryItem | None]],
        own: Callable[[MemoryItem], MemoryItem],
        *,
        closed_later: Callable[[MemoryItem], bool],
    ) -> None:
        """Stand where following ``results`` left this linker: stored result items in the order
        they came, each with its call (or None), as ``result`` was given them. Read from what
        they record (an error still open says ``resolved: False``; one that ``closed_later``
        says a record after them closed was open then), not followed again: the failures still
        open, the successful edits since the oldest of them, the last failed command if no
        edit and at most ``VARIANT_GAP`` commands have followed it. ``own`` gives the linker's
        own copy of an item it may change (an open error, a candidate fix)."""
        edits: list[MemoryItem] = []
        opened: list[tuple[str, MemoryItem, int]] = []
        last_failed: tuple[str, str, int] | None = None
        for result, call in results:
            meta = result.metadata
            tool = meta.get("tool")
            if not isinstance(tool, str):
                continue
            ok = not meta.get("is_error")
            command = meta.get("command") if tool == "Bash" else None
            before, last_failed = last_failed, _followed(last_failed, ok, command, tool)
            if ok:
                if tool in EDIT_TOOLS and call is not None:
                    edits.append(call)
                continue
            key = link_key(tool, meta)
            if isinstance(command, str) and stopped_on_conflicts(command, result.content):
                key = _CONFLICTS
            else:
                key = _tried_again(before, command, key)
            if isinstance(command, str):
                last_failed = (key, command, 0)
            if meta.get("resolved") is False or closed_later(result):
                opened.append((key, result, len(edits)))
        # a fix is one of the last edits before the success (``_MAX_FIXES``): those before the
        # last few dozen can never be named again
        start = max(min((at for _, _, at in opened), default=len(edits)), len(edits) - _KEPT_EDITS)
        self.edits = [own(edit) for edit in edits[start:]]
        for key, error, at in opened:
            mine = own(error)
            self.open.setdefault(key, []).append(mine)
            self.since[mine.id] = max(at - start, 0)
        self.last_failed = last_failed if last_failed and last_failed[0] in self.open else None

    def _close(
        self,
        error: MemoryItem,
        result_item: MemoryItem | None,
        call_item: MemoryItem | None,
        *,
        installed: bool = False,
    ) -> None:
        """Close ``error`` by the success of ``call_item``: fixed by the edits since it failed,
        or by that call itself (none, or ``installed``: what it said was missing)."""
        start = self.since.pop(error.id, len(self.edits))
        # each edit once, where it first came (a call whose result came twice), then the last
        edits = [] if installed else self.edits[start:]
        fixes = list({id(item): item for item in edits}.values())[-_MAX_FIXES:]
        if not fixes and call_item is not None:
            fixes = [call_item]
        error.metadata["resolved"] = True
        error.metadata["fixed_by"] = [item.id for item in fixes]
        if result_item is not None:
            error.metadata["resolved_by"] = result_item.id
        for fix in fixes:
            linked = fix.metadata.setdefault("fixes", [])
            if isinstance(linked, list) and error.id not in linked:
                linked.append(error.id)


__all__ = ["FixLinker", "link_key"]
