"""``ClientOptions``: the keyword arguments of :class:`~tuyaio.TuyaClient`, as a type.

:meth:`TuyaClient.from_env <tuyaio.TuyaClient.from_env>` and the ``tuya_client`` pytest fixture
take them as ``**options: Unpack[ClientOptions]``, so a type checker rejects a misspelt option
(``from_env(timeuot=3)``). tests/test_client_options.py checks that the keys are exactly the
client's keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

import aiohttp
from yarl import URL

from .events import Hook
from .options import Timeout
from .quota import CallQuota
from .ratelimit import RateLimiter, ThrottlePolicy
from .retry import RetryPolicy
from .tokens import TokenStore

__all__ = ["ClientOptions"]


class ClientOptions(TypedDict, total=False):
    """The keyword arguments of ``TuyaClient(client_id, secret, **options)``; see
    :class:`~tuyaio.TuyaClient` for what each does."""

    region: str | None
    base_url: str | URL | None
    session: aiohttp.ClientSession | None
    retry: RetryPolicy
    allow_insecure_http: bool
    rate_limit: float | RateLimiter | None
    token_store: TokenStore | None
    timeout: float | Timeout
    max_body_bytes: int
    lang: str | None
    headers: Mapping[str, str] | None
    hooks: Sequence[Hook]
    call_quota: int | CallQuota | None
    throttle: ThrottlePolicy | None
