"""The digest's rules are named (``DIGEST_RULES``) so that a save after an upgrade makes older
registry entries again (``stale_entries.refresh_stale_record``). A change to what
the digest says must bump that number, or sessions saved before it keep the old digests for
good: this test holds the digests of ten real transcripts to the number."""

from __future__ import annotations

import hashlib

from memcore.claude_code import parse_transcript
from memcore.claude_code.project import BRIEF_DIGEST_TOKENS, DIGEST_RULES, STORED_DIGEST_TOKENS
from memcore.digest import session_digests
from tests.claude_code_support import DATA
from tests.digest_support import needs_data

#: The digests' fingerprint under each number of the rules (the latest is checked; up to 6, of
#: the first three of ``SESSIONS``, whose digests rule 7 left as they were; 7, of the first five;
#: 8, of the first six; 9, of the first seven; 10 to 17, of the first nine; 18 and later, of
#: all ten).
FINGERPRINTS = {
    2: "c2a90a828abd70ef",
    3: "cb0762ed6926113f",
    4: "774882f54dab7d4f",
    5: "1a505c68f334e972",
    6: "d3cf5d8c3c64d4b7",
    7: "13f1956d1fb80c6e",
    8: "428f6216eb566ed7",
    9: "df0511b529cb1356",
    10: "a58683075d5ec3ed",
    11: "c9e99a6436a44794",
    12: "17521a305852f02e",
    13: "dd46b93471437e34",
    14: "b7495e81f16e7371",
    15: "6b60bb98e9649af2",
    16: "d1b5c651e3ff903e",
    17: "1c54389a12889921",
    18: "d5f0af972e99c392",
    19: "cacfc53ccd368d0f",
    20: "3d38014f620eefd1",
    21: "c3fd1ff3d1b456a5",
    22: "fd07a1f54825c54c",
    23: "b360ca26473caaee",
    24: "867be9bcfbae8390",
    25: "867be9bcfbae8390",  # (Chinese and Japanese sentences: these sessions have none)
    26: "eaacb83aa3a749dc",  # (briefs: names weigh more under 600 tokens; no stumps)
    27: "43e61c0cb5cf27d1",  # (briefs: no spare line fills room; failures said as nouns)
    28: "93aa9c4e5033e075",  # (what a run should show: no result; an item said with its lead-in)
    29: "93aa9c4e5033e075",  # (a notebook's edit fixes a failure: these sessions have none)
    30: "ec91f9565c4d8378",  # (a result after its call in the same ms, a refused read, a
    #     chosen option, a moved file, a list's comma, the files a fix edited)
    31: "91277a12d6194040",  # (a summary's pending task an edit since took up; expected and
    #     proposed lists, "if ..., ... should"; hex values are no names; results the user's
    #     next words said did not work, marked with them)
    32: "8478f15952dcdcab",  # (edits later edits undid; a sub-agent's report said as its claim;
    #     an account the user said was wrong; a diagnosis given again later in the turn; a
    #     rerun that passed after a command; files reverted unedited; no cut inside a "but";
    #     lists of what is still to do, next steps; files edited, uncommitted, counted; list
    #     markers in sentences; a "no" that drops the subject is no correction)
    33: "8478f15952dcdcab",  # (a failure the user pasted after a fix; the user's last report
    #     not seen fixed; to-do lists not done said open; reverts in chains, of folders, and
    #     several edits one edit undid: these ten sessions' digests have none of them)
    34: "fd7e89bd2b3f94bf",  # (a brief that says nothing takes spare lines; one whose every
    #     line that matters is said, the commands and calls no line says; a call's own words
    #     not beside its command's spare line)
    35: "dca5b157500c06fc",  # (a list's items that name something but state nothing, merged
    #     under their lead-in into one line; with no lead-in to say, they give way)
    36: "dca5b157500c06fc",  # (git stash, git reset --hard and a revert before "|| true" said as
    #     reverts; a CI failure reported and not seen fixed by the CI open; "still didn't work"
    #     marks the claims it answers; a summary's numbered step kept as its list's lead-in:
    #     these ten sessions' digests at these sizes have none of them)
    37: "dca5b157500c06fc",  # (a digest that chose nothing says its best line cut to the whole
    #     budget; a label ending "yet:" opens no turn: these ten sessions' digests are not empty)
    38: "1d67687c728e0636",  # (the state line's commit hash leaves the commit's own line its
    #     worth; "should"/"would" in thinking and "should already work", "looks like" said to the
    #     user are expectations; a failed test named marked by the check of it that passed; "not
    #     committed" marked by the commit after it; one file named both ways is one echo)
    39: "1d67687c728e0636",  # (a list item that is names and what they are for, "`f.go` - for
    #     hook integration points", is a fragment, said under its list's lead-in: these ten
    #     sessions' digests at these sizes have none)
    40: "1d67687c728e0636",  # (a command's call not said beside its result's line; a commit's
    #     heredoc message said by its subject; git's "nothing to commit, working tree clean"
    #     after the last edit said as the state; "I can see the structure." states nothing; "a
    #     TODO marker" the agent wrote is no work left open; a command whose one run failed is
    #     said once, not under its command and its error both; "Now when ...:" without its list
    #     is no line; a quoted text alone is no line; a JSON answer's \u003e is no part of a
    #     path; a request opening on a long path keeps its line in a brief, its file by name;
    #     a recommended option the user chose against says what the user chose; a document a
    #     sub-agent said it wrote is no brief when read back: these ten
    #     sessions' digests at these sizes have none of them)
    41: "1d67687c728e0636",  # (the reasons listed under a recommendation the user chose
    #     against are not said; one word's quoted description is no line; a review's @mention
    #     of a file is its path, and a path cut short beside the whole one none; a pick of an
    #     offered option is no preference; a topic branch left for main says so; a retried API
    #     error, "The issue is clear.", "Ready for ...", a thinking step's caption and a thought
    #     trailing off are no lines; "..., but:" closes at its clause; a fix under "**Problem:**"
    #     is no fix "for Problem:**"; a message on stdin said by its first line; a document's
    #     examples' calls not said; a reply ending on the user's go is open; a brief's URL
    #     no long path; the short state line's check not a wrapper's flags; a chosen
    #     sentence a later line of its section opens with left out for it; what thinking
    #     has yet to look at ("- need to read the full comment") no finding: these ten
    #     sessions' digests at these sizes have none of them)
    42: "48cf173ff29877e0",  # (acts on another machine over ssh, a forge's variables and
    #     secrets set, packages published and deployments applied are acts outside the
    #     repository; a replace-all edit says what it replaced everywhere; a traceback is said by
    #     its exception's line; an install after a "No module named" failure is its fix; a fix
    #     run again another way is named without its plumbing; a request's code block is no
    #     statement, a heading over one said alone, a one-line block a code span: a1d04b39's
    #     plan, whose "Define a `WingmanAgentDef` struct" is said now; a further line cut
    #     under its request's line stays indented; a request sent again before any reply is
    #     said by its last form; thinking that tells the user's words again is no finding)
    43: "3e32f6b1b3b145a1",  # (a failed pytest run said by its failed tests, how each failed
    #     and its tally, not by its tracebacks' code lines; cargo's closing count gives way to
    #     the errors it counts; a fix that changed no name said by the line it changed; a
    #     passing run's tally without its "=====" frame; a diff's a/ and b/ sides one file; a
    #     Windows session's files with forward slashes; background tasks' output files and the
    #     commands that only look at them no work; a wait before a command no part of it;
    #     no cut ends on a verb whose point follows it: "happens", "ensures", "similar")
    44: "8bf5e06c7d671a7a",  # (an edit is in the definition whose block it changed, not one it
    #     kept as context; a file's changed names in the order its edits name them when as
    #     often changed; a script's command options no changed names; a JS or TS method with
    #     parameters and no keyword a definition; a word written only in a dotted call is the
    #     call's, no name of its own; a file's public names before its _private and __special__
    #     ones; "Fixed with `x`" led by the sentence before it, as "This ..." is; what a file
    #     only read defines said with room to spare; the state line of a session compacted
    #     after its last edit not held back)
    45: "90b2da5e1e63e8cc",  # (a result said again later with more names, as a summary's
    #     "`cli/a/agent.go` - Added X interface" after "Added interface to `a/agent.go`", takes
    #     the first one's place; a cut ends on no count ("has 6…") nor on "by adding…", and
    #     keeps one of its line's code spans when it had some; the user's words after a
    #     reply's several findings written once, after the last; an edited file's outline
    #     says at most six of its definitions; "I now have comprehensive research
    #     findings." and "I can see the `f()` function." state nothing; no cut ends on "want",
    #     "contains", "uses", "stored", "only")
}
SESSIONS = (
    "entireio__cli__198393f2",
    "marot__spotter__d6e0bada",
    "obsessiondb__chkit__17a79690",
    "entireio__cli__20b81bf8",
    "jfmoe__react-native-live-text-view__2a117374",
    "obsessiondb__chkit__ae3fbe71",
    "entireio__cli__a1d04b39",
    "obsessiondb__chkit__5f45db97",
    "entireio__cli__0cf3db51",
    "entireio__cli__839b35f7",
)


@needs_data
def test_the_digests_are_what_the_named_rules_make() -> None:
    fingerprint = hashlib.sha256()
    for name in SESSIONS:
        items = parse_transcript(DATA / f"{name}.jsonl").items
        for digest in session_digests(items, (STORED_DIGEST_TOKENS, *BRIEF_DIGEST_TOKENS)):
            fingerprint.update(digest.text.encode())
    made = fingerprint.hexdigest()[:16]
    assert max(FINGERPRINTS) == DIGEST_RULES, "name the fingerprint of the current rules"
    assert made == FINGERPRINTS[DIGEST_RULES], (
        f"the digests changed ({made}): bump DIGEST_RULES in memcore.claude_code.project and add "
        f"its fingerprint here, so that saves make the entries of earlier sessions again"
    )
