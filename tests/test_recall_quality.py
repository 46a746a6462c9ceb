"""The recall-quality benchmark: what it asks, what it counts as an answer, and that the MCP
tool's ranking it measures is the one the server uses."""

from __future__ import annotations

from benchmarks import recall_quality as rq
from benchmarks.compaction_quality import CompactionCase, load_cases
from memcore.claude_code.recall_rank import SHOWN_CHARS, shown_text
from memcore.model import MemoryItem
from tests.claude_code_support import DATA
from tests.digest_support import needs_data


def _case(summary: str, transcript: str) -> CompactionCase:
    return CompactionCase("case", [], summary, transcript, 0.0)


def test_a_summary_line_asks_in_its_words_without_the_names_it_names() -> None:
    case = _case(
        "- Stale build artifacts required `mix compile --force`\n"
        "```\n`inside_a_fence` is no question at all here\n```\n"
        "- `absent_name` is never in the transcript, so this line asks nothing\n"
        "- Fixed `parse()` in lib/cart/total.ex\n",  # two words left: no question
        "ran mix compile --force; parse() in lib/cart/total.ex",
    )
    assert rq.questions(case) == [
        rq.Question("stale build artifacts required", ("mix compile --force",))
    ]


def test_an_answer_names_the_name_where_recall_shows_it() -> None:
    near = MemoryItem("near", "Ran `mix compile --force` after the stale build.")
    far = MemoryItem("far", "x " * SHOWN_CHARS + "`mix compile --force`")
    memory = rq.Memory([near, far])
    question = rq.Question("stale build", ("mix compile --force",))
    assert rq.answers(memory, question, ["far", "near"]) == [False, True]
    assert shown_text("a\n  b") == "a b"
    assert SHOWN_CHARS - 5 <= len(shown_text("word " * SHOWN_CHARS)) <= SHOWN_CHARS  # (a word)


@needs_data
def test_recall_beats_the_latest_items_on_a_real_session() -> None:
    case = next(c for c in load_cases(DATA) if c.name == "entireio__cli__847ff7d2")
    scores = {s.method: s for s in rq.score(case)}
    assert scores["recall"].questions == scores["latest"].questions > 10
    assert scores["recall"].hit > scores["latest"].hit
    assert 0.0 < scores["recall"].mrr <= 1.0


def test_the_benchmark_scores_as_the_server_s_recall_scores() -> None:
    """The server's recall index and the benchmark's ``recall`` method use ``recall``'s BM25
    parameters; the plain ``bm25`` row, a ``MemoryIndex`` as it comes (Lucene's defaults)."""
    from memcore.claude_code.project_recall import ProjectRecall
    from memcore.claude_code.recall_rank import RECALL_B, RECALL_K1

    server = ProjectRecall()._index  # (the index the MCP tool searches)
    memory = rq.Memory([MemoryItem("a", "one text")])
    assert (server.k1, server.b) == (RECALL_K1, RECALL_B)
    assert (memory.recall_index.k1, memory.recall_index.b) == (RECALL_K1, RECALL_B)
    assert (memory.index.k1, memory.index.b) == (1.5, 0.75)
    assert (RECALL_K1, RECALL_B) != (1.5, 0.75)
