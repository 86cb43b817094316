"""The sandbox as an aiohttp application: the checks every request passes, and the routes.

Order per request: reading it whole → latency → counting → fault injection → rate limit →
client_id, time window, signature and token → the handler. Handlers (in :mod:`.tokens`,
:mod:`.maintenance`, :mod:`.construction` and :mod:`.directory`) return a ``result`` or raise
:class:`~.framework.Reject`. The signature check is the sandbox's own, written apart from the
client's signer on purpose.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

from . import construction, directory, maintenance, tokens
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
from .framework import Handler, Reject, Runtime, query

__all__ = ["RUNTIME", "expected_sign", "make_app", "route_names"]

RUNTIME = web.AppKey("runtime", Runtime)
_MODULES = (tokens, maintenance, construction, directory)
_TOKEN_ROUTES = frozenset(path for _, path, _ in tokens.ROUTES)
_REFUSING_FAULTS = {
    FAULT_ENVELOPE_500: (500, "system error,please contact the admin"),
    FAULT_RATE_LIMIT: (1199, "request too frequent"),
}
_GATEWAY_FAULTS = {FAULT_HTTP_429: 429, FAULT_HTTP_502: 502, FAULT_HTTP_503: 503}
_compact_json = functools.partial(json.dumps, separators=(",", ":"))
_HTML = "<html><body><h1>{status} {reason}</h1><p>gateway</p></body></html>"


def _envelope(runtime: Runtime, body: dict[str, Any]) -> web.Response:
    body.update(t=runtime.now_ms(), tid=runtime.state.hex_token())
    return web.json_response(body, dumps=_compact_json)


def _refuse(runtime: Runtime, code: int, msg: str) -> web.Response:
    runtime.state.codes[code] += 1
    return _envelope(runtime, {"success": False, "code": code, "msg": msg})


def _gateway_page(runtime: Runtime, status: int) -> web.Response:
    runtime.state.codes[status] += 1
    retry_after = {"Retry-After": str(runtime.config.faults.retry_after_s)}
    return web.Response(
        status=status,
        text=_HTML.format(status=status, reason=HTTPStatus(status).phrase),
        content_type="text/html",
        headers=retry_after if status == 429 else None,
    )


def expected_sign(
    *,
    secret: str,
    access_token: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    body: bytes,
    headers: Mapping[str, str],
) -> str:
    """The signature a correct client would have sent: the string to sign is rebuilt from the
    request as received (the raw path, the decoded query sorted by key, the body bytes, and from
    ``headers`` ``client_id``, ``t``, ``nonce`` and those ``Signature-Headers`` names)."""
    pairs = sorted(query, key=lambda pair: pair[0])
    url = path + ("?" + "&".join(f"{key}={value}" for key, value in pairs) if pairs else "")
    names = filter(None, headers.get("Signature-Headers", "").split(":"))
    header_block = "".join(f"{name}:{headers.get(name, '')}\n" for name in names)
    content_sha256 = hashlib.sha256(body).hexdigest()
    string_to_sign = "\n".join((method.upper(), content_sha256, header_block, url))
    client_id, t, nonce = (headers.get(name, "") for name in ("client_id", "t", "nonce"))
    message = client_id + access_token + t + nonce + string_to_sign
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def _authenticate(request: web.Request, runtime: Runtime, route: str, body: bytes) -> None:
    config, headers = runtime.config, request.headers
    if headers.get("client_id") != config.client_id:
        raise Reject(1005, "clientId is invalid")
    t = headers.get("t", "")
    if headers.get("sign_method") != "HMAC-SHA256" or not (t.isdigit() and len(t) == 13):
        raise Reject(1004, "sign invalid")
    if abs(int(t) - runtime.now_ms()) > config.time_window_s * 1000:
        raise Reject(1013, "request time is invalid")
    is_token_call = route in _TOKEN_ROUTES
    access_token = "" if is_token_call else headers.get("access_token", "")
    expected = expected_sign(
        secret=config.secret,
        access_token=access_token,
        method=request.method,
        path=request.raw_path.split("?", 1)[0],
        query=query(request).items(),
        body=body,
        headers=headers,
    )
    if not hmac.compare_digest(headers.get("sign", "").encode(), expected.encode()):
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
    # The whole request arrives first: latency or a slow fault delays the answer, and the request
    # is processed even if the client has gone meanwhile, as on a real server.
    body = await request.read()
    if config.latency_ms or config.latency_jitter_ms:
        delay = config.latency_ms + runtime.jitter.uniform(0, config.latency_jitter_ms)
        await asyncio.sleep(delay / 1000)
    state.requests += 1
    resource = request.match_info.route.resource
    if request.match_info.http_exception is not None or resource is None:
        return _refuse(runtime, 1108, "uri path invalid")
    template = resource.canonical
    state.by_route[f"{request.method} {template}"] += 1

    fault = _draw_fault(runtime, request.method, template)
    if fault is not None:
        state.faults[fault] += 1
        if fault in _REFUSING_FAULTS:
            return _refuse(runtime, *_REFUSING_FAULTS[fault])
        if fault in _GATEWAY_FAULTS:
            return _gateway_page(runtime, _GATEWAY_FAULTS[fault])
        if fault == FAULT_SLOW:
            await asyncio.sleep(config.faults.slow_s)

    if not runtime.take_rate_token():
        state.rate_limited += 1
        return _refuse(runtime, 1199, "request too frequent")
    try:
        _authenticate(request, runtime, template, body)
    except Reject as refused:
        return _refuse(runtime, refused.code, refused.msg)
    state.note_request(time.monotonic())
    response = await handler(request)
    if fault == FAULT_ABORT_AFTER and request.transport is not None:
        request.transport.abort()
    return response


def _endpoint(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def answer(request: web.Request) -> web.Response:
        runtime = request.app[RUNTIME]
        try:
            result = await handler(request, runtime)
        except Reject as refused:
            return _refuse(runtime, refused.code, refused.msg)
        return _envelope(runtime, {"success": True, "result": result})

    return answer


def route_names() -> frozenset[str]:
    """Every route the sandbox answers, as ``FaultConfig.routes`` names them: ``"GET /v1.0/…"``."""
    return frozenset(f"{method} {path}" for module in _MODULES for method, path, _ in module.ROUTES)


def make_app(config: SandboxConfig) -> web.Application:
    """The sandbox application for ``config``, with its seeded data."""
    app = web.Application(middlewares=[_pipeline], client_max_size=1 << 20)
    app[RUNTIME] = Runtime(config)
    for module in _MODULES:
        for method, path, handler in module.ROUTES:
            # An ID in a path is [A-Za-z0-9_-]+: a path with another is not found (1108).
            safe_path = path.replace("}", ":[A-Za-z0-9_-]+}")
            app.router.add_route(method, safe_path, _endpoint(handler))
    return app
