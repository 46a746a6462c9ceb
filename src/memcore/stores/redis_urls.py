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
#: The longest a timeout (or interval) in a URL may be: one day. A larger one bounds nothing
#: (``socket_timeout=1e308`` waited forever on a server that stopped answering), and one past
#: what the event loop's clock can add to its time fails only deep inside a command.
MAX_SECONDS = 86_400
#: The largest whole number redis-py's own numeric options take here (a C int, as Redis's).
_MAX_INT = 2**31 - 1
#: redis-py's whole-number URL options, checked here, each with its least and greatest value
#: and what it is: redis-py takes any int, and a bad one failed only when the store was opened
#: (``max_connections=-5``), from the server (``db=-1``) or in a traceback (``protocol=9``).
_WHOLE_NUMBERS = {
    "db": (0, _MAX_INT, "a database number"),
    "max_connections": (1, _MAX_INT, "a number of connections"),
    "socket_read_size": (1, _MAX_INT, "a number of bytes"),
    "health_check_interval": (0, MAX_SECONDS, "a number of seconds"),
    "protocol": (2, 3, "the RESP protocol's version"),
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
    """A timeout's seconds: positive and finite, at most :data:`MAX_SECONDS`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise ValidationError(
            f"invalid redis URL {mask_url(url)!r}: {name} is a positive number of seconds, "
            f"at most {MAX_SECONDS} (one day); got {text!r}"
        )
    return value


def given_seconds(name: str, value: object) -> float | None:
    """A timeout given to ``RedisStore`` as a keyword (None: not given), checked as the URL's
    are (:func:`_seconds`): a positive, finite number of seconds, at most :data:`MAX_SECONDS`;
    ``ValidationError`` otherwise (``socket_timeout=float("inf")`` waited for ever)."""
    if value is None:
        return None
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None or not 0 < number <= MAX_SECONDS:  # (nan and inf are not in it)
        raise ValidationError(
            f"invalid redis store option: {name} is a positive number of seconds, at most "
            f"{MAX_SECONDS} (one day); got {value!r}"
        )
    return float(number)


def _whole_number(name: str, text: str, url: str) -> int:
    """One of redis-py's whole-number options (:data:`_WHOLE_NUMBERS`), in its range."""
    least, most, what = _WHOLE_NUMBERS[name]
    value = int(text) if text.isascii() and text.isdigit() else -1
    if not least <= value <= most:
        raise ValidationError(
            f"invalid redis URL {mask_url(url)!r}: {name} is {what}, a whole number from "
            f"{least} to {most}; got {text!r}"
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
    if db and not (db.isascii() and db.isdigit() and int(db) <= _MAX_INT):
        raise ValidationError(
            f"invalid redis URL {shown!r}: the path is a db number, from 0 to {_MAX_INT}"
        )
    if cluster and db not in ("", "0"):
        raise ValidationError(f"invalid redis URL {shown!r}: Redis Cluster has only db 0")
    timeouts: dict[str, float] = {}
    kept = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _TIMEOUT_PARAMS:
            timeouts[_TIMEOUT_PARAMS[name]] = _seconds(name, value, url)
            continue
        if name in _WHOLE_NUMBERS:
            _whole_number(name, value, url)
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
    "MAX_SECONDS",
    "RedisURL",
    "given_seconds",
    "import_redis",
    "parse_redis_url",
]
