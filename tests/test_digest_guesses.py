"""Thinking aloud, guesses and announced next steps are no results, and the prefilters for them."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from memcore import MemoryItem, digest_prose, digest_settled, session_digest
from tests.digest_statements_support import HOUR, _agent, _asked
from tests.digest_support import T0


def test_pointers_and_musing_give_way_to_what_they_point_at() -> None:
    text = (
        "I found the bug! The map in `merge()` was iterated in random order. "
        "Wait, the test in `merge_test.go` still passes. "
        "Here's what was fixed:\n\n- `merge()` sorts its keys\n\n"
        "Updated `sortKeys()` in `merge.go` to:\n\n```go\nsort.Strings(keys)\n```\n"
    )
    decisions = session_digest([_agent(1, text)], 60).sections["decisions"]
    assert "The map in `merge()` was iterated in random order." in decisions
    assert "Updated `sortKeys()` in `merge.go`." in decisions
    assert "I found the bug" not in decisions
    assert "Here's what" not in decisions
    roomy = session_digest([_agent(1, text)], 1000).sections["decisions"]
    assert "I found the bug" not in roomy  # not even as a spare line
    # thinking aloud weighs less than a finding: with room for one, the finding is said
    musing = "The map in `merge()` is sorted now. Wait, the test in `merge_test.go` passes."
    tight = session_digest([_agent(1, musing)], 20).sections["decisions"]
    assert "`merge()` is sorted" in tight
    assert "Wait" not in tight


def test_guesses_and_asides_that_name_nothing_are_no_lines_even_with_room() -> None:
    """An agent thinking aloud ("Maybe ...", "Actually, ...", "It seems ...", "But first ...")
    names no result; with room to spare the digest still leaves such a sentence out, while a
    musing that names something weighs less than a finding and stays a candidate."""
    text = (
        "Maybe there were merge conflicts I didn't see. "
        "Actually, it might be simpler to restore the file. "
        "It seems like the stash came from an older branch. "
        "It looks like some new changes came in. "
        "But first I need to find where the input is defined. "
        "Hmm, that is odd. "
        "The build failed because `InitializeSession` takes three arguments now. "
        "Actually, `hooks_geminicli_handlers.go` still passes two."
    )
    decisions = session_digest([_agent(1, text)], 1000).sections["decisions"]
    assert "`InitializeSession` takes three arguments now" in decisions
    assert "`hooks_geminicli_handlers.go` still passes two" in decisions  # (names something)
    for aside in ("Maybe", "simpler to restore", "It seems", "It looks like", "But first", "Hmm"):
        assert aside not in decisions


def test_thinking_says_what_it_found_not_what_it_guessed_planned_or_was_asked() -> None:
    """Thinking is provisional: a guess, the agent's plan, the user's request said over, or a
    question would read in a digest as what was found or decided. What it states stays."""
    meta = {"source": "claude-code", "role": "assistant", "kind": "thinking"}
    settled = "`merge()` drops `x` when the map is empty."
    unsettled = [
        "The issue might be that `load()` skips `y`.",
        "The user wants me to fix `save()` in `store.go`.",
        "I'll update `flush()` next.",
        "So we need to change `close()` first.",
        "Does `open()` return `nil` here?",
        "There's `BatchUploadTimeout` (defaults to 10 seconds!) - that's likely the issue.",
        "The delay must be in `Close()`.",
        "So `process.cwd()` inside the subprocess should be `fixture.dir`.",
        "It seems to hang in `Flush()` before `Close()` returns.",
    ]
    seen = "I can see the bug now: `boot.py` calls `load_items` twice."
    # (naming nothing, a guess would come back as a spare line when room is left)
    vague = "The issue might be somewhere in the cache layer of the shop."
    think = MemoryItem("k", " ".join([*unsettled, settled, seen]), metadata=meta, created_at=T0)
    aside = MemoryItem("v", vague, metadata=meta, created_at=T0 + HOUR)
    task = {"source": "claude-code", "role": "user", "kind": "task"}
    items = [
        MemoryItem("t", "fix the empty map case", metadata=task, created_at=T0 - HOUR),
        think,
        aside,
    ]
    text = session_digest(items, 2000).text
    assert settled in text
    assert seen in text  # (what the agent can see now is a finding)
    for sentence in [*unsettled, vague]:
        assert sentence not in text


@given(
    st.lists(
        st.sampled_from(
            ["I", "we", "So,", "but", "the user", "wants", "might", "Likely", "must be",
             "should have", "seems to", "`f()`", "fails", "?", "ok", "Then", "x", ".",
             "\u0131 think", "\u017feems to", "li\u212aely", "?\")", "\u2014", "? x",
             "\u53ef\u80fd\u662f", "\u53ef\u80fd", "\u305f\u3076\u3093",
             "\uac83 \uac19\uc2b5\ub2c8\ub2e4", "\u6211\u9700\u8981", "\u6240\u4ee5\uff0c",
             "\u6211\u4eec", "\u5f97\u5230", "\u5f97", "\uff1f", "\u73b0\u5728", "\u6211",
             "\u78ba\u8a8d\u3057\u307e\u3059", "\ud558\uaca0\uc2b5\ub2c8\ub2e4",
             "\ud574\uc57c \ud569\ub2c8\ub2e4", "unlikely", "UNLIKELY", "xmight", "maybe_",
             "appears to", "Seem", "must have", "must", "have", "should", "be", "(perhaps",
             "would", "Would", "shouldn't", "wouldn't", "xshould", "should_"]
        ),
        max_size=8,
    ).map(" ".join)
    # (glued: a hint inside a word, or just after one)
    | st.lists(st.sampled_from(["un", "likely", "might", "x", " ", "I think", "_", "seems to"]))
    .map("".join)
    | st.text(max_size=40)
)  # fmt: skip
def test_the_unsettled_prefilter_finds_what_the_pattern_finds(sentence: str) -> None:
    """``_unsettled`` tests cheap hints before the pattern: it must agree with the pattern."""
    assert digest_settled.unsettled(sentence) == (
        digest_settled.UNSETTLED.search(sentence) is not None
    )


def test_the_agent_announcing_its_next_step_is_no_result() -> None:
    """ "Let me check `f()` ...", "I'll start by adding `g()` ...": what the agent was about to
    do, named things or not; the records after it say what it did."""
    reply = (
        "Let me look at `session_state_test.go` to understand the test patterns used. "
        "I'll start by adding the `ApplyCommonActions` helper and its tests. "
        "`InitializeSession` never set the phase: that was the bug."
    )
    asked = _asked("wire the phases")
    text = session_digest([asked, _agent(5, reply)], 2000).text
    assert "Let me look at" not in text
    assert "I'll start by" not in text
    assert "`InitializeSession` never set the phase: that was the bug." in text


def test_a_guess_in_the_agent_s_words_is_no_finding_unless_it_concludes() -> None:
    """ "that's likely the issue", "The delay must be in `Close()`": said to the user, still a
    guess; what the agent then found says what held."""
    reply = (
        "There's `BatchUploadTimeout` (defaults to 10 seconds!) - that's likely the issue. "
        "The delay must be in `Close()`. "
        "`Close()` waits for `BatchUploadTimeout`: setting it to 100ms fixed the delay."
    )
    asked = _asked("why is exit slow?")
    text = session_digest([asked, _agent(5, reply)], 2000).text
    assert "likely the issue" not in text
    assert "The delay must be in" not in text
    assert "setting it to 100ms fixed the delay" in text


@given(
    st.lists(
        st.sampled_from(
            ["It", "might be", "MAYBE", "Probably", "i suspect", "Likely", "must be", "could be",
             "`f()`", "fails", "x", "I think", "not sure", ".", "\u0130 suspect", "\u2192",
             "\u53ef\u80fd\u662f", "\u53ef\u80fd", "\u4e5f\u8bb8", "\u305f\u3076\u3093",
             "\uac83 \uac19\uc2b5\ub2c8\ub2e4", "\uac83", "unlikely", "Unlikely", "xmaybe",
             "maybe_", "(perhaps", "must", "be", "could", "should", "already", "work", "now",
             "satisfy", "be fine", "looks like", "Looks", "like", "seems to", "Seem", "appear",
             "appears to", "\u017fhould", "loo\u212a", "xlook", "should_"]
        ),
        max_size=8,
    ).map(" ".join)
    # (glued: a hint inside a word, or just after one)
    | st.lists(
        st.sampled_from(
            ["un", "likely", "maybe", "x", " ", "i guess", "_", "must be", "should", " work",
             "look", "s like", "seem"]
        )
    )
    .map("".join)
    | st.text(max_size=40)
)  # fmt: skip
def test_the_guessing_prefilter_finds_what_the_pattern_finds(sentence: str) -> None:
    assert digest_settled.guessing(sentence) == (
        digest_settled.GUESSING.search(sentence) is not None
    )


@given(
    st.lists(
        st.sampled_from(
            ["But", "but,", "So", "\u017fo", "and", "OK,", "okay", "wait", "Wait,", "hmm", "Hmmm.",
             "hold on", "oh!", "Ah:", "x", "the", "`f`", "-", "\u212a"]
        ),
        min_size=1,
        max_size=5,
    ).map(" ".join)
)  # fmt: skip
@example("\u017fo wait, the test")
@example("But wait, the linter")
def test_the_thinking_aloud_prefilter_finds_what_the_pattern_finds(sentence: str) -> None:
    """The narration penalty tests a sentence's first letter before its pattern: it must never
    hide a match (case folding included)."""
    if digest_prose._THINKING_ALOUD.match(sentence):
        assert sentence[0] in digest_prose._ALOUD_OPENINGS


def test_what_a_test_is_to_show_and_what_holds_if_are_no_results() -> None:
    """A manual test's "Success indicators:" and a proposal's "What gets modified:" list what
    has not happened; "If it works, X should ..." expects. The records after them say what
    held; the lines the agent found stay."""
    text = (
        "Run the import again with `cctrace import`.\n\n"
        "**Success indicators:**\n"
        "- Session appears in the `/continue` list\n"
        "- `history.jsonl` gains an entry for it\n\n"
        "What gets modified:\n"
        "- Creates new test directories in `~/.claude/projects/`\n\n"
        "If resumption works, Claude should have the context of `session.jsonl`. "
        "The importer writes `cwd` from the target folder."
    )
    decisions = session_digest([_agent(1, text)], 1000).sections["decisions"]
    assert "`/continue` list" not in decisions
    assert "gains an entry" not in decisions
    assert "Creates new test directories" not in decisions
    assert "should have the context" not in decisions
    assert "The importer writes `cwd` from the target folder." in decisions
    assert digest_settled.guessing("If the tests pass, `merge()` should be safe.")
    assert not digest_settled.guessing("If `debug` is set, `run()` logs slow callbacks.")


def test_what_is_still_to_do_is_no_result() -> None:
    """A list of what is not done yet ("Files NOT YET updated:", "Remaining work:") names work
    a result line would say as done; a list of what was found stays."""
    text = (
        "Files NOT YET updated:\n"
        "- `bun.lock` - needs regeneration via `bun install`\n\n"
        "**Remaining work:**\n"
        "- `insert()` in `ClickHouseExecutor` for the seeding step\n\n"
        "### Next Steps\n"
        "- Sprint 0 (Bug Fix): underscore normalization in `export_session.py`\n\n"
        "Found in the merge:\n"
        "- `packages/core` moved to `@chkit/core` in `package.json`"
    )
    decisions = session_digest([_agent(1, text)], 1000).sections["decisions"]
    assert "needs regeneration" not in decisions
    assert "`insert()`" not in decisions
    assert "underscore normalization" not in decisions
    assert "moved to `@chkit/core`" in decisions


def test_a_result_the_user_next_said_did_not_work_is_said_with_their_words() -> None:
    """ "Changes made: fixed the permissions", then the user: "still didnt work": said alone,
    the line reads as a fix that held. A turn the user did not contradict stays as it was."""
    from datetime import timedelta

    def asked(i: int, text: str) -> MemoryItem:
        meta = {"source": "claude-code", "role": "user", "kind": "task"}
        return MemoryItem(f"t{i}", text, metadata=meta, created_at=T0 + timedelta(minutes=i))

    items = [
        asked(0, "make `claude -c` find the imported session"),
        _agent(1, "Changes made: fixed the permissions of `session.jsonl` to 600."),
        asked(2, "still didnt work. It says no conversation found."),
        _agent(3, "The folder name needs hyphens: renamed it to `-mnt-c-python-test`."),
        asked(4, "it worked! thanks"),
    ]
    decisions = session_digest(items, 1000).sections["decisions"]
    assert (
        'fixed the permissions of `session.jsonl` to 600. (then the user: "still didnt work")'
        in decisions
    )
    assert "renamed it to `-mnt-c-python-test`." in decisions
    assert "`-mnt-c-python-test`. (then the user" not in decisions
