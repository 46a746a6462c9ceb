"""Fitting a long session into a token budget.

Builds a long session from notes on the Python standard library (old and new, of every priority),
then asks handle_context_overflow to bring it under a budget. Critical items always stay; the
rest is summarized, compressed or evicted, oldest and least important first. A budget smaller than
the critical items alone is refused (``ContextBudgetError``) and changes nothing.

    python examples/token_budget.py            # a 4000-token budget
    python examples/token_budget.py 1500
    python examples/token_budget.py 100        # refused (exit status 1), nothing changed

A BUDGET that is not a positive whole number is a usage line on stderr and exit status 2.
"""

from __future__ import annotations

import sys
from collections import Counter

from memcore import Priority, SessionState, count_tokens, handle_context_overflow
from memcore.demo import stdlib_notes
from memcore.errors import ContextBudgetError
from memcore.model import utc_now


def main(budget: int) -> int:
    items = stdlib_notes(400, seed=1, now=utc_now())
    before = sum(count_tokens(item.content) for item in items)
    priorities = Counter(str(item.priority) for item in items)
    print(f"session: {len(items)} items, {before:,} tokens ({dict(priorities)})")

    state = SessionState(items, token_budget=budget)
    try:
        outcome = handle_context_overflow(state)
    except ContextBudgetError as exc:
        print(f"budget {budget:,} refused: {exc}")
        return 1
    print(
        f"budget {budget:,}: {outcome.final_token_count:,} tokens left, "
        f"{outcome.tokens_saved:,} saved"
    )
    for action in outcome.actions_taken:
        print(f"  - {action}")
    critical = [i.id for i in items if i.priority == Priority.CRITICAL]
    kept = {item.id for item in state.items}
    print(f"critical items kept: {sum(i in kept for i in critical)}/{len(critical)}")
    return 0 if outcome.final_token_count <= budget else 1


def _budget(argv: list[str]) -> int:
    if len(argv) < 2:
        return 4000
    if len(argv) > 2 or not argv[1].isdigit() or int(argv[1]) <= 0:
        given = " ".join(repr(a) for a in argv[1:])
        print(
            f"usage: token_budget.py [BUDGET]  (a positive number of tokens, got {given})",
            file=sys.stderr,
        )
        sys.exit(2)  # a bad command line, as for the memcore command
    return int(argv[1])


if __name__ == "__main__":
    sys.exit(main(_budget(sys.argv)))
