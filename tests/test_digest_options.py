"""Options named by number ("let's go with option 1", "Option 1 or Option 3?") are spelled out
with the titles the agent gave them, from its latest message that listed options."""

from __future__ import annotations

from memcore import session_digest
from memcore.digest_options import named_options, options_of, recommendation_reasons
from tests.test_transcript_agent_records import _Records

LISTED = """For agent-agnostic support, we have a few options:

1. **Add to Agent interface**: `TranscriptReader` with `GetCurrentPosition`

2. **Dispatch by AgentType**: store `TranscriptPath` and dispatch

What's your preference?"""

HEADED = """### Option 1: Extract Shared State & Message Builder (Recommended)
Move the helpers into `state.go`.

### Option 2: Full Unification with Callback
### Option 3: Keep As-Is

Would you like me to implement Option 1, or do you think keeping it as-is (Option 3) is better?"""


def test_options_are_read_from_headings_or_a_list_of_options() -> None:
    assert options_of(LISTED) == {"1": "Add to Agent interface", "2": "Dispatch by AgentType"}
    assert options_of(HEADED) == {
        "1": "Extract Shared State & Message Builder (Recommended)",
        "2": "Full Unification with Callback",
        "3": "Keep As-Is",
    }
    assert options_of("Steps:\n1. **Build** it\n2. **Ship** it") == {}  # no options spoken of
    assert named_options("go with option 2", {"1": "a"}) == ""  # (one it does not know)


def test_a_request_naming_an_option_says_which() -> None:
    records = _Records()
    records.user("how should the strategy read transcripts?")
    records.said(LISTED)
    records.user("let's go with option 1")
    opened = session_digest(records.items(), 2000).sections["open"]  # (the latest: still open)
    assert "not answered yet: let's go with option 1 (option 1: Add to Agent interface)" in opened
    records.said("Done: `TranscriptReader` is in the Agent interface.")
    records.user("now the tests")
    asked = session_digest(records.items(), 2000).sections["asked"]
    assert "- The user asked: let's go with option 1 (option 1: Add to Agent interface)" in asked


def test_a_closing_question_between_options_says_them() -> None:
    records = _Records()
    records.user("should the two agents share the session code?")
    records.said(HEADED)
    opened = session_digest(records.items(), 2000).sections["open"]
    assert opened.endswith(
        "(option 1: Extract Shared State & Message Builder (Recommended); option 3: Keep As-Is)"
    )


FINDINGS_THEN_OPTIONS = """What the cleanup shows today:

1. **Preview mode**: prints the IDs
2. **Force mode**: prints the deleted IDs
3. **No structured logging**: no `slog` calls

**Options:**
1. **Remove `Reason`** - YAGNI, it's dead code
2. **Display `Reason` in preview** - helps users
3. **Add structured logging** - for an audit trail

Which would you like?"""


def test_the_options_are_the_list_after_the_words_that_offer_them() -> None:
    """A message may number its findings first: their "3." is no option to choose."""
    assert options_of(FINDINGS_THEN_OPTIONS) == {
        "1": "Remove `Reason`",
        "2": "Display `Reason` in preview",
        "3": "Add structured logging",
    }


def test_a_bare_number_answering_the_options_just_offered_is_the_users_choice() -> None:
    """ "3" says nothing to a reader who did not see the list: it is the user's decision, said
    with the option's title; a number answering anything else is not taken for one."""
    records = _Records()
    records.user("do we log the deleted items?")
    records.said(FINDINGS_THEN_OPTIONS)
    records.user("3")
    records.said("Adding `slog` calls to the cleanup.")
    asked = session_digest(records.items(), 2000).sections["asked"]
    assert "- The user chose option 3: Add structured logging." in asked
    later = _Records()
    later.user("do we log the deleted items?")
    later.said(FINDINGS_THEN_OPTIONS)
    later.user("first show me the code")
    later.said("Here is `cleanup.go`: it prints the IDs.")
    later.user("3")  # (not an answer to the options: another reply came between)
    assert "chose" not in session_digest(later.items(), 2000).text


def test_the_options_a_reply_offers_are_said_as_offered() -> None:
    """An option's line said alone ("Remove `Reason` - YAGNI, it's dead code") read as a change
    made; it is said as offered, whichever one the user then took."""
    records = _Records()
    records.user("do we log the deleted items?")
    records.said(
        "No: `Reason` is computed but never shown.\n\n**Options:**\n"
        "1. **Remove `Reason`** - YAGNI, it's dead code in `cleanup.go`\n"
        "2. **Add structured logging** - `slog` calls in `DeleteAllCleanupItems()`\n\n"
        "Which would you like?"
    )
    decisions = session_digest(records.items(), 2000).sections["decisions"].splitlines()
    assert "- Option 1 offered: Remove `Reason` - YAGNI, it's dead code in `cleanup.go`" in (
        decisions
    ), decisions
    assert not any(line.startswith("- Remove `Reason`") for line in decisions)


def test_a_recommendation_the_user_chose_against_says_what_the_user_chose() -> None:
    """A held-out session: the agent recommended Option 1, the user took Option 2, and a brief
    kept "I'd recommend Option 1." as the decision."""
    offered = (
        "Here are a few options:\n\n**Option 1 - Simple with path context**\n...\n\n"
        "**Option 2 - With semantic meaning**\n...\n\n"
        "I'd recommend **Option 1** because it shows the full path of `settings.json`."
    )
    records = _Records()
    records.user("suggest a better status message for `entire enable`")
    records.said(offered)
    records.user("I like a slightly edited option2")
    decisions = session_digest(records.items(), 2000).sections["decisions"]
    assert (
        "I'd recommend Option 1 because it shows the full path of `settings.json` "
        "(the user chose option 2: With semantic meaning)." in decisions
    ), decisions
    agreed = _Records()  # (the user took the one recommended: nothing to add)
    agreed.user("suggest a better status message")
    agreed.said(offered)
    agreed.user("go with option 1")
    assert "the user chose" not in session_digest(agreed.items(), 2000).sections["decisions"]


def test_the_reasons_of_a_recommendation_the_user_chose_against_are_not_said() -> None:
    """A held-out session: "I'd recommend **Option 1** because:" and its list of reasons ("-
    Shows the full relative path ...") stood in the decisions after the user took Option 2:
    they argue for what was not done. Kept when the user took the one recommended."""
    offered = (
        "Here are a few options:\n\n**Option 1 - Simple with path context**\n...\n\n"
        "**Option 2 - With semantic meaning**\n...\n\n"
        "I'd recommend **Option 1** because:\n"
        "- Shows the full relative path (`.entire/`) which helps users find the file\n"
        '- Consistent with the existing `"✓ .entire directory created"` message style\n'
    )
    reason = "Shows the full relative path (`.entire/`)"
    overruled = _Records()
    overruled.user("suggest a better status message for `entire enable`")
    overruled.said(offered)
    overruled.user("I like a slightly edited option2")
    decisions = session_digest(overruled.items(), 2000).sections["decisions"]
    assert "(the user chose option 2: With semantic meaning)" in decisions, decisions
    assert reason not in decisions, decisions
    assert "message style" not in decisions, decisions
    agreed = _Records()
    agreed.user("suggest a better status message for `entire enable`")
    agreed.said(offered)
    agreed.user("go with option 1")
    assert reason in session_digest(agreed.items(), 2000).sections["decisions"]


def test_recommendation_reasons_reads_the_list_its_line_leads_in() -> None:
    text = (
        "I'd recommend **Option 2** because:\n\n1. **Faster** to build\n2. Fewer files\n\n"
        "Also:\n- unrelated"
    )
    assert recommendation_reasons(text) == ["Faster to build", "Fewer files"]
    assert recommendation_reasons("I'd recommend Option 2.\n- a finding") == []
    assert recommendation_reasons("We recommend caching because:\n- it is fast") == []
