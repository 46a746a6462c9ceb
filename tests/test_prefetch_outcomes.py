"""A session's own record of its top predictions lowers the confidence the calibration table
states when they fare worse than stated, and never raises it (``memcore.prefetch_outcomes``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore.prefetch import PredictiveMemoryPrefetcher, calibrate
from memcore.prefetch_outcomes import PRIOR, SessionOutcomes

SESSION = "s-1"


def test_a_prediction_is_settled_by_the_one_access_after_it() -> None:
    outcomes = SessionOutcomes()
    assert outcomes.factor(SESSION, 3, "a") == 1.0  # (no record yet)
    outcomes.predicted(SESSION, 3, "b", 0.5)
    assert outcomes.factor(SESSION, 4, "a") == pytest.approx(PRIOR / (0.5 + PRIOR))  # a miss
    outcomes.predicted(SESSION, 4, "c", 0.5)
    assert outcomes.factor(SESSION, 6, "c") == pytest.approx(PRIOR / (0.5 + PRIOR))  # two later
    for accesses in range(6, 60):  # hits past what was stated: the factor stays at 1
        outcomes.predicted(SESSION, accesses, "d", 0.3)
        factor = outcomes.factor(SESSION, accesses + 1, "d")
    assert factor == 1.0
    outcomes.forget(SESSION)
    assert len(outcomes) == 0


def test_a_question_before_the_next_access_leaves_the_prediction_waiting() -> None:
    """Another prediction asked before the next access (of an older item, which records
    nothing) does not drop the one the next access settles."""
    outcomes = SessionOutcomes()
    outcomes.predicted(SESSION, 3, "b", 0.5)
    assert outcomes.factor(SESSION, 3, None) == 1.0  # (no access since)
    assert outcomes.factor(SESSION, 4, "a") == pytest.approx(PRIOR / (0.5 + PRIOR))  # a miss


def test_only_the_sessions_with_a_model_keep_their_record() -> None:
    outcomes = SessionOutcomes()
    for session in ("a", "b", "c"):
        outcomes.predicted(session, 1, "x", 0.4)
        outcomes.factor(session, 2, "y")
        outcomes.predicted(session, 2, "x", 0.4)
    outcomes.keep_only({"b"})
    assert len(outcomes) == 2  # b's record and its open prediction
    assert outcomes.factor("a", 3, "x") == 1.0


def _new_items(prefetcher: PredictiveMemoryPrefetcher, count: int, *, predict: bool) -> None:
    """Accesses never seen before, one after the other: every top prediction (what recency
    offers) misses."""
    for n in range(count):
        prefetcher.record_access(SESSION, f"item-{n}")
        if predict:
            prefetcher.predict_next_accesses(SESSION, f"item-{n}", 3)


def test_a_session_whose_top_predictions_miss_is_told_less_confidence() -> None:
    """The same accesses, the same model: a prefetcher that predicted at every step, and saw
    its top predictions miss, states less than the table for the next one; one that never
    predicted states the table's word."""
    told, fresh = PredictiveMemoryPrefetcher(), PredictiveMemoryPrefetcher()
    _new_items(told, 60, predict=True)
    _new_items(fresh, 60, predict=False)
    last = "item-59"
    fresh_top = fresh.predict_next_accesses(SESSION, last, 3)
    told_top = told.predict_next_accesses(SESSION, last, 3)
    assert fresh_top
    assert [item for item, _ in told_top] == [item for item, _ in fresh_top]
    raw = fresh.score_next_accesses(SESSION, last, 3)
    assert fresh_top[0][1] == pytest.approx(calibrate(raw[0][1]))
    assert told_top[0][1] < fresh_top[0][1]
    told.forget_session(SESSION)
    _new_items(told, 2, predict=False)  # (afresh: no record left)
    again = told.predict_next_accesses(SESSION, "item-1", 3)
    assert again[0][1] == pytest.approx(
        calibrate(told.score_next_accesses(SESSION, "item-1", 3)[0][1])
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("abcdef"), min_size=2, max_size=80))
def test_confidences_stay_probabilities_in_the_model_s_order(accesses: list[str]) -> None:
    """Whatever the record, each prediction's confidence is in [0, 1], at most the table's, and
    the predictions come in the order of their scores."""
    prefetcher = PredictiveMemoryPrefetcher()
    for item in accesses:
        prefetcher.record_access(SESSION, item)
        predicted = prefetcher.predict_next_accesses(SESSION, item, 4)
        scored = prefetcher.score_next_accesses(SESSION, item, 4)
        assert [i for i, _ in predicted] == [i for i, _ in scored]
        for (_, confidence), (_, score) in zip(predicted, scored, strict=True):
            assert 0.0 <= confidence <= calibrate(score) + 1e-12
        values = [confidence for _, confidence in predicted]
        assert values == sorted(values, reverse=True)


def test_only_a_prediction_of_what_follows_the_latest_access_is_settled() -> None:
    """Asked what follows an older item, the prefetcher has no next access to hold its answer
    to: such predictions leave the session's record as it was."""
    asked, fresh = PredictiveMemoryPrefetcher(), PredictiveMemoryPrefetcher()
    for n in range(60):
        for prefetcher in (asked, fresh):
            prefetcher.record_access(SESSION, f"item-{n}")
        if n:
            asked.predict_next_accesses(SESSION, f"item-{n - 1}", 3)
    assert asked.predict_next_accesses(SESSION, "item-59", 3) == (
        fresh.predict_next_accesses(SESSION, "item-59", 3)
    )
