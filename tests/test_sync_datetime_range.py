"""Aware datetimes whose UTC time falls outside the years 1-9999 (year 1 at +14:00, year 9999
at -05:00) are refused when written, by both record twins and ``codec.packb``.

msgpack once packed them as an epoch offset no decoder can turn back into a datetime: the
writer's sync succeeded, then every other replica failed every sync of the session with
``CorruptedMemoryError`` and recovery could not repair it (the journal held the same record).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import ModuleType
from typing import Any

import pytest

from memcore import _kernels, codec
from memcore.errors import ValidationError
from memcore.model import MemoryItem
from memcore.recovery import verify_session
from tests.sync_support import SESSION, Backend, content, contents

UTC = timezone.utc
PLUS_14 = timezone(timedelta(hours=14))
MINUS_5 = timezone(timedelta(hours=-5))

OUT_OF_RANGE = (
    datetime(1, 1, 1, 5, tzinfo=PLUS_14),
    datetime(1, 1, 1, 13, 59, 59, 999999, tzinfo=PLUS_14),  # a microsecond before year 1
    datetime(9999, 12, 31, 23, tzinfo=MINUS_5),
    datetime(9999, 12, 31, 19, tzinfo=MINUS_5),  # exactly year 10000 in UTC
)
IN_RANGE = (
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1, 1, 1, 14, tzinfo=PLUS_14),  # exactly year 1 in UTC
    datetime(9999, 12, 31, 18, 59, 59, 999999, tzinfo=MINUS_5),
)


def _ids(moments: tuple[datetime, ...]) -> list[str]:
    return [moment.isoformat() for moment in moments]


@pytest.mark.parametrize("moment", OUT_OF_RANGE, ids=_ids(OUT_OF_RANGE))
def test_records_refuse_out_of_range_datetimes(records_impl: ModuleType, moment: datetime) -> None:
    values: tuple[Any, ...] = (
        {"when": moment},
        [1, [moment]],
        MemoryItem("k", "x", metadata={"when": moment}),
    )
    for value in values:
        with pytest.raises(ValidationError, match="out of range in UTC"):
            records_impl.encode_entry(value, 1, "r", False)
        with pytest.raises(ValidationError, match="out of range in UTC"):
            records_impl.make_record("k", value, 1, "r", False)
        with pytest.raises(ValidationError, match="out of range in UTC"):
            records_impl.pack_plain(value)
    with pytest.raises(ValidationError, match="out of range in UTC"):
        codec.packb({"when": moment})


@pytest.mark.parametrize("moment", IN_RANGE, ids=_ids(IN_RANGE))
def test_edge_datetimes_round_trip_alike(
    native_kernels: Any, pure_kernels: Any, moment: datetime
) -> None:
    """At the edges, UTC-zoned values take the compiled writer, others the pure one: the same
    bytes either way, read back as the same instant by both decoders."""
    twins = [pure_kernels("records")]
    if _kernels.NATIVE:  # (a pure-only run has no compiled twin)
        twins.append(native_kernels("records"))
    value = MemoryItem("k", "x", metadata={"when": moment, "list": [moment]})
    encoded = {twin.encode_entry(value, 7, "r", False) for twin in twins}
    assert len(encoded) == 1
    data = encoded.pop()
    for twin in twins:
        decoded = twin.decode_entry(data)[0]
        assert decoded.metadata == {"when": moment, "list": [moment]}
    assert codec.unpackb(codec.packb({"when": moment})) == {"when": moment}


async def test_set_refuses_and_every_replica_still_syncs(backend: Backend) -> None:
    a, b = backend.manager("a"), backend.manager("b")
    try:
        a.set(SESSION, "k", MemoryItem("k", "kept", metadata={"when": IN_RANGE[2]}))
        assert (await a.sync_session_memory(SESSION)).success
        for moment in OUT_OF_RANGE:
            with pytest.raises(ValidationError, match="out of range in UTC"):
                a.set(SESSION, "k", {"content": "lost?", "metadata": {"when": moment}})
            with pytest.raises(ValidationError, match="out of range in UTC"):
                a.set(SESSION, "new", MemoryItem("new", "x", metadata={"when": [moment]}))
        assert content(a.get(SESSION, "k")) == "kept"
        assert a.get(SESSION, "new") is None
        a.set(SESSION, "other", MemoryItem("other", "y"))
        assert (await a.sync_session_memory(SESSION)).success
        assert (await b.sync_session_memory(SESSION)).success
        assert contents(b) == {"k": "kept", "other": "y"}
        assert b.get(SESSION, "k").metadata == {"when": IN_RANGE[2]}
        health = await verify_session(SESSION, backend.open(), deep=True)
        assert health.ok, health.problems
    finally:
        await a.close()
        await b.close()
