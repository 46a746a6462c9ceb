"""The files a session touched, said as digest lines: a line a file (what its edits changed,
how often, whether they fixed a failure or undid each other), its further names, renames and
what an edit added or took out (one line for the same addition to several files), what was read
and what it defines, and what commands did to files this session had not edited. What they say
was gathered by :mod:`memcore.digest_work`; part of :mod:`memcore.digest_lines`.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from typing import TypeVar

from memcore.claude_code.edit_texts import DOCUMENT_SUFFIXES
from memcore.claude_code.tools import quoted_list
from memcore.digest_density import MOST_NAMES, chunks, exact_names, names_fitting
from memcore.digest_prose import Candidate
from memcore.digest_work import FileWork, code_span, said_added, times, undone_clause

#: Base score of a file that was only read (a lookup, but also what the work was about).
READ_SCORE = 1.5
#: Base score of the detail lines of edits (more names changed, lines added).
EDIT_DETAIL = 6.0
#: Base score of the further names a document's edits changed (code its prose mentions).
DOC_DETAIL = 2.0
#: The most names an edited file's outline lines say ("`f.go` also defines `a()` and `b()`
#: (seen when it was read)"): what a file holds beside what its edits changed is context,
#: and ten lines of it took a small session's brief from its findings.
EDITED_OUTLINE_NAMES = 6
#: Base score of the lines an edit took out (what was renamed or replaced).
REMOVED_SCORE = 2.0
#: Base score of what the code a file read calls: filler, said when the budget has room.
CALLS_SCORE = 1.0
#: Base score of a file a command reverted that this session had not edited: changes the next
#: agent (or the user) may look for are gone.
DISCARDED_SCORE = 5.0
#: Lines naming more of what a file's edits changed, after its own line's 5, and the names on
#: each: a file edited all session long changes dozens of names, mostly its locals, and five
#: such lists of one file ("the edits changed `agent_file`, `agent_id` and ...") priced out
#: the statements that say what the work was.
FURTHER_NAME_LINES = 2
FURTHER_NAMES = 4
#: Renames told per line (each names two), and at most in all per file.
RENAMES_A_LINE = 3
RENAMES_TOLD = 12


_T = TypeVar("_T")
#: Replace-all edits told per file, each on a line of its own ("every `a` became `b`").
REPLACED_TOLD = 4


def _replaced_lines(
    entry: FileWork, stated: set[tuple[str, str]], recency: float
) -> list[Candidate]:
    """A line for each replace-all edit of the file: what it replaced everywhere in it, and
    with what ("- In `f`, an edit replaced every `'#9ca3af'` with `'#006644'`."); the same
    replacement in several files told at the first."""
    out: list[Candidate] = []
    for at, (pair, seq) in enumerate(list(entry.replaced.items())[:REPLACED_TOLD]):
        if pair in stated:
            continue
        stated.add(pair)
        old, new = pair
        replaced = f"every {code_span(old)} with {code_span(new)}"
        line = f"- In `{entry.shown}`, an edit replaced {replaced}."
        score = EDIT_DETAIL + 0.5 - at / 20 + recency
        out.append(Candidate("files", seq + 0.25, score, line, about=entry.shown))
    return out


#: Files named in one line that tells the same addition to each of them, at most.
SAME_EDIT_FILES = 4


def _files_beside(said: str) -> int:
    """How many files a line that says ``said`` of each may name: ``SAME_EDIT_FILES`` at most,
    and no more than keep it within ``MOST_NAMES`` (one at least)."""
    return max(1, min(SAME_EDIT_FILES, MOST_NAMES - len(exact_names(said))))


def _even_groups(entries: list[_T], most: int) -> list[list[_T]]:
    """``entries`` in order, in as few groups of at most ``most`` as can be, as even as can
    be (7 by 4: 4 and 3, not 4, then 3 said apart)."""
    size = -(-len(entries) // -(-len(entries) // most)) if entries else 1
    return [entries[first : first + size] for first in range(0, len(entries), size)]


def _same_edit_lines(
    verb: str, snippet: tuple[str, ...], edited: list[tuple[str, float]], n: int
) -> list[Candidate]:
    """ "An edit of `f` added `x`.", or for several files "Edits of `f`, `g` and `h` each added
    `x`." (in lines of at most ``SAME_EDIT_FILES`` files, as even as can be)."""
    what = said_added(snippet)
    base = EDIT_DETAIL if verb == "added" else REMOVED_SCORE
    out = []
    for group in _even_groups(edited, _files_beside(what)):
        if len(group) == 1:
            told = f"- An edit of `{group[0][0]}` {verb} {what}."
        else:
            told = f"- Edits of {quoted_list([path for path, _ in group])} each {verb} {what}."
        last = max(at for _, at in group)
        about = group[0][0] if len(group) == 1 else None
        # just after the edit's place: a file's own line, at its first edit, comes first
        at = group[0][1] + 0.1
        out.append(Candidate("files", at, base + 2.0 * last / n, told, about=about))
    return out


def _says_more(title: str, shown: str) -> bool:
    """Whether a document's title says more than its file's name (`CLAUDE.md`, titled
    "CLAUDE.md" or "Claude", says it twice)."""
    name = posixpath.basename(shown).lower()
    return bool(title) and title.lower() not in (name, posixpath.splitext(name)[0])


def file_lines(
    files: dict[str, FileWork],
    n: int,
    changed_elsewhere: frozenset[str] = frozenset(),
    part: str = "",
) -> list[Candidate]:
    """The files' lines. ``part``: "before" or "after" when these items are one side of a
    compaction, and ``changed_elsewhere`` the files the other side changed: a read here does
    not make such a file "not changed", and its edits here are counted as those "before" (or
    "after") "the compaction"."""
    out: list[Candidate] = []
    stated: set[tuple[str, str]] = set()  # a rename made in many files is told once
    # the same lines added to (or taken out of) several files, as a setting in every package's
    # config: one line for them all -> file -> its first such edit
    same: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}
    looked_at: list[tuple[FileWork, float]] = []  # files read whole, unchanged, nothing seen
    # files whose own line says the same of each ("was edited twice") -> the files and scores
    alike: dict[tuple[str, int, int], list[tuple[FileWork, float]]] = {}
    for entry in files.values():
        recency = entry.last / n
        renames: list[tuple[str, str]] = []
        if entry.renamed:  # (most files renamed nothing: no Counter built for them)
            olds = Counter(old for old, _ in entry.renamed)  # one name to two: split, not renamed
            renames = [p for p in entry.renamed if p not in stated and olds[p[0]] == 1]
            stated.update(renames)
        known = exact_names(f"`{entry.shown}`")  # (every line of the file names it)
        outlined = 4  # (the names a read's own line says it defines)
        # (renames told a few to a line, each line naming at most MOST_NAMES things)
        told_renames = renames[:RENAMES_TOLD]
        start = 0
        while start < len(told_renames):
            pairs = [f"`{old}` to `{new}`" for old, new in told_renames[start:]]
            fitting = names_fitting(pairs[:RENAMES_A_LINE], known, MOST_NAMES)
            each = pairs[:fitting]
            told = ", ".join(each[:-1]) + " and " + each[-1] if len(each) > 1 else each[0]
            line = f"- In `{entry.shown}`, the edits renamed {told}."
            seq = entry.renamed[told_renames[start]]
            score = EDIT_DETAIL + 1.5 - start / 20 + recency
            out.append(Candidate("files", seq + 0.25, score, line, about=entry.shown))
            start += fitting
        out.extend(_replaced_lines(entry, stated, recency))
        if entry.edits:
            # (most often changed first; then in the order the edits name them, best first)
            ranked = sorted(entry.names, key=lambda k: -entry.names[k])
            lists = chunks(ranked, known, each=5, lines=1)  # (a line names at most MOST_NAMES)
            names = lists[0] if lists else []
            # (a document's names are the code its prose mentions: said when there is room)
            detail = DOC_DETAIL if entry.shown.lower().endswith(DOCUMENT_SUFFIXES) else EDIT_DETAIL
            start = len(names)
            # (a file as it was: its own line says what its edits had changed, no more)
            more_lines = 0 if entry.undone == entry.edits else FURTHER_NAME_LINES
            runs = chunks(ranked[start:], known, each=FURTHER_NAMES, lines=more_lines)
            for chunk in runs:
                more = quoted_list(chunk)
                # under the file's own line (or another of these) it goes on from it: "also"
                line = f"- In `{entry.shown}`, edits also changed {more}."
                alone = f"- In `{entry.shown}`, the edits changed {more}."
                score = detail + 1.0 - start / 20 + recency
                further = Candidate("files", entry.first + 0.5, score, line, about=entry.shown)
                out.append(further._replace(lead=alone))
                start += len(chunk)
            how = f"edited {times(entry.edits)}{undone_clause(entry)}"
            whole = "created" if entry.created else "rewritten" if entry.rewritten else ""
            if whole:
                then = f", then edited {times(entry.edits - 1)}" if entry.edits > 1 else ""
                how = whole + then + undone_clause(entry)
            if entry.shown in changed_elsewhere:  # (the count is of these items' edits only)
                how += f" {part} the compaction"
            doing = "defining" if whole and entry.edits == 1 else "changing"
            changing = f", {doing} {quoted_list(names)}" if names else ""
            gone = f", then {gone_how(entry)}" if entry.deleted else ""
            if entry.reverted == entry.edits:  # (none since: what it changed is gone)
                gone = f", then reverted with `{entry.reverted_by}`"
            elif entry.undone == entry.edits:  # (each edit undid another: it is as it was)
                gone = ", each change undone by a later edit"
            if gone and names:  # (said before the names: a line cut to fit keeps it)
                did = "it defined" if doing == "defining" else "the edits had changed"
                how, gone, changing = how + gone, "", f"; {did} {quoted_list(names)}"
            score = EDIT_DETAIL + 2.0 + min(entry.edits, 6) * 0.3 + min(len(ranked), 4) * 0.3
            score += recency
            if names and not _says_more(entry.title, entry.shown):
                # told with the files whose edits changed the same names the same way, if any
                said = (f"{how}{changing}{gone}", entry.fixes, entry.edits)
                alike.setdefault(said, []).append((entry, score))
            else:
                fixing = _fixing(entry.fixes, entry.edits)
                titled = f' ("{entry.title}")' if _says_more(entry.title, entry.shown) else ""
                line = f"- `{entry.shown}`{titled} was {how}{changing}{gone}{fixing}."
                out.append(Candidate("files", entry.first, score, line, about=entry.shown))
            for seq, added, inside in entry.added.values():
                if not inside:  # told with the same addition to other files, if any
                    same.setdefault(("added", tuple(added)), {}).setdefault(entry.shown, seq)
                    continue
                where = f"`{inside}` in `{entry.shown}`"
                line = f"- An edit of {where} added {said_added(added)}."
                out.append(
                    Candidate("files", seq, EDIT_DETAIL + 2.0 * seq / n, line, about=entry.shown)
                )
            for seq, removed in entry.removed:
                same.setdefault(("took out", tuple(removed)), {}).setdefault(entry.shown, seq)
        elif entry.discarded_by:  # (changes no edit of the session made, thrown away: whose,
            # is not known; a formatter the session ran may have made them)
            said = (f"reverted with `{entry.discarded_by}`", 0, 0)
            alike.setdefault(said, []).append((entry, DISCARDED_SCORE + recency))
        elif entry.deleted and not entry.reads:
            alike.setdefault((gone_how(entry), 0, 0), []).append((entry, 2.5 + recency))
        elif entry.tracked and not entry.reads:
            said = ("changed in this session (Claude Code's file history)", 0, 0)
            alike.setdefault(said, []).append((entry, 2.5 + recency))
        elif entry.reads and (entry.reads_done or not entry.reads_failed):
            # (every read failed: the file was not there, which the error's line says)
            ranges = [r for r in entry.reads if r != "all"]
            which = f" (lines {', '.join(ranges[:4])})" if ranges else ""
            defines = (chunks(list(entry.defines)[:4], known, each=4, lines=1) or [[]])[0]
            outlined = len(defines)
            verb = _defines_verb(entry)
            outline = f"; it {verb} {quoted_list(defines)}" if defines else ""
            if entry.deleted:
                after = f", then {gone_how(entry)}"
            elif entry.tracked:  # (changed by a way the digest does not see: a sub-agent's)
                after = "; Claude Code's file history records a change to it"
            elif entry.shown in changed_elsewhere:
                other = "before" if part == "after" else "after"
                after = f"; it was changed {other} the compaction"
            else:
                after = ", not changed"
            score = READ_SCORE + 0.2 * len(entry.reads) + recency
            if not (which or outline or entry.calls) and after == ", not changed":
                looked_at.append((entry, score))  # told with the others read the same way
            else:
                line = f"- `{entry.shown}` was read{which}{after}{outline}."
                out.append(Candidate("files", entry.first, score, line, about=entry.shown))
        # (a document's code blocks are examples: what they call is none of the work's)
        document = entry.shown.lower().endswith(DOCUMENT_SUFFIXES)
        calls = [] if document else [c for c in entry.calls if c not in entry.defines][:12]
        start = 0
        for chunk in chunks(calls, known, each=4):
            listed = quoted_list(chunk)
            line = f"- The code read in `{entry.shown}` calls {listed}."
            out.append(
                Candidate(
                    "files",
                    entry.first + 0.001 + start / 1e5,  # after the file's own line
                    CALLS_SCORE - start / 40 + recency,
                    line,
                    spare=True,
                    about=entry.shown,
                )
            )
            start += len(chunk)
        # (an edited file's outline: its first few names; the rest are its read's spare
        # lines, said when every line of the work has had its chance)
        seen = (
            list(entry.defines)[:EDITED_OUTLINE_NAMES]
            if entry.edits
            else list(entry.defines)[outlined:][:20]
        )
        verb = _defines_verb(entry)
        start = 0
        for chunk in chunks(seen, known, each=5):
            listed = quoted_list(chunk)
            line = f"- `{entry.shown}` also {verb} {listed} (seen when it was read)."
            alone = f"- `{entry.shown}` {verb} {listed} (seen when it was read)."
            at = entry.first + 0.002 + start / 1e5  # after the file's own line
            score = 1.0 - start / 40 + recency
            # (a file only read: what it defines is an outline of it, said with room to spare;
            # alone in a brief, "`w.ts` defines `write()`" said nothing of the work)
            out.append(
                Candidate(
                    "files", at, score, line, lead=alone, about=entry.shown, spare=not entry.edits
                )
            )  # "also": after its own
            start += len(chunk)
    for (verb, snippet), edited in same.items():
        out.extend(_same_edit_lines(verb, snippet, list(edited.items()), n))
    for (what, fixes, edits), entries in alike.items():
        out.extend(_alike_lines(what, fixes, edits, entries))
    out.extend(_read_lines(looked_at))
    return out


def gone_how(entry: FileWork) -> str:
    """How a file the session's commands took away went: "deleted", "moved to `b.md`"."""
    return f"moved to `{entry.moved_to}`" if entry.moved_to else "deleted"


def _fixing(fixes: int, edits: int) -> str:
    """The clause of a file's line that says how many of its ``edits`` fixed a failure: "which
    fixed a failure" after a single edit ("1 of these edits" of one read as a count of many)."""
    if not fixes:
        return ""
    if edits == 1:
        return ", which fixed a failure"
    return f"; {fixes} of these edits fixed a failure"


def _alike_lines(
    how: str, fixes: int, edits: int, entries: list[tuple[FileWork, float]]
) -> list[Candidate]:
    """Each file's own line ("`a` was edited twice, changing `x`."), or one line for the files
    it would say the same of ("`a`, `b` and `c` were each edited once, changing `baseUrl`."): a
    change made in every package's config, or the files Claude Code's history lists, told once
    (in lines of at most ``SAME_EDIT_FILES`` files, as even as can be)."""
    out = []
    for group in _even_groups(entries, _files_beside(how)):
        if len(group) == 1:
            fixing = _fixing(fixes, edits)
            entry, score = group[0]
            line = f"- `{entry.shown}` was {how}{fixing}."
            out.append(Candidate("files", entry.first, score, line, about=entry.shown))
            continue
        fixing = ""
        if fixes:
            fixing = (
                "; each of these edits fixed a failure"
                if fixes == edits
                else f"; in each, {fixes} of these edits fixed a failure"
            )
        each = "each " if edits else ""
        paths = quoted_list([entry.shown for entry, _ in group])
        line = f"- {paths} were {each}{how}{fixing}."
        score = sum(score for _, score in group)  # what each file's own line was worth
        out.append(Candidate("files", min(e.first for e, _ in group), score, line))
    return out


#: Files named in one line of files read whole and left as they were, at most.
READ_FILES_A_LINE = 4


def _read_lines(looked_at: list[tuple[FileWork, float]]) -> list[Candidate]:
    """Files read whole, unchanged, whose reading found nothing to say (no outline), in lines of
    a few: "`a`, `b` and `c` were read, not changed." (one line each said the same words
    again for every file)."""
    out = []
    for start in range(0, len(looked_at), READ_FILES_A_LINE):
        group = looked_at[start : start + READ_FILES_A_LINE]
        if len(group) == 1:
            entry, score = group[0]
            line = f"- `{entry.shown}` was read, not changed."
            out.append(Candidate("files", entry.first, score, line, about=entry.shown))
            continue
        line = f"- {quoted_list([entry.shown for entry, _ in group])} were read, not changed."
        score = max(score for _, score in group)
        out.append(Candidate("files", group[0][0].first, score, line))
    return out


def _defines_verb(entry: FileWork) -> str:
    """How the names a read file's outline found are said: what code defines (``defined``
    when the file is gone: it did), what a document shows in its examples (a README does not
    define ``OnReadyEventData``; its code blocks do)."""
    if entry.shown.lower().endswith(DOCUMENT_SUFFIXES):
        return "showed code defining" if entry.deleted else "shows code defining"
    return "defined" if entry.deleted else "defines"


__all__ = [
    "CALLS_SCORE",
    "EDIT_DETAIL",
    "READ_SCORE",
    "REMOVED_SCORE",
    "file_lines",
]
