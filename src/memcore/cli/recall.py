"""``memcore search``: BM25 recall over a store's items, one session or all of them.

Read-only, like ``inspect``: the store must exist, and a named session must exist too. Every
session searched goes into one index, so scores from different sessions are comparable (they
share one document count and one average length).
"""

from __future__ import annotations

import argparse
from typing import TextIO

from memcore.cli._common import (
    DEFAULT_STORE_HELP,
    Subparsers,
    _add,
    _positive_int,
    _preview,
    run_reading,
    session_id,
    store_url,
)
from memcore.cli.digest import _states as read_states  # every session's items, or one's
from memcore.model import MemoryItem

Hit = tuple[str, str, float, MemoryItem]
#: Hits asked of the index first, per result wanted (doubled while too many repeat a text).
FIRST_ASK = 3


def register(sub: Subparsers) -> None:
    """Add ``memcore search``."""
    p = _add(
        sub,
        "search",
        cmd_search,
        "find the items that best match a query (BM25)",
        "Rank the items of every session of the store (or only --session S) by BM25 against\n"
        "QUERY and print the best: session, key, score and the start of the content.\n"
        "Read-only: nothing is created or changed.",
    )
    p.add_argument("query", metavar="QUERY", help="words to look for (any order)")
    p.add_argument("--store", metavar="URL", type=store_url, help=DEFAULT_STORE_HELP)
    p.add_argument(
        "--session",
        metavar="S",
        type=session_id,
        help="search only this session (default: every one)",
    )
    p.add_argument(
        "-k", type=_positive_int, default=10, metavar="N", help="results to print (default: 10)"
    )


async def search_store(url: str | None, query: str, k: int, session: str | None) -> list[Hit]:
    """The ``k`` best ``(session, key, score, item)`` of the store for ``query``, every hit."""
    return [hit for hit, _ in await search_distinct(url, query, k, session, distinct=False)]


async def search_distinct(
    url: str | None, query: str, k: int, session: str | None, *, distinct: bool = True
) -> list[tuple[Hit, int]]:
    """The ``k`` best hits, each with how many lower hits read repeat its text (``distinct``:
    they are folded into it, and the index is asked for more until ``k`` different texts are
    found; a command run six times is one result, not six)."""
    from memcore.search import MemoryIndex, item_text

    items = [
        (name, key, item)
        for name, state in (await read_states(url, session, "memcore search")).items()
        for key, item in state.items()
    ]
    index = MemoryIndex()
    for position, (_, _, item) in enumerate(items):  # (equal scores come in the store's order:
        index.add(f"{position:010d}", item_text(item))  # the index breaks ties by key)
    asked = k * FIRST_ASK if distinct else k
    while True:
        found = index.search(query, asked)
        hits: list[tuple[Hit, int]] = []
        first: dict[str, int] = {}  # a text -> its hit's place
        for ref, score in found:
            name, key, item = items[int(ref)]
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


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    hits = run_reading(args.store, search_distinct(args.store, args.query, args.k, args.session))
    if not hits:
        print(f"no item matches {args.query!r}", file=out)
        return 0
    for (session, key, score, item), repeats in hits:
        more = f" (+{repeats} more with this text)" if repeats else ""
        print(f"{session}\t{key}\t{score:.4f}\t{_preview(item.content, 100)}{more}", file=out)
    return 0
