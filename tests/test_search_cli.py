"""``memcore search`` on a real store with several sessions: an SQLite file and Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from memcore import DistributedMemoryManager
from memcore.cli import EXIT_ERROR, main

SESSIONS = {
    "alpha": {
        "a1": "Redis Cluster keeps every key of one session in one hash slot",
        "a2": "The default store is an SQLite file",
    },
    "beta": {
        "b1": "redis-server is started on a free loopback port by the tests",
        "b2": "lz4 frames can be read by the lz4 command-line tool",
    },
    "memcore.internal": {"i1": "redis internals nobody should see"},
}


@pytest.fixture(params=["sqlite", "redis"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path, memcore_home: Path) -> str:
    """The sessions above in a store: an SQLite file, which the command reads at once (no event
    loop), and Redis, which it reads through asyncio."""
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
    else:
        url = f"sqlite:///{tmp_path / 'several.db'}"
    manager = DistributedMemoryManager(url, replica_id="writer")
    for session, items in SESSIONS.items():
        for key, text in items.items():
            manager.set(session, key, {"content": text})
        await manager.sync_session_memory(session)
    await manager.close()
    return url


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_every_session_by_default(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run_cli(capsys, "search", "redis", "--store", store_url)
    assert code == 0, err
    rows = [line.split("\t") for line in lines]
    assert {(row[0], row[1]) for row in rows} == {("alpha", "a1"), ("beta", "b1")}
    scores = [float(row[2]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0
    assert any(row[3].startswith("Redis Cluster keeps") for row in rows)


def test_words_no_item_has_are_named_on_stderr(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "wingman" is in no item: the results, which match "redis" only, say so on stderr (the
    results stay one per line); a word an item has in another form ("frame" for "frames") is
    not named, nor is anything when nothing matches."""
    code, lines, err = run_cli(capsys, "search", "redis wingman", "--store", store_url)
    assert code == 0
    assert len(lines) == 2
    assert err.strip().splitlines() == [
        'memcore search: no item has "wingman": the results match the query\'s other words only'
    ]
    code, lines, err = run_cli(capsys, "search", "lz4 frame", "--store", store_url)
    assert (code, err) == (0, "")
    code, lines, err = run_cli(capsys, "search", "wingman", "--store", store_url)
    assert (code, lines, err) == (0, ["no item matches 'wingman'"], "")


def test_one_session_and_k(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run_cli(
        capsys, "search", "redis lz4", "--store", store_url, "--session", "beta"
    )
    assert code == 0
    assert [line.split("\t")[:2] for line in lines] == [["beta", "b2"], ["beta", "b1"]]
    code, lines, _ = run_cli(capsys, "search", "redis lz4", "--store", store_url, "-k", "1")
    assert code == 0
    assert len(lines) == 1


def test_default_store_and_no_match(
    memcore_home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(capsys, "search", "anything")
    assert code == EXIT_ERROR
    assert len(err.strip().splitlines()) == 1


def test_default_store_is_searched(memcore_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def write() -> None:
        manager = DistributedMemoryManager(None, replica_id="w")
        manager.set("notes", "n1", {"content": "the embedded store is searched by default"})
        await manager.sync_session_memory("notes")
        await manager.close()

    asyncio.run(write())
    code, lines, _ = run_cli(capsys, "search", "embedded")
    assert code == 0
    assert lines[0].split("\t")[:2] == ["notes", "n1"]
    code, lines, _ = run_cli(capsys, "search", "zebra")
    assert code == 0
    assert lines == ["no item matches 'zebra'"]


def test_unknown_session_is_one_line(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = run_cli(capsys, "search", "redis", "--store", store_url, "--session", "nope")
    assert code == EXIT_ERROR
    assert lines == []
    assert len(err.strip().splitlines()) == 1
    assert "nope" in err


def test_bad_k_is_a_usage_error(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "search", "redis", "--store", store_url, "-k", "0")
    assert code == 2
    assert len(err.strip().splitlines()) == 1


async def test_equal_scores_come_in_the_stores_order(tmp_path: Path, memcore_home: Path) -> None:
    """Twelve copies of one text tie: they come as the store holds them (k0, k1, ..., k11), not
    in the order of their index keys as text ("10" before "2")."""
    from memcore.cli.digest import _states as read_states
    from memcore.cli.recall import search_store

    url = f"sqlite:///{tmp_path / 'ties.db'}"
    manager = DistributedMemoryManager(url, replica_id="writer")
    for n in range(12):
        manager.set("s", f"k{n}", {"content": "the same words every time"})
    await manager.sync_session_memory("s")
    await manager.close()
    held = list((await read_states(url, None))["s"])
    hits = await search_store(url, "same words", 12, None)
    assert [key for _, key, _, _ in hits] == held


async def test_a_text_stored_many_times_is_one_result_with_its_count(
    tmp_path: Path, memcore_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command run six times is six items: one line, saying how many more it stands for, and
    the other results still come (k different texts when there are that many)."""
    url = f"sqlite:///{tmp_path / 'repeats.db'}"
    manager = DistributedMemoryManager(url, replica_id="writer")
    for n in range(6):
        manager.set("s", f"run{n}", {"content": "Run `mise run lint` before every commit"})
    manager.set("s", "note", {"content": "lint warnings fail the CI run"})
    manager.set("s", "other", {"content": "the release is tagged by make"})
    await manager.sync_session_memory("s")
    await manager.close()
    code, lines, err = await asyncio.to_thread(
        run_cli, capsys, "search", "mise run lint", "--store", url, "-k", "2"
    )
    assert code == 0, err
    assert len(lines) == 2
    assert lines[0].split("\t")[1] == "run0"
    assert lines[0].endswith("(+5 more with this text)")
    assert lines[1].split("\t")[1] == "note"


async def test_a_question_is_searched_as_recall_asks_it(
    tmp_path: Path, memcore_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A question in words ("how do I run the tests") ranks as the MCP server's ``recall`` does:
    its own words (how, do, the) are left out and "tests" finds "test": the item that says how
    the tests run is found, not the one that shares only "how do the" with it (plain BM25 over
    the words as typed put that one first, and the cart's line third for its "the")."""
    url = f"sqlite:///{tmp_path / 'question.db'}"
    manager = DistributedMemoryManager(url, replica_id="writer")
    texts = {
        "q": "how do the hooks know which project a session is in?",
        "t": "Run `mise run test` before a commit: it runs every test of the project.",
        "s": "The shop's cart rounds half up.",
    }
    for key, text in texts.items():
        manager.set("s", key, {"content": text})
    await manager.sync_session_memory("s")
    await manager.close()
    code, lines, err = await asyncio.to_thread(
        run_cli, capsys, "search", "how do I run the tests", "--store", url
    )
    assert code == 0, err
    assert [line.split("\t")[1] for line in lines] == ["t"]


async def test_hits_of_equal_scores_come_in_the_same_order_from_every_store(
    tmp_path: Path, memcore_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Equal scores keep the order the items were indexed in: that was the store's own, and
    Redis gave another than SQLite for the same items. They are indexed by key now."""
    url = f"sqlite:///{tmp_path / 'ties.db'}"
    manager = DistributedMemoryManager(url, replica_id="writer")
    for key in ("k3", "k1", "k2"):
        manager.set("s", key, {"content": f"the same words {key[-1]}"})
    await manager.sync_session_memory("s")
    await manager.close()

    import dataclasses

    from memcore.stores.sqlite_reader import SQLiteReader

    first = run_cli(capsys, "search", "same words", "--store", url)[1]
    read_snapshot = SQLiteReader.read_snapshot

    async def reversed_snapshot(self: SQLiteReader, session_id: str) -> object:
        snapshot = await read_snapshot(self, session_id)
        records = dict(reversed(list(snapshot.records.items())))
        return dataclasses.replace(snapshot, records=records)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SQLiteReader, "read_snapshot", reversed_snapshot)
        again = run_cli(capsys, "search", "same words", "--store", url)[1]
    assert [line.split("\t")[1] for line in first] == ["k1", "k2", "k3"]
    assert again == first
