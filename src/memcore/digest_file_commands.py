"""What commands did to the files of a digest's session: the files a command deleted (``rm``,
``git rm``) or moved (``mv``, ``git mv``) and those whose edits it threw away (``git checkout --
f``, ``git restore f``), read from the commands that succeeded so that the files' lines say it
("then deleted", "then moved to `b`", "then reverted with `git checkout`").
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from typing import Any

from memcore.claude_code.commands import normalize_command
from memcore.digest_commands import made_commits
from memcore.digest_prose import Candidate
from memcore.digest_work import FileWork, shown_path, strs
from memcore.lazy_re import lazy_compile

_DELETIONS = ("rm", "git rm")
#: ``git checkout [<ref>] -- paths`` and ``git restore paths`` (``git -C dir`` too): the files'
#: changes thrown away.
_REVERT = lazy_compile(
    r"^git(?:\s+-C\s+(?P<dir>\S+))?\s+(?P<verb>checkout|restore|stash|reset)(?:\s+(?P<rest>.*))?$"
)


def reverted_files(
    files: dict[str, FileWork], meta: Mapping[str, Any], root: str | None, seq: int = 0
) -> None:
    """The files a command that succeeded (item ``seq``) reverted to a committed state
    (``git checkout -- a b``, ``git checkout HEAD -- a``, ``git restore a``, not ``--staged``
    alone; ``git checkout a`` of a file the session knows, a folder's files with it), or put
    away (``git stash``, ``git stash push -- a``: until a ``git stash pop`` or ``apply`` puts
    them back), or reset (``git reset --hard``: every file's edits not committed since, all of
    them with a commit named): the edits this session made to them were thrown away, which
    their lines must say; a file it had not edited lost whatever changes it had (another's, a
    tool's), which its line says too. Each command of a chain (``cd /repo && git checkout a &&
    go test``) is read; one after a ``||`` not (it may not have run), one before it when its
    output says no error (``git checkout -- a || true`` ran); a pattern, an unparsable command
    or a relative path after a ``cd`` to a folder not known names none. A commit the command
    made marks the files' edits committed (a ``git reset --hard`` keeps those)."""
    command = str(meta["command"])
    if "git" not in command:
        return
    if "commit" in command and made_commits(meta):
        for entry in files.values():
            entry.committed = entry.edits
    if not any(verb in command for verb in _VERBS):
        return
    command = _REDIRECT.sub("", command)  # (``2>&1``, ``> /dev/null``: no paths, no chain)
    try:
        tokens = command_tokens(command)
    except ValueError:
        return
    here: str | None = ""  # where the chain's commands run ("": the record's own folder)
    words: list[str] = []
    commands: list[tuple[list[str], str | None, str]] = []  # each, where, what ended it
    for token in [*tokens, ";"]:
        if token not in _CHAIN:
            words.append(token)
            continue
        if words and words[0] == "cd":  # (a folder named whole, or one not known from here)
            here = words[1] if len(words) == 2 and words[1].startswith("/") else None
        elif words:
            commands.append((words, here, token))
        words = []
    output = "\n".join(strs(meta.get("outcome")))
    maybe = False  # after a ``||``: it may not have run (nor what is chained to it by ``&&``)
    for k, (words, here, ended) in enumerate(commands):
        ran = not maybe
        if ran and ended == "||":  # (it ran; the fallback after it says whether it failed)
            fallback = commands[k + 1][0] if k + 1 < len(commands) else []
            ran = not _failed_before_fallback(output, fallback)
        if ran and here is not None:
            _reverted_by(files, meta, root, seq, words, here, output)
        if ended == "||":
            maybe = True
        elif ended in (";", "&"):
            maybe = False


_REDIRECT = lazy_compile(r"\s\d*>>?(?:&\d|\s*[^\s;&|]+)")
#: The tokens ``shlex`` gives a command with no quote, escape or comment (see
#: ``command_tokens``): the runs of characters that are neither its whitespace nor ``;&|``,
#: and the runs of those.
_PLAIN_TOKEN = lazy_compile(r"[;&|]+|[^ \t\r\n;&|]+")


def command_tokens(command: str) -> list[str]:
    """``command``'s words and chain operators, as ``shlex`` splits them in POSIX mode with
    ``;&|`` its punctuation and whitespace splitting (ValueError: an unclosed quote). Only a
    quote, an escape or a comment needs shlex itself; any other command's tokens are the
    runs of ``_PLAIN_TOKEN``, found some fifty times as fast (shlex reads a character at a
    time, in Python)."""
    if "'" in command or '"' in command or "\\" in command or "#" in command:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        return list(lexer)
    return _PLAIN_TOKEN.findall(command)


#: What ends one command of a chain (``|`` and redirections end nothing a revert says).
_CHAIN = frozenset({";", "&&", "||", "&", "|"})
#: ``git checkout`` options that take a side of a merge or a branch, not the committed file.
_NOT_REVERTS = frozenset({"--ours", "--theirs", "-b", "-B", "--orphan", "-p", "--patch", "-m"})
#: The git commands that throw edits away (one of them in a command, else it says nothing).
_VERBS = ("checkout", "restore", "stash", "reset")
#: Characters of a glob, a variable or a substitution: words with one name files not known.
_PATTERN_CHARS = frozenset("*?[]{}$`<>")
#: What a git command that failed writes (before a ``||`` its failure is no exit code).
_GIT_FAILED = ("error:", "fatal:")


def _names_a_pattern(words: str) -> bool:
    return not _PATTERN_CHARS.isdisjoint(words)


def _failed_before_fallback(output: str, fallback: list[str]) -> bool:
    """Whether the command before a ``||`` failed, by its ``output``: git's own error, or the
    words the ``fallback`` echoes when it did (``|| echo failed``)."""
    if any(said in output for said in _GIT_FAILED):
        return True
    if fallback and fallback[0] == "echo":
        echoed = " ".join(word for word in fallback[1:] if not word.startswith("-"))
        return not echoed or echoed in output
    return False


def _reverted_by(
    files: dict[str, FileWork],
    meta: Mapping[str, Any],
    root: str | None,
    seq: int,
    words: list[str],
    here: str,
    output: str = "",
) -> None:
    """``reverted_files`` of one command of a chain, its ``words``, run in folder ``here``
    (``output``: the command's, for ``git stash``: "No local changes to save")."""
    found = _REVERT.match(" ".join(words))
    if found is None:
        return
    verb = found["verb"]
    if verb == "stash":
        rest = words[words.index("stash") + 1 :]
        base = found["dir"] or here
        as_named = [_named(meta, root, posixpath.join(base, w) if base else w) for w in rest]
        _stashed(files, rest, as_named, seq, output)
        return
    if verb == "reset":
        _reset(files, words[words.index("reset") + 1 :])
        return
    if not found["rest"] or _names_a_pattern(found["rest"]):
        return
    rest = found["rest"].split()
    if verb == "checkout":
        if _NOT_REVERTS & set(rest):
            return
        # after "--", paths; without it, only the files the session knows (else a branch)
        known = "--" not in rest
        paths = rest[rest.index("--") + 1 :] if not known else rest
    else:
        if ("--staged" in rest or "-S" in rest) and not {"--worktree", "-W"} & set(rest):
            return  # unstaged only: the working tree keeps the edits
        known, paths, skip = False, [], False
        for word in rest:
            if skip or word.startswith("-"):
                skip = word in ("--source", "-s")  # (its value is next: no path)
                continue
            paths.append(word)
    base = found["dir"] or here
    everything = ("", ".", root or ".")  # (the session's folder named: all its files)
    for word in paths:
        if base and not word.startswith("/"):
            word = posixpath.join(base, word)
        named = _named(meta, root, word)
        inside = [
            entry
            for path, entry in files.items()
            if entry.edits and (path.startswith(named.rstrip("/") + "/") or named in everything)
        ]
        entry = files.get(named)
        if entry is not None and entry.edits:
            inside = [entry]
        for each in inside:  # (a file, or the edited files of a folder: `git checkout .`)
            each.reverted = each.edits
            each.reverted_by = f"git {verb}"
        if not inside and not known and named not in everything:
            if entry is None:
                entry = files[named] = FileWork(named, seq, seq)
            entry.discarded_by = f"git {verb}"


#: ``git stash`` options that put away part of the changes only (which, is not known), and
#: those whose value is the next word.
_PARTIAL_STASH = frozenset({"-p", "--patch", "-S", "--staged", "-k", "--keep-index"})
_STASH_VALUED = frozenset({"-m", "--message", "--pathspec-from-file"})
#: What a ``git stash`` that put nothing away says.
_NOTHING_STASHED = "No local changes to save"


def _stashed(
    files: dict[str, FileWork], rest: list[str], named: list[str], seq: int, output: str
) -> None:
    """What ``git stash`` (its words after ``stash``: ``rest``, each as the session names a
    path: ``named``) did to the session's edited
    files: put away (all of them, or the paths of ``git stash push -- a``), said as reverted;
    put back by ``git stash pop`` (``apply``, ``branch``): the latest stash's files as they
    were; ``drop`` or ``clear``: what it put away stays gone."""
    sub = rest[0] if rest and not rest[0].startswith("-") else "push"
    if sub in ("pop", "apply", "branch", "drop", "clear"):
        stacks = [entry for entry in files.values() if entry.stashed]
        latest = max([entry.stashed[-1][0] for entry in stacks], default=-1)
        for entry in stacks:
            if sub == "clear" or entry.stashed[-1][0] == latest:
                _, reverted, reverted_by = entry.stashed.pop()
                if sub != "drop" and sub != "clear":
                    entry.reverted, entry.reverted_by = reverted, reverted_by
            if sub == "clear":
                entry.stashed.clear()
        return
    if sub not in ("push", "save") or _PARTIAL_STASH & set(rest) or _NOTHING_STASHED in output:
        return
    paths: list[str] = []
    skip = False
    for k in range(1 if rest and rest[0] == sub else 0, len(rest)):
        word = rest[k]
        if skip or word.startswith("-"):
            skip = word in _STASH_VALUED
            continue
        if _names_a_pattern(word):
            return  # (a pattern: which files, is not known)
        paths.append(named[k])
    if sub == "save":
        paths = []  # (its words are the stash's message)
    for path, entry in files.items():
        if not entry.edits or entry.committed or entry.reverted == entry.edits:
            continue  # (nothing of this session's left in the working tree to put away)
        if paths and not any(path == p or path.startswith(p.rstrip("/") + "/") for p in paths):
            continue
        entry.stashed.append((seq, entry.reverted, entry.reverted_by))
        entry.reverted = entry.edits
        entry.reverted_by = "git stash"


def _reset(files: dict[str, FileWork], rest: list[str]) -> None:
    """What ``git reset --hard [commit]`` (its words after ``reset``: ``rest``) did to the
    session's edited files: the edits not committed since are gone (every edit, with a commit
    named other than ``HEAD``); any other reset keeps the working tree."""
    if "--hard" not in rest:
        return
    named = [word for word in rest if not word.startswith("-")]
    if any(_names_a_pattern(word) for word in named):
        return
    keeps_commits = not named or named[0] in ("HEAD", "@")
    for entry in files.values():
        if not entry.edits or (keeps_commits and entry.committed):
            continue
        entry.reverted = entry.edits
        entry.reverted_by = "git reset --hard"


def _path_words(meta: Mapping[str, Any], verbs: tuple[str, ...]) -> tuple[list[str], bool] | None:
    """The words a command that is one of ``verbs`` gives after its verb, options left out, and
    whether a ``cd`` comes before it (a relative path is then from where, is not known); None
    for another command, a pattern or an unparsable one."""
    command = str(meta["command"])
    core = normalize_command(command)
    verb = next((v for v in verbs if core.startswith(v + " ")), None)
    if verb is None or any(c in core for c in "*?[]{}$`;&|<>"):
        return None
    try:
        words = [w for w in shlex.split(core[len(verb) :]) if w and not w.startswith("-")]
    except ValueError:
        return None
    return words, command.lstrip().startswith("cd ") or " cd " in command


def _named(meta: Mapping[str, Any], root: str | None, word: str) -> str:
    """A command's path as the session names files."""
    shown = shown_path(meta, root, word)
    return shown[2:] if shown.startswith("./") else shown


def deleted_files(
    files: dict[str, FileWork], meta: Mapping[str, Any], seq: int, root: str | None
) -> None:
    """The files a command that succeeded deleted (``rm a b``, ``git rm -f a``), named as the
    session names them (relative to the folder it started in); a pattern or an unparsable
    command names none, nor does a relative path after a ``cd`` (from where, is not known)."""
    found = _path_words(meta, _DELETIONS)
    if found is None:
        return
    words, after_cd = found
    for word in words:
        if after_cd and not word.startswith("/"):
            continue
        shown = _named(meta, root, word)
        entry = files.get(shown)
        if entry is None:
            entry = files[shown] = FileWork(shown, seq)
        entry.deleted = True
        entry.last = seq


_MOVES = ("mv", "git mv")


def moved_files(
    files: dict[str, FileWork], meta: Mapping[str, Any], seq: int, root: str | None
) -> None:
    """The files of the session a command that succeeded moved (``git mv a b``, ``mv a b``, a
    folder with the files in it, ``mv a b dir/`` into a folder): gone from where their lines
    name them, which the lines say ("then moved to `b`"). As ``deleted_files``: no pattern, no
    relative path after a ``cd``; only files the session already speaks of."""
    found = _path_words(meta, _MOVES)
    if found is None:
        return
    words, after_cd = found
    if len(words) < 2 or (after_cd and not all(w.startswith("/") for w in words)):
        return
    *sources, target = (_named(meta, root, word.rstrip("/") or word) for word in words)
    into = len(sources) > 1 or words[-1].endswith("/")
    for source in sources:
        dest = posixpath.join(target, posixpath.basename(source)) if into else target
        for shown, entry in files.items():
            if shown == source:
                entry.moved_to = dest
            elif shown.startswith(source + "/"):  # (a folder moved, its files with it)
                entry.moved_to = dest + shown[len(source) :]
            else:
                continue
            entry.deleted = True
            entry.last = seq


#: A code span in a line (what it names).
CODE_SPAN = lazy_compile(r"`([^`\n]+)`")
DELETED_LATER = " (the file was deleted later)"


def said_deleted_later(cands: list[Candidate], files: dict[str, FileWork]) -> list[Candidate]:
    """``cands`` with each result line that names a file the session deleted after it said so
    ("Created the ADR at `docs/adr-001.md`.", then ``rm docs/adr-001.md``) marked as such: said
    alone, it reads as the file's state now."""
    gone = {path: entry for path, entry in files.items() if entry.deleted}
    if not gone:
        return cands
    out = []
    for cand in cands:
        if cand.section == "decisions" and "`" in cand.text:
            named = [gone[p] for p in CODE_SPAN.findall(cand.text) if p in gone]
            last = max(named, key=lambda entry: entry.last) if named else None
            note = DELETED_LATER if last is None or not last.moved_to else _moved_later(last)
            if last is not None and cand.seq < last.last and not cand.text.endswith(note + "."):
                cand = cand._replace(text=f"{cand.text.rstrip('.')}{note}.", names=None)
        out.append(cand)
    return out


def _moved_later(entry: FileWork) -> str:
    return f" (the file was moved to `{entry.moved_to}` later)"


__all__ = [
    "CODE_SPAN",
    "DELETED_LATER",
    "command_tokens",
    "deleted_files",
    "moved_files",
    "reverted_files",
    "said_deleted_later",
]
