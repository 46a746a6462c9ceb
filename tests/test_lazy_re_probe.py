"""What a probe of ``memcore.lazy_re`` broke: ``lazy_compile`` took any source and flags, and
one that is no pattern (``None``, bytes, flags ``"x"``) failed as a ``TypeError`` at its first
use, in whatever module searched with it first; now refused when the stand-in is made."""

from __future__ import annotations

import re
from typing import Any

import pytest

from memcore.errors import ValidationError
from memcore.lazy_re import lazy_compile


@pytest.mark.parametrize(
    ("source", "flags"), [(None, 0), (b"a+", 0), (5, 0), ("a+", "x"), ("a+", True)], ids=repr
)
def test_a_source_or_flags_of_no_pattern_are_refused_when_made(source: Any, flags: Any) -> None:
    with pytest.raises(ValidationError, match="a lazy pattern's"):
        lazy_compile(source, flags)


def test_flags_of_the_re_module_are_taken() -> None:
    pattern = lazy_compile(r"a b", re.IGNORECASE | re.VERBOSE)
    match = pattern.search("xAB")
    assert match is not None
    assert match.group(0) == "AB"
