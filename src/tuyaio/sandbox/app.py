"""The sandbox as an aiohttp application: the checks every request passes, and the routes.

Order per request: latency → counting → fault injection → rate limit → client_id, time window,
signature and token → the handler. Handlers (in :mod:`.tokens`, :mod:`.maintenance` and
:mod:`.construction`) return a ``result`` or raise :class:`~.framework.Reject`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import construction, maintenance, tokens
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
from .framework import RUNTIME, Handler, Reject, Runtime, envelope, query, reject, safe_id
from .state import SandboxState
from .verify import expected_sign, signature_matches

__all__ = ["make_app"]

_TOKEN_ROUTES = frozenset({"/v1.0/token", "/v1.0/token/{refresh_token}"})
_HTML = "<html><body><h1>{status} {reason}</h1><p>gateway</p></body></html>"
_HANDLER_MODULES = (tokens, maintenance, construction)


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
        return reject(runtime, 1108, "uri path invalid")
    route_template = resource.canonical
    state.by_route[f"{request.method} {route_template}"] += 1

    fault = _draw_fault(runtime, request.method, route_template)
    if fault is not None:
        state.faults[fault] += 1
        if fault == FAULT_SLOW:
            await asyncio.sleep(config.faults.slow_s)
        elif fault == FAULT_ENVELOPE_500:
            return reject(runtime, 500, "system error,please contact the admin")
        elif fault == FAULT_RATE_LIMIT:
            return reject(runtime, 1199, "request too frequent")
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
        return reject(runtime, 1199, "request too frequent")

    try:
        _authenticate(request, runtime, route_template, await request.read())
    except Reject as refused:
        return reject(runtime, refused.code, refused.msg)
    state.note_request(time.monotonic())
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
        except Reject as refused:
            return reject(runtime, refused.code, refused.msg)
        return envelope(runtime, {"success": True, "result": result})

    return answer


def make_app(config: SandboxConfig, state: SandboxState | None = None) -> web.Application:
    """The sandbox application for ``config`` (seeded state unless one is given)."""
    runtime = Runtime(
        config=config, state=state or SandboxState(), faults=random.Random(config.seed)
    )
    if state is None:
        runtime.state = SandboxState.seeded(config, runtime.now_ms())
    app = web.Application(middlewares=[_pipeline], client_max_size=1 << 20)
    app[RUNTIME] = runtime
    for module in _HANDLER_MODULES:
        for method, path, handler in module.ROUTES:
            app.router.add_route(method, path, _endpoint(handler))
    return app
