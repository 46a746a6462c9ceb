"""A save's parse in a child process (``memcore.claude_code.parse_ahead``): the same stored state
as a save that parses itself, whatever the child does, and a transcript read to its end is known
to be saved without importing asyncio."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from memcore.claude_code import parse_ahead
from memcore.claude_code.hooks import HookPayload, locate_session
from memcore.claude_code.parse_ahead import ParseAhead, _pack, _unpack
from memcore.claude_code.project import SessionRecord, parse_session, registry_session
from tests.claude_code_support import DATA
from tests.claude_hooks_support import PROJECT, _hook, _payload, _place, _read_state, _session_of

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="the shared transcripts are not here")

BIG = "entireio__cli__0276a600.jsonl"  # 2.9 MB: parsed ahead
SMALL = "entireio__cli__198393f2.jsonl"


def _save(tmp_path: Path, name: str, source: str) -> tuple[str, str]:
    """Save the transcript ``source`` (placed once under ``tmp_path``) into the store ``name``."""
    url = f"sqlite:///{tmp_path / name / 'memory.db'}"
    session = _session_of(DATA / source)
    transcript = next((tmp_path / "projects").rglob(f"{session}.jsonl"), None)
    if transcript is None:
        transcript, _ = _place(tmp_path, source)
    code, out, err = _hook("session-end", _payload("SessionEnd", session, transcript), url)
    assert (code, out, err) == (0, "", "")
    return url, session


def _states(url: str, session: str) -> tuple[object, object]:
    """The session's items, and its project's registry entries but for when each was made."""
    registry = _read_state(url, registry_session(PROJECT))
    entries = {
        key: dataclasses.replace(SessionRecord.from_item(item), updated_at="")
        for key, item in registry.items()
    }
    assert entries
    return _read_state(url, session), entries


#: A hook's save in a process of its own (as Claude Code runs it: no other thread, so it may
#: fork), reporting whether it forked a child and whether it took the child's parse; MODE
#: "fails" makes the child's parse fail, "hangs" makes it hang past a short patience.
SAVE_SCRIPT = """
import json, os, sys, time
import memcore.claude_code.parse_ahead as pa
from memcore.claude_code import project
report = {"started": [], "taken": []}
start, result, real = pa.ParseAhead.start.__func__, pa.ParseAhead.result, project.parse_session
def counted(cls, *args):
    found = start(cls, *args)
    report["started"].append(found is not None)
    return found
def handed(self, *args):
    found = result(self, *args)
    report["taken"].append(found is not None)
    return found
def child_fails(*args, **kwargs):
    if os.getpid() != parent:
        raise RuntimeError("the child's parse failed")
    return real(*args, **kwargs)
def child_hangs(*args, **kwargs):
    if os.getpid() != parent:
        time.sleep(120)
    return real(*args, **kwargs)
pa.ParseAhead.start, pa.ParseAhead.result = classmethod(counted), handed
parent = os.getpid()
if sys.argv[2] == "fails":
    project.parse_session = child_fails
elif sys.argv[2] == "hangs":
    pa.PATIENCE = 0.2
    project.parse_session = child_hangs
from memcore.claude_code.hooks import run_hook
code = run_hook("session-end", sys.stdin.read(), store_url=sys.argv[1])
print(json.dumps(report))
sys.exit(code)
"""


def _save_apart(tmp_path: Path, name: str, mode: str) -> tuple[str, str, dict[str, list[bool]]]:
    url = f"sqlite:///{tmp_path / name / 'memory.db'}"
    session = _session_of(DATA / BIG)
    transcript = next((tmp_path / "projects").rglob(f"{session}.jsonl"), None)
    if transcript is None:
        transcript, _ = _place(tmp_path, BIG)
    done = subprocess.run(
        [sys.executable, "-c", SAVE_SCRIPT, url, mode],
        input=_payload("SessionEnd", session, transcript),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return url, session, json.loads(done.stdout)


@pytest.mark.parametrize(
    ("mode", "taken"), [("works", [True]), ("fails", [False]), ("hangs", [False])]
)
def test_a_save_stores_what_it_would_have_parsed_itself_whatever_its_child_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, taken: list[bool]
) -> None:
    url, session, report = _save_apart(tmp_path, "apart", mode)
    assert report == {"started": [True], "taken": taken}, "a 2.9 MB transcript is parsed ahead"
    monkeypatch.setattr(parse_ahead, "AHEAD_BYTES", 1 << 40)
    itself_url, _ = _save(tmp_path, "itself", BIG)
    assert _states(url, session) == _states(itself_url, session)


#: A process of its own (nothing else runs in it: under pytest-xdist, the worker's own I/O
#: thread would keep every fork off whatever the test did) that asks ``ParseAhead.start`` for
#: a child alone, then beside one other thread, of ``threading`` or a native one (started
#: below ``threading``, which does not count it), and reports what it found.
THREADS_SCRIPT = """
import _thread, json, os, sys, threading
from pathlib import Path
from memcore.claude_code.parse_ahead import ParseAhead, _only_thread
files, session, kind = [Path(sys.argv[1])], sys.argv[2], sys.argv[3]
def forks():
    ahead = ParseAhead.start(files, session, None)
    if ahead is not None:
        ahead.cancel()
    return ahead is not None
report = {"alone": _only_thread(), "forked alone": forks()}
release, started, native = _thread.allocate_lock(), _thread.allocate_lock(), []
release.acquire()
started.acquire()
def wait():
    native.append(_thread.get_native_id())
    started.release()
    with release:
        pass
if kind == "threading":
    other = threading.Thread(target=wait)
    other.start()
else:
    _thread.start_new_thread(wait, ())
started.acquire()  # (running now, until released)
report["counted by threading"] = threading.active_count()
if os.path.isdir("/proc/self/task"):
    report["listed"] = str(native[0]) in os.listdir("/proc/self/task")
report["beside"] = _only_thread()
report["forked beside"] = forks()
release.release()
print(json.dumps(report))
"""


@pytest.mark.parametrize("kind", ["threading", "native"])
def test_no_child_is_forked_beside_another_thread(tmp_path: Path, kind: str) -> None:
    """A lock another thread holds at the fork (the import lock, say) stays held in the child
    for good: no child beside one. A native library's thread (here one started below
    ``threading``) holds such locks just as well: it counts, though ``threading`` does not
    count it. (The threads are those of a process of its own: counted in this test's process,
    a thread that another test had just joined was still listed by the system under load,
    gone a moment later, and the count was one short; and under pytest-xdist the worker's I/O
    thread alone keeps every fork off.)"""
    transcript, session = _place(tmp_path, BIG)
    done = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT, str(transcript), session, kind],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    report = json.loads(done.stdout)
    # alone, it forks: the test can tell a fork from none
    assert report.pop("alone") is True
    assert report.pop("forked alone") is True
    counted = report.pop("counted by threading")
    assert counted == (2 if kind == "threading" else 1)
    if "listed" in report:  # (the system lists the threads: the native one among them)
        assert report.pop("listed") is True
    elif kind == "native":
        pytest.skip("the system lists no threads: a native one cannot be seen")
    assert report == {"beside": False, "forked beside": False}


# (forked beside this test process's threads, on purpose: 3.12+ warn of it)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_parse_of_other_offsets_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (forked beside this test process's threads: its child is ended unread, whatever it does)
    monkeypatch.setattr("memcore.claude_code.parse_ahead._only_thread", lambda: True)
    transcript, session = _place(tmp_path, BIG)
    payload = HookPayload.parse(_payload("SessionEnd", session, transcript))
    checked, files = locate_session(payload)
    ahead = ParseAhead.start(files, checked.session_id, None)
    assert ahead is not None
    other = {str(files[0]): [1, 2, 3]}
    assert ahead.result(files, checked.session_id, other) is None
    ahead.cancel()  # (again: nothing left to end)


@pytest.mark.parametrize("source", sorted(p.name for p in DATA.glob("*.jsonl")))
def test_the_parse_handed_back_is_the_parse(tmp_path: Path, source: str) -> None:
    transcript, session = _place(tmp_path, source)
    parsed = parse_session([transcript], session)
    assert _unpack(_pack(parsed)) == parsed


def test_a_transcript_read_to_its_end_is_saved_without_asyncio(tmp_path: Path) -> None:
    url, session = _save(tmp_path, "once", SMALL)
    path = next((tmp_path / "projects").rglob(f"{session}.jsonl"))
    script = (
        "import sys\n"
        "sys.modules['asyncio'] = None  # any import of it fails\n"
        "from memcore.claude_code.hooks import run_hook\n"
        f"sys.exit(run_hook('session-end', sys.stdin.read(), store_url={url!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=_payload("SessionEnd", session, path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_no_look_ahead_for_a_store_that_is_not_sqlite(tmp_path: Path) -> None:
    from memcore.claude_code.hooks import _look_ahead

    transcript, session = _place(tmp_path, BIG)
    payload = HookPayload.parse(_payload("SessionEnd", session, transcript))
    assert _look_ahead(payload, "memory://", refresh=True) == (False, None)
    assert _look_ahead(payload, "redis://127.0.0.1:1/0", refresh=False) == (False, None)
