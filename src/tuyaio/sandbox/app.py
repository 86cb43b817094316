"""The sandbox as an aiohttp application: the checks every request passes, and the routes.

Order per request: latency → counting → fault injection → rate limit → client_id, time window,
signature and token → the handler. Handlers return a ``result`` or raise :class:`Reject`.
"""

from __future__ import annotations

import asyncio
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

from .config import (
    FAULT_ABORT_AFTER,
    FAULT_ENVELOPE_500,
    FAULT_HTTP_429,
    FAULT_HTTP_502,
    FAULT_HTTP_503,
    FAULT_RATE_LIMIT,
    FAULT_SLOW,
    SandboxConfig,
)
from .state import SandboxState
from .verify import expected_sign, signature_matches

__all__ = [
    "RUNTIME",
    "Reject",
    "Runtime",
    "make_app",
    "page_args",
    "param_int",
    "query",
    "safe_id",
]

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
_TOKEN_ROUTES = frozenset({"/v1.0/token", "/v1.0/token/{refresh_token}"})
_HTML = "<html><body><h1>{status} {reason}</h1><p>gateway</p></body></html>"


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


def _envelope(runtime: Runtime, body: dict[str, Any]) -> web.Response:
    body["t"] = runtime.now_ms()
    body["tid"] = runtime.state.hex_token()
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), content_type="application/json"
    )


def _reject(runtime: Runtime, code: int, msg: str) -> web.Response:
    runtime.state.codes[code] += 1
    return _envelope(runtime, {"success": False, "code": code, "msg": msg})


def _authenticate(request: web.Request, runtime: Runtime, route: str, body: bytes) -> None:
    config, headers = runtime.config, request.headers
    if headers.get("client_id") != config.client_id:
        raise Reject(1005, "clientId is invalid")
    if headers.get("sign_method") != "HMAC-SHA256":
        raise Reject(1004, "sign invalid")
    t = headers.get("t", "")
    if not (t.isdigit() and len(t) == 13):
        raise Reject(1004, "sign invalid")
    if abs(int(t) - runtime.now_ms()) > config.time_window_s * 1000:
        raise Reject(1013, "request time is invalid")
    is_token_call = route in _TOKEN_ROUTES
    access_token = "" if is_token_call else headers.get("access_token", "")
    expected = expected_sign(
        client_id=config.client_id,
        secret=config.secret,
        access_token=access_token,
        t=t,
        nonce=headers.get("nonce", ""),
        method=request.method,
        path=request.raw_path.split("?", 1)[0],
        query=query(request).items(),
        body=body,
        headers=headers,
        signature_headers=headers.get("Signature-Headers", ""),
    )
    if not signature_matches(headers.get("sign", ""), expected):
        raise Reject(1004, "sign invalid")
    if is_token_call:
        return
    token = runtime.state.token(access_token)
    if token is None or not token.alive:
        raise Reject(1010, "token invalid")
    if token.expires_at_ms <= runtime.now_ms():
        raise Reject(1011, "token expired")
    if body and request.content_type != "application/json":
        raise Reject(1109, "param is illegal")


def _draw_fault(runtime: Runtime, method: str, template: str) -> str | None:
    faults = runtime.config.faults
    if faults.rate <= 0 or (template in _TOKEN_ROUTES and not faults.include_token_routes):
        return None
    if faults.routes is not None and f"{method} {template}" not in faults.routes:
        return None
    if runtime.faults.random() >= faults.rate:
        return None
    return runtime.faults.choice(sorted(faults.kinds))


@web.middleware
async def _pipeline(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    config, state = runtime.config, runtime.state
    if config.latency_ms or config.latency_jitter_ms:
        delay = config.latency_ms + runtime.jitter.uniform(0, config.latency_jitter_ms)
        await asyncio.sleep(delay / 1000)
    state.requests += 1
    resource = request.match_info.route.resource
    if request.match_info.http_exception is not None or resource is None:
        return _reject(runtime, 1108, "uri path invalid")
    route_template = resource.canonical
    state.by_route[f"{request.method} {route_template}"] += 1

    fault = _draw_fault(runtime, request.method, route_template)
    if fault is not None:
        state.faults[fault] += 1
        if fault == FAULT_SLOW:
            await asyncio.sleep(config.faults.slow_s)
        elif fault == FAULT_ENVELOPE_500:
            return _reject(runtime, 500, "system error,please contact the admin")
        elif fault == FAULT_RATE_LIMIT:
            return _reject(runtime, 1199, "request too frequent")
        elif fault == FAULT_HTTP_429:
            state.codes[429] += 1
            return web.Response(
                status=429,
                text=_HTML.format(status=429, reason="Too Many Requests"),
                content_type="text/html",
                headers={"Retry-After": str(config.faults.retry_after_s)},
            )
        elif fault in (FAULT_HTTP_502, FAULT_HTTP_503):
            status = 502 if fault == FAULT_HTTP_502 else 503
            state.codes[status] += 1
            reason = "Bad Gateway" if status == 502 else "Service Unavailable"
            return web.Response(
                status=status,
                text=_HTML.format(status=status, reason=reason),
                content_type="text/html",
            )

    if not runtime.take_rate_token():
        state.rate_limited += 1
        return _reject(runtime, 1199, "request too frequent")

    try:
        _authenticate(request, runtime, route_template, await request.read())
    except Reject as reject:
        return _reject(runtime, reject.code, reject.msg)
    state.request_times.append(time.monotonic())
    state.in_flight += 1
    state.max_in_flight = max(state.max_in_flight, state.in_flight)
    try:
        response = await handler(request)
    finally:
        state.in_flight -= 1
    if fault == FAULT_ABORT_AFTER and request.transport is not None:
        request.transport.abort()
    return response


def _endpoint(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def answer(request: web.Request) -> web.Response:
        runtime = request.app[RUNTIME]
        try:
            for value in request.match_info.values():
                safe_id(value)
            result = await handler(request, runtime)
        except Reject as reject:
            return _reject(runtime, reject.code, reject.msg)
        return _envelope(runtime, {"success": True, "result": result})

    return answer


def make_app(config: SandboxConfig, state: SandboxState | None = None) -> web.Application:
    """The sandbox application for ``config`` (seeded state unless one is given)."""
    from . import construction, maintenance, tokens

    runtime = Runtime(
        config=config, state=state or SandboxState(), faults=random.Random(config.seed)
    )
    if state is None:
        runtime.state = SandboxState.seeded(config, runtime.now_ms())
    app = web.Application(middlewares=[_pipeline], client_max_size=1 << 20)
    app[RUNTIME] = runtime
    for module in (tokens, maintenance, construction):
        for method, path, handler in module.ROUTES:
            app.router.add_route(method, path, _endpoint(handler))
    return app


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
    """A required body field of a type: missing → 1100, wrong type or empty → 1109."""
    if key not in data or data[key] is None:
        raise Reject(1100, f"param {key} is empty")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise Reject(1109, f"param {key} is illegal")
    if isinstance(value, (str, list)) and not value:
        raise Reject(1100, f"param {key} is empty")
    return value
