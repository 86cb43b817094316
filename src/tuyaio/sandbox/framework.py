"""What every sandbox handler module builds on: the shared runtime, the error a handler raises,
the envelope it is wrapped in, and the parsers for paths, queries and bodies.

Handlers are ``async def handler(request, runtime) -> result``; they return the envelope's
``result`` or raise :class:`Reject`. This module imports no handler module, so handler modules
import it and :mod:`.app` imports them: no cycle.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote

import attrs
from aiohttp import web

from .config import SandboxConfig
from .state import SandboxState

__all__ = [
    "RUNTIME",
    "Handler",
    "Reject",
    "Runtime",
    "envelope",
    "json_body",
    "page_args",
    "param_int",
    "query",
    "reject",
    "require",
    "safe_id",
]

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")


class Reject(Exception):
    """An error answer: ``{"success": false, "code": …, "msg": …}``."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg


@attrs.define(eq=False)
class Runtime:
    """The live configuration and state the handlers share; the config can change mid-run."""

    config: SandboxConfig
    state: SandboxState
    faults: random.Random
    jitter: random.Random = attrs.field(factory=lambda: random.Random(0))
    bucket_tokens: float | None = None
    bucket_at: float = attrs.field(factory=time.monotonic)
    listing_cache: dict[Any, list[Any]] = attrs.field(factory=dict)

    def now_ms(self) -> int:
        """The server's clock: real time plus the configured skew."""
        return int((time.time() + self.config.clock_skew_s) * 1000)

    def take_rate_token(self) -> bool:
        """The server's own rate limit: a token bucket over every request."""
        rate = self.config.rate_limit_rps
        if rate is None:
            return True
        burst = float(self.config.rate_limit_burst or max(1, math.ceil(rate)))
        now = time.monotonic()
        tokens = burst if self.bucket_tokens is None else self.bucket_tokens
        self.bucket_tokens = min(burst, tokens + (now - self.bucket_at) * rate)
        self.bucket_at = now
        if self.bucket_tokens >= 1.0:
            self.bucket_tokens -= 1.0
            return True
        return False


RUNTIME = web.AppKey("runtime", Runtime)

Handler = Callable[[web.Request, Runtime], Awaitable[Any]]


def envelope(runtime: Runtime, body: dict[str, Any]) -> web.Response:
    """``body`` with the server's ``t`` and a fresh ``tid``, as a compact JSON answer."""
    body["t"] = runtime.now_ms()
    body["tid"] = runtime.state.hex_token()
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), content_type="application/json"
    )


def reject(runtime: Runtime, code: int, msg: str) -> web.Response:
    """An error envelope, counted in ``state.codes``."""
    runtime.state.codes[code] += 1
    return envelope(runtime, {"success": False, "code": code, "msg": msg})


def safe_id(value: str) -> str:
    """A path segment of ``[A-Za-z0-9_-]``, else 1108."""
    if not _SAFE_ID.fullmatch(value):
        raise Reject(1108, "uri path invalid")
    return value


def query(request: web.Request) -> Mapping[str, str]:
    """The query decoded by RFC 3986 only, like a strict server: ``%20`` is a space, ``+`` a plus.

    (aiohttp's ``request.query`` decodes HTML forms, where ``+`` is a space too.)
    """
    decoded: dict[str, str] = {}
    for pair in filter(None, request.raw_path.partition("?")[2].split("&")):
        name, _, value = pair.partition("=")
        decoded.setdefault(unquote(name), unquote(value))
    return decoded


def param_int(params: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    """An integer parameter, as a number or its decimal text; missing or empty → ``default``, not
    a number → 1101."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lstrip("-").isdigit() and raw.isascii():
        return int(raw)
    raise Reject(1101, f"param {name} out of range")


def page_args(
    params: Mapping[str, Any], page: str, size: str, *, max_size: int, default_size: int
) -> tuple[int, int]:
    """The page number and size of a listing, in range, else 1101."""
    number = param_int(params, page, 1)
    count = param_int(params, size, default_size)
    if number is None or count is None or number < 1 or not 1 <= count <= max_size:
        raise Reject(1101, "param out of range")
    return number, count


def json_body(body: bytes) -> dict[str, Any]:
    """A JSON object body, else 1109."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Reject(1109, "param is illegal") from None
    if not isinstance(data, dict):
        raise Reject(1109, "param is illegal")
    return data


def require(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """A required body field of a type: missing, null or empty → 1100, wrong type → 1109."""
    if key not in data or data[key] is None:
        raise Reject(1100, f"param {key} is empty")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Reject(1109, f"param {key} is illegal")
    if isinstance(value, (str, list)) and not value:
        raise Reject(1100, f"param {key} is empty")
    return value
