"""OpenTelemetry spans and metrics for tuyaio (extra ``otel``): one CLIENT span per call and
``tuyaio.client.*`` instruments, with ``TuyaClient(..., hooks=[tuyaio.otel.hook()])``.

Attributes and instruments: docs/observing.md. Nothing recorded holds a secret; metric attributes
are route templates, never IDs. The core of tuyaio does not import this module.
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from typing import Any

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as _import_error:  # pragma: no cover - only without the extra
    raise ImportError(
        "tuyaio.otel needs the OpenTelemetry API: pip install 'tuyaio[otel]'"
    ) from _import_error

from . import __version__
from .events import AttemptEvent, CallEvent, Event, RateLimitWaitEvent, TokenEvent

__all__ = ["DURATION_BUCKETS", "OpenTelemetryHook", "hook"]

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Histogram bucket boundaries (seconds) advised for call durations and rate-limit waits."""

_SCOPE = "tuyaio"
_TOKEN_ROUTE_PREFIX = "/v1.0/token"

_COUNTERS = {
    "calls": ("{call}", "API calls finished"),
    "attempts": (
        "{request}",
        "Requests sent, retries and token calls included (the quota's count)",
    ),
    "retries": ("{retry}", "Attempts followed by another"),
    "token.fetches": ("{token}", "Token grants and refreshes"),
    "rate_limit.waits": ("{wait}", "Calls that waited for their turn"),
}
_HISTOGRAMS = {  # in seconds
    "rate_limit.wait.duration": "How long calls waited for their turn",
    "call.duration": "Duration of API calls, retries and waits included",
}

_Key = tuple[str, str]
_Buffered = list[tuple[AttemptEvent, int]]
_Pending = tuple[object, dict[_Key, _Buffered]]
"""The task that owns the buffer, and the failed attempts of its running calls."""


def _current_task() -> object:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop: a hook called by hand
        return None


def _where(event: AttemptEvent | CallEvent | RateLimitWaitEvent) -> dict[str, Any]:
    return {"http.request.method": event.method, "url.template": event.route}


def _present(attributes: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` without the absent ones (``None`` or empty)."""
    return {key: value for key, value in attributes.items() if value is not None and value != ""}


class OpenTelemetryHook:
    """A tuyaio hook (``TuyaClient(hooks=[...])``) that turns events into spans and metrics.

    ``tracer_provider`` and ``meter_provider`` default to the global ones. One instance may serve
    several clients; failed attempts are kept per task until their call ends in that task.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
        self._counters = {
            name: meter.create_counter(f"tuyaio.client.{name}", unit=unit, description=text)
            for name, (unit, text) in _COUNTERS.items()
        }
        self._histograms = {
            name: meter.create_histogram(
                f"tuyaio.client.{name}",
                unit="s",
                description=text,
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            )
            for name, text in _HISTOGRAMS.items()
        }
        self._pending: ContextVar[_Pending | None] = ContextVar(
            f"tuyaio_otel_pending_{id(self):x}", default=None
        )

    def __repr__(self) -> str:
        return "OpenTelemetryHook()"

    def __call__(self, event: Event) -> None:
        """Record one event (the client calls this; what it raises is logged and ignored)."""
        if isinstance(event, CallEvent):
            self._call(event)
        elif isinstance(event, AttemptEvent):
            self._attempt(event)
        elif isinstance(event, RateLimitWaitEvent):
            attributes = {**_where(event), "tuya.rate_limit.limiter": event.limiter}
            self._counters["rate_limit.waits"].add(1, attributes)
            self._histograms["rate_limit.wait.duration"].record(event.waited_s, attributes)
        elif isinstance(event, TokenEvent):
            self._counters["token.fetches"].add(1, {"tuya.token.kind": event.kind})

    def _attempt(self, event: AttemptEvent) -> None:
        owner = _current_task()
        pending = self._pending.get()
        if pending is None or pending[0] is not owner:
            # A task inherits its parent's context: it gets a buffer of its own.
            pending = (owner, {})
            self._pending.set(pending)
        key, buffer = (event.method, event.route), pending[1]
        if event.attempt <= 1 or key not in buffer:
            buffer[key] = []  # a call that never ended (cancelled) leaves nothing behind
        buffer[key].append((event, time.time_ns()))
        if event.retry is not None:
            self._counters["retries"].add(1, {**_where(event), "tuya.retry.reason": event.retry})

    def _call(self, event: CallEvent) -> None:
        end = time.time_ns()
        pending = self._pending.get()
        attempts: _Buffered = []
        if pending is not None and pending[0] is _current_task():
            attempts = pending[1].pop((event.method, event.route), [])
        where = _where(event)
        metric = _present(
            {
                **where,
                "tuya.outcome": "ok" if event.ok else "error",
                "error.type": event.error,
                "tuya.code": event.code,
            }
        )
        self._counters["calls"].add(1, metric)
        self._counters["attempts"].add(event.attempts, where)
        self._histograms["call.duration"].record(event.elapsed_s, metric)

        span = self._tracer.start_span(
            f"{event.method} {event.route}",
            kind=SpanKind.CLIENT,
            attributes=_span_attributes(event),
            start_time=end - max(0, int(event.elapsed_s * 1e9)),
        )
        for attempt, at in attempts:
            if attempt.attempt <= event.attempts:
                span.add_event(
                    "retry" if attempt.retry is not None else "give_up",
                    _present(
                        {
                            "tuya.attempt": attempt.attempt,
                            "tuya.retry.reason": attempt.retry,
                            "tuya.retry.delay_s": attempt.retry_in_s if attempt.retry else None,
                            "http.response.status_code": attempt.http_status,
                            "tuya.code": attempt.code,
                            "tuya.tid": attempt.tid,
                        }
                    ),
                    timestamp=at,
                )
        if event.error is not None:
            span.set_status(Status(StatusCode.ERROR, event.error))
        span.end(end_time=end)


def _span_attributes(event: CallEvent) -> dict[str, Any]:
    attributes = _present(
        {
            **_where(event),
            "tuya.attempts": event.attempts,
            "http.request.resend_count": event.attempts - 1 if event.attempts > 1 else None,
            "http.response.status_code": event.http_status,
            "error.type": event.error,
            "tuya.code": event.code,
            "tuya.tid": event.tid,
        }
    )
    if not event.route.startswith(_TOKEN_ROUTE_PREFIX):
        attributes.update({f"tuya.path.{name}": value for name, value in event.path_args.items()})
    return attributes


hook = OpenTelemetryHook
"""Make the hook: ``TuyaClient(..., hooks=[tuyaio.otel.hook()])``."""
