"""``memcore search``: BM25 recall over a store's items: one session, one project's, or all.

Read-only, like ``inspect``: the store must exist, and a named session must exist too. Every
session searched goes into one index, so scores from different sessions are comparable (they
share one document count and one average length). It ranks as the MCP server's ``recall`` does
(``memcore.claude_code.recall_rank``: the question's own words left out, each word with its other
forms, recall's BM25 parameters, a hit weighed by what it is), which found what a session did
more often than a plain index asked the words as they are (``benchmarks/recall_quality.py``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from memcore.cli._parser import Subparsers, _add, _positive_int
from memcore.cli._session_reads import (
    _preview,
    left_out_damaged,
    live_items,
    named_session,
    no_project_memory,
    user_sessions,
    warn_skipped,
)
from memcore.cli._store_access import reading_store, run_reading
from memcore.cli._store_arguments import DEFAULT_STORE_HELP, project_folder, session_id, store_url
from memcore.errors import CorruptedMemoryError
from memcore.model import MemoryItem
from memcore.stores import decode_entry

Hit = tuple[str, str, float, MemoryItem]


def register(sub: Subparsers) -> None:
    """Add ``memcore search``."""
    p = _add(
        sub,
        "search",
        cmd_search,
        "find the items that best match a query (BM25)",
        "Rank the items of every session of the store (or only --session S, or only what\n"
        "--project DIR holds) by BM25 against QUERY and print the best: session, key, score\n"
        "and the start of the content. QUERY may be a question: it is ranked as the MCP\n"
        "server's recall ranks it (its own words, how/do/the..., left out; tests also finds\n"
        "test). --project searches what recall searches for Claude Code in that project: its\n"
        "saved sessions and the notes remembered for it.\n"
        "Read-only: nothing is created or changed.",
    )
    p.add_argument("query", metavar="QUERY", help="words to look for (any order)")
    p.add_argument("--store", metavar="URL", type=store_url, help=DEFAULT_STORE_HELP)
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--session",
        metavar="S",
        type=session_id,
        help="search only this session (default: every one)",
    )
    which.add_argument(
        "--project",
        metavar="DIR",
        help="search only the memory of the project of this folder (the folder or the nearest "
        "above it with memory): its saved sessions and its notes",
    )
    p.add_argument(
        "-k", type=_positive_int, default=10, metavar="N", help="results to print (default: 10)"
    )


async def search_store(url: str | None, query: str, k: int, session: str | None) -> list[Hit]:
    """The ``k`` best ``(session, key, score, item)`` of the store for ``query``, every hit."""
    return [hit for hit, _ in await search_distinct(url, query, k, session, distinct=False)]


async def search_distinct(
    url: str | None,
    query: str,
    k: int,
    session: str | None,
    *,
    project: str | None = None,
    distinct: bool = True,
    unmatched: list[str] | None = None,
) -> list[tuple[Hit, int]]:
    """The ``k`` best hits, each with how many lower hits read repeat its text (``distinct``:
    they are folded into it, and the index is asked for more until ``k`` different texts are
    found; a command run six times is one result, not six). ``unmatched``, when given and
    there are hits, gets the words of ``query`` that no item searched has in any of their
    forms (the hits match its other words only). ``project``: an absolute folder, whose
    project's sessions and notes alone are searched (``session`` is then None).

    Items are decoded one at a time to be indexed, and only their stored records are kept: a
    hit is decoded again when it is found (every item held decoded took 236 MB for a store of
    220 sessions)."""
    from memcore.claude_code.project import is_note_of
    from memcore.claude_code.recall_rank import (
        pool_size,
        question_terms,
        recall_index,
        unmatched_words,
        weighed,
    )
    from memcore.search import item_text

    index = recall_index()
    held: list[tuple[str, str, bytes]] = []  # an index key's number -> (session, key, record)
    notes: tuple[str, str] | None = None  # (the project's notes session, the project)
    async with reading_store(url) as store:
        if session is not None:
            names = [await named_session(store, url, session)]
        elif project is not None:
            names, notes = await _project_sessions(store, project)
        else:
            names = user_sessions(await store.list_sessions())
        for name in names:
            try:
                # (by key: hits of equal scores come in the same order from every store)
                records = dict(sorted((await store.read_snapshot(name)).records.items()))
            except CorruptedMemoryError as exc:
                if session is not None:
                    raise  # (the session asked for: its error is the answer)
                left_out_damaged("memcore search", url, name, exc)  # (the others still searched)
                continue
            skipped: list[str] | None = None if session is not None else []
            for key, item, record in live_items(records, url, name, skipped=skipped):
                if notes is not None and name == notes[0] and not is_note_of(item, notes[1]):
                    continue  # (another folder's note: the session is shared, not the notes)
                index.add(f"{len(held):010d}", item_text(item))  # (equal scores come in the
                held.append((name, key, record))  # store's order: the index breaks ties by key)
            warn_skipped("memcore search", url, name, skipped or [])
    decoded: dict[str, MemoryItem] = {}  # (a round asking for more sees them again)
    terms = question_terms(query)
    if unmatched is not None and index.search(terms, 1):
        unmatched.extend(unmatched_words(query, lambda forms: bool(index.search(forms, 1))))
    asked = pool_size(k)  # (weighed, a hit further down may come first)
    while True:
        found = index.search(terms, asked)
        for ref, _ in found:
            if ref not in decoded:
                decoded[ref] = MemoryItem.coerce(decode_entry(held[int(ref)][2]).value)
        hits: list[tuple[Hit, int]] = []
        first: dict[str, int] = {}  # a text -> its hit's place
        # (equal scores keep the index's order: the store's)
        for score, n in weighed((decoded[ref], score) for ref, score in found):
            ref = found[n][0]
            name, key, _ = held[int(ref)]
            item = decoded[ref]
            text = " ".join(item.content.split())
            if distinct and text in first:
                place = first[text]
                hits[place] = (hits[place][0], hits[place][1] + 1)
                continue
            if len(hits) < k:
                first[text] = len(hits)
                hits.append(((name, key, score, item), 0))
        if not distinct or len(hits) == k or len(found) < asked:
            return hits  # (repeats counted among the hits read: at least that many)
        asked *= 2


async def _project_sessions(store: Any, folder: str) -> tuple[list[str], tuple[str, str]]:
    """The sessions that hold the memory of the project of ``folder`` (found as session-start
    and the MCP server find it), its notes session first, and ``(notes session, project)``;
    ``NotFoundError`` when the store holds none of it."""
    from memcore.claude_code.project import notes_session
    from memcore.claude_code.session_start import project_entries

    project, records = await project_entries(store, folder)
    notes = notes_session(project)
    stored = set(await store.list_sessions())
    names = [name for name in (notes, *(r.session_id for r in records)) if name in stored]
    if not names:
        raise no_project_memory(folder)
    return names, (notes, project)


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    unmatched: list[str] = []
    folder = None if args.project is None else project_folder(args.project)
    hits = run_reading(
        args.store,
        search_distinct(
            args.store, args.query, args.k, args.session, project=folder, unmatched=unmatched
        ),
    )
    if not hits:
        print(f"no item matches {args.query!r}", file=out)
        return 0
    for (session, key, score, item), repeats in hits:
        more = f" (+{repeats} more with this text)" if repeats else ""
        print(f"{session}\t{key}\t{score:.4f}\t{_preview(item.content, 100)}{more}", file=out)
    if unmatched:  # (on stderr: the results stay one per line, tab-separated)
        words = ", ".join(f'"{word}"' for word in unmatched)
        print(
            f"memcore search: no item has {words}: the results match the query's other words only",
            file=sys.stderr,
        )
    return 0
