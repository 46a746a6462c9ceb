"""memcore: a native-accelerated memory core for long-running LLM-agent sessions.

The public API is re-exported here. Heavy parts (stores, sync, compression, ...) are imported on
first use, so ``import memcore`` stays cheap and optional dependencies (redis) load only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from memcore._kernels import NATIVE
from memcore.errors import (
    BackendError,
    ConflictError,
    ContextBudgetError,
    CorruptedMemoryError,
    MemcoreError,
    NoHomeError,
    NotFoundError,
    ProcessGoneError,
    ValidationError,
)
from memcore.model import (
    CompressionMetadata,
    Conflict,
    MemoryItem,
    MemoryStatus,
    MemorySyncMetadata,
    OverflowStrategy,
    Priority,
    RecoveryResult,
    SyncResult,
    TransferableKnowledge,
    TransferResult,
)

__version__ = "0.1.0"

if NATIVE:  # a broken or missing build fails here, loudly, not on some later first use
    from memcore import _kernels

    _kernels.load("checksums")

# public name -> the module that defines it (imported lazily)
_LAZY = {
    "xxh64": "memcore.codec",
    "state_checksum": "memcore.codec",
    "StateDigest": "memcore.codec",
    "open_store": "memcore.stores",
    "DistributedMemoryManager": "memcore.sync",
    "SyncDiagnostics": "memcore.sync",
    "recover_corrupted_memory": "memcore.recovery",
    "arecover_corrupted_memory": "memcore.recovery",
    "create_backup": "memcore.recovery",
    "HierarchicalMemoryCompressor": "memcore.compression",
    "CompressedBundle": "memcore.compression",
    "decompress_memory_hierarchy": "memcore.compression",
    "count_tokens": "memcore.tokens",
    "SessionState": "memcore.overflow",
    "handle_context_overflow": "memcore.overflow",
    "PredictiveMemoryPrefetcher": "memcore.prefetch",
    "MemoryLeakDetector": "memcore.leak",
    "SessionKnowledgeTransfer": "memcore.transfer",
    "LazyMemoryProxy": "memcore.lazy",
    "LazySession": "memcore.lazy",
    "MemoryIndex": "memcore.search",
    "HybridRetriever": "memcore.search",
    "SearchHit": "memcore.search",
    "session_digest": "memcore.digest",
    "session_digests": "memcore.digest",
    "SessionDigest": "memcore.digest",
    "save_access_log": "memcore.access_log",
    "load_access_log": "memcore.access_log",
}

if TYPE_CHECKING:
    from memcore.access_log import load_access_log, save_access_log
    from memcore.codec import StateDigest, state_checksum, xxh64
    from memcore.compression import (
        CompressedBundle,
        HierarchicalMemoryCompressor,
        decompress_memory_hierarchy,
    )
    from memcore.digest import SessionDigest, session_digest, session_digests
    from memcore.lazy import LazyMemoryProxy, LazySession
    from memcore.leak import MemoryLeakDetector
    from memcore.overflow import SessionState, handle_context_overflow
    from memcore.prefetch import PredictiveMemoryPrefetcher
    from memcore.recovery import arecover_corrupted_memory, create_backup, recover_corrupted_memory
    from memcore.search import HybridRetriever, MemoryIndex, SearchHit
    from memcore.stores import open_store
    from memcore.sync import DistributedMemoryManager, SyncDiagnostics
    from memcore.tokens import count_tokens
    from memcore.transfer import SessionKnowledgeTransfer


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'memcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "NATIVE",
    "BackendError",
    "CompressedBundle",
    "CompressionMetadata",
    "Conflict",
    "ConflictError",
    "ContextBudgetError",
    "CorruptedMemoryError",
    "DistributedMemoryManager",
    "HierarchicalMemoryCompressor",
    "HybridRetriever",
    "LazyMemoryProxy",
    "LazySession",
    "MemcoreError",
    "MemoryIndex",
    "MemoryItem",
    "MemoryLeakDetector",
    "MemoryStatus",
    "MemorySyncMetadata",
    "NoHomeError",
    "NotFoundError",
    "OverflowStrategy",
    "PredictiveMemoryPrefetcher",
    "Priority",
    "ProcessGoneError",
    "RecoveryResult",
    "SearchHit",
    "SessionDigest",
    "SessionKnowledgeTransfer",
    "SessionState",
    "StateDigest",
    "SyncDiagnostics",
    "SyncResult",
    "TransferResult",
    "TransferableKnowledge",
    "ValidationError",
    "arecover_corrupted_memory",
    "count_tokens",
    "create_backup",
    "decompress_memory_hierarchy",
    "handle_context_overflow",
    "load_access_log",
    "open_store",
    "recover_corrupted_memory",
    "save_access_log",
    "session_digest",
    "session_digests",
    "state_checksum",
    "xxh64",
]
