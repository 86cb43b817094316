"""Tuya's HMAC-SHA256 request signature ("new" algorithm), as pure functions.

Nothing here reads a clock, draws a random number or does I/O: the caller passes ``t`` and
``nonce``, so every rule can be checked against fixed vectors (docs/protocol.md, "Signing").
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from enum import Enum

__all__ = [
    "EMPTY_BODY_SHA256",
    "SIGN_METHOD",
    "QueryValue",
    "encode_query",
    "sign",
    "signed_headers",
    "string_to_sign",
]

SIGN_METHOD = "HMAC-SHA256"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()

QueryScalar = str | int | float | bool | Enum
QueryValue = QueryScalar | Sequence[QueryScalar] | None


def _encode_scalar(name: str, value: object) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not isinstance(value, (str, int, float)):
        raise TypeError(
            f"{name} must be a str, int, float, bool or Enum, got {type(value).__name__}"
        )
    return str(value)


def encode_query(params: Mapping[str, QueryValue] | None) -> dict[str, str]:
    """The query strings both sent and signed: ``None`` dropped, lists comma-joined, enums as
    their value, booleans ``true``/``false``; anything else is refused, naming ``params``."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of str to values, got {type(params).__name__}")
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(key, str):
            raise TypeError(f"params: keys must be str, got {key!r}")
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            name = f"params[{key!r}] items"
            encoded[key] = ",".join(_encode_scalar(name, item) for item in value)
        else:
            encoded[key] = _encode_scalar(f"params[{key!r}]", value)
    return encoded


def string_to_sign(
    method: str,
    path: str,
    query: Mapping[str, str],
    body: bytes,
    headers: Sequence[tuple[str, str]] = (),
) -> str:
    """Build ``METHOD\\nsha256(body)\\nHEADERS\\nURL`` for one request.

    ``headers`` are the ``Signature-Headers`` in their listed order, one ``name:value\\n`` line
    each; the URL is the path, then the query sorted by key with raw values.
    """
    body_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256
    header_lines = "".join(f"{name}:{value}\n" for name, value in headers)
    url = path
    if query:
        url += "?" + "&".join(f"{key}={query[key]}" for key in sorted(query))
    return f"{method.upper()}\n{body_hash}\n{header_lines}\n{url}"


def sign(
    *,
    client_id: str,
    secret: str,
    t: str,
    string_to_sign: str,
    access_token: str = "",
    nonce: str = "",
) -> str:
    """The upper-case hex HMAC-SHA256 signature (token calls pass no ``access_token``)."""
    message = f"{client_id}{access_token}{t}{nonce}{string_to_sign}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def signed_headers(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    body: bytes,
    client_id: str,
    secret: str,
    t: str,
    nonce: str,
    access_token: str | None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """All headers one attempt sends: credentials, time, nonce, signature and any signed extras."""
    sts = string_to_sign(method, path, query, body, extra_headers)
    headers = {
        "client_id": client_id,
        "sign_method": SIGN_METHOD,
        "t": t,
        "nonce": nonce,
        "sign": sign(
            client_id=client_id,
            secret=secret,
            t=t,
            string_to_sign=sts,
            access_token=access_token or "",
            nonce=nonce,
        ),
    }
    if access_token:
        headers["access_token"] = access_token
    if extra_headers:
        headers.update(extra_headers)
        headers["Signature-Headers"] = ":".join(name for name, _ in extra_headers)
    if body:
        headers["Content-Type"] = "application/json"
    return headers
