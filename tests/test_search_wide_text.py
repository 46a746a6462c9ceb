"""Recall over Chinese and Japanese text: a word found inside a run of letters written with no
spaces, by the bigrams indexed beside the text and looked for beside the query's words."""

from __future__ import annotations

from memcore import DistributedMemoryManager, MemoryIndex, MemoryItem
from memcore.claude_code.project_recall import ProjectRecall
from memcore.claude_code.recall_rank import question_terms
from memcore.search import HybridRetriever, item_text, wide_bigrams, with_wide_bigrams

# "Please fix the rounding bug in `cart.py` and add tests." / "Deploy to the test server." /
# "The tests all passed." (Japanese)
NOTES = {
    "round": "请修复 `cart.py` 中的四舍五入错误，并添加测试。",
    "deploy": "部署到测试服务器。",
    "ja": "テストはすべて成功しました。",
}


def test_bigrams_are_every_two_letters_of_each_run() -> None:
    assert wide_bigrams("四舍五入") == "四舍 舍五 五入"
    assert wide_bigrams("a 中文, `x` 测试通过") == "中文 测试 试通 通过"
    assert wide_bigrams("テスト") == "テス スト"
    assert wide_bigrams("plain ascii text") == ""
    assert wide_bigrams("中 café") == ""  # (one letter: no pair)
    # what recall indexes of an item carries them after its content
    indexed = item_text(MemoryItem("r", NOTES["round"]))
    assert indexed.startswith(NOTES["round"])
    assert "四舍 舍五 五入" in indexed
    assert item_text(MemoryItem("e", "all ascii")) == "all ascii"


async def test_the_manager_s_search_finds_a_word_inside_a_run() -> None:
    manager = DistributedMemoryManager("memory://", replica_id="a")
    for key, text in NOTES.items():
        manager.set("s", key, MemoryItem(key, text))
    # "rounding" is inside the run "中的四舍五入错误": the whole run is no query's word
    assert [hit.key for hit in manager.search("s", "四舍五入")][:1] == ["round"]
    assert [hit.key for hit in manager.search("s", "服务器")][:1] == ["deploy"]
    assert [hit.key for hit in manager.search("s", "成功")][:1] == ["ja"]
    assert manager.search("s", "数据库") == []  # ("database": no bigram of it is there)
    await manager.close()


def test_recall_looks_for_a_chinese_question_s_bigrams() -> None:
    """The MCP recall's terms: a run of the question's letters with its bigrams (and no English
    plural made of it)."""
    terms = question_terms("四舍五入的错误？").split()
    assert terms == ["四舍五入的错误", "四舍", "舍五", "五入", "入的", "的错", "错误"]
    manager = DistributedMemoryManager("memory://", replica_id="a")
    for key, text in NOTES.items():
        manager.set("s", key, MemoryItem(key, text))
    recall = ProjectRecall()
    recall.refresh(manager, ["s"], {})
    hits = recall.search(question_terms("哪里有四舍五入错误"), 3)
    assert [item.id for _, item, _ in hits][:1] == ["round"]


def test_the_hybrid_retriever_s_keyword_side_finds_it_too() -> None:
    retriever = HybridRetriever.from_items(
        {key: MemoryItem(key, text) for key, text in NOTES.items()},
        lambda texts: [[1.0, float(len(t))] for t in texts],
    )
    assert [key for key, _ in retriever.index.search("四舍 舍五 五入", 3)][:1] == ["round"]
    assert "round" in [key for key, _ in retriever.search("四舍五入", 3)]


def test_a_long_chinese_hit_is_shown_where_the_question_s_words_are() -> None:
    """A hit longer than recall shows whole is shown around the question's words, found inside
    a run of letters by their bigrams (the run itself is one token)."""
    from memcore.claude_code.recall_rank import shown_hit

    # "Earlier text." x 150, "We found the rounding bug in the cart module.", "Later text." x 50
    text = "前面的内容。" * 150 + "我们发现四舍五入错误出现在购物车模块中。" + "后面的内容。" * 50
    shown = shown_hit(text, (), question_terms("四舍五入错误").split())
    assert "四舍五入错误" in shown
    assert len(shown) < len(text)


async def test_a_korean_word_is_found_with_its_particle_written_on() -> None:
    """Korean spaces its words but writes particles onto them: "테스트" (test) is found in
    "테스트를" and "테스트가" by their bigrams, as a Chinese word inside its run."""
    manager = DistributedMemoryManager("memory://", replica_id="a")
    # "ran the tests and they all passed" / "updated the documentation"
    manager.set("s", "ran", MemoryItem("ran", "테스트를 실행했고 모든 테스트가 통과했습니다."))
    manager.set("s", "doc", MemoryItem("doc", "문서를 업데이트했습니다."))
    assert [hit.key for hit in manager.search("s", "테스트")] == ["ran"]
    assert wide_bigrams("테스트를") == "테스 스트 트를"
    await manager.close()


def test_a_question_s_own_words_in_chinese_and_korean_are_not_looked_for() -> None:
    """ "怎么" (how), "为什么" (why), "어떻게" (how) are the question's own words, as "how" and
    "why" are: their bigrams are left out of the terms, or every other question in memory would
    match ("怎么部署？", how to deploy?), and a word made of them goes as "how" does."""
    terms = question_terms("怎么运行测试").split()
    assert terms == ["怎么运行测试", "么运", "运行", "行测", "测试"]
    assert "어떻게" not in question_terms("테스트를 어떻게 실행하나요").split()
    assert question_terms("怎么") == "怎么"  # (nothing else asked: the word itself)
    notes = {
        # "Run the tests with `pytest -q`; they all need to pass before a commit."
        "tests": "运行测试用 `pytest -q`，提交前必须全部通过。",
        # "How do we deploy to production? Still to be decided."
        "deploy": "怎么部署到生产环境？还没有决定。",
        # "How should the cart round? Half up."
        "round": "购物车怎么四舍五入？四舍五入到分。",
    }
    index = MemoryIndex()
    for key, text in notes.items():
        index.add(key, with_wide_bigrams(text))
    hits = index.search(question_terms("怎么运行测试"), 3)
    assert [key for key, _ in hits] == ["tests"]
