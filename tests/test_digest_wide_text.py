"""The digest of a session written in Chinese or Japanese: text with no spaces between words,
whose sentences end at wide stops (。！？) with no space after them either."""

from __future__ import annotations

from memcore import MemoryItem, count_tokens, session_digest
from tests.digest_support import T0, _agent

# "Please fix the rounding bug in `cart.py` and add tests."
_REQUEST = "请修复 `cart.py` 中的四舍五入错误，并添加测试。"
# "I found the problem. `round_total()` uses floating point, so results were inexact. I changed
# it to `Decimal`: amounts are exact now. I also added three tests in `tests/test_cart.py`.
# All tests pass."
_REPLY = (
    "我找到了问题所在。`round_total()` 函数使用了浮点数运算，导致结果不精确。"
    "我把它改成了 `Decimal`，这样金额计算就准确了。"
    "另外我在 `tests/test_cart.py` 中添加了三个测试用例，覆盖了边界情况。所有测试都通过了。"
)


def _session() -> list[MemoryItem]:
    meta = {"kind": "task", "source": "claude-code", "role": "user"}
    return [MemoryItem("t", _REQUEST, metadata=meta, created_at=T0), _agent(1, _REPLY, kind="fact")]


def test_a_chinese_reply_is_said_a_sentence_to_a_line() -> None:
    """Each sentence that names something is a line of its own, not the whole reply run
    together as one (the wide stops end sentences), and none is left out for having "one
    word" (its letters count as words, two to a word)."""
    decisions = session_digest(_session(), 2000).sections["decisions"].splitlines()
    assert "- `round_total()` 函数使用了浮点数运算，导致结果不精确。" in decisions
    assert "- 我把它改成了 `Decimal`，这样金额计算就准确了。" in decisions
    assert "- 另外我在 `tests/test_cart.py` 中添加了三个测试用例，覆盖了边界情况。" in decisions
    assert all(line.count("。") <= 1 for line in decisions), decisions


def test_a_short_digest_of_a_chinese_session_keeps_its_budget_and_its_names() -> None:
    for budget in (60, 100, 200):
        digest = session_digest(_session(), budget)
        assert digest.tokens == count_tokens(digest.text) <= budget
        assert "`cart.py`" in digest.text, (budget, digest.text)


def test_a_japanese_reply_is_said_a_sentence_to_a_line() -> None:
    # "I fixed `parse()`. The tests passed! Shall I commit next?"
    reply = "`parse()` の不具合を修正しました。テストはすべて成功しました！次にコミットしますか？"
    items = [_agent(1, reply, kind="fact")]
    decisions = session_digest(items, 2000).sections.get("decisions", "").splitlines()
    assert decisions[:1] == ["- `parse()` の不具合を修正しました。"], decisions
    assert not any("コミットしますか" in line for line in decisions)  # a question: no result
