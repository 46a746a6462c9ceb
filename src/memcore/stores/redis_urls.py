"""Redis store URLs: the schemes, memcore's own query parameters (timeouts), and the checks
that make every bad URL a ``ValidationError`` with its password masked."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from types import ModuleType
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from memcore.errors import BackendError, ValidationError
from memcore.install_hints import pip_command
from memcore.stores.urls import mask_url

DEFAULT_SOCKET_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 2.0
_SCHEMES = {
    "redis": ("redis", False),
    "rediss": ("rediss", False),
    "redis+cluster": ("redis", True),
    "rediss+cluster": ("rediss", True),
}
_TIMEOUT_PARAMS = {
    "socket_timeout": "socket_timeout",
    "connect_timeout": "connect_timeout",
    "socket_connect_timeout": "connect_timeout",
}


def import_redis() -> ModuleType:
    """``redis.asyncio``, imported only when a Redis store is made (memcore never needs it
    otherwise); ``BackendError`` naming what to install when it is missing."""
    try:
        return importlib.import_module("redis.asyncio")
    except ImportError as exc:
        raise BackendError(
            "the redis store needs the redis package: "
            f"{pip_command()} install 'redis>=5'"
            " (the [redis] extra)"
        ) from exc


@dataclass(frozen=True)
class RedisURL:
    """A parsed store URL: what redis-py is given, and what memcore reads itself."""

    client_url: str  # redis:// or rediss://, without memcore's own parameters
    cluster: bool
    socket_timeout: float | None
    connect_timeout: float | None


def _seconds(name: str, text: str, url: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValidationError(
            f"invalid redis URL {mask_url(url)!r}: {name} is a positive number of seconds"
        )
    return value


def parse_redis_url(url: str) -> RedisURL:
    """Check a redis URL and split off memcore's parameters; ``ValidationError`` if bad."""
    if not isinstance(url, str):
        raise ValidationError("a redis URL is a string")
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValidationError(f"invalid redis URL {shown!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValidationError(f"not a redis URL: {shown!r}")
    client_scheme, cluster = _SCHEMES[scheme]
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ValidationError(f"invalid redis URL {shown!r}: the path is a db number")
    if cluster and db not in ("", "0"):
        raise ValidationError(f"invalid redis URL {shown!r}: Redis Cluster has only db 0")
    timeouts: dict[str, float] = {}
    kept = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _TIMEOUT_PARAMS:
            timeouts[_TIMEOUT_PARAMS[name]] = _seconds(name, value, url)
        else:
            kept.append((name, value))
    client_url = urlunsplit(parts._replace(scheme=client_scheme, query=urlencode(kept)))
    import_redis()  # without the redis package: say what to install, not ModuleNotFoundError
    try:  # the other query options (ssl_cert_reqs=...) fail here, not later
        importlib.import_module("redis.asyncio.connection").parse_url(client_url)
    except ValueError as exc:
        raise ValidationError(f"invalid redis URL {shown!r}: {mask_url(exc)}") from None
    return RedisURL(
        client_url, cluster, timeouts.get("socket_timeout"), timeouts.get("connect_timeout")
    )


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_SOCKET_TIMEOUT",
    "RedisURL",
    "import_redis",
    "parse_redis_url",
]
