"""The digest of a session written in Chinese or Japanese (text with no spaces between words,
whose sentences end at wide stops, 。！？, with no space after them either) or Korean: its
sentences, words, cuts, conclusions, guesses, announced steps and closing questions; and the
steps announced in Spanish, Portuguese, German, French and Italian."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_a_line_in_chinese_is_cut_between_its_letters() -> None:
    """A line of Chinese has few spaces to cut at: it is cut after any letter, with an
    ellipsis, keeping as many words (two letters to a word) and names as an English cut."""
    from memcore.digest_cut import cut_line

    line = "- 我们的购物车模块在计算总价时有四舍五入的问题，特别是在使用优惠券的时候。"
    cut = cut_line(line, 20, count_tokens, min_share=0.0)
    assert cut is not None
    assert cut.endswith("\u2026")
    assert count_tokens(cut) <= 20
    assert line.startswith(cut[:-1])
    assert "，\u2026" not in cut  # (no pause before the ellipsis)
    assert cut_line(line, 4, count_tokens, min_share=0.0) is None  # a stump
    named = "- `round_total()` 函数使用了浮点数运算，导致结果不精确，金额经常差一分钱。"
    stub = cut_line(named, 12, count_tokens, min_share=0.0)
    assert stub is not None
    assert stub.startswith("- `round_total()`"), stub


def test_a_long_chinese_request_is_the_topic_of_a_short_digest() -> None:
    """The session's first request, too long for a short digest, is said cut to fit, as an
    English one is (it was left out: it had no space to cut at)."""
    request = "我们的购物车模块在计算总价时有四舍五入的问题，特别是在使用优惠券和多种税率的时候，"
    request *= 8
    meta = {"kind": "task", "source": "claude-code", "role": "user"}
    items = [MemoryItem("t", request, metadata=meta, created_at=T0), _agent(1, _REPLY, kind="fact")]
    for budget in (100, 150, 300):
        digest = session_digest(items, budget)
        asked = digest.sections.get("asked", "")
        assert asked.startswith("- The user asked: 我们的购物车模块"), (budget, digest.text)
        assert asked.endswith("\u2026")
        assert digest.tokens <= budget


def test_a_chinese_conclusion_naming_nothing_is_a_result_of_a_short_digest() -> None:
    """A sentence saying all tests passed ("所有测试都通过了。") concludes, as "All tests pass."
    does: a result line even in a short digest, not a spare line that only fills room left."""
    for budget in (80, 100):
        decisions = session_digest(_session(), budget).sections["decisions"].splitlines()
        assert "- 所有测试都通过了。" in decisions, (budget, decisions)


def test_the_agent_announcing_its_next_step_in_chinese_weighs_as_narration() -> None:
    """ "让我查看 `cart.py`。" (let me look at `cart.py`) is what the agent was about to do, as "Let
    me look at `cart.py`." is: it loses to what the agent found; a Japanese or Korean opening
    of a step ("まず", "먼저") too."""
    from memcore._kernels import prose

    found = prose.statement_sentences(
        "让我查看 `cart.py` 的内容。`round_total()` 使用了浮点数。", False, False, set()
    )
    aside = {sentence: is_aside for sentence, _, _, _, _, is_aside, _, _ in found}
    assert aside == {"让我查看 `cart.py` 的内容。": True, "`round_total()` 使用了浮点数。": False}
    for opening in (
        "まず `cart.py` を確認します。",
        "먼저 `cart.py` 파일의 내용을 확인하겠습니다.",
    ):
        assert prose.statement_sentences(opening, False, False, set())[0][5] is True


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="ab `-\u3002\uff0c\u4e2d\u6587\u6d4b\u8bd5\u3042\u30a2", max_size=60),
    room=st.integers(0, 40),
    names_kept=st.booleans(),
)
def test_a_cut_of_mixed_text_fits_and_is_the_text_s_start(
    text: str, room: int, names_kept: bool
) -> None:
    """Whatever the mix of Chinese, Japanese, spaces and code spans, a cut fits its room, ends
    with an ellipsis, and is the start of the text (its spaces made single)."""
    from memcore.digest_cut import cut_line

    cut = cut_line(text, room, count_tokens, min_share=0.0, names_kept=names_kept)
    if cut is not None:
        assert count_tokens(cut) <= room
        assert cut.endswith("\u2026")
        assert " ".join(text.split()).startswith(cut[:-1])


def test_what_the_agent_was_about_to_do_in_chinese_is_no_result() -> None:
    """ "让我先查看 `src/cart.py`。" (let me look at `src/cart.py` first) and "我将改用
    `Decimal`。" (I will use `Decimal`) say what was to come, as "Let me ..." and "I'll ..."
    do: the records after them say what was done. The finding between them stays."""
    reply = (
        "让我先查看 `src/cart.py` 的实现。问题在于 `total()` 使用了浮点数运算。我将改用 `Decimal`。"
    )
    text = session_digest([_agent(1, reply, kind="fact")], 2000).text
    assert "问题在于 `total()` 使用了浮点数运算。" in text
    assert "让我先查看" not in text
    assert "我将改用" not in text


def test_a_guess_in_chinese_is_no_finding() -> None:
    """ "问题可能是 `cache()` 导致的。" (the problem might be caused by `cache()`) is a guess, as
    "It might be `cache()`" is; what the agent then found stands."""
    reply = "问题可能是 `cache()` 导致的。`cache()` 返回了过期的数据，改成按键失效后修复了。"
    text = session_digest([_agent(1, reply, kind="fact")], 2000).text
    assert "可能是" not in text
    assert "`cache()` 返回了过期的数据，改成按键失效后修复了。" in text


def test_a_chinese_closing_question_awaits_the_user_s_answer() -> None:
    """A reply ending on an offer put to the user in Chinese ("要我提交这些更改吗？", shall I
    commit these changes?) is what is open, as "Would you like me to commit?" is, with the
    sentence before it that says what it is about."""
    reply = (
        "修复完成：`total()` 现在使用 `Decimal` 计算，所有 3 个测试都通过了。要我提交这些更改吗？"
    )
    opened = session_digest([_agent(1, reply, kind="fact")], 2000).sections["open"]
    assert "Awaiting the user's answer: " in opened
    assert opened.rstrip().endswith("要我提交这些更改吗？")
    assert "所有 3 个测试都通过了。要我提交这些更改吗？" in opened  # (no space between them)


def test_a_chinese_yes_to_the_agent_s_offer_is_said_as_the_answer_it_is() -> None:
    """ "好的" (OK) after the agent asked "要我提交这些更改吗？" (shall I commit these changes?)
    is an answer to that question, as "Go ahead." is to "Would you like me to commit?"."""
    reply = "修复完成：所有 3 个测试都通过了。要我提交这些更改吗？"
    yes = MemoryItem(
        "y",
        "好的",
        metadata={"kind": "task", "source": "claude-code", "role": "user"},
        created_at=T0 + timedelta(minutes=5),
    )
    done = _agent(9, "已提交 `a1b2c3d`，所有测试都通过了。", kind="fact")  # (committed)
    asked = session_digest([_agent(1, reply, kind="fact"), yes, done], 2000).sections["asked"]
    assert asked.startswith('- The user answered "')
    assert "要我提交这些更改吗？" in asked
    assert asked.rstrip().endswith(": 好的")


def test_what_the_agent_was_about_to_do_in_other_languages_is_no_result() -> None:
    """ "Voy a revisar `cart.py`." (Spanish), "Ich werde `f()` prüfen." (German), "Je vais
    vérifier `f()`." (French), "Deixe-me ver `cart.py`." (Portuguese): the next step announced,
    as "Let me check `f()`." is; the finding after it, named or concluding, stays."""
    reply = (
        "Voy a revisar `cart.py`. Ich werde `f()` prüfen. Je vais vérifier `f()`. "
        "Deixe-me ver `cart.py`. El error en `total()` está corregido y todas las pruebas pasan."
    )
    text = session_digest([_agent(1, reply, kind="fact")], 2000).text
    for announced in ("Voy a", "Ich werde", "Je vais", "Deixe-me"):
        assert announced not in text, text
    assert "El error en `total()` está corregido y todas las pruebas pasan." in text


def test_chinese_thinking_says_what_it_found_not_what_it_planned_or_asked() -> None:
    """Thinking in Chinese is provisional as in English: "我需要检查 ..." (I need to check ...),
    "所以，我们应该 ..." (so we should ...) and a question ("？") would read as findings; what it
    found stays, and so does "我得到了 ..." (I got ...), which plans nothing."""
    planned = [
        "我需要检查 `cart.py` 中的 `total()` 函数。",  # I need to check `total()` in `cart.py`.
        "所以，我们应该先修复 `round_total()`。",  # So we should fix `round_total()` first.
        "为什么 `total()` 返回 10.01？",  # Why does `total()` return 10.01?
    ]
    found = "`round_total()` 使用了浮点数运算。"  # `round_total()` uses floating point.
    got = "我得到了结果：`total()` 返回 10.0。"  # I got the result: `total()` returns 10.0.
    thought = _agent(1, "".join([*planned, found, got]), kind="thinking")
    decisions = session_digest([thought], 1000).sections.get("decisions", "")
    assert found in decisions
    assert got in decisions
    for sentence in planned:
        assert sentence not in decisions


def test_japanese_and_korean_thinking_says_what_it_found_not_what_it_planned() -> None:
    """Their verb comes last: "... を確認します" (I'll check ...), "... 必要があります" (... needs
    to), "... 하겠습니다" (I will ...) plan; "... を修正しました" (I fixed ...) found."""
    planned = [
        "次に `parse()` の戻り値を確認します。",  # Next I'll check what `parse()` returns.
        "`config.toml` を変更する必要があります。",  # `config.toml` needs to be changed.
        "`parse()` 함수를 다시 확인하겠습니다.",  # I will check the `parse()` function again.
    ]
    found = [
        "`parse()` の不具合を修正しました。",  # I fixed the bug in `parse()`.
        "`parse()` 함수가 빈 문자열을 반환했습니다.",  # `parse()` returned an empty string.
    ]
    thought = _agent(1, " ".join([*planned, *found]), kind="thinking")
    decisions = session_digest([thought], 1000).sections.get("decisions", "")
    for sentence in found:
        assert sentence in decisions
    for sentence in planned:
        assert sentence not in decisions
