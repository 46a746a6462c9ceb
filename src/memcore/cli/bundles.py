"""``memcore compress`` and ``decompress``: write a session into a bundle file and read one back."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from memcore.cli._common import Subparsers, _add, _preview, _progress, _read_existing_session, run
from memcore.frames import FRAME_CODECS
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
    p.add_argument("url", help="storage URL")
    p.add_argument("session", help="the session to compress")
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


def cmd_compress(args: argparse.Namespace, out: TextIO) -> int:
    from memcore.compression import HierarchicalMemoryCompressor

    state = run(_read_existing_session(args.url, args.session))
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
    partial.write_bytes(blob)
    partial.replace(target)  # never leave half a bundle under the final name
    levels = ", ".join(f"{k} {v}" for k, v in meta.levels.items())
    print(
        f"compressed {len(state)} items of {args.session!r}: {meta.original_size:,} -> "
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
    print(f"level1 (whole): {len(bundle.level1.items)} items", file=out)
    for item in bundle.level1.items[:5]:
        print(f"  {item.id} [{item.priority}] {_preview(item.content)}", file=out)
    print(f"level2 (summaries): {len(bundle.level2.items)} items", file=out)
    for entry in bundle.level2.items[:5]:
        print(f"  {entry.id}: {_preview(entry.summary)}", file=out)
    print(f"level3 (groups): {len(bundle.level3.groups)} groups", file=out)
    for group in bundle.level3.groups[:5]:
        print(f"  {group.count} items: {_preview(group.summary)}", file=out)
    level4 = bundle.level4
    print(f"level4 (one summary of {level4.count} items): {_preview(level4.summary)}", file=out)
    return 0


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
