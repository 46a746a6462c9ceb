"""How well next-access prediction works on real access sequences: the design document's scheme
beside memcore's ``patterns`` kernel.

Run: ``.venv/bin/python benchmarks/prefetch_quality.py`` (a few seconds; prints a Markdown table).

Sources, all recorded at run time from real programs on this machine (nothing synthetic):

* ``claude-code``: the tool-call access sequences (files read/edited, searches, commands) of the
  Claude Code transcripts under ``~/.claude/projects`` (via :mod:`memcore.claude_code`), one
  session per transcript, when there are any;
* ``imports``: the modules each of ``len(IMPORT_TARGETS)`` fresh interpreters imports (the
  ``import`` audit event, in the order imports start) while importing one real module of the
  standard library or of this environment (``json``, ``asyncio``, ``numpy``, ``hypothesis``,
  ``memcore.cli`` ...), one session per process, in the listed order;
* ``opens``: the files the same processes open (``open`` audit event: module sources and
  bytecode, package data, shared libraries' metadata), paths relative to the installation prefix;
* ``calls``: the Python functions called (``sys.setprofile`` ``call`` events, named
  ``module:qualname``) while one interpreter tokenizes, parses, unparses, pretty-prints and diffs
  the source files of the ``memcore`` package: one long session, cut at ``--calls``.

Protocol: sessions are concatenated in order; the first ``--train`` fraction of the accesses only
trains, then each following access is first predicted (from the accesses before it), then scored
and recorded, so every predictor keeps learning online. ``top-1``/``top-3``: the next access is
the first / among the first three predictions; ``mean top-1 confidence`` beside ``top-1`` shows
whether the confidences are honest (calibrated: close to the accuracy). ``prefetch@0.6``:
predictions above 0.6 confidence (what the prefetcher loads): ``precision`` (loaded items that
were used next) and ``recall`` (next accesses that had been loaded).

Online (the setting the prefetcher lives in), on the Claude Code sessions: each session gets a
fresh predictor that predicts every access from the one before it, then records it, from the
first access on; ``warm`` rows first ``warm_start`` the kernel with the earlier sessions of the
same project (its ``cwd``), oldest first. The development transcripts
(``../shared/data/claude-code``, the default) are split in two halves (by file name, alternately):
half 1, half 2 and both are reported, and the calibration (a confidence table, stated against
achieved by bucket) is shown for both. ``--fit`` refits ``memcore.prefetch.CALIBRATION`` (printed
as Python) on all of them, and checks a fit on each half against the other half.

Predictors: ``design doc`` is the scheme of the design document (windows of 5 accesses; for each
window, the item after the first occurrence of the current item, weighted by how often the window
occurs; recomputed from the whole history every 10 accesses); ``last successor`` predicts what
followed the current item last time; ``kernel order k`` is memcore's kernel with ``max_order=k``
(``k = 4``, the whole window of 5, is the prefetcher's default).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from memcore.prefetch import PredictiveMemoryPrefetcher, fit_calibration
from memcore.prefetch_kinds import fit_kind_prior

ROOT = Path(__file__).resolve().parent.parent
DEV_TRANSCRIPTS = ROOT.parent / "shared" / "data" / "claude-code"

IMPORT_TARGETS = (
    "json",
    "asyncio",
    "email.parser",
    "http.client",
    "urllib.request",
    "xml.etree.ElementTree",
    "sqlite3",
    "csv",
    "logging.handlers",
    "argparse",
    "unittest",
    "pydoc",
    "tomllib",
    "zipfile",
    "tarfile",
    "ssl",
    "decimal",
    "fractions",
    "statistics",
    "difflib",
    "inspect",
    "dataclasses",
    "typing",
    "pathlib",
    "subprocess",
    "multiprocessing",
    "concurrent.futures",
    "shutil",
    "tempfile",
    "http.server",
    "smtplib",
    "uuid",
    "random",
    "datetime",
    "pprint",
    "textwrap",
    "hashlib",
    "base64",
    "gzip",
    "lzma",
    "bz2",
    "configparser",
    "getpass",
    "socketserver",
    "xmlrpc.client",
    "ipaddress",
    "mimetypes",
    "pdb",
    "doctest",
    "trace",
    "timeit",
    "cProfile",
    "numpy",
    "hypothesis",
    "redis",
    "msgpack",
    "lz4.frame",
    "psutil",
    "xxhash",
    "pytest",
    "memcore",
    "memcore.cli",
    "memcore.codec",
    "memcore.claude_code",
    "memcore.compression",
)

_IMPORT_PROBE = """
import json, os, sys
imports, opens = [], []
def hook(event, args):
    if event == "import":
        imports.append(args[0])
    elif event == "open" and isinstance(args[0], str):
        opens.append(args[0])
sys.addaudithook(hook)
import importlib
importlib.import_module(sys.argv[1])
sys.addaudithook(lambda event, args: None)
sys.stdout.write(json.dumps({"imports": imports, "opens": opens}))
"""

_CALL_PROBE = """
import ast, difflib, json, pprint, sys, tokenize
from pathlib import Path
limit = int(sys.argv[2])
files = sorted(Path(sys.argv[1]).glob("*.py"))
texts = [f.read_text() for f in files]
calls = []
def profile(frame, event, arg):
    if event == "call":
        code = frame.f_code
        calls.append(f"{frame.f_globals.get('__name__', '?')}:{code.co_qualname}")
        if len(calls) >= limit:
            sys.setprofile(None)
sys.setprofile(profile)
for text in texts:
    for _ in tokenize.generate_tokens(iter(text.splitlines(True)).__next__):
        pass
    tree = ast.parse(text)
    ast.unparse(tree)
    pprint.pformat(ast.dump(tree)[:2000])
for a, b in zip(texts, texts[1:]):
    list(difflib.unified_diff(a.splitlines()[:300], b.splitlines()[:300]))
sys.setprofile(None)
sys.stdout.write(json.dumps(calls))
"""


def import_sessions(
    targets: Sequence[str] = IMPORT_TARGETS,
) -> tuple[list[list[str]], list[list[str]]]:
    """Per process: the modules imported, and the files opened (paths relative to the
    interpreter's or the environment's prefix, so they read the same on any machine)."""
    imports, opens = [], []
    prefixes = sorted({sys.prefix, sys.base_prefix, str(ROOT)}, key=len, reverse=True)

    def relative(path: str) -> str:
        for prefix in prefixes:
            if path.startswith(prefix + "/"):
                return path[len(prefix) + 1 :]
        return path

    for target in targets:
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE, target],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode == 0:
            seen = json.loads(done.stdout)
            imports.append(seen["imports"])
            opens.append([relative(path) for path in seen["opens"]])
    return imports, opens


def call_sessions(limit: int) -> list[list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _CALL_PROBE, str(ROOT / "src" / "memcore"), str(limit)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return [json.loads(done.stdout)]


@dataclass
class Session:
    """One transcript's access sequence, with what a warm start needs: its project and start."""

    name: str
    project: str
    start: str
    accesses: list[str]


def claude_code_sessions(path: str | Path | None = None) -> list[Session]:
    """The transcripts' sessions (at least two accesses), oldest first."""
    from memcore.claude_code import find_transcripts, parse_transcript

    sessions = []
    for file in find_transcripts(path):
        transcript = parse_transcript(file)
        if len(transcript.accesses) < 2:
            continue
        cwds = [item.metadata.get("cwd") for item in transcript.items]
        project = next((cwd for cwd in cwds if isinstance(cwd, str)), str(file.parent))
        start = min((item.created_at.isoformat() for item in transcript.items), default="")
        sessions.append(Session(file.name, project, start, transcript.accesses))
    sessions.sort(key=lambda session: (session.start, session.name))
    return sessions


def halves(sessions: Sequence[Session]) -> tuple[list[Session], list[Session]]:
    """Two halves of the sessions for fitting on one and checking on the other (alternately
    by file name, so each half has sessions of every large project), each kept in time order."""
    names = sorted(session.name for session in sessions)
    first = set(names[0::2])
    return (
        [session for session in sessions if session.name in first],
        [session for session in sessions if session.name not in first],
    )


# --- predictors -----------------------------------------------------------------------------


class Predictor(Protocol):
    def record(self, item: str) -> None: ...
    def predict(self, current: str, n: int) -> list[tuple[str, float]]: ...


class DesignDocScheme:
    """The design document's scheme, computed incrementally but with exactly its results.

    Every window of ``window`` consecutive accesses contributes, for each distinct item in it but
    the last position, the item right after that item's first occurrence in the window; counts
    sum over windows (a window occurring k times counts k times). The table predictions read is
    refreshed every ``refresh`` accesses, as if recomputed from the whole history then.
    """

    def __init__(self, window: int = 5, refresh: int = 10) -> None:
        self.window, self.refresh = window, refresh
        self.history: list[str] = []
        self.table: dict[str, Counter[str]] = defaultdict(Counter)
        self.applied = 0  # windows ending before this history index are in the table

    def record(self, item: str) -> None:
        self.history.append(item)
        if len(self.history) % self.refresh == 0:
            for end in range(max(self.applied, self.window), len(self.history) + 1):
                window = self.history[end - self.window : end]
                seen: set[str] = set()
                for position, current in enumerate(window[:-1]):
                    if current not in seen:
                        seen.add(current)
                        self.table[current][window[position + 1]] += 1
            self.applied = len(self.history) + 1

    def predict(self, current: str, n: int) -> list[tuple[str, float]]:
        counts = self.table.get(current)
        if not counts:
            return []
        total = sum(counts.values())
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [(item, count / total) for item, count in ranked]


class LastSuccessor:
    def __init__(self) -> None:
        self.last: dict[str, str] = {}
        self.previous: str | None = None

    def record(self, item: str) -> None:
        if self.previous is not None:
            self.last[self.previous] = item
        self.previous = item

    def predict(self, current: str, n: int) -> list[tuple[str, float]]:
        return [(self.last[current], 1.0)] if current in self.last else []


class KernelModel:
    """memcore's prefetcher (one session) with a given context order."""

    def __init__(self, max_order: int) -> None:
        from memcore.prefetch import PredictiveMemoryPrefetcher

        self.prefetcher = PredictiveMemoryPrefetcher(window_size=5, max_order=max_order)

    def record(self, item: str) -> None:
        self.prefetcher.record_access("quality", item)

    def predict(self, current: str, n: int) -> list[tuple[str, float]]:
        return self.prefetcher.predict_next_accesses("quality", current, n)

    def warm_start(self, earlier: list[list[str]]) -> None:
        self.prefetcher.warm_start("quality", earlier)


PREDICTORS: dict[str, Callable[[], Predictor]] = {
    "design doc": DesignDocScheme,
    "last successor": LastSuccessor,
    "kernel order 1": lambda: KernelModel(1),
    "kernel order 2": lambda: KernelModel(2),
    "kernel order 3": lambda: KernelModel(3),
    "kernel order 4": lambda: KernelModel(4),
}


@dataclass
class Score:
    scored: int = 0
    top1: int = 0
    top3: int = 0
    loaded: int = 0
    loaded_used: int = 0
    confidence: float = 0.0  # summed confidence of the top prediction

    def row(self) -> list[str]:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:.1f}%" if b else "-"

        return [
            pct(self.top1, self.scored),
            f"{100 * self.confidence / self.scored:.1f}%" if self.scored else "-",
            pct(self.top3, self.scored),
            pct(self.loaded_used, self.loaded),
            pct(self.loaded_used, self.scored),
        ]


def _step(
    predictor: Predictor,
    current: str,
    following: str,
    score: Score,
    stated: list[tuple[float, bool]] | None = None,
) -> None:
    """Predict what follows ``current``, score it against ``following``, then record that."""
    predicted = predictor.predict(current, 3)
    ids = [item for item, _ in predicted]
    hit = bool(ids) and ids[0] == following
    score.scored += 1
    score.top1 += hit
    score.confidence += predicted[0][1] if predicted else 0.0
    score.top3 += following in ids
    loaded = [item for item, confidence in predicted if confidence > 0.6]
    score.loaded += len(loaded)
    score.loaded_used += following in loaded
    if stated is not None and predicted:
        stated.append((predicted[0][1], hit))
    predictor.record(following)


def evaluate(factory: Callable[[], Predictor], sequence: Sequence[str], train: float) -> Score:
    predictor = factory()
    split = int(len(sequence) * train)
    for item in sequence[:split]:
        predictor.record(item)
    score = Score()
    for index in range(max(split, 1), len(sequence)):
        _step(predictor, sequence[index - 1], sequence[index], score)
    return score


def evaluate_online(
    factory: Callable[[], Predictor],
    sessions: Sequence[Session],
    warm: bool = False,
    stated: list[tuple[float, bool]] | None = None,
) -> Score:
    """A fresh predictor per session, predicting each access from the first on (see the doc)."""
    score = Score()
    earlier: dict[str, list[list[str]]] = defaultdict(list)
    for session in sessions:
        predictor = factory()
        if warm:
            predictor.warm_start(earlier[session.project])  # type: ignore[attr-defined]
        sequence = session.accesses
        predictor.record(sequence[0])
        for index in range(1, len(sequence)):
            _step(predictor, sequence[index - 1], sequence[index], score, stated)
        earlier[session.project].append(sequence)
    return score


# --- calibration ------------------------------------------------------------------------------


def raw_top1(sessions: Sequence[Session], warm: bool) -> list[tuple[float, bool]]:
    """``(uncalibrated score, hit)`` of the prefetcher's top prediction, online."""
    out: list[tuple[float, bool]] = []
    earlier: dict[str, list[list[str]]] = defaultdict(list)
    for session in sessions:
        prefetcher = PredictiveMemoryPrefetcher()
        if warm:
            prefetcher.warm_start("fit", earlier[session.project])
        sequence = session.accesses
        prefetcher.record_access("fit", sequence[0])
        for index in range(1, len(sequence)):
            top = prefetcher.score_next_accesses("fit", sequence[index - 1], 1)
            if top:
                out.append((top[0][1], top[0][0] == sequence[index]))
            prefetcher.record_access("fit", sequence[index])
        earlier[session.project].append(sequence)
    return out


def calibration_rows(stated: Sequence[tuple[float, bool]], width: float = 0.1) -> list[str]:
    """Markdown rows: per confidence bucket, predictions, mean stated confidence, hit rate."""
    buckets: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for confidence, hit in stated:
        buckets[min(int(confidence / width), int(1 / width) - 1)].append((confidence, hit))
    rows = []
    for index in sorted(buckets):
        members = buckets[index]
        mean = sum(confidence for confidence, _ in members) / len(members)
        achieved = sum(hit for _, hit in members) / len(members)
        low, high = index * width, (index + 1) * width
        rows.append(f"| {low:.1f}-{high:.1f} | {len(members)} | {mean:.3f} | {achieved:.3f} |")
    return rows


def gather(calls: int, transcripts: list[Session]) -> dict[str, list[list[str]]]:
    sources: dict[str, list[list[str]]] = {}
    if transcripts:
        sources["claude-code"] = [session.accesses for session in transcripts]
    sources["imports"], sources["opens"] = import_sessions()
    sources["calls"] = call_sessions(calls)
    return sources


ONLINE: dict[str, tuple[Callable[[], Predictor], bool]] = {
    "design doc": (DesignDocScheme, False),
    "last successor": (LastSuccessor, False),
    "kernel order 1": (lambda: KernelModel(1), False),
    "kernel (default)": (lambda: KernelModel(4), False),
    "kernel (default), warm": (lambda: KernelModel(4), True),
}


def online_report(sessions: list[Session]) -> None:
    first, second = halves(sessions)
    parts = {"half 1": first, "half 2": second, "all": sessions}
    print("\n### Online on Claude Code sessions (predict, then record, from the first access)\n")
    print(
        "| sessions | accesses scored | predictor | top-1 | vs design doc | mean top-1 confidence |"
        " confidence - top-1 | top-3 | prefetch@0.6 precision | prefetch@0.6 recall |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    stated: dict[str, list[tuple[float, bool]]] = {}
    for part, members in parts.items():
        baseline = 0.0
        for label, (factory, warm) in ONLINE.items():
            collected: list[tuple[float, bool]] = []
            score = evaluate_online(factory, members, warm, collected)
            top1 = score.top1 / score.scored
            if label == "design doc":
                baseline = top1
            # (a handful of sessions can leave the design doc's scheme with no hit at all)
            versus = f"{top1 / baseline:.2f}x" if baseline else "n/a"
            gap = (score.confidence - score.top1) / score.scored
            cells = score.row()
            print(
                f"| {part} ({len(members)}) | {score.scored} | {label} | {cells[0]} |"
                f" {versus} | {cells[1]} | {gap:+.3f} | " + " | ".join(cells[2:]) + " |"
            )
            if part == "all" and label.startswith("kernel (default)"):
                stated[label] = collected
    for label, collected in stated.items():
        print(f"\n#### Calibration, {label}, all sessions (top-1 predictions)\n")
        print("| stated confidence | predictions | mean stated | achieved (hit rate) |")
        print("|---|---|---|---|")
        print("\n".join(calibration_rows(collected)))


def fit_report(sessions: list[Session]) -> None:
    import memcore.prefetch as prefetch
    import memcore.prefetch_kinds as prefetch_kinds

    first, second = halves(sessions)
    print(
        "\n### Kind prior and calibration fit: on one half, checked on the other"
        " (online, cold and warm)\n"
    )
    print("| fitted on | checked on | top-1 | mean top-1 confidence | confidence - top-1 |")
    print("|---|---|---|---|---|")
    shipped = prefetch.CALIBRATION, prefetch_kinds.KIND_PRIOR
    try:
        for fit_name, fit_on, check_name, check_on in (
            ("half 1", first, "half 2", second),
            ("half 2", second, "half 1", first),
        ):
            # the kind prior first: the calibration is fitted on the scores it gives
            prefetch_kinds.KIND_PRIOR = fit_kind_prior(session.accesses for session in fit_on)
            prefetch.CALIBRATION = fit_calibration(raw_top1(fit_on, False) + raw_top1(fit_on, True))
            for warm in (False, True):
                score = evaluate_online(lambda: KernelModel(4), check_on, warm)
                label = f"{check_name}{', warm' if warm else ''}"
                print(
                    f"| {fit_name} | {label} | {score.top1 / score.scored:.3f} |"
                    f" {score.confidence / score.scored:.3f} |"
                    f" {(score.confidence - score.top1) / score.scored:+.3f} |"
                )
        prefetch_kinds.KIND_PRIOR = kinds = fit_kind_prior(session.accesses for session in sessions)
        table = fit_calibration(raw_top1(sessions, False) + raw_top1(sessions, True))
    finally:
        prefetch.CALIBRATION, prefetch_kinds.KIND_PRIOR = shipped
    print(
        "\nFitted on all sessions"
        " (paste into memcore/prefetch_kinds.py, then prefetch_calibration.py):\n"
    )
    print(f"KIND_PRIOR: KindPrior = {kinds!r}")
    print(f"CALIBRATION: Calibration = {table!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--train", type=float, default=0.5, help="training fraction (0.5)")
    parser.add_argument("--calls", type=int, default=40_000, help="call-trace length (40000)")
    parser.add_argument(
        "--transcripts",
        default=str(DEV_TRANSCRIPTS) if DEV_TRANSCRIPTS.is_dir() else None,
        help="Claude Code transcripts (default: ../shared/data/claude-code, or ~/.claude/projects)",
    )
    parser.add_argument("--fit", action="store_true", help="refit and print the calibration")
    parser.add_argument(
        "--online-only", action="store_true", help="skip the program traces (train/test table)"
    )
    args = parser.parse_args(argv)
    transcripts = claude_code_sessions(args.transcripts)
    if transcripts:
        online_report(transcripts)
        if args.fit:
            fit_report(transcripts)
    if args.online_only:
        return 0
    sources = gather(args.calls, transcripts)
    print(f"\n### Train on the first {args.train:.0%}, then predict and record the rest\n")
    print(
        "| source | accesses (sessions, distinct) | predictor | top-1 | mean top-1 confidence |"
        " top-3 | prefetch@0.6 precision | prefetch@0.6 recall |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, sessions in sources.items():
        sequence = [item for session in sessions for item in session]
        size = f"{len(sequence)} ({len(sessions)}, {len(set(sequence))})"
        for label, factory in PREDICTORS.items():
            cells = evaluate(factory, sequence, args.train).row()
            print(f"| {name} | {size} | {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
