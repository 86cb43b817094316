"""OpenTelemetry traces and metrics for tuyaio (extra ``otel``: ``pip install 'tuyaio[otel]'``).

One call enables it: pass :func:`hook` to the client, which then records one CLIENT span per
API call and a few counters and histograms, through the providers you configured (or the
global ones)::

    import tuyaio.otel

    async with TuyaClient(client_id, secret, region="eu", hooks=[tuyaio.otel.hook()]) as client:
        await client.maintenance.get_task(project_id, task_id)

Give the hook to the client itself, not only to a ``with_options`` view: token grants and
refreshes are made with the client's own options, so a view's hooks never see them.

Spans are named by method and route template (``GET /v1.0/osaas/projects/{project_id}/...``)
and built when the call ends, with its real start and end times; they follow the OpenTelemetry
HTTP client conventions where they apply (``http.request.method``, ``url.template``,
``http.response.status_code``, ``error.type``, ``http.request.resend_count``) and add
``tuya.code``, ``tuya.tid``, ``tuya.attempts`` and the path's IDs (``tuya.path.project_id``,
never on token routes). Each failed attempt is a span event: ``retry`` (with its reason, HTTP
status and Tuya code) when another attempt followed, ``give_up`` for the last one. The span's
parent is the span current in the task that made the call.

Metrics (instrument names start with ``tuyaio.client.``): ``calls`` (by method, route, outcome,
``error.type``, ``tuya.code``), ``attempts`` (requests sent: what the project's quota counts),
``retries`` (by reason), ``token.fetches`` (``grant`` or ``refresh``), ``rate_limit.waits`` and
``rate_limit.wait.duration`` (seconds, by limiter), ``call.duration`` (seconds, retries
included). Attributes are low-cardinality: route templates, never IDs.

Nothing here holds a secret: events carry none (no token, secret or signature, and no path
arguments on a refresh route). The core of tuyaio does not import this module, nor
OpenTelemetry; a client without this hook pays nothing for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
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

_Key = tuple[str, str]
_Buffered = list[tuple[AttemptEvent, int]]


class _Pending:
    """The failed attempts of the calls still running in one task, until their CallEvent."""

    __slots__ = ("attempts", "owner")

    def __init__(self, owner: object) -> None:
        self.owner = owner
        self.attempts: dict[_Key, _Buffered] = {}


def _current_task() -> object:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop: a hook called by hand
        return None


class OpenTelemetryHook:
    """A tuyaio hook (``TuyaClient(hooks=[...])``) that turns events into spans and metrics.

    Make it with :func:`hook`. One instance may serve several clients. Failed attempts are kept
    per task (a context variable) until their call ends in the same task; calls in other tasks
    (``gather``, token renewals) keep theirs apart.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
        self._calls = meter.create_counter(
            "tuyaio.client.calls", unit="{call}", description="API calls finished"
        )
        self._attempts = meter.create_counter(
            "tuyaio.client.attempts",
            unit="{request}",
            description="Requests sent, retries and token calls included (the quota's count)",
        )
        self._retries = meter.create_counter(
            "tuyaio.client.retries", unit="{retry}", description="Attempts followed by another"
        )
        self._tokens = meter.create_counter(
            "tuyaio.client.token.fetches", unit="{token}", description="Token grants and refreshes"
        )
        self._waits = meter.create_counter(
            "tuyaio.client.rate_limit.waits",
            unit="{wait}",
            description="Calls that waited for their turn",
        )
        self._waited = meter.create_histogram(
            "tuyaio.client.rate_limit.wait.duration",
            unit="s",
            description="How long calls waited for their turn",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self._duration = meter.create_histogram(
            "tuyaio.client.call.duration",
            unit="s",
            description="Duration of API calls, retries and waits included",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
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
            attributes = {
                "http.request.method": event.method,
                "url.template": event.route,
                "tuya.rate_limit.limiter": event.limiter,
            }
            self._waits.add(1, attributes)
            self._waited.record(event.waited_s, attributes)
        elif isinstance(event, TokenEvent):
            self._tokens.add(1, {"tuya.token.kind": event.kind})

    def _buffer(self) -> dict[_Key, _Buffered]:
        owner = _current_task()
        pending = self._pending.get()
        if pending is None or pending.owner is not owner:
            # A task inherits its parent's context: it gets a buffer of its own.
            pending = _Pending(owner)
            self._pending.set(pending)
        return pending.attempts

    def _attempt(self, event: AttemptEvent) -> None:
        key = (event.method, event.route)
        buffer = self._buffer()
        if event.attempt <= 1 or key not in buffer:
            buffer[key] = []  # a call that never ended (cancelled) leaves nothing behind
        buffer[key].append((event, time.time_ns()))
        if event.retry is not None:
            self._retries.add(
                1,
                {
                    "http.request.method": event.method,
                    "url.template": event.route,
                    "tuya.retry.reason": event.retry,
                },
            )

    def _call(self, event: CallEvent) -> None:
        end = time.time_ns()
        pending = self._pending.get()
        attempts: _Buffered = []
        if pending is not None and pending.owner is _current_task():
            attempts = pending.attempts.pop((event.method, event.route), [])
        name = f"{event.method} {event.route}"
        metric: dict[str, Any] = {
            "http.request.method": event.method,
            "url.template": event.route,
            "tuya.outcome": "ok" if event.ok else "error",
        }
        if event.error is not None:
            metric["error.type"] = event.error
        if event.code is not None:
            metric["tuya.code"] = event.code
        self._calls.add(1, metric)
        self._attempts.add(
            event.attempts, {"http.request.method": event.method, "url.template": event.route}
        )
        self._duration.record(event.elapsed_s, metric)

        span = self._tracer.start_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=_span_attributes(event),
            start_time=end - max(0, int(event.elapsed_s * 1e9)),
        )
        for attempt, at in attempts:
            if attempt.attempt <= event.attempts:
                span.add_event(
                    "retry" if attempt.retry is not None else "give_up",
                    _attempt_attributes(attempt),
                    timestamp=at,
                )
        if event.error is not None:
            span.set_status(Status(StatusCode.ERROR, event.error))
        span.end(end_time=end)


def _span_attributes(event: CallEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": event.method,
        "url.template": event.route,
        "tuya.attempts": event.attempts,
    }
    if event.attempts > 1:
        attributes["http.request.resend_count"] = event.attempts - 1
    if event.http_status is not None:
        attributes["http.response.status_code"] = event.http_status
    if event.error is not None:
        attributes["error.type"] = event.error
    if event.code is not None:
        attributes["tuya.code"] = event.code
    if event.tid:
        attributes["tuya.tid"] = event.tid
    if not event.route.startswith(_TOKEN_ROUTE_PREFIX):
        attributes.update(_path_attributes(event.path_args))
    return attributes


def _path_attributes(path_args: Mapping[str, str]) -> dict[str, str]:
    return {f"tuya.path.{name}": value for name, value in path_args.items()}


def _attempt_attributes(event: AttemptEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = {"tuya.attempt": event.attempt}
    if event.retry is not None:
        attributes["tuya.retry.reason"] = event.retry
        attributes["tuya.retry.delay_s"] = event.retry_in_s
    if event.http_status is not None:
        attributes["http.response.status_code"] = event.http_status
    if event.code is not None:
        attributes["tuya.code"] = event.code
    if event.tid:
        attributes["tuya.tid"] = event.tid
    return attributes


def hook(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> OpenTelemetryHook:
    """A hook that records tuyaio's calls as OpenTelemetry spans and metrics.

    Pass it to the client: ``TuyaClient(..., hooks=[tuyaio.otel.hook()])``. ``tracer_provider``
    and ``meter_provider`` default to the global ones (``opentelemetry.trace.set_tracer_provider``
    …); without an SDK configured, the API's no-op providers make it cost next to nothing.
    """
    return OpenTelemetryHook(tracer_provider=tracer_provider, meter_provider=meter_provider)
