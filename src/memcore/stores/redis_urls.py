"""Redis store URLs: the schemes, memcore's own query parameters (timeouts), and the checks
that make every bad URL a ``ValidationError`` with its password masked.

Every query parameter is judged when the URL is parsed, before any store is opened: redis-py's
``from_url`` passes a name it does not parse on to the connection as text (``timeout``,
``ssl_min_version`` on ``redis://``: a ``TypeError`` at the first connection;
``decode_responses=false``: the text ``"false"``, which is true), so a parameter is taken only
when memcore knows what it does and checks its value (:data:`_OPTIONS`), and the installed
redis-py's client for that scheme takes it (:func:`_client_takes`)."""

from __future__ import annotations

import importlib
import inspect
import math
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

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
    #: a cluster URL's seed nodes, ``(host, port)`` each, in the URL's order and without
    #: repeats (the first is the one ``client_url`` names); empty for one server
    seeds: tuple[tuple[str, int], ...] = ()


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


def _bad(url: str, said: str) -> ValidationError:
    return ValidationError(f"invalid redis URL {mask_url(url)!r}: {said}")


def _yes_or_no(name: str, text: str, url: str) -> bool:
    """A yes or no: redis-py reads any text but its words for false as true
    (``socket_keepalive=maybe``), so only those words and their opposites are taken here."""
    word = text.lower()
    if word in _TRUE_WORDS or word in _FALSE_WORDS:
        return word in _TRUE_WORDS
    raise _bad(url, f"{name} is a yes or no (true, false, yes, no, on, off, 1, 0); got {text!r}")


def _redis_name(name: str, text: str, url: str) -> None:
    """A name the server keeps (``CLIENT SETNAME``, ``CLIENT SETINFO``): Redis refuses spaces,
    newlines and other special characters in it, which failed the first command."""
    if not all("!" <= char <= "~" for char in text):
        raise _bad(
            url, f"{name} is printable ASCII without spaces (as Redis requires); got {text!r}"
        )


def _cert_reqs(name: str, text: str, url: str) -> None:
    if text not in ("none", "optional", "required"):
        raise _bad(url, f"{name} is none, optional or required; got {text!r}")


def _tls_version(name: str, text: str, url: str) -> None:
    """A TLS version as redis-py takes it: a number of Python's ``ssl.TLSVersion``
    (``ssl_min_version=3`` failed only when a connection was made)."""
    known = {str(v.value): v.name for v in ssl.TLSVersion if v.name.startswith("TLSv")}
    if text not in known:
        listed = ", ".join(f"{number} ({known[number]})" for number in sorted(known))
        raise _bad(
            url,
            f"{name} is a TLS version as Python's ssl module numbers it: {listed}; got {text!r}",
        )


def _ciphers(name: str, text: str, url: str) -> None:
    """OpenSSL's cipher list: one that names no cipher failed each connection."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(text)
    except ssl.SSLError:
        raise _bad(url, f"{name} names no cipher OpenSSL knows; got {text!r}") from None


def _as_given(name: str, text: str, url: str) -> None:
    """Text redis-py uses as it is (a user name, a file's path), or parses and checks itself
    (``retry_on_error``, ``ssl_include_verify_flags``: :func:`parse_redis_url` calls its
    ``parse_url``)."""


def _file_path(name: str, text: str, url: str) -> None:
    """A file's path (a TLS key, certificate or CA): one with a NUL byte, which no file name
    can hold, failed only at the first connection, with a bare ``ValueError``."""
    if "\x00" in text:
        raise _bad(url, f"{name} is a file's path, and holds a NUL byte, which no file name can")


def _whole(name: str, text: str, url: str) -> None:
    _whole_number(name, text, url)


def _boolean(name: str, text: str, url: str) -> None:
    _yes_or_no(name, text, url)


_Check = Callable[[str, str, str], None]
#: The words redis-py reads as false (``redis.connection.FALSE_STRINGS``), and their opposites.
_FALSE_WORDS = frozenset({"0", "f", "false", "n", "no", "off"})
_TRUE_WORDS = frozenset({"1", "t", "true", "y", "yes", "on"})
#: The query parameters memcore passes on to redis-py, each with its check; memcore's own
#: (:data:`_TIMEOUT_PARAMS`, ``decode_responses=false``) are taken off the URL first.
_OPTIONS: dict[str, _Check] = {
    **{name: _whole for name in _WHOLE_NUMBERS},
    "socket_keepalive": _boolean,
    "retry_on_timeout": _boolean,
    "retry_on_error": _as_given,
    "client_name": _redis_name,
    "lib_name": _redis_name,
    "lib_version": _redis_name,
    "username": _as_given,
    "password": _as_given,
}
#: The parameters that set up TLS: a ``rediss://`` URL's only (a ``redis://`` connection takes
#: none of them: a ``TypeError`` when it was made).
_TLS_OPTIONS: dict[str, _Check] = {
    "ssl_cert_reqs": _cert_reqs,
    "ssl_check_hostname": _boolean,
    "ssl_min_version": _tls_version,
    "ssl_ciphers": _ciphers,
    "ssl_keyfile": _file_path,
    "ssl_certfile": _file_path,
    "ssl_password": _as_given,  # (the key's passphrase: masked as a password is, ``mask_url``)
    "ssl_ca_certs": _file_path,
    "ssl_ca_path": _file_path,
    "ssl_ca_data": _as_given,
    "ssl_include_verify_flags": _as_given,
    "ssl_exclude_verify_flags": _as_given,
}
#: Parameters redis-py knows that memcore cannot work with, and why.
_TEXT_REPLIES = (
    "memcore's records are binary (checksummed msgpack), which replies decoded as text break "
    "(every read fails, scripts are sent mis-encoded)"
)
_REFUSED = {
    "decode_responses": f"decode_responses=true cannot be used: {_TEXT_REPLIES}; drop it",
    "encoding": f"encoding cannot be set: {_TEXT_REPLIES}; drop it",
    "encoding_errors": f"encoding_errors cannot be set: {_TEXT_REPLIES}; drop it",
    "timeout": (
        "timeout is how long a blocking connection pool waits for a free connection, and "
        "memcore's pool does not block (redis-py refuses it when the store is opened): use "
        "socket_timeout (a command's reply) or connect_timeout (a connection)"
    ),
}


@cache
def _client_takes(client_scheme: str, cluster: bool) -> frozenset[str]:
    """The keywords the installed redis-py's client for this URL takes: a name it lacks (a
    cluster client has no ``retry_on_timeout`` nor ``ssl_ca_path``) failed only when the
    store was opened."""
    if cluster:
        client = importlib.import_module("redis.asyncio.cluster").RedisCluster
        return frozenset(inspect.signature(client.__init__).parameters)
    module = importlib.import_module("redis.asyncio.connection")
    connection = module.SSLConnection if client_scheme == "rediss" else module.Connection
    names = set(inspect.signature(module.ConnectionPool.__init__).parameters)
    for cls in connection.__mro__:
        if "__init__" in vars(cls):
            names.update(inspect.signature(cls.__init__).parameters)
    return frozenset(names)


def _check_option(name: str, text: str, url: str, client_scheme: str, cluster: bool) -> None:
    """One query parameter passed on to redis-py: one memcore knows, valid, for this scheme
    (see the module's docstring); ``ValidationError`` naming it otherwise."""
    if name in _REFUSED:
        raise _bad(url, _REFUSED[name])
    check = _OPTIONS.get(name) or _TLS_OPTIONS.get(name)
    if check is None:
        taken = sorted({*_TIMEOUT_PARAMS, *_OPTIONS, *_TLS_OPTIONS})
        raise _bad(url, f"{name} is not a parameter memcore takes (those: {', '.join(taken)})")
    if name in _TLS_OPTIONS and client_scheme != "rediss":
        raise _bad(
            url,
            f"{name} sets up TLS, which this URL does not use: use rediss:// "
            "(or rediss+cluster://)",
        )
    check(name, text, url)
    if cluster and name == "db" and int(text) != 0:
        raise _bad(url, f"db={text}: Redis Cluster has only db 0")
    if name not in _client_takes(client_scheme, cluster):
        version = getattr(importlib.import_module("redis"), "__version__", "?")
        client = "Redis Cluster client" if cluster else f"{client_scheme}:// client"
        raise _bad(url, f"{name} is not taken by the installed redis-py's {client} ({version})")


#: The port redis-py connects to when a URL names none.
DEFAULT_PORT = 6379


def _seed(node: str, url: str) -> tuple[str, int]:
    """One ``host:port`` of a cluster URL's list (``[v6]:port`` for IPv6), checked as
    Python's URL parser checks a URL's one address; a node with no host is refused (redis-py's
    cluster client failed on it with an exception of its own when the store was opened)."""
    try:
        parts = urlsplit(f"//{node}")
        port = parts.port
    except ValueError as exc:
        raise _bad(url, f"the node {node!r}: {exc}") from None
    if not parts.hostname or parts.username is not None or parts.netloc != node:
        raise _bad(url, f"the node {node!r} is no host:port")
    return unquote(parts.hostname), DEFAULT_PORT if port is None else port


def _split_seeds(url: str) -> tuple[str, tuple[tuple[str, int], ...]]:
    """A cluster URL naming several nodes (``redis+cluster://h1:p1,h2:p2``, one user and
    password and one query for all) as the URL of its first node, and every node's address
    (repeats dropped: naming a node twice is harmless); a URL naming one node as it is.
    ``ValidationError`` for an empty node in the list, a bad one, or a list in a URL of one
    server (which has one address)."""
    scheme, sep, rest = url.partition("://")
    cut = min((rest.find(c) for c in "/?#" if c in rest), default=len(rest))
    userinfo, at, nodes = rest[:cut].rpartition("@")
    if not sep or "," not in nodes:
        return url, ()
    if not _SCHEMES.get(scheme.lower(), ("", False))[1]:
        raise _bad(
            url,
            "only a Redis Cluster URL names several nodes (redis+cluster://h1:p1,h2:p2, or "
            "rediss+cluster://); one server's URL names one host:port",
        )
    seeds: dict[tuple[str, int], None] = {}
    for number, node in enumerate(nodes.split(","), 1):
        if not node.strip():
            raise _bad(url, f"node {number} of its list of nodes is empty (h1:p1,h2:p2,...)")
        host, port = _seed(node, url)
        seeds.setdefault((host.lower(), port), None)
    first = nodes.split(",", 1)[0]
    return f"{scheme}{sep}{userinfo}{at}{first}{rest[cut:]}", tuple(seeds)


def parse_redis_url(url: str) -> RedisURL:
    """Check a redis URL and split off memcore's parameters; ``ValidationError`` if bad.
    A cluster URL may name several seed nodes (:func:`_split_seeds`)."""
    if not isinstance(url, str):
        raise ValidationError("a redis URL is a string")
    shown = mask_url(url)
    single, seeds = _split_seeds(url)
    try:
        parts = urlsplit(single)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ValidationError(f"invalid redis URL {shown!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValidationError(f"not a redis URL: {shown!r}")
    client_scheme, cluster = _SCHEMES[scheme]
    if cluster and not seeds:
        netloc = parts.netloc.rpartition("@")[2]
        seeds = (_seed(netloc, url),) if netloc else ()
    db = parts.path.strip("/")
    if db and not (db.isascii() and db.isdigit() and int(db) <= _MAX_INT):
        raise ValidationError(
            f"invalid redis URL {shown!r}: the path is a db number, from 0 to {_MAX_INT}"
        )
    if cluster and db not in ("", "0"):
        raise ValidationError(f"invalid redis URL {shown!r}: Redis Cluster has only db 0")
    import_redis()  # without the redis package: say what to install, not ModuleNotFoundError
    timeouts: dict[str, float] = {}
    kept = []
    seen: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        # (one value each: redis-py takes the last of two, the query's db over the path's)
        same = _TIMEOUT_PARAMS.get(name, name)
        if same in seen:
            twice = f"{seen[same]} and {name} are one" if seen[same] != name else f"{name} is a"
            raise _bad(url, f"{twice} parameter given twice: give it once")
        if same == "db" and db and value.strip().isdigit() and int(value) != int(db):
            raise _bad(url, f"db={value} and the path's db {db} differ: give the db once")
        seen[same] = name
        if name in _TIMEOUT_PARAMS:
            timeouts[_TIMEOUT_PARAMS[name]] = _seconds(name, value, url)
            continue
        if name == "decode_responses" and not _yes_or_no(name, value, url):
            continue  # (what memcore does anyway: passed on, the text "false" reads as true)
        _check_option(name, value, url, client_scheme, cluster)
        kept.append((name, value))
    client_url = urlunsplit(parts._replace(scheme=client_scheme, query=urlencode(kept)))
    try:  # what redis-py parses itself (retry_on_error=..., ssl_*_verify_flags=...) fails here
        importlib.import_module("redis.asyncio.connection").parse_url(client_url)
    except ValueError as exc:
        raise ValidationError(f"invalid redis URL {shown!r}: {mask_url(exc)}") from None
    return RedisURL(
        client_url,
        cluster,
        timeouts.get("socket_timeout"),
        timeouts.get("connect_timeout"),
        seeds,
    )


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_PORT",
    "DEFAULT_SOCKET_TIMEOUT",
    "MAX_SECONDS",
    "RedisURL",
    "given_seconds",
    "import_redis",
    "parse_redis_url",
]
