"""Values for the checksum tests: hypothesis strategies of everything ``state_checksum`` accepts
(scalars, JSON-like containers, ``MemoryItem``s, states), shared by the test_checksums* files."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from memcore.model import MemoryItem, Priority

ZONES = [
    timezone.utc,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=-2, seconds=7, microseconds=11)),
]
# Strings memcore can hash: any code point but lone surrogates (they have no UTF-8 form).
characters = st.characters(exclude_categories=["Cs"])


def texts(**kwargs: Any) -> st.SearchStrategy[str]:
    return st.text(alphabet=characters, **kwargs)


aware_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(ZONES)
)
naive_datetimes = st.datetimes()
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, -(2**64), 0, -1]),
    st.floats(),
    st.sampled_from([0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, 5e-324]),
    texts(),
    st.text(alphabet=st.characters(max_codepoint=0xFF)),
    st.text(
        alphabet=st.characters(min_codepoint=0x100, max_codepoint=0xFFFF, exclude_categories=["Cs"])
    ),
    st.binary(),
    st.binary().map(bytearray),
    aware_datetimes,
    naive_datetimes,
)
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(texts(max_size=8), children, max_size=5),
    ),
    max_leaves=20,
)
memory_items = st.builds(
    MemoryItem,
    id=texts(min_size=1, max_size=20),
    content=texts(max_size=200),
    priority=st.sampled_from(list(Priority)),
    created_at=aware_datetimes,
    metadata=st.dictionaries(texts(max_size=8), json_like, max_size=4),
)
values = st.one_of(json_like, memory_items)
states = st.dictionaries(texts(max_size=12), values, max_size=8)
