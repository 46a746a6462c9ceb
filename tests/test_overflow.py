"""handle_context_overflow: trigger above 90 %, end at or below 80 %, critical items stay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import memcore
from memcore.demo_corpus import stdlib_notes
from memcore.errors import ContextBudgetError, ValidationError
from memcore.model import MemoryItem, Priority
from memcore.overflow import SessionState, handle_context_overflow, item_value
from memcore.tokens import count_tokens

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def notes(n: int = 120, seed: int = 1) -> list[MemoryItem]:
    return stdlib_notes(n, seed=seed, now=NOW)


def tokens_of(items: list[MemoryItem]) -> int:
    return sum(count_tokens(i.content) for i in items)


def test_public_exports() -> None:
    assert memcore.SessionState is SessionState
    assert memcore.handle_context_overflow is handle_context_overflow


def test_below_trigger_nothing_happens() -> None:
    items = notes(30)
    total = tokens_of(items)
    state = SessionState(items, token_budget=int(total / 0.9) + 1, now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome == memcore.OverflowStrategy([], 0, total)
    assert state.items == items


@settings(max_examples=12, deadline=None)
@given(share=st.floats(0.05, 1.05), seed=st.integers(0, 5))
def test_invariants(share: float, seed: int) -> None:
    items = notes(60, seed)
    before = tokens_of(items)
    budget = max(1, int(before * share))
    critical = [i for i in items if i.priority is Priority.CRITICAL]
    state = SessionState(items, budget, now=NOW)
    if tokens_of(critical) > 0.8 * budget and before > 0.9 * budget:
        with pytest.raises(ContextBudgetError, match="critical"):
            handle_context_overflow(state)
        assert state.items == items  # nothing changed
        return
    outcome = handle_context_overflow(state)
    after = tokens_of(state.items)
    assert outcome.final_token_count == after == state.token_count()
    assert outcome.tokens_saved == before - after
    assert all(c in state.items for c in critical)  # untouched, never evicted
    if before <= 0.9 * budget:
        assert outcome.actions_taken == []
        return
    assert after <= 0.8 * budget
    assert outcome.actions_taken
    assert set(outcome.actions_taken) <= {"compress", "hierarchical_summarization", "evict"}
    order = ["session_digest", "compress", "hierarchical_summarization", "evict"]
    assert outcome.actions_taken == [a for a in order if a in outcome.actions_taken]


def test_only_actions_taken_are_listed() -> None:
    items = notes(80)
    total = tokens_of(items)
    mild = SessionState(list(items), int(total / 0.95), now=NOW)  # ~95 %: compression suffices
    outcome = handle_context_overflow(mild)
    assert outcome.actions_taken == ["compress"]
    assert {i.id for i in mild.items} == {i.id for i in items}
    assert outcome.final_token_count <= 0.8 * mild.token_budget
    summarized = [i for i in mild.items if i.metadata.get("summarized")]
    assert summarized
    assert all(i.priority is not Priority.CRITICAL for i in summarized)

    harsh = SessionState(list(items), total // 10, now=NOW)
    outcome = handle_context_overflow(harsh)
    assert outcome.actions_taken[-1] == "evict"
    assert len(harsh.items) < len(items)


def test_eviction_takes_least_valuable_first() -> None:
    text = "Plain filler sentence without facts. " * 20
    items = [
        MemoryItem("old-low", text, "low", NOW - timedelta(days=30)),
        MemoryItem("new-high", text, "high", NOW - timedelta(minutes=5)),
        MemoryItem("crit", text, "critical", NOW - timedelta(days=90)),
        MemoryItem("used", text, "low", NOW - timedelta(days=30), {"access_count": 50}),
    ]
    assert item_value(items[3], NOW) > item_value(items[0], NOW)

    def one_word(t: str, ratio: float) -> str:
        return t  # a summarizer that cannot shorten, so eviction must act

    class NoSummary:
        def summarize(self, t: str, ratio: float) -> str:
            return one_word(t, ratio)

        def summarize_group(self, texts: Sequence[str], ratio: float) -> str:
            return "\n\n".join(texts)

    state = SessionState(items, tokens_of(items) // 2, now=NOW, summarizer=NoSummary())
    outcome = handle_context_overflow(state)
    assert outcome.actions_taken == ["evict"]
    kept = [i.id for i in state.items]
    assert "crit" in kept
    assert "old-low" not in kept
    assert outcome.final_token_count <= 0.8 * state.token_budget


def test_critical_items_over_budget_is_an_error() -> None:
    items = [
        MemoryItem(f"c{k}", f"Critical fact number {k} is here.", "critical") for k in range(20)
    ]
    state = SessionState(items, token_budget=10)
    with pytest.raises(ContextBudgetError, match="critical items alone"):
        handle_context_overflow(state)
    assert state.items == items


def test_critical_items_over_the_target_are_an_error_too() -> None:
    """Critical items within the budget but above 80 % of it: evicting every other item would
    still end above the target, so nothing is changed and the error says why."""
    critical = MemoryItem("crit", "word " * 95, "critical")
    other = MemoryItem("other", "more words here " * 3)
    critical_tokens = count_tokens(critical.content)
    budget = int(critical_tokens / 0.85)  # critical alone at 85 %: over the target
    state = SessionState([critical, other], token_budget=budget, now=NOW)
    assert state.token_count() > 0.9 * budget
    with pytest.raises(ContextBudgetError, match="more than 80% of the budget"):
        handle_context_overflow(state)
    assert state.items == [critical, other]


def test_bad_budget() -> None:
    for budget in (0, -5, 1.5, True):
        with pytest.raises(ValidationError):
            SessionState([], budget)  # type: ignore[arg-type]


def test_pluggable_counter() -> None:
    items = notes(20)
    # (the notes are this Python's docstrings: the budget leaves room for the critical ones,
    # which are never evicted, whatever their length in this version)
    critical = sum(len(i.content) for i in items if i.priority is Priority.CRITICAL)
    budget = max(100, critical * 2)
    assert budget < sum(len(i.content) for i in items) / 2  # (an overflow to handle)
    state = SessionState(items, token_budget=budget, counter=len, now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome.final_token_count == sum(len(i.content) for i in state.items)
    assert outcome.final_token_count <= 0.8 * budget


# --- filling the target, agent sessions ----------------------------------------------------------


class FirstWords:
    """Keeps the first ``ratio`` share of a text's words, but gives the text back below a third:
    it cannot help the compress step of a session four times its budget."""

    def summarize(self, text: str, ratio: float) -> str:
        if ratio < 0.3:
            return text
        words = text.split()
        return " ".join(words[: int(len(words) * ratio * 0.9)])

    def summarize_group(self, texts: Sequence[str], ratio: float) -> str:
        return "\n\n".join(texts)


def test_eviction_fills_the_room_it_overshot() -> None:
    # evicting the two least valuable items overshoots to ~40 % of the budget, where today's
    # code ended; the room is filled again with the better of them, summarized into it
    words = ["the", "nightly", "export", "job", "wrote", "rows", "to", "the", "warehouse"]
    huge = " ".join(words[k % len(words)] for k in range(3000))
    medium = " ".join(words[k % len(words)] for k in range(700))
    items = [
        MemoryItem("huge", huge, "low", NOW - timedelta(hours=5)),
        MemoryItem("medium", medium, "normal", NOW - timedelta(hours=4)),
    ]
    items += [
        MemoryItem(
            f"n{k}",
            f"Tenant {k} uses the cache key tenant:{k}:v2 since the migration.",
            "high",
            NOW - timedelta(minutes=k),
        )
        for k in range(25)
    ]
    budget = tokens_of(items) // 4
    state = SessionState(items, budget, now=NOW, summarizer=FirstWords())
    outcome = handle_context_overflow(state)
    assert 0.70 * budget <= outcome.final_token_count <= 0.80 * budget
    assert outcome.actions_taken == ["compress", "evict"]
    kept = [i.id for i in state.items]
    assert "huge" not in kept
    assert kept == [i.id for i in items if i.id != "huge"]  # in session order
    (medium_summary,) = [i for i in state.items if i.id == "medium"]
    assert medium_summary.metadata["summarized"] is True


def agent_item(ident: str, text: str, kind: str, minute: int, **meta: object) -> MemoryItem:
    metadata = {"source": "claude-code", "kind": kind, "role": meta.pop("role", "assistant")}
    metadata.update(meta)
    priority = str(meta.get("priority", "normal"))
    metadata.pop("priority", None)
    return MemoryItem(ident, text, priority, NOW - timedelta(minutes=600 - minute), metadata)


def agent_session(steps: int = 60) -> list[MemoryItem]:
    items = [
        agent_item("ask0", "Make the exporter retry on ConnectionError", "task", 0, role="user")
    ]
    for k in range(steps):
        path = f"src/exporter/part_{k}.py"
        dump = "\n".join(f"def handler_{k}_{j}(row):\n    return row[{j}] * {k}" for j in range(40))
        items += [
            agent_item(
                f"c{k}", f"Read {path}", "tool_call", 3 * k + 1, tool="Read", file_path=path
            ),
            agent_item(
                f"r{k}",
                f"Read {path}\n{dump}",
                "tool_result",
                3 * k + 1,
                role="user",
                tool="Read",
                file_path=path,
            ),
            agent_item(
                f"s{k}",
                f"The retry in part_{k}.py now wraps send_batch() in a backoff loop.",
                "fact",
                3 * k + 2,
                statement="conclusion",
            ),
        ]
        if k % 15 == 7:
            items.append(
                agent_item(
                    f"sc{k}", "[Request interrupted by user]", "fact", 3 * k + 2, role="user"
                )
            )
    items.append(
        agent_item(
            "rule",
            "Never push to main without review.",
            "preference",
            190,
            role="user",
            priority="critical",
        )
    )
    items.append(agent_item("ask1", "Now add a test for the backoff", "task", 200, role="user"))
    items.append(agent_item("ask2", "Also log each retry at debug level", "task", 201, role="user"))
    return items


def test_an_agent_session_is_digested_and_fills_its_target() -> None:
    items = agent_session()
    total = tokens_of(items)
    budget = total // 12
    state = SessionState(items, budget, now=NOW)
    outcome = handle_context_overflow(state)
    assert 0.70 * budget <= outcome.final_token_count <= 0.80 * budget  # today: ~a third
    assert outcome.actions_taken == ["session_digest"]
    assert outcome.final_token_count == state.token_count()
    kept = {i.id: i for i in state.items}
    for ident in ("rule", "ask1", "ask2"):  # critical and the latest requests stay whole
        assert kept[ident] == next(i for i in items if i.id == ident)
    (digest,) = [i for i in state.items if i.metadata.get("level") == "session_digest"]
    assert digest.metadata["kind"] == "summary"
    assert "part_0.py" in digest.content  # the early history is in the digest...
    assert "return row[3] * 0" not in digest.content  # ... its dumps are not
    assert all("[Request interrupted" not in i.content for i in state.items)
    times = [i.created_at for i in state.items]
    assert times == sorted(times)  # session order, the digest in its history's place


def test_a_mild_overflow_cuts_the_oldest_dumps_and_keeps_the_rest() -> None:
    items = agent_session(20)
    state = SessionState(items, int(tokens_of(items) / 0.95), now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome.actions_taken == ["evict"]  # what it did, and only that
    assert 0.70 * state.token_budget <= outcome.final_token_count <= 0.80 * state.token_budget
    gone = {i.id for i in items} - {i.id for i in state.items}
    assert gone
    assert all(ident.startswith(("r", "sc")) for ident in gone)  # dumps, scaffolding
    assert {i.id for i in state.items} >= {"rule", "ask0", "ask1", "ask2", "c0", "s0"}


def test_old_scaffolding_is_folded_once_and_never_summarized() -> None:
    items = notes(60)
    items += [
        MemoryItem(f"sc{k}", "<system-reminder>files changed</system-reminder>", "low",
                   NOW - timedelta(days=20 + k), {"kind": "scaffolding"})
        for k in range(3)
    ]  # fmt: skip
    state = SessionState(items, tokens_of(items) // 4, now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome.final_token_count <= 0.8 * state.token_budget
    ids = [i.id for i in state.items]
    assert len(ids) == len(set(ids))
    summaries = [i for i in state.items if i.metadata.get("kind") == "summary"]
    covered = [ident for s in summaries for ident in s.metadata["summarizes"]]
    assert len(covered) == len(set(covered))  # every item stands in one place at most
    assert all("<system-reminder>" not in i.content for i in summaries)


def test_metadata_of_any_json_shape_is_no_agent_record() -> None:
    """A note whose metadata ``kind`` is a list (users' metadata is any JSON value) once made
    the agent-record test raise ``TypeError`` (unhashable) in the middle of an overflow."""
    items = [
        MemoryItem(
            i.id,
            i.content,
            i.priority,
            i.created_at,
            metadata={"kind": ["tool_call"], "tool": {"name": "Bash"}},
        )
        for i in notes(60)
    ]
    total = tokens_of(items)
    state = SessionState(items, int(total / 0.95), now=NOW)
    outcome = handle_context_overflow(state)
    assert outcome.final_token_count <= int(total / 0.95) * 0.8
