"""Secrets in transcripts are masked before anything of them is kept (``memcore.claude_code.
masking``): each kind masked, JSON kept valid, look-alikes left alone; the ``literal_hits``
kernel's twins equal (hypothesis); a transcript's items hold no secret, saved whole or in two
parts alike; ``MEMCORE_MASK_SECRETS=0`` keeps them."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memcore._pure._text_tables import SECRET_LITERALS
from memcore.claude_code import parse_transcript, project_dir_name
from memcore.claude_code.masking import _PATTERNS, OFF_SWITCH, mask_line
from memcore.claude_code.transcripts import parse_transcripts
from memcore.model import MemoryItem
from tests.claude_code_support import PROJECT, SESSION, _assistant, _u, _user
from tests.claude_hooks_support import _hook, _payload, _read_state
from tests.conftest import _implementation_fixture

text_impl = _implementation_fixture("text")

GITHUB = "ghp_" + "A1b2C3d4E5" * 4
OPENAI = "sk-proj-" + "Zx9Yw8Vu7T" * 3
ANTHROPIC = "sk-ant-api03-" + "q1W2e3R4t5" * 3
AWS = "AKIAIOSFODNN7EXAMPLE"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0TH"
SECRETS = (GITHUB, OPENAI, ANTHROPIC, AWS, JWT, "s3cr3t-pa55")


def _line(text: str) -> bytes:
    return json.dumps({"c": text}).encode() + b"\n"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            f"export GITHUB_TOKEN={GITHUB} && gh pr list",
            "export GITHUB_TOKEN=[masked github token] && gh pr list",
        ),
        (f"key {OPENAI} ok", "key [masked openai key] ok"),
        (f"key {ANTHROPIC}", "key [masked anthropic key]"),
        (
            f"{AWS} and AIzaSyA-abcdefghijklmnopqrstuvwxyz12345",
            "[masked aws key] and [masked google key]",
        ),
        (f"token {JWT}", "token [masked json web token]"),
        (
            'curl -H "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123" x',
            'curl -H "Authorization: Bearer [masked bearer token]" x',
        ),
        (
            "postgres://alice:s3cr3t-pa55@db:5432/app",
            "postgres://alice:[masked password]@db:5432/app",
        ),
        ("redis://:pw123@127.0.0.1:6379/0", "redis://:[masked password]@127.0.0.1:6379/0"),
        ("xoxb-1234567890-abcdefghij here", "[masked slack token] here"),
        ("sk_live_abcdefghijklmnop1234", "sk_[masked stripe key]"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nok",
            "[masked private key]\nok",
        ),
    ],
)
def test_each_kind_is_masked_and_the_line_stays_json(text: str, said: str) -> None:
    assert json.loads(mask_line(_line(text)))["c"] == said


@pytest.mark.parametrize(
    "text",
    [
        "the task-list, disk-usage and sk-learn",
        "https://github.com/org/repo and git@github.com:org/repo.git and ghost_town",
        "https://example.com:8080/a@b and http://host/path?x=1",
        "mask_live_abcdefghijklmnopqrs and ask_test_abcdefghijklmnopqrs",
        "the bearer of bad news, Bearer short",
        "XAKIAIOSFODNN7EXAMPLE and rghp_" + "A1b2C3d4E5" * 4,
        "eyJhbGciOiJIUzI1NiJ9 alone",
        "the sk-folding-cube-and-double-bounce-spinner, xoxo-hugs-and-kisses-to-all",
        "Authorization: Bearer YOUR_ACCESS_TOKEN_HERE_PLEASE",
        "sk-1234567890abcdef1234",
    ],
)
def test_look_alikes_are_left_alone(text: str) -> None:
    line = _line(text)
    assert mask_line(line) is line


def test_each_pattern_starts_with_its_literal() -> None:
    assert len(_PATTERNS) == len(SECRET_LITERALS)
    for literal, (_, pattern) in zip(SECRET_LITERALS, _PATTERNS, strict=True):
        assert pattern.startswith(literal) or pattern.startswith(literal.rstrip(b" "))


fragments = st.lists(
    st.one_of(
        st.sampled_from(SECRET_LITERALS),
        st.sampled_from([lit[:-1] for lit in SECRET_LITERALS]),  # (a literal cut at the end)
        st.binary(max_size=12),
    ),
    max_size=12,
).map(b"".join)


@settings(max_examples=400)
@given(data=st.one_of(st.binary(max_size=200), fragments))
def test_literal_hits_twins_agree(text_impl: ModuleType, data: bytes) -> None:
    """Each twin (compiled, pure) gives the bits of the literals ``in`` the bytes."""
    expected = sum(1 << i for i, lit in enumerate(SECRET_LITERALS) if lit in data)
    assert text_impl.literal_hits(data) == expected


def _transcript(path: Path) -> Path:
    records = [
        _user(_u(1), None, "2026-11-20T10:00:00Z", f"use the key {OPENAI} to call the API"),
        _assistant(
            _u(2),
            _u(1),
            "2026-11-20T10:00:05Z",
            "msg_1",
            [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "Bash",
                    "input": {"command": f"GITHUB_TOKEN={GITHUB} ./deploy.sh", "description": "d"},
                }
            ],
            20,
        ),
        _user(
            _u(3),
            _u(2),
            "2026-11-20T10:00:09Z",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": f"Error: bad credentials for {AWS} at postgres://app:s3cr3t-pa55@db/x",
                    "is_error": True,
                }
            ],
        ),
        _assistant(
            _u(4),
            _u(3),
            "2026-11-20T10:00:12Z",
            "msg_2",
            [{"type": "text", "text": f"The token {JWT} has expired; the deploy failed."}],
            20,
        ),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _texts(items: list[MemoryItem]) -> str:
    return json.dumps([[i.content, i.metadata] for i in items], default=str)


def test_a_transcript_keeps_no_secret_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _transcript(tmp_path / f"{SESSION}.jsonl")
    kept = _texts(parse_transcript(path).items)
    assert "[masked openai key]" in kept
    assert "[masked github token]" in kept
    for secret in SECRETS:
        assert secret not in kept
    monkeypatch.setenv(OFF_SWITCH, "0")
    assert GITHUB in _texts(parse_transcripts([path])[0].items)


def _saved_in_parts_and_alone(
    tmp_path: Path, whole: list[bytes], cut: int
) -> tuple[dict[str, MemoryItem], dict[str, MemoryItem]]:
    """The session's stored items when its transcript's lines are saved by ``session-end`` in
    two parts (the first ``cut`` lines, then all), and when saved whole into another store."""
    folder = tmp_path / "projects" / project_dir_name(PROJECT)
    folder.mkdir(parents=True)
    path = folder / f"{SESSION}.jsonl"
    parts, alone = f"sqlite:///{tmp_path / 'parts.db'}", f"sqlite:///{tmp_path / 'alone.db'}"
    payload = _payload("SessionEnd", SESSION, path, cwd=PROJECT)
    path.write_bytes(b"".join(whole[:cut]))
    assert _hook("session-end", payload, parts)[1:] == ("", "")
    path.write_bytes(b"".join(whole))
    assert _hook("session-end", payload, parts)[1:] == ("", "")
    assert _hook("session-end", payload, alone)[1:] == ("", "")
    return _read_state(parts, SESSION), _read_state(alone, SESSION)


def test_a_save_in_two_parts_keeps_what_one_import_keeps(tmp_path: Path) -> None:
    whole = _transcript(tmp_path / "whole.jsonl").read_bytes().splitlines(keepends=True)
    stored, alone = _saved_in_parts_and_alone(tmp_path, whole, 2)
    assert stored == alone
    for secret in SECRETS:
        assert secret not in _texts(list(stored.values()))
    for secret in SECRETS:
        assert secret not in _texts(list(stored.values()))


def test_a_message_queued_before_a_save_and_taken_after_it_is_masked(tmp_path: Path) -> None:
    """A message typed while the agent worked is queued (a ``queue-operation`` record) and taken
    later; a save that reads on from between the two learns the queue from the records before
    its offset, which are masked as the parse's own."""
    queued = f"also rotate {GITHUB} please"
    records = [
        _user(_u(1), None, "2026-11-20T10:00:00Z", "deploy the app"),
        {
            "type": "queue-operation",
            "operation": "enqueue",
            "timestamp": "2026-11-20T10:00:02Z",
            "sessionId": SESSION,
            "content": queued,
        },
        _assistant(
            _u(2), _u(1), "2026-11-20T10:00:05Z", "msg_1", [{"type": "text", "text": "On it."}], 5
        ),
        {
            "type": "queue-operation",
            "operation": "remove",
            "timestamp": "2026-11-20T10:00:09Z",
            "sessionId": SESSION,
        },
        _assistant(
            _u(3), _u(2), "2026-11-20T10:00:12Z", "msg_2", [{"type": "text", "text": "Done."}], 5
        ),
    ]
    whole = [(json.dumps(r) + "\n").encode() for r in records]
    stored, alone = _saved_in_parts_and_alone(tmp_path, whole, 3)
    assert "also rotate [masked github token] please" in _texts(list(stored.values()))
    assert GITHUB not in _texts(list(stored.values()))
    assert stored == alone
