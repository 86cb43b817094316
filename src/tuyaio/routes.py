"""Endpoint declarations and the requests built from them, before any I/O.

A :class:`Route` names a method and a path template; :meth:`Route.build` checks the path arguments,
encodes the query and serializes the body once, giving a :class:`Call` that the transport sends
(and signs) as is, attempt after attempt.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .signing import QueryValue, encode_query
from .validation import check_id

__all__ = ["GRANT", "REFRESH", "Call", "Route", "check_raw_path", "method_name", "serialize"]

_REPEATABLE_METHODS = frozenset({"GET", "HEAD", "DELETE", "PUT"})
_RAW_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
_NO_QUERY: Mapping[str, str] = MappingProxyType({})


@attrs.define(kw_only=True)
class Call:
    """One request, ready to sign and send: the wire path, encoded query and exact body bytes.

    Not changed once built (not frozen only because a frozen class costs a microsecond a call).
    """

    method: str
    route: str
    path: str = attrs.field(repr=False)
    query: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    idempotent: bool
    authenticated: bool = True
    identifiers: Mapping[str, str] = attrs.field(factory=dict)
    extra_headers: tuple[tuple[str, str], ...] = ()
    secret_path: bool = False
    """The filled path holds a secret (a refresh token): keep it out of every error and log."""
    path_args: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    """The values filled into the route's template."""
    key: str = ""
    """``"METHOD template"``: the route as usage counts it."""


def _template_fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


@attrs.frozen
class Route:
    """An endpoint: HTTP method and path template, e.g. ``GET /v1.0/…/tasks/{task_id}``.

    ``idempotent`` says whether repeating a call can do harm; it defaults to the HTTP method's
    meaning (GET and DELETE repeat safely, POST does not).
    """

    method: str
    template: str
    idempotent: bool | None = None
    authenticated: bool = True
    secret_path: bool = False
    fields: tuple[str, ...] = attrs.field(init=False)
    key: str = attrs.field(init=False)
    repeatable: bool = attrs.field(init=False)
    """Whether a call may be repeated unless it says otherwise (``idempotent``, else the method)."""

    @fields.default
    def _fields(self) -> tuple[str, ...]:
        return _template_fields(self.template)

    @key.default
    def _key(self) -> str:
        return f"{self.method} {self.template}"

    @repeatable.default
    def _repeatable(self) -> bool:
        return self.method in _REPEATABLE_METHODS if self.idempotent is None else self.idempotent

    def build(
        self,
        path_args: Mapping[str, str] | None = None,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        identifiers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        body_name: str = "body",
    ) -> Call:
        """Check the path arguments (each must be a safe path segment) and build the call.

        ``body_name`` is the argument named when the body is not strict JSON.
        """
        path_args = path_args or {}
        self.check_path(path_args)
        return Call(
            method=self.method,
            route=self.template,
            path=self.template.format_map(path_args) if self.fields else self.template,
            path_args=path_args,
            key=self.key,
            query=encode_query(query) if query is not None else _NO_QUERY,
            body=serialize(body, name=body_name) if body is not None else b"",
            idempotent=self.repeatable if idempotent is None else idempotent,
            authenticated=self.authenticated,
            identifiers=dict(identifiers) if identifiers else {},
            secret_path=self.secret_path,
        )

    def check_path(self, path_args: Mapping[str, str]) -> None:
        """Refuse a missing path argument or one that is not a safe path segment."""
        for name in self.fields:
            check_id(name, path_args.get(name))


GRANT = Route("GET", "/v1.0/token", authenticated=False)
"""A new access token (``grant_type=1``)."""
REFRESH = Route("GET", "/v1.0/token/{refresh_token}", authenticated=False, secret_path=True)
"""A new token pair for a refresh token (which is a secret in the path)."""


def serialize(body: Any, *, name: str = "body") -> bytes:
    """Compact JSON bytes, made once: exactly these bytes are hashed, signed and sent.

    Only strict JSON: NaN or infinity is a ValueError, an object JSON cannot hold a TypeError,
    each naming ``name``.
    """
    if body is None:
        return b""
    try:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as error:
        raise ValueError(f"{name} must be strict JSON: {error}") from None
    except (TypeError, RecursionError) as error:
        raise TypeError(f"{name} must be JSON-serialisable: {error}") from None
    return text.encode()


def check_raw_path(path: object) -> str:
    """A path for :meth:`TuyaClient.request`: ``/``-separated segments of ``[A-Za-z0-9_.-]``.

    ``.`` and ``..`` segments, empty segments, a query string or percent-escapes are refused, so
    that the path signed is the path sent.
    """
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, got {type(path).__name__}")
    segments = path.split("/")
    if (
        not path.startswith("/")
        or len(segments) < 2
        or any(not _RAW_SEGMENT.fullmatch(s) or s in {".", ".."} for s in segments[1:])
    ):
        raise ValueError(
            "path must look like '/v1.0/resource/ID': segments of letters, digits, '.', '_' "
            f"and '-' (no '..', no query string; pass params= instead), got {path!r}"
        )
    return path


def method_name(method: object) -> str:
    """An HTTP method, upper case."""
    if not isinstance(method, str) or method.upper() not in {"GET", "POST", "PUT", "DELETE"}:
        raise ValueError(f"method must be one of GET, POST, PUT, DELETE, got {method!r}")
    return method.upper()
