"""A summary of a text with fenced code blocks keeps them code blocks: an assistant's answer
summarized at level 2 read "```. The `shouldSkip...` function is checked…", a closing fence with
a full stop after it (no fence at all in markdown), so the rest of the summary read as code."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore._pure import pipeline as pure_pipeline
from memcore.summarize import ExtractiveSummarizer

# (the shape of a real answer in the transcripts: prose, then code blocks with facts in them)
ANSWER = """To inject context at session startup, the hook prints JSON to stdout.

```json
{"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "ctx"}}
```

**Important**: exit with code 0 for the JSON to be read.

```bash
#!/bin/bash
INPUT=$(cat)

SOURCE=$(echo "$INPUT" | jq -r '.source')
echo "{\\"hookSpecificOutput\\": {\\"additionalContext\\": \\"$SOURCE\\"}}"
```

The `shouldSkipHooksForWarnedSession()` function in `hooks.go:940` is checked first.
"""


@pytest.fixture(scope="module")
def twins(
    native_kernels: Callable[[str], ModuleType], pure_kernels: Callable[[str], ModuleType]
) -> tuple[ModuleType, ModuleType]:
    return native_kernels("pipeline"), pure_kernels("pipeline")


def _fences_are_markdown(summary: str) -> None:
    """Every fence is a line of its own, nothing glued after it, and every block is closed."""
    fences = [line for line in summary.split("\n") if "```" in line]
    for line in fences:
        assert line.lstrip().startswith("```")
        assert line.strip() == "```" or line.strip()[3:].isalnum()  # a closing or an opening
    assert len(fences) % 2 == 0


@pytest.mark.parametrize("ratio", [0.1, 0.2, 0.3, 0.5, 0.7, 0.9])
def test_code_blocks_stay_code_blocks(pipeline_impl: ModuleType, ratio: float) -> None:
    summary = ExtractiveSummarizer(kernels=pipeline_impl).summarize(ANSWER, ratio)
    assert "```." not in summary
    _fences_are_markdown(summary)
    limit = max(pipeline_impl.count_tokens(ANSWER) * ratio, 32)
    assert pipeline_impl.count_tokens(summary) <= limit


def test_a_block_cut_short_is_closed(pipeline_impl: ModuleType) -> None:
    text = "Run this.\n\n```python\n" + " ".join(f"step_{k}()" for k in range(200)) + "\n```"
    summary = pure_pipeline.render(text, [(0, 9, False), (11, 60, True)])
    assert summary == text[:9] + "\n" + text[11:60] + "\u2026\n```"
    for budget in (10, 30, 60):
        _fences_are_markdown(pure_pipeline.render(text, pipeline_impl.pick_sentences(text, budget)))


@pytest.mark.parametrize("ratio", [0.1, 0.3, 0.5, 0.9])
def test_the_twins_summarize_code_blocks_alike(
    twins: tuple[ModuleType, ModuleType], ratio: float
) -> None:
    native, pure = twins  # (the compiled twin renders alike to count its summaries)
    assert ExtractiveSummarizer(kernels=native).summarize(ANSWER, ratio) == ExtractiveSummarizer(
        kernels=pure
    ).summarize(ANSWER, ratio)


blocks = st.lists(
    st.one_of(
        st.sampled_from(["Fix the parser.", "It failed in `io.py:12`", "- a list item", "Done!"]),
        st.lists(st.sampled_from(["x = 1", "f(x)", "", "return y", "# note"]), max_size=5).map(
            lambda lines: "```py\n" + "\n".join(lines) + "\n```"
        ),
    ),
    min_size=1,
    max_size=12,
).map("\n\n".join)


@settings(max_examples=150, deadline=None)
@given(text=blocks, tenths=st.integers(1, 9))
def test_the_twins_render_code_blocks_alike(
    twins: tuple[ModuleType, ModuleType], text: str, tenths: int
) -> None:
    native, pure = twins
    budget = pure.count_tokens(text) * tenths // 10
    assert native.pick_sentences(text, budget) == pure.pick_sentences(text, budget)
    summary = pure_pipeline.render(text, pure.pick_sentences(text, budget))
    assert "```." not in summary
    assert sum(1 for line in summary.split("\n") if line.startswith("```")) % 2 == 0
