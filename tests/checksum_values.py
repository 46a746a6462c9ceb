"""Values for the checksum tests: hypothesis strategies of everything ``state_checksum`` accepts
(scalars, JSON-like containers, ``MemoryItem``s, states), shared by the test_checksums* files;
and the same disguised in subclasses whose methods lie (``disguised``: for them and the records'
tests)."""

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


# --- liars: subclasses whose methods lie about what they hold ------------------------------------
# (memcore reads them by what they hold: the state hash, the records, the bundles)


class LyingList(list):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        return iter([42])

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: Any) -> Any:
        return 42


class LyingTuple(tuple):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        return iter([42])

    def __len__(self) -> int:
        return 1


class LyingDict(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        return [("fake", 1)]

    def keys(self) -> Any:
        return ["fake"]

    def values(self) -> Any:
        return [1]

    def __iter__(self) -> Any:
        return iter(["fake"])

    def __len__(self) -> int:
        return 1

    def __getitem__(self, key: Any) -> Any:
        return 1


class LyingStr(str):
    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return b"zzz"

    def __len__(self) -> int:
        return 99

    def __iter__(self) -> Any:
        return iter("zzz")

    def __getitem__(self, index: Any) -> Any:
        return "z"

    def __str__(self) -> str:
        return "zzz"


class LyingInt(int):
    def __index__(self) -> int:
        return 0

    def __int__(self) -> int:
        return 0

    def __le__(self, other: object) -> bool:
        return False

    def __ge__(self, other: object) -> bool:
        return False

    def bit_length(self) -> int:
        return 0


class LyingFloat(float):
    def __float__(self) -> float:
        return 0.5


class LyingBytes(bytes):
    def __len__(self) -> int:
        return 0

    def __bytes__(self) -> bytes:
        return b"zzz"


class LyingDatetime(datetime):
    @property
    def hour(self) -> int:
        return 23

    def utcoffset(self) -> timedelta:
        return timedelta(hours=9)

    def toordinal(self) -> int:
        return 1


def disguise(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with some of its parts (drawn) replaced by liars holding the same."""
    lie = draw(st.booleans())
    if isinstance(value, dict):
        inner = {
            (LyingStr(k) if draw(st.booleans()) else k): disguise(draw, v) for k, v in value.items()
        }
        return LyingDict(inner) if lie else inner
    if isinstance(value, list):
        elements = [disguise(draw, v) for v in value]
        return LyingList(elements) if lie else elements
    if isinstance(value, tuple):
        elements = [disguise(draw, v) for v in value]
        return LyingTuple(elements) if lie else tuple(elements)
    if isinstance(value, MemoryItem):
        item = MemoryItem(value.id, value.content, value.priority, value.created_at)
        item.metadata = disguise(draw, value.metadata)  # (after __init__, which copies it)
        if draw(st.booleans()):
            item.content = LyingStr(item.content)
        if draw(st.booleans()):
            item.id = LyingStr(item.id)
        return item
    if not lie or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return LyingStr(value)
    if isinstance(value, int):
        return LyingInt(value)
    if isinstance(value, float):
        return LyingFloat(value)
    if isinstance(value, bytes):
        return LyingBytes(value)
    if isinstance(value, datetime):
        fields = (value.year, value.month, value.day, value.hour, value.minute, value.second)
        return LyingDatetime(*fields, value.microsecond, value.tzinfo, fold=value.fold)
    return value


@st.composite
def disguised(draw: st.DrawFn) -> tuple[Any, Any]:
    """``(liar, truth)``: a value (an item or JSON-like) and the same with liars in it."""
    truth = draw(st.one_of(memory_items, json_like))
    return disguise(draw, truth), truth
