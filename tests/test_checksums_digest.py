"""``StateDigest``: kept up to date one entry at a time, it equals ``state_checksum`` of the same
entries, in both twins (a state machine against a plain dict)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from memcore.errors import ValidationError
from tests.checksum_values import texts
from tests.test_checksums import KNOWN_EMPTY_CHECKSUM, KNOWN_STATE, KNOWN_STATE_CHECKSUM


def test_digest_basics(checksums_impl: ModuleType) -> None:
    digest = checksums_impl.StateDigest()
    assert digest.count == 0
    assert digest.value == checksums_impl.state_checksum({}) == KNOWN_EMPTY_CHECKSUM
    digest.add("a", {"x": 1})
    digest.add("b", [1, 2])
    assert digest.count == 2
    assert digest.value == checksums_impl.state_checksum({"b": [1, 2], "a": {"x": 1}})
    snapshot = digest.copy()
    digest.remove("a", {"x": 1})
    assert digest.value == checksums_impl.state_checksum({"b": [1, 2]})
    assert snapshot.value == checksums_impl.state_checksum({"a": {"x": 1}, "b": [1, 2]})
    assert snapshot != digest
    digest.add_hash(checksums_impl.entry_hash("a", {"x": 1}))
    assert snapshot == digest
    digest.remove_hash(checksums_impl.entry_hash("b", [1, 2]))
    assert digest.value == checksums_impl.state_checksum({"a": {"x": 1}})
    assert checksums_impl.StateDigest.from_state(KNOWN_STATE).value == KNOWN_STATE_CHECKSUM
    assert "StateDigest(count=1" in repr(digest)
    with pytest.raises(TypeError):
        hash(digest)


def test_digest_refuses_bad_input(checksums_impl: ModuleType) -> None:
    digest = checksums_impl.StateDigest()
    with pytest.raises(ValidationError, match="empty"):
        digest.remove("a", 1)
    with pytest.raises(ValidationError):
        digest.remove_hash(5)
    for bad in (-1, 2**64, "1", 1.0, True):
        with pytest.raises(ValidationError):
            digest.add_hash(bad)
    with pytest.raises(ValidationError):
        digest.add("k", {1, 2})
    assert digest.count == 0
    assert digest.value == KNOWN_EMPTY_CHECKSUM


small_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts(max_size=5)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts(max_size=3), children),
    max_leaves=5,
)


def _digest_machine(module: ModuleType) -> type[RuleBasedStateMachine]:
    class DigestAgainstDict(RuleBasedStateMachine):
        """``StateDigest`` updated one entry at a time equals ``state_checksum`` of a dict."""

        keys = Bundle("keys")

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[str, Any] = {}
            self.digest = module.StateDigest()

        @rule(target=keys, key=texts(max_size=4))
        def new_key(self, key: str) -> str:
            return key

        @rule(key=keys, value=small_values)
        def put(self, key: str, value: Any) -> None:
            if key in self.model:
                self.digest.remove(key, self.model[key])
            self.model[key] = value
            self.digest.add(key, value)

        @rule(key=keys)
        def delete(self, key: str) -> None:
            if key in self.model:
                self.digest.remove(key, self.model.pop(key))

        @rule()
        def snapshot_roundtrip(self) -> None:
            twin = self.digest.copy()
            twin.add("__probe__", 1)
            twin.remove("__probe__", 1)
            assert twin == self.digest

        @invariant()
        def matches_state_checksum(self) -> None:
            assert self.digest.count == len(self.model)
            assert self.digest.value == module.state_checksum(self.model)
            assert self.digest == module.StateDigest.from_state(self.model)

    return DigestAgainstDict


def test_digest_state_machine(checksums_impl: ModuleType) -> None:
    machine = _digest_machine(checksums_impl)
    machine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
    machine.TestCase().runTest()
