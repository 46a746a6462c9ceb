"""A long request in a digest: its line says the document's title and context (as Claude's
summaries put it), and its further lines come under it, not in its place."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from memcore import MemoryItem, session_digest
from memcore.digest_asked import HEAD_LEAST_WORDS, REQUEST_REST_LEAD, REQUEST_WORDS, head_words
from tests.digest_support import T0, _agent

_CONTEXT = (
    "Wingman currently hardcodes the `claude` CLI and the `sonnet` model for its reviews. "
    "This change lets users choose which agent and model perform the reviews, and fixes "
    "the bug where enabling wingman overwrote the agent and model settings."
)
#: A plan pasted as a request: a title, a context paragraph, then many steps naming code.
_PLAN = (
    "Implement the following plan:\n\n# Plan: `entire wingman agent` Command\n\n## Context\n\n"
    + _CONTEXT
    + "\n\n## Steps\n\n"
    + "\n".join(
        f"- Add `step{n}()` to `cmd/entire/cli/wingman_{n}.go` and test it with `TestStep{n}`"
        for n in range(40)
    )
    + "\n"
)


def _session(request: str) -> list[MemoryItem]:
    task = MemoryItem("t", request, metadata={"kind": "task"}, created_at=T0)
    done = _agent(1, "All 40 steps are in and `go test ./...` passes.", kind="fact")
    return [task, done]


def test_a_long_document_request_is_said_to_the_end_of_its_context_paragraph() -> None:
    """Past ``REQUEST_WORDS`` words, a request with paragraphs is said up to the end of the
    first paragraph that brings it to ``HEAD_LEAST_WORDS``: headings go with what follows them,
    their marks left out, and "…" says the request goes on."""
    words = _PLAN.split()
    assert len(words) > REQUEST_WORDS
    head = head_words(_PLAN, words)
    assert HEAD_LEAST_WORDS <= head < REQUEST_WORDS
    assert " ".join(words[:head]).endswith("model settings.")
    asked = session_digest(_session(_PLAN), 4000).sections["asked"].splitlines()
    assert asked[0] == (
        "- The user asked: Implement the following plan: Plan: `entire wingman agent` Command. "
        f"Context: {_CONTEXT}\u2026"
    )
    # the rest goes by items, under it (a heading said with the statement after it)
    assert (
        asked[1]
        == "  - Steps: Add `step0()` to `cmd/entire/cli/wingman_0.go` and test it with `TestStep0`"
    )
    assert (
        asked[2]
        == "  - Add `step1()` to `cmd/entire/cli/wingman_1.go` and test it with `TestStep1`"
    )
    # a request of one paragraph is cut by words, as before; a short one is said whole
    flat = " ".join(words)
    assert head_words(flat, flat.split()) == REQUEST_WORDS
    assert head_words("fix `a.go`", ["fix", "`a.go`"]) == 2


def test_a_request_s_further_lines_wait_for_its_own_line() -> None:
    """Its further lines are cheaper than the request's line and would fill the section's
    share before it: each waits until the request's line is chosen, so that no digest says
    "the request also said" of a request it has room to say."""
    for budget in (300, 600, 1000, 1500, 2500):
        asked = session_digest(_session(_PLAN), budget).sections["asked"].splitlines()
        assert asked[0].startswith("- The user asked: Implement the following plan"), budget
        assert not any(
            line.startswith("- The user asked, in a longer request") for line in asked
        ), budget
        assert any(line.startswith("  - Add `step") for line in asked), budget


def test_a_request_of_attached_files_alone_says_the_user_attached_them() -> None:
    """A message that is only files attached (Claude Code's attachments, no words) reads "The
    user attached `plan.md`", not "The user asked: the attached `plan.md`"."""
    from memcore.claude_code.records import ATTACHED_ONLY

    task = MemoryItem(
        "t",
        f"{ATTACHED_ONLY}`/tmp/attachments/plan-v1.md`",
        metadata={"kind": "task"},
        created_at=T0,
    )
    done = _agent(1, "Done: the plan's two steps are in `chkit.ts`.", kind="fact")
    asked = session_digest([task, done], 300).sections["asked"]
    assert asked == "- The user attached `/tmp/attachments/plan-v1.md`"


def test_a_long_request_s_task_and_how_to_do_it_are_kept_past_its_details() -> None:
    """Past the cut of a long request, its sentence that says the task, those that say how the
    user wants it done (tests first, the checks to run, what not to touch) and what is wrong
    are kept before its details, named thing or not: the next session must honour them."""
    details = "\n".join(
        f"  - `pkg/step{n}.go` has `Step{n}()` with its table of cases already" for n in range(30)
    )
    request = (
        "Branch off main for PR 2. Read the plan at docs/plan.md for the design and the notes "
        "at docs/notes.md for the decisions taken so far on locking and retries.\n\n"
        f"What's already done:\n{details}\n\n"
        "Your task: Wire the transition function into the hook handlers.\n\n"
        "Write tests first (TDD). Run make fmt && make lint before considering complete.\n\n"
        "Don't change the public API. That said, the export is still broken."
    )
    asked = session_digest(_session(request), 400).sections["asked"]
    assert "Your task: Wire the transition function into the hook handlers." in asked
    assert "Write tests first (TDD)." in asked
    assert "Run make fmt && make lint before considering complete." in asked
    assert "Don't change the public API." in asked
    assert "That said, the export is still broken." in asked  # (what is wrong: kept too)


@given(
    st.lists(
        st.sampled_from(
            ["it's", "still", "not working", "broken", "Nothing is", "doesn't work", "is",
             "wrong", "failing", "x", "The build", "never", "."]
        ),
        max_size=8,
    ).map(" ".join)
    | st.text(max_size=40)
)  # fmt: skip
def test_the_problem_prefilter_finds_what_the_pattern_finds(sentence: str) -> None:
    from memcore import digest_asked

    found = digest_asked._PROBLEM_SENTENCE.search(sentence) is not None
    assert digest_asked._problem(sentence) == found


_REFACTOR = (
    "Please refactor the payment module so that every currency conversion goes through one "
    "function and rounding is done once at the end. "
)


def test_a_session_of_one_long_request_says_it_cut_in_a_small_digest() -> None:
    """A digest too small for the request's line, whose seeded cut was held to its section's
    share, said nothing at all (50 tokens for a request repeated ten times, 30 for one): it
    now says the line cut to the whole budget, its label's statement kept."""
    for request in (_REFACTOR, _REFACTOR * 10):
        items = [MemoryItem("t", request, metadata={"kind": "task"}, created_at=T0)]
        for budget in (30, 50):
            digest = session_digest(items, budget)
            assert 0 < digest.tokens <= budget
            assert "Please refactor the payment module" in digest.text
            assert digest.text.rstrip().endswith(("\u2026", "."))


_CODE_PLAN = (
    "Implement the following plan:\n\n# Plan: Per-Resource Containers\n\n## Context\n\n"
    + _CONTEXT
    + "\n\n### 1. Create `ResourceContainerManager` (`src/lws/resource_container.py`) — NEW\n\n"
    "```python\n@dataclass\nclass ResourceContainerConfig:\n    image: str\n\n"
    "class ResourceContainerManager:\n    def start(self, rid: str) -> str | None: ...\n```\n\n"
    "- Container name: `lws-{prefix}-{resource_id}`\n\n"
    "### 2. Fix the merge bug (`wingman.go`)\n\nAdd helper:\n```go\n"
    "func updateWingmanOpts(s *Settings, updates map[string]any)\n```\n"
    "Loads the existing `wingman` map, applies updates, writes back.\n\n"
    + "\n".join(f"- Add `step{n}()` to `cmd/step_{n}.go`" for n in range(30))
    + "\n"
)


def test_a_request_s_code_blocks_are_no_statements_and_a_short_one_is_a_code_span() -> None:
    """A heading over a pasted program is said alone, not with the program's words flattened
    after it; a one-line block stays in its paragraph as a code span."""
    asked = session_digest(_session(_CODE_PLAN), 4000).sections["asked"].splitlines()
    assert "  - Create `ResourceContainerManager` (`src/lws/resource_container.py`) — NEW" in asked
    assert not any("@dataclass" in line or "```" in line for line in asked)
    assert "  - Container name: `lws-{prefix}-{resource_id}`" in asked
    assert (
        "  - Fix the merge bug (`wingman.go`): Add helper: `func updateWingmanOpts(s *Settings, "
        "updates map[string]any)` Loads the existing `wingman` map, applies updates, writes back."
    ) in asked


def test_an_item_cut_under_its_request_goes_on_from_it() -> None:
    """A request's further line cut to fit is cut in the form that says whose it is, and said
    so only alone: under its request's line (or a sibling) it stays an indented line."""
    asked = session_digest(_session(_CODE_PLAN), 641).sections["asked"].splitlines()
    cut = [line for line in asked if line.startswith("  - Fix the merge bug")]
    assert cut
    assert cut[0].endswith("\u2026")
    assert not any(line.startswith(REQUEST_REST_LEAD) for line in asked[1:])
