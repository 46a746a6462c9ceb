"""``memcore compress`` and ``decompress``: write a session into a bundle file and read one back.

Bundle files are written 0600 whatever the umask: they hold a session's transcripts. ``-o FILE``
is written beside itself and renamed over FILE, so no reader sees half a bundle; a symlink is
followed (its target is replaced, the link stays), and anything that is not a regular file
(folder, device, FIFO, socket) is refused rather than replaced, as are the store's own files
(its SQLite database and the files beside it: a bundle renamed over them was every session
lost) and a name that ends in ``/`` (a folder's name, which a file must not take). ``-o -``
writes to stdout.

``decompress --json`` prints valid JSON whatever the bundle holds: a float that is not finite
is the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``, and metadata nested as deep as
msgpack reads (1,000 levels and more) is written without recursion.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import json
import math
import os
import stat
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from memcore.cli._parser import Subparsers, UsageError, _add
from memcore.cli._progress_bar import _progress
from memcore.cli._session_reads import _preview, _read_existing_session
from memcore.cli._store_access import run_reading
from memcore.cli._store_arguments import add_session_arguments, store_and_session
from memcore.errors import MemcoreError, NotFoundError, ValidationError
from memcore.file_kinds import kind_of
from memcore.frames import FRAME_CODECS, check_codec
from memcore.model import MemoryItem


def register(sub: Subparsers) -> None:
    """Add this module's commands to ``memcore``."""
    p = _add(
        sub,
        "compress",
        cmd_compress,
        "compress a session into a bundle file",
        "Compress a session's items into a hierarchical bundle: a header, then an lz4 frame\n"
        "(fastest; `lz4 -d` reads it) or, with --codec zstd, a zstd frame (smaller; `zstd -d`).",
    )
    add_session_arguments(p, required=True)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="bundle file to write (replaced whole; a symlink's target is replaced); "
        "`-o -` writes the bundle to stdout (`-o ./-` for a file named -)",
    )
    p.add_argument(
        "--codec", choices=FRAME_CODECS, default="lz4", help="the bundle's frame (default: lz4)"
    )
    p.add_argument(
        "--level",
        type=int,
        help="compression level (lz4 0-16, default 9; zstd 1-22, default 14)",
    )

    p = _add(sub, "decompress", cmd_decompress, "show what a bundle file holds, level by level")
    p.add_argument("file", help="a bundle written by `memcore compress`")
    p.add_argument("--json", action="store_true", help="print the whole bundle as JSON")
    p.add_argument(
        "--all",
        action="store_true",
        help=f"list every item and group (default: the first {_SHOWN} of each level)",
    )


#: How many entries of each level ``decompress`` lists without --all.
_SHOWN = 5


def cmd_compress(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.compression import HierarchicalMemoryCompressor

    session = store_and_session(args, "memcore compress", required=True)
    assert session is not None  # required=True
    try:  # a bad level is a command-line mistake (exit 2), found before reading anything
        check_codec(args.codec, args.level)
    except ValidationError as exc:
        raise UsageError("memcore compress", f"argument --level: {exc}") from None
    # where the bundle goes is checked before the work, not after it
    to_stdout = args.output == STDOUT
    if to_stdout and out.isatty():
        raise UsageError(
            "memcore compress",
            "-o - writes a binary bundle to stdout, which is a terminal: "
            "redirect it (`> FILE`, `| ...`) or give -o FILE",
        )
    if args.output == "":
        raise UsageError("memcore compress", "argument -o/--output: empty file name")
    target = None if to_stdout else _destination(args.output)
    if target is not None:
        _refuse_store_file(args.output, target, args.store)
    session, state = run_reading(args.store, _read_existing_session(args.store, session))
    with _progress() as progress:
        task = progress.add_task("summarizing", total=len(state))
        compressor = HierarchicalMemoryCompressor(
            codec=args.codec,
            level=args.level,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        blob, meta = compressor.compress_memory_hierarchy(list(state.values()))
    if target is None:
        out.buffer.write(blob)
        out.buffer.flush()
        # stdout holds the bundle: the figures go to stderr
        report, where = sys.stderr, "the bundle to stdout"
    else:
        _write_bundle(args.output, target, blob)
        report, where = out, args.output
    levels = ", ".join(f"{k} {v}" for k, v in meta.levels.items())
    print(
        f"compressed {len(state)} items of {session!r}: {meta.original_size:,} -> "
        f"{meta.compressed_size:,} bytes (ratio {meta.ratio:.3f}); levels: {levels}",
        file=report,
    )
    print(f"wrote {where} ({len(blob):,} bytes, {compressor.codec} frame)", file=report)
    return 0


#: ``-o -``: the bundle goes to stdout.
STDOUT = "-"


def _link_note(output: str, real: Path) -> str:
    return f" (a link to {real})" if Path(output).is_symlink() else ""


def _destination(output: str) -> Path:
    """The file to replace for ``-o output``: symlinks resolved (the link stays a link). Refused,
    naming the user's path: anything but a regular file, which a rename would destroy (a folder,
    a device such as /dev/full, a FIFO another program reads), a folder that does not exist, and
    a name that ends in ``/``, ``/.`` or ``/..``: a folder's name, which realpath drops (``-o
    newdir/`` made a file named newdir, ``-o afile/`` replaced afile)."""
    real = Path(os.path.realpath(output))
    if _names_a_folder(output) and not real.is_dir():
        raise ValidationError(
            f"cannot write {output}: that is a folder's name, and a bundle is a file (give the "
            f"file's name: -o {output.rstrip(os.sep)}{os.sep}NAME.mcz)"
        )
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        note = _link_note(output, real)
        folder = real.parent if note else Path(output).parent  # named as the user wrote it
        if not real.parent.exists():
            raise NotFoundError(
                f"cannot write {output}{note}: no folder {folder} (create it first)"
            ) from None
        if not real.parent.is_dir():
            raise ValidationError(
                f"cannot write {output}{note}: {folder} is not a folder"
            ) from None
        return real
    except OSError as exc:  # a symlink loop, a path through a file, no permission
        raise _cannot_write(output, real, exc) from None
    if stat.S_ISREG(mode):
        return real
    kind = kind_of(mode)
    raise ValidationError(
        f"{output}{_link_note(output, real)} is {kind}, not a file: memcore compress replaces "
        "a regular file or makes a new one (`-o -` writes to stdout)"
    )


def _names_a_folder(output: str) -> bool:
    seps = (os.sep, os.altsep) if os.altsep else (os.sep,)
    return output.endswith(seps) or os.path.basename(output) in (".", "..")


#: What an SQLite store keeps beside its database file: SQLite's write-ahead log, its shared
#: memory and its rollback journal, and memcore's writer-queue files (``stores.writer_queue``).
STORE_COMPANIONS = ("-wal", "-shm", "-journal", "-writers", "-waiters")


def store_files(url: str | None) -> list[Path]:
    """The files of the SQLite store ``url`` names (the default store when None): its database,
    as named and with its symlinks resolved, and each of its :data:`STORE_COMPANIONS`; none for
    another kind of store, or one held in memory."""
    from memcore.stores import default_url
    from memcore.stores.sqlite_schema import parse_sqlite_url

    resolved = url or default_url()
    if not resolved.lower().startswith("sqlite:"):
        return []
    try:
        path = parse_sqlite_url(resolved)[0]
    except ValidationError:
        return []
    if path == ":memory:" or not path:
        return []
    bases = dict.fromkeys((os.path.abspath(path), os.path.realpath(path)))
    return [Path(base + suffix) for base in bases for suffix in ("", *STORE_COMPANIONS)]


def _same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` are one file: the same path once resolved, or (both existing) the same
    inode, as a hard link or a second mount of a folder makes it."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _refuse_store_file(output: str, real: Path, url: str | None) -> None:
    """``UsageError`` (exit 2) when ``-o output`` (resolved: ``real``) is a file of the store
    read from: the bundle renamed over the database lost every session, over its -wal the
    writes not yet checkpointed."""
    for path in store_files(url):
        if _same_file(real, path):
            note = _link_note(output, real)
            # (the store's file named once: not "X is X" when -o names it, or its link's note does)
            said = output == str(path) or (bool(note) and real == path)
            raise UsageError(
                "memcore compress",
                f"argument -o/--output: {output}{note} is {'' if said else f'{path}, '}a file "
                "of the store read from, which the bundle would replace: give another file",
            )


def _cannot_write(output: str, real: Path, exc: OSError) -> MemcoreError:
    """Why ``-o output`` cannot be written; a path through a file (``-o notes.txt/b.mcz``)
    names the file that is no folder, as the system's "Not a directory" does not."""
    from memcore.cli._os_errors import not_a_folder

    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ENOTDIR:
        reason = not_a_folder(output, named=True)
    return MemcoreError(f"cannot write {output}{_link_note(output, real)}: {reason}")


def _write_bundle(output: str, real: Path, blob: bytes) -> None:
    """Write ``blob`` to a new private file beside ``real`` (0600 whatever the umask, made
    with O_EXCL so it cannot be a planted link), synced, then renamed over ``real``: a reader
    never sees half a bundle under the final name, and a failed write leaves the old file."""
    try:
        import tempfile  # (here: the other commands need none of it)

        fd, temp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".partial")
    except OSError as exc:
        raise _cannot_write(output, real, exc) from None
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(blob)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, real)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise _cannot_write(output, real, exc) from None
        raise


def _read_bundle(name: str) -> bytes:
    """The bundle at ``name`` (``-``: stdin, as ``compress -o -`` writes one), read only when
    it is a regular file no larger than a bundle may be: a FIFO waited for a writer for ever,
    ``/dev/zero`` was read until memory ran out, a 300 MB file that is no bundle was read whole
    before its 8-byte header was looked at."""
    if name == STDOUT:
        if sys.stdin is None:  # (`<&-`: Python's stdin is then None)
            raise ValidationError(
                "stdin is closed: `memcore decompress -` reads a bundle from stdin "
                "(pipe one in, or give its FILE)"
            )
        return _bundle_bytes(sys.stdin.buffer)
    path = Path(name)
    mode = path.stat().st_mode  # (FileNotFoundError and the like: said by the CLI)
    if not stat.S_ISREG(mode):
        kind = kind_of(mode)
        raise ValidationError(f"{name} is {kind}, not a bundle file")
    with path.open("rb") as handle:
        return _bundle_bytes(handle)


def _bundle_bytes(handle: BinaryIO) -> bytes:
    """A bundle's header, then as many bytes as it says its frame has (and one more, which
    ``decode_bundle`` then refuses): a file that is no bundle is refused by its first bytes."""
    from memcore.codec import BUNDLE_HEADER_SIZE, MAX_BUNDLE_PAYLOAD, _bundle_header

    head = handle.read(BUNDLE_HEADER_SIZE)
    frame_len = _bundle_header(memoryview(head))[2]  # (CorruptedMemoryError: no bundle)
    if frame_len > 2 * MAX_BUNDLE_PAYLOAD:  # (a frame of incompressible bytes is a bit over)
        raise ValidationError(f"the bundle claims a {frame_len:,}-byte frame: none is so large")
    return head + handle.read(frame_len + 1)


def cmd_decompress(args: argparse.Namespace, out: TextIO) -> int:
    if args.file == "":  # (as `compress -o ''` says: it was read as the current folder)
        raise UsageError("memcore decompress", "argument file: empty file name")
    blob = _read_bundle(args.file)
    from memcore.compression import decompress_memory_hierarchy

    bundle = decompress_memory_hierarchy(blob)
    if args.json:
        print(bundle_json(bundle), file=out)
        return 0
    from memcore.codec import bundle_codec

    print(f"{args.file}: {len(blob):,} bytes, {bundle_codec(blob)} frame", file=out)
    shown = None if args.all else _SHOWN
    hidden = 0
    level1, level2, groups = bundle.level1.items, bundle.level2.items, bundle.level3.groups
    print(f"level1 (whole): {len(level1)} items", file=out)
    for item in level1[:shown]:
        print(f"  {item.id} [{item.priority}] {_preview(item.content)}", file=out)
    hidden += _more(level1, shown, "items", out)
    print(f"level2 (summaries): {len(level2)} items", file=out)
    for entry in level2[:shown]:
        print(f"  {entry.id}: {_preview(entry.summary)}", file=out)
    hidden += _more(level2, shown, "items", out)
    print(f"level3 (groups): {len(groups)} groups", file=out)
    for group in groups[:shown]:
        noun = "item" if group.count == 1 else "items"
        print(f"  {group.count} {noun}: {_preview(group.summary)}", file=out)
    hidden += _more(groups, shown, "groups", out)
    level4 = bundle.level4
    print(f"level4 (one summary of {level4.count} items): {_preview(level4.summary)}", file=out)
    if hidden:
        print(
            f"{hidden} entries not shown: `memcore decompress --all {args.file}` lists them, "
            "`--json` prints everything",
            file=out,
        )
    return 0


def _more(entries: Sequence[object], shown: int | None, what: str, out: TextIO) -> int:
    hidden = 0 if shown is None else max(0, len(entries) - shown)
    if hidden:
        print(f"  ... and {hidden} more {what} (--all lists them)", file=out)
    return hidden


def bundle_json(bundle: Any) -> str:
    """``bundle`` as ``json.dumps(..., indent=2)`` writes it, built with a stack of its own
    rather than by recursion: msgpack reads values nested 1,000 deep, which both a recursive
    walk and ``json.dumps`` refused with a ``RecursionError`` traceback. Always valid JSON: a
    float that is not finite is written as the string ``"NaN"``, ``"Infinity"`` or
    ``"-Infinity"`` (``json.dumps`` wrote the bare words, which no JSON reader takes); a value
    JSON has no form for (a datetime, bytes) as its ``str``."""
    pieces: list[str] = []
    # each open container: its (key, value) children still to write, its closer, how many written
    stack: list[tuple[Iterator[tuple[str | None, Any]], str, list[int]]] = []
    key: str | None = None
    value = bundle
    while True:
        if stack:
            written = stack[-1][2]
            pieces.append(",\n" if written[0] else "\n")
            written[0] += 1
            pieces.append(_INDENT * len(stack))
            if key is not None:
                pieces.append(f"{json.dumps(key)}: ")
        container = _json_container(value)
        if container is None:
            pieces.append(_json_scalar(value))
        else:
            opener, children, closer = container
            pieces.append(opener)
            stack.append((children, closer, [0]))
        while stack:  # close each container whose children are all written
            children, closer, written = stack[-1]
            child = next(children, None)
            if child is not None:
                key, value = child
                break
            stack.pop()
            if written[0]:
                pieces.append("\n" + _INDENT * len(stack))
            pieces.append(closer)
        else:
            return "".join(pieces)


_INDENT = "  "


def _json_container(value: Any) -> tuple[str, Iterator[tuple[str | None, Any]], str] | None:
    """``(opener, children, closer)`` for a value JSON writes as an object or an array (its
    children as ``(key, value)``, the key None in an array), None for a scalar."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value)]
        return "{", ((name, getattr(value, name)) for name in names), "}"
    if isinstance(value, MemoryItem):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return "{", ((str(k), v) for k, v in value.items()), "}"
    if isinstance(value, (list, tuple)):
        return "[", ((None, v) for v in value), "]"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return None
    fields = getattr(value, "__dict__", None) or {
        name: getattr(value, name)
        for name in getattr(type(value), "__slots__", ())
        if hasattr(value, name)
    }
    return ("{", ((str(k), v) for k, v in fields.items()), "}") if fields else None


def _json_scalar(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return '"NaN"' if math.isnan(value) else '"Infinity"' if value > 0 else '"-Infinity"'
    if isinstance(value, (str, int, float, bool)) or value is None:
        return json.dumps(value)
    return json.dumps(str(value))
