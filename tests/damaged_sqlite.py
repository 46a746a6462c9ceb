"""Sound and damaged copies of a memcore SQLite store in WAL mode, for the tests that read
damaged files (nothing may be left beside them, nothing changed)."""

from __future__ import annotations

import asyncio
from pathlib import Path


def fill_store(url: str, sessions: tuple[str, ...] = ("alpha", "beta", "gamma")) -> None:
    """Three items in each of ``sessions``, synced into the store ``url``."""
    from memcore import DistributedMemoryManager

    async def fill() -> None:
        manager = DistributedMemoryManager(url, replica_id="writer")
        for session in sessions:
            for n in range(3):
                manager.set(session, f"k{n}", {"content": f"lint rule {n} of {session} " * 8})
            await manager.sync_session_memory(session)
        await manager.close()

    asyncio.run(fill())


def damaged_copies(
    tmp_path: Path, sessions: tuple[str, ...] = ("alpha", "beta", "gamma")
) -> dict[str, Path]:
    """A sound memcore store (WAL mode, closed: no -wal or -shm beside it) under ``"sound"``
    and damaged copies of it (``"truncated"``, ``"garbled"``, ``"header-only"``), each alone
    in a folder of its own."""
    sound = tmp_path / "sound" / "s.db"
    sound.parent.mkdir()
    fill_store(f"sqlite:///{sound}", sessions)
    for suffix in ("-writers", "-waiters", "-wal", "-shm"):
        Path(f"{sound}{suffix}").unlink(missing_ok=True)
    data = sound.read_bytes()
    assert data[18:20] == b"\x02\x02"  # (WAL mode: what makes SQLite make -wal and -shm)
    garbled = bytearray(data)
    for at in range(4096, len(garbled), 7):
        garbled[at] ^= 0x5A
    variants = {
        "truncated": data[: len(data) // 2],
        "garbled": bytes(garbled),
        "header-only": data[:100],
    }
    files = {"sound": sound}
    for name, content in variants.items():
        path = tmp_path / name / "s.db"
        path.parent.mkdir()
        path.write_bytes(content)
        files[name] = path
    return files
