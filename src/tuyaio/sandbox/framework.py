"""What every sandbox handler module builds on: the shared runtime, the error a handler raises,
and the parsers for queries, bodies and pages.

Handlers are ``async def handler(request, runtime) -> result``; they return the envelope's
``result`` or raise :class:`Reject`. This module imports no handler module, so handler modules
import it and :mod:`.app` imports them: no cycle.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote

import attrs
from aiohttp import web

from .config import SandboxConfig
from .state import Item, SandboxState

__all__ = ["Handler", "Reject", "Runtime", "json_body", "page", "param_int", "query", "require"]


@attrs.define
class Reject(Exception):
    """An error answer: ``{"success": false, "code": …, "msg": …}``."""

    code: int
    msg: str


@attrs.define(eq=False)
class Runtime:
    """What the handlers share: the live configuration (it can change mid-run), the state seeded
    from it, and the random draws of faults and latency."""

    config: SandboxConfig
    state: SandboxState = attrs.field(init=False)
    faults: random.Random = attrs.field(init=False)
    jitter: random.Random = attrs.field(factory=lambda: random.Random(0))
    bucket_tokens: float = math.inf  # full at the start
    bucket_at: float = attrs.field(factory=time.monotonic)
    listing_cache: dict[Any, list[Item]] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.state = SandboxState.seeded(self.config, self.now_ms())
        self.faults = random.Random(self.config.seed)

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
        self.bucket_tokens = min(burst, self.bucket_tokens + (now - self.bucket_at) * rate)
        self.bucket_at = now
        if self.bucket_tokens >= 1.0:
            self.bucket_tokens -= 1.0
            return True
        return False


Handler = Callable[[web.Request, Runtime], Awaitable[Any]]


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


def page(
    params: Mapping[str, Any],
    items: list[Item],
    names: tuple[str, str],
    max_size: int,
    cap: int | None = None,
) -> tuple[int, int, list[Item]]:
    """The page number, the page size (20 unless given) and the page of ``items`` that the two
    parameters ``names`` ask for; out of range → 1101. A ``cap`` serves at most that many a page
    (the size served, and counted by, is the smaller)."""
    number, size = param_int(params, names[0], 1), param_int(params, names[1], 20)
    if number is None or size is None or number < 1 or not 1 <= size <= max_size:
        raise Reject(1101, "param out of range")
    if cap is not None:
        size = min(size, cap)
    start = (number - 1) * size
    return number, size, items[start : start + size]


def json_body(body: bytes) -> dict[str, Any]:
    """A JSON object body, else 1109."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Reject(1109, "param is illegal") from None
    if not isinstance(data, dict):
        raise Reject(1109, "param is illegal")
    return data


def require(data: dict[str, Any], key: str, kind: type) -> Any:
    """A required body field of a type (not a bool): missing, null or empty → 1100, wrong type
    → 1109."""
    value = data.get(key)
    if value is None:
        raise Reject(1100, f"param {key} is empty")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Reject(1109, f"param {key} is illegal")
    if isinstance(value, (str, list)) and not value:
        raise Reject(1100, f"param {key} is empty")
    return value
