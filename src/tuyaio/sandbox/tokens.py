"""Token endpoints: a new grant, and a single-use refresh that kills the old access token."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from .framework import Handler, Reject, Runtime, query

__all__ = ["ROUTES"]


def _issue(runtime: Runtime) -> dict[str, Any]:
    ttl = runtime.config.token_ttl_s
    now_ms = runtime.now_ms()
    record = runtime.state.issue_token(now_ms + int(ttl * 1000), now_ms=now_ms)
    return {
        "access_token": record.access_token,
        "refresh_token": record.refresh_token,
        "expire_time": max(1, math.ceil(ttl)),
        "uid": "sandbox-uid",
    }


async def grant(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /v1.0/token?grant_type=1``."""
    if query(request).get("grant_type") != "1":
        raise Reject(1109, "param grant_type is illegal")
    runtime.state.grants += 1
    return _issue(runtime)


async def refresh(request: web.Request, runtime: Runtime) -> dict[str, Any]:
    """``GET /v1.0/token/{refresh_token}``."""
    if runtime.state.redeem_refresh_token(request.match_info["refresh_token"]) is None:
        raise Reject(1010, "token invalid")
    runtime.state.refreshes += 1
    return _issue(runtime)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/v1.0/token", grant),
    ("GET", "/v1.0/token/{refresh_token}", refresh),
]
