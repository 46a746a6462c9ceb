"""An edit made with ``replace_all`` changed every occurrence in its file: the import keeps what
it replaced with what, and the digest says it in one line (``edit_texts._replaced_all``)."""

from __future__ import annotations

from typing import Any

import pytest

from memcore import session_digest
from memcore.claude_code.tools import describe_call
from tests.test_transcript_agent_records import CWD, _Records

LINE = "- In `src/main.ts`, an edit replaced every `'#9ca3af'` with `'#006644'`."


def _replace_all(old: str, new: str, **extra: Any) -> dict[str, Any]:
    return {"file_path": f"{CWD}/src/main.ts", "old_string": old, "new_string": new, **extra}


@pytest.mark.parametrize(
    ("edit", "replaced"),
    [
        (_replace_all("'#9ca3af'", "'#006644'", replace_all=True), [["'#9ca3af'", "'#006644'"]]),
        (_replace_all("'#9ca3af'", "'#006644'"), None),  # (one occurrence: its added line)
        (_replace_all("'#9ca3af'", "'#006644'", replace_all="yes"), None),
        (_replace_all("a = 1\nb = 2", "a = 2\nb = 3", replace_all=True), None),  # (lines)
        (_replace_all("`x`", "`y`", replace_all=True), None),  # (not quotable as code)
        (_replace_all("x" * 81, "y", replace_all=True), None),
        (_replace_all("same", "same", replace_all=True), None),
    ],
)
def test_a_replace_all_edit_keeps_what_it_replaced(
    edit: dict[str, Any], replaced: list[list[str]] | None
) -> None:
    _, meta = describe_call("Edit", edit, CWD)
    assert meta.get("replaced_all") == replaced


def test_each_replace_all_edit_of_a_multi_edit_is_kept() -> None:
    edits = [
        {"old_string": "Phoenix.ConnTest.build_conn()", "new_string": "build_conn()"},
        {"old_string": "typegen", "new_string": "codegen", "replace_all": True},
    ]
    _, meta = describe_call("MultiEdit", {"file_path": f"{CWD}/a.exs", "edits": edits}, CWD)
    assert meta["replaced_all"] == [["typegen", "codegen"]]


def _use(use_id: str, edit: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": use_id, "name": "Edit", "input": edit}


def _files(records: _Records) -> list[str]:
    return session_digest(records.items(), 2000).sections.get("files", "").splitlines()


def test_the_digest_says_what_a_replace_all_edit_replaced_everywhere() -> None:
    records = _Records()
    records.user("use the brand's dim green instead of the grey")
    records.tool(
        "Edit", _replace_all("'#9ca3af'", "'#006644'", replace_all=True), "The file was updated."
    )
    assert LINE in _files(records)


def test_a_replace_all_edit_that_failed_or_was_undone_is_not_said() -> None:
    failed = _Records()
    failed.user("use the brand's dim green")
    use_id = "toolu_failed"
    edit = _replace_all("'#9ca3af'", "'#006644'", replace_all=True)
    failed._base("assistant", {"role": "assistant", "content": [_use(use_id, edit)]})
    why = "<tool_use_error>String to replace not found in file.</tool_use_error>"
    result = {"type": "tool_result", "tool_use_id": use_id, "is_error": True, "content": why}
    failed.user([result])
    assert not any("replaced every" in line for line in _files(failed))
    undone = _Records()
    undone.user("use the brand's dim green, no, keep the grey")
    undone.tool(
        "Edit", _replace_all("'#9ca3af'", "'#006644'", replace_all=True), "The file was updated."
    )
    undone.tool(
        "Edit", _replace_all("'#006644'", "'#9ca3af'", replace_all=True), "The file was updated."
    )
    assert not any("replaced every" in line for line in _files(undone))
