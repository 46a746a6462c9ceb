"""Chinese and Japanese letters: kana and CJK ideographs, as one character class.

That text writes no spaces between its words, so what memcore reads word by word reads it
letter by letter: its sentences end at wide stops (``memcore._pure.text``), its words are
counted two letters to a word (``count_words`` of the prose kernels, whose compiled twin tests
the same ranges), a digest line is cut between two letters (``memcore.digest_cut``), and recall
indexes its bigrams (``memcore.search.wide_bigrams``).
"""

from __future__ import annotations

#: One kana or CJK ideograph (Hiragana, Katakana, Extension A, the unified ideographs, the
#: compatibility ideographs), as a regular expression's character class.
WIDE_LETTER = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"

#: The letters recall indexes two by two (``memcore.search.wide_bigrams``): the above, and
#: Korean's syllables, whose words are spaced but take their particles written on ("테스트를",
#: "테스트가": the same word to a reader, three tokens to an index).
BIGRAM_LETTER = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7a3]"

#: The full stop, exclamation and question marks of Chinese and Japanese text, which end a
#: sentence with no space after them.
WIDE_STOPS = "\u3002\uff01\uff1f"

__all__ = ["BIGRAM_LETTER", "WIDE_LETTER", "WIDE_STOPS"]
