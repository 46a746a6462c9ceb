"""What a reader of real digests found misleading (a new-user probe, three sessions read against
their transcripts), each on a small session of the same shape:

* the session's last commit, which answers "commit the changes", was left out: the state line
  names its hash, and the commit's own line counted as a repeat of it;
* a result saying nothing is committed stood as the state, after a commit came;
* "The test `TestX` failed" stood without the run of it that passed later;
* the agent's expectations ("should already satisfy errcheck", "It looks like `gofmt`
  removed the comment") and its thinking's hypotheticals ("the ID would be `x`") read as results;
* one change said twice, by two compaction summaries naming the file two ways.
"""

from __future__ import annotations

from memcore import session_digest
from memcore.digest_echo import EchoIndex, EchoTexts
from memcore.digest_lines import Candidate, line_identifiers
from memcore.digest_state import end_state
from memcore.digest_work import session_root
from memcore.model import MemoryItem
from tests.digest_support import T0
from tests.test_transcript_agent_records import _Records


class _Work(_Records):
    def changed(self, path: str) -> None:
        self.edit(path, "def total():\n    return 1\n", "return 1", "return round(1)")


def _decisions(records: _Records, budget: int = 2000) -> list[str]:
    return session_digest(records.items(), budget).sections.get("decisions", "").splitlines()


def test_the_state_line_s_commit_hash_leaves_the_commit_s_own_line_its_worth() -> None:
    """The state line names the last commit's hash; were that counted as saying the commit,
    its own line (what it holds) would weigh as a repeat, half: on a real session it was left
    out at 2,000 tokens, though it answered the user's last request."""
    work = _Work()
    work.user("add the debug logging to the review process")
    work.changed("review.go")
    work.ran("go test ./...", "ok  \texample.com/review\t0.2s")
    work.user("Commit the changes we have so far")
    work.ran(
        "git add -A && git commit -m 'Add debug logging to the review process'",
        "[wingman a6c2d1b0] Add debug logging to the review process\n 1 file changed",
    )
    work.said("Committed as `a6c2d1b0`.")
    items = work.items()
    (state,) = end_state(items, session_root(items))
    assert "a commit (`a6c2d1b0`) came after the last edit" in state.text
    assert state.names is not None
    assert "a6c2d1b0" not in state.names
    assert "go test ./..." in state.names  # (what else it names counts as said)
    text = session_digest(items, 2000).text
    assert "- Committed `a6c2d1b0` on `wingman`: Add debug logging to the review process." in text


def test_a_result_saying_nothing_is_committed_is_marked_by_the_commit_after_it() -> None:
    work = _Work()
    work.user("implement the lock file")
    work.changed("lock.go")
    work.ran("go test ./...", "ok  \texample.com/lock\t0.1s")
    work.said(
        "The `acquireLock()` change is in the working tree and all checks pass — nothing has "
        "been committed."
    )
    work.user("commit it")
    work.ran("git commit -am 'Add the lock file'", "[main d13528a] Add the lock file")
    lines = _decisions(work)
    said = [line for line in lines if "nothing has been committed" in line]
    assert said == [
        "- The `acquireLock()` change is in the working tree and all checks pass — nothing has "
        "been committed (later committed: `d13528a`)."
    ], lines


def test_a_named_test_s_failure_is_marked_by_the_later_run_of_it_that_passed() -> None:
    work = _Work()
    work.user("make the mid-session commit test pass")
    work.changed("mid_test.go")
    work.ran(
        "go test -run TestMidSessionCommit_FromTranscript ./cli/",
        "Exit code 1\n--- FAIL: TestMidSessionCommit_FromTranscript",
        code=1,
    )
    work.said("The test `TestMidSessionCommit_FromTranscript` failed.")
    work.changed("hooks.go")
    work.ran("go test -run TestMidSessionCommit ./cli/", "ok  \texample.com/cli\t0.3s")
    work.ran("go test ./...", "ok  \texample.com/cli\t1.1s")
    lines = _decisions(work)
    assert (
        "- The test `TestMidSessionCommit_FromTranscript` failed (later `go test -run "
        "TestMidSessionCommit ./cli/` passed)."
    ) in lines, lines


def test_expectations_said_to_the_user_and_thinking_s_hypotheticals_are_no_results() -> None:
    work = _Work()
    work.user("fix the errcheck findings")
    work.said(
        "I see the lines. The `_, _ =` pattern should already satisfy errcheck. "
        "It looks like `gofmt` removed the `//nolint:errcheck` comment. "
        "Added `//nolint:errcheck` to `f.Close()` in `spawn.go`."
    )
    thinking = {"source": "claude-code", "role": "assistant", "kind": "thinking"}
    guess = "So if the test's `session.ID` is `abc123`, the `entireSessionID` would be `x-abc123`."
    found = "`initializeSession()` never sets `TranscriptPath` for a new session."
    items = [
        *work.items(),
        MemoryItem("think", f"{guess} {found}", metadata=thinking, created_at=T0),
    ]
    text = session_digest(items, 2000).text
    assert "Added `//nolint:errcheck` to `f.Close()` in `spawn.go`." in text
    assert found in text
    for said in ("should already satisfy", "It looks like", "would be `x-abc123`"):
        assert said not in text, text


def test_one_change_named_two_ways_is_said_once() -> None:
    """Two compaction summaries' accounts of one change: "Added `GetCount` to f.go" and
    "`cmd/cli/f.go` - Added GetCount"; and a line naming another file is no echo of it."""
    short = "- Added `GetTranscriptLineCount` to claudecode/transcript.go"
    long = "- `cmd/entire/cli/agent/claudecode/transcript.go` - Added GetTranscriptLineCount"
    other = "- `cmd/entire/cli/agent/geminicli/transcript.go` - Added GetTranscriptLineCount"
    for first, then in ((short, long), (long, short)):
        chosen = [Candidate("decisions", 1, 1.0, first)]
        echo = EchoIndex(EchoTexts())
        cand = Candidate("decisions", 2, 1.0, then)
        assert echo.echoes(cand, frozenset(line_identifiers(then)), chosen)
    chosen = [Candidate("decisions", 1, 1.0, short)]
    cand = Candidate("decisions", 2, 1.0, other)
    assert not EchoIndex(EchoTexts()).echoes(cand, frozenset(line_identifiers(other)), chosen)


def test_a_result_said_again_with_more_names_takes_the_place_of_the_first() -> None:
    """The echo check keeps out a line that says a chosen one again; the other way round, a
    fuller account chosen later ("`cli/agent/agent.go` - Added TranscriptAnalyzer interface"
    after "Added interface to `agent/agent.go`") is let in for the name it adds, and the first
    goes: one change said once. A line naming nothing, or another file, stays."""
    short = "- Added interface to `agent/agent.go`"
    full = "- `cmd/entire/cli/agent/agent.go` - Added TranscriptAnalyzer interface"
    other = "- Added interface to `agent/other.go`"
    plain = "- All tests pass."
    echo = EchoIndex(EchoTexts())
    chosen = [
        Candidate("decisions", 1, 1.0, short),
        Candidate("decisions", 2, 1.0, other),
        Candidate("decisions", 3, 1.0, plain),
        Candidate("files", 4, 1.0, short),
    ]
    assert echo.said_by(Candidate("decisions", 9, 1.0, full), chosen) == [short]
    assert echo.said_by(Candidate("decisions", 9, 1.0, "- All tests pass again."), chosen) == []


def test_a_digest_says_a_result_once_when_a_later_summary_says_it_with_more_names() -> None:
    work = _Work()
    work.user("add the transcript analyzer")
    work.changed("agent/agent.go")
    work.said("Added interface to `agent/agent.go`.")
    work.ran("go test ./...", "ok  \texample.com/agent\t0.2s")
    work.said(
        "Summary of the work:\n\n"
        "- `cmd/entire/cli/agent/agent.go` - Added TranscriptAnalyzer interface\n"
        "- All the tests pass with the new interface in place"
    )
    lines = _decisions(work)
    assert "- `cmd/entire/cli/agent/agent.go` - Added TranscriptAnalyzer interface" in lines
    assert not [line for line in lines if line.startswith("- Added interface to")], lines
