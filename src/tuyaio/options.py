"""Per-call settings: the attempt :class:`Timeout` and the :class:`Options` that
:meth:`TuyaClient.with_options` changes, applied to a :class:`~tuyaio.routes.Call` before it is
sent."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .events import Hook
from .retry import RetryPolicy
from .routes import Call, serialize
from .validation import check_positive_number, field_check

__all__ = ["Options", "Timeout", "check_hooks", "timeout_from"]

_limit: Any = attrs.validators.optional(field_check(check_positive_number))


@attrs.frozen(kw_only=True)
class Timeout:
    """Limits for one attempt, in seconds (``None``: no limit); each retry gets them afresh.

    Each limit is ``None`` or a finite number above 0. The retry policy's ``deadline`` bounds the
    whole call, and shortens the last attempt's limits to the time left.
    """

    total: float | None = attrs.field(default=30.0, validator=_limit)
    connect: float | None = attrs.field(default=10.0, validator=_limit)

    def within(self, left: float) -> Timeout:
        """These limits, none longer than ``left`` seconds (``left`` > 0)."""
        if self.total is not None and self.total <= left:
            return self
        connect = self.connect if self.connect is None or self.connect <= left else left
        return Timeout(total=left, connect=connect)


def timeout_from(value: float | Timeout) -> Timeout:
    """A :class:`Timeout` from itself or a number of seconds (the connect limit at most 10 s)."""
    if isinstance(value, Timeout):
        return value
    seconds = check_positive_number("timeout", value)
    return Timeout(total=seconds, connect=min(10.0, seconds))


def check_hooks(hooks: Sequence[Hook]) -> tuple[Hook, ...]:
    """The hooks as a tuple; a coroutine function is refused (its coroutine would never run)."""
    for hook in hooks:
        if not callable(hook):
            raise TypeError(f"hooks: {hook!r} is not callable")
        if inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
            getattr(hook, "__call__", None)  # noqa: B004 - an object with an async __call__
        ):
            raise TypeError(
                f"hooks: {hook!r} is an async function; hooks are called synchronously, so "
                "its coroutine would never run (schedule your own task from a plain function)"
            )
    return tuple(hooks)


@attrs.frozen(kw_only=True)
class Options:
    """Per-call settings that :meth:`TuyaClient.with_options` can change."""

    timeout: Timeout
    retry: RetryPolicy
    hooks: tuple[Hook, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    """Signed headers sent with every call (``lang``…); a call's own headers win."""
    extra_query: Mapping[str, str] = attrs.field(factory=dict)
    """Query parameters added to every call (encoded); a call's own win."""
    extra_body: Mapping[str, Any] = attrs.field(factory=dict)
    """Keys added to every JSON object body (a listing's on a GET too); a call's own win."""

    def apply(self, call: Call) -> Call:
        """``call`` with these headers and extra parameters (itself when there are none)."""
        if not (self.headers or self.extra_query or self.extra_body):
            return call
        own = {name.lower() for name, _ in call.extra_headers}
        headers = call.extra_headers + tuple(h for h in self.headers if h[0].lower() not in own)
        query = {**self.extra_query, **call.query}
        body = call.body
        if self.extra_body and body:
            document = json.loads(body)
            if isinstance(document, dict):
                body = serialize({**self.extra_body, **document})
        return attrs.evolve(call, extra_headers=headers, query=query, body=body)

    def within(self, left: float | None) -> Options:
        """These options for a call that may take at most ``left`` seconds (``None``: as is)."""
        deadline = self.retry.deadline
        if left is None or (deadline is not None and deadline <= left):
            return self
        return attrs.evolve(self, retry=attrs.evolve(self.retry, deadline=max(left, 1e-3)))
