"""``memcore compress`` and ``decompress``: write a session into a bundle file and read one back.

Bundle files are written 0600 whatever the umask: they hold a session's transcripts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from memcore.cli._common import (
    Subparsers,
    UsageError,
    _add,
    _preview,
    _progress,
    _read_existing_session,
    add_session_arguments,
    run,
    store_and_session,
)
from memcore.errors import ValidationError
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
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="bundle file to write")
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
    state = run(_read_existing_session(args.store, session))
    with _progress() as progress:
        task = progress.add_task("summarizing", total=len(state))
        compressor = HierarchicalMemoryCompressor(
            codec=args.codec,
            level=args.level,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        blob, meta = compressor.compress_memory_hierarchy(list(state.values()))
    target = Path(args.output)
    partial = target.with_name(target.name + ".partial")
    _write_private(partial, blob)
    partial.replace(target)  # never leave half a bundle under the final name
    levels = ", ".join(f"{k} {v}" for k, v in meta.levels.items())
    print(
        f"compressed {len(state)} items of {session!r}: {meta.original_size:,} -> "
        f"{meta.compressed_size:,} bytes (ratio {meta.ratio:.3f}); levels: {levels}",
        file=out,
    )
    print(f"wrote {target} ({len(blob):,} bytes, {compressor.codec} frame)", file=out)
    return 0


def cmd_decompress(args: argparse.Namespace, out: TextIO) -> int:
    blob = Path(args.file).read_bytes()
    from memcore.compression import decompress_memory_hierarchy

    bundle = decompress_memory_hierarchy(blob)
    if args.json:
        print(json.dumps(_bundle_json(bundle), indent=2, default=str), file=out)
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
        print(f"  {group.count} items: {_preview(group.summary)}", file=out)
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


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file only its owner can read (0600 whatever the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(data)


def _bundle_json(bundle: Any) -> Any:
    if dataclasses.is_dataclass(bundle) and not isinstance(bundle, type):
        return {f.name: _bundle_json(getattr(bundle, f.name)) for f in dataclasses.fields(bundle)}
    if isinstance(bundle, MemoryItem):
        return bundle.to_dict()
    if isinstance(bundle, Mapping):
        return {str(k): _bundle_json(v) for k, v in bundle.items()}
    if isinstance(bundle, (list, tuple)):
        return [_bundle_json(v) for v in bundle]
    if isinstance(bundle, (str, int, float, bool)) or bundle is None:
        return bundle
    fields = getattr(bundle, "__dict__", None) or {
        name: getattr(bundle, name)
        for name in getattr(type(bundle), "__slots__", ())
        if hasattr(bundle, name)
    }
    return {str(k): _bundle_json(v) for k, v in fields.items()} if fields else str(bundle)
