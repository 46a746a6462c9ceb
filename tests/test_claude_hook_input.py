"""The hook's payload is read to the end of its input or, without waiting for an end that may
never come (some Claude Code versions left the pipe open for ``SessionEnd`` after ``/clear``),
until it is one whole JSON object; a real hook process whose stdin stays open still saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memcore.claude_code.hook_input import read_payload, whole_object
from memcore.claude_code.hooks import HookPayload, locate_session
from memcore.errors import NotFoundError, ValidationError
from tests.claude_code_support import DATA
from tests.claude_hooks_support import EARLIER, _payload, _place, _read_state

PAYLOAD = {
    "session_id": "s-1",
    "cwd": "/home/alice/shop",
    "note": "caf\u00e9 \u2192 ok",
    "n": [1, {}],
}


def _feed(pieces: list[bytes], close: bool) -> tuple[int, threading.Event]:
    """A pipe's read end, its write end fed ``pieces`` from a thread, then closed at once
    (``close``) or only once the returned event is set (after the read: no end to wait for)."""
    read_end, write_end = os.pipe()
    done = threading.Event()

    def feed() -> None:
        try:
            for piece in pieces:
                os.write(write_end, piece)
                time.sleep(0.01)
            if not close:
                done.wait(30)
        except BrokenPipeError:  # (the reader had what it needed and closed its end)
            pass
        finally:
            os.close(write_end)

    threading.Thread(target=feed, daemon=True).start()
    return read_end, done


@given(st.lists(st.integers(min_value=1, max_value=80), min_size=1, max_size=6))
def test_a_whole_object_is_read_without_waiting_for_the_end(cuts: list[int]) -> None:
    data = json.dumps(PAYLOAD, ensure_ascii=False).encode() + b"\n"
    pieces, at = [], 0
    for cut in cuts:  # (cuts inside a character's bytes too)
        if at < len(data):
            pieces.append(data[at : at + cut])
            at += cut
    pieces.append(data[at:])
    fd, done = _feed([p for p in pieces if p], close=False)
    try:
        assert json.loads(read_payload(fd)) == PAYLOAD
    finally:
        done.set()
        os.close(fd)


@pytest.mark.parametrize("text", [b"[1, 2]", b' "a payload" ', b'[{"session_id": "s"}]\n'])
def test_a_whole_value_that_is_no_object_is_not_waited_on_either(text: bytes) -> None:
    fd, done = _feed([text], close=False)  # (the pipe left open: no end would come)
    try:
        assert read_payload(fd) == text.strip().decode()
    finally:
        done.set()
        os.close(fd)


def test_anything_else_is_read_to_the_end() -> None:
    for text in (b"{not json", b"[1, 2]", b"", b'{"a": 1} {"b": 2}', b"  \n"):
        fd, _ = _feed([text[:3], text[3:]], close=True)
        try:
            assert read_payload(fd) == text.decode()
        finally:
            os.close(fd)
    fd, _ = _feed([b'{"a": "\xff"}'], close=True)
    try:
        with pytest.raises(UnicodeDecodeError):
            read_payload(fd)
    finally:
        os.close(fd)


def test_whole_object() -> None:
    assert whole_object(b' {"a": {"b": [1]}} \n') == '{"a": {"b": [1]}}'
    assert whole_object(b'{"a": {"b": [1]}') is None
    assert whole_object(b'{"a": "}"') is None
    assert whole_object(b'{"a": 1}}') is None
    assert whole_object(b"[{}]") is None


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")
def test_a_hook_whose_stdin_stays_open_still_saves(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    transcript, session = _place(tmp_path, EARLIER[0])
    errors = tmp_path / "stderr"
    with errors.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "memcore", "hook", "session-end", "--store", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        assert proc.stdin is not None
        try:
            proc.stdin.write(_payload("SessionEnd", session, transcript).encode())
            proc.stdin.flush()  # and left open
            code = proc.wait(timeout=60)  # (a deadline for a hang, not a timing assertion)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdin.close()
    assert code == 0
    assert errors.read_bytes() == b""
    assert _read_state(url, session)


def test_a_payload_is_parsed_only_when_nothing_more_is_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Thirty-two 64 KiB chunks that each end in ``}`` written at once: parsed as it doubles
    (about log2(32) + 1 times), not after each chunk (a many-chunk payload of this shape took
    seconds, each parse reading all)."""
    import memcore.claude_code.hook_input as hook_input

    parses: list[int] = []
    real = hook_input.whole_object

    def counted(data: bytes) -> str | None:
        parses.append(len(data))
        return real(data)

    monkeypatch.setattr(hook_input, "whole_object", counted)
    body = '{"a":['
    for block in range(1, 33):  # an element whose "}" is each chunk's last byte
        body += "{" + " " * (block * hook_input.CHUNK - len(body) - 2) + "},"
    text = (body + "{}]}").encode()
    read_end, write_end = os.pipe()

    def write() -> None:
        os.write(write_end, text)
        os.close(write_end)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert read_payload(read_end) == text.decode()
    finally:
        writer.join()
        os.close(read_end)
    assert len(parses) <= 8


@pytest.mark.parametrize("shape", ["deep", "endless"])
def test_a_payload_too_deep_or_too_long_is_one_line_and_exit_zero(
    tmp_path: Path, shape: str
) -> None:
    """Nested past the parser's depth (a traceback, exit 1, before), or a stream with no end
    (``/dev/zero``: it was read for ever): one line on stderr, exit 0, nothing on stdout."""
    if shape == "deep":
        source = tmp_path / "payload.json"
        source.write_text('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    else:
        source = Path("/dev/zero")
    with source.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "memcore", "hook", "stop", "--store", "memory://"],
            stdin=stdin,
            capture_output=True,
            timeout=120,  # (a deadline for a hang, not a timing assertion)
            check=False,
        )
    err = done.stderr.decode()
    assert (done.returncode, done.stdout) == (0, b""), err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_a_payload_s_optional_fields_of_the_wrong_kind_are_left_out() -> None:
    """``source`` and ``transcript_path`` are optional: an empty or odd one is no reason to
    refuse a session-start (a save says it has no transcript, see ``locate_session``)."""
    base = {"session_id": "s", "cwd": "/home/alice/shop"}
    for odd in ({"transcript_path": ""}, {"source": True}, {"transcript_path": 5, "source": ""}):
        payload = HookPayload.parse(json.dumps({**base, **odd}))
        assert (payload.transcript_path, payload.source) == (None, None)
    with pytest.raises(ValidationError, match="no transcript_path to save"):
        locate_session(HookPayload.parse(json.dumps({**base, "transcript_path": ""})))
    with pytest.raises(ValidationError, match="'cwd'"):
        HookPayload.parse(json.dumps({"session_id": "s", "cwd": 7}))


def test_a_relative_transcript_path_is_the_session_s_own_folder_s(tmp_path: Path) -> None:
    session = "5e55e55e-0000-4000-8000-000000000001"
    record = {
        "type": "user",
        "uuid": "00000000-0000-4000-8000-000000000001",
        "parentUuid": None,
        "sessionId": session,
        "cwd": str(tmp_path),
        "timestamp": "2026-12-01T08:00:00Z",
        "message": {"role": "user", "content": "fix the cart total"},
    }
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / f"{session}.jsonl").write_text(json.dumps(record) + "\n")
    payload = HookPayload(session, str(tmp_path), f"t/{session}.jsonl", "Stop")
    checked, files = locate_session(payload)  # (this process's folder is another one)
    assert checked.session_id == session
    assert files[0] == tmp_path / "t" / f"{session}.jsonl"


def test_a_transcript_path_that_is_no_regular_file_is_said_as_what_it_is(tmp_path: Path) -> None:
    """``"transcript_path": "/dev/zero"`` was "no transcript file at /dev/zero", as if missing;
    it is a device (a folder, a FIFO alike), said as the commands say it."""
    fifo = tmp_path / "s.jsonl"
    os.mkfifo(fifo)
    for path, kind in (("/dev/zero", "a device"), (str(tmp_path), "a folder"), (fifo, "a FIFO")):
        payload = HookPayload("s", "/home/alice/shop", str(path), "Stop")
        with pytest.raises(ValidationError) as caught:
            locate_session(payload)
        assert str(caught.value) == f"the transcript {path} is {kind}, not a regular file"
    missing = HookPayload("s", "/home/alice/shop", str(tmp_path / "gone.jsonl"), "Stop")
    with pytest.raises(NotFoundError, match="no transcript file at"):
        locate_session(missing)
