"""OpenTelemetry: spans and metrics of a real client against the sandbox; no secret in them."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import tuyaio.otel
from tuyaio import OutcomeUnknownError, TuyaClient
from tuyaio.events import Event
from tuyaio.ratelimit import TokenBucket
from tuyaio.sandbox import (
    FAULT_ABORT_AFTER,
    FAULT_HTTP_502,
    FAULT_RATE_LIMIT,
    FaultConfig,
    Sandbox,
)

from .conftest import ClientFactory, SandboxFactory, task_args

LIST_TASKS = "/v1.0/osaas/projects/{project_id}/maintenance/tasks"
GET_TASK = "/v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}"
CREATE_TASK = "/v1.0/osaas/projects/{project_id}/maintenance/task"
GRANT, REFRESH = "/v1.0/token", "/v1.0/token/{refresh_token}"


def paced() -> TokenBucket:
    """Requests 20 ms apart: calls made at once wait for their turn."""
    return TokenBucket(50.0, burst=1)


SRC = Path(__file__).resolve().parents[1] / "src"


@attrs.frozen
class Telemetry:
    """An SDK set up in memory, and the hook that feeds it."""

    hook: tuyaio.otel.OpenTelemetryHook
    tracer_provider: TracerProvider
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader

    def finished(self) -> Sequence[ReadableSpan]:
        return self.spans.get_finished_spans()

    def named(self, method: str, route: str) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.name == f"{method} {route}"]

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def total(self, name: str, **where: Any) -> float:
        """The sum of a counter (or the count of a histogram) over points matching ``where``."""
        total = 0.0
        for point in self.points(name):
            attributes = dict(point.attributes)
            if all(attributes.get(key) == value for key, value in where.items()):
                total += point.count if isinstance(point, HistogramDataPoint) else point.value
        return total

    def everything(self) -> str:
        """Every span (name, attributes, events, resource) and every metric, as text."""
        data = self.reader.get_metrics_data()
        metrics = data.to_json() if data is not None else ""
        return "\n".join(span.to_json() for span in self.finished()) + metrics


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    hook = tuyaio.otel.hook(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield Telemetry(hook, tracer_provider, spans, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


async def _day(sandbox: Sandbox, client: TuyaClient) -> set[str]:
    """Retries under faults, a token refresh, rate-limit waits, an unknown create; returns the
    IDs of the tasks read."""
    project = sandbox.project_id
    sandbox.configure(faults=FaultConfig(rate=0.5, kinds={FAULT_HTTP_502, FAULT_RATE_LIMIT}))
    for _ in range(20):
        await client.maintenance.list_tasks(project)
    sandbox.configure(faults=FaultConfig(), clock_skew_s=40.0)  # the token expired there: refresh
    task_ids = [task["task_id"] for task in sandbox.state.tasks(project)[:5]]
    await asyncio.gather(*(client.maintenance.get_task(project, t) for t in task_ids))
    create = f"POST {CREATE_TASK}"
    sandbox.configure(faults=FaultConfig(rate=1.0, kinds={FAULT_ABORT_AFTER}, routes={create}))
    with pytest.raises(OutcomeUnknownError):
        await client.maintenance.create_task(project, **task_args(sandbox))
    return set(task_ids)


async def test_spans_and_metrics_of_retries_refresh_waits_and_an_unknown_create(
    make_sandbox: SandboxFactory, make_client: ClientFactory, telemetry: Telemetry
) -> None:
    sandbox = await make_sandbox(tasks=5, token_ttl_s=30)
    client = await make_client(sandbox, hooks=[telemetry.hook], rate_limit=paced())
    project = sandbox.project_id
    job = telemetry.tracer_provider.get_tracer("test").start_as_current_span("nightly job")
    with job as parent:
        task_ids = await _day(sandbox, client)

    lists = telemetry.named("GET", LIST_TASKS)
    assert len(lists) == 20
    retried = 0
    for span in lists:
        attributes = span.attributes
        assert attributes is not None
        assert span.kind is SpanKind.CLIENT
        assert span.status.status_code is StatusCode.UNSET
        assert span.parent is not None
        assert span.parent.span_id == parent.get_span_context().span_id
        assert attributes["http.request.method"] == "GET"
        assert attributes["url.template"] == LIST_TASKS
        assert attributes["http.response.status_code"] == 200
        assert attributes["tuya.path.project_id"] == project
        assert attributes["tuya.tid"]
        attempts = attributes["tuya.attempts"]
        assert isinstance(attempts, int)
        assert attributes.get("http.request.resend_count", 0) == attempts - 1
        assert [event.name for event in span.events] == ["retry"] * (attempts - 1)
        assert span.start_time is not None
        assert span.end_time is not None
        for event in span.events:
            assert span.start_time <= event.timestamp <= span.end_time
            assert event.attributes is not None
            assert event.attributes["tuya.retry.reason"] in {"server_error", "rate_limit"}
        retried += attempts - 1
    reasons = {e.attributes["tuya.retry.reason"] for s in lists for e in s.events if e.attributes}
    assert reasons == {"server_error", "rate_limit"}
    statuses = {e.attributes.get("http.response.status_code") for s in lists for e in s.events}
    codes = {e.attributes.get("tuya.code") for s in lists for e in s.events if e.attributes}
    assert 502 in statuses
    assert 1199 in codes  # the sandbox's rate-limit code, in a 200 answer
    assert retried > 0
    assert telemetry.total("tuyaio.client.retries", **{"url.template": LIST_TASKS}) == retried

    grant, refresh = telemetry.named("GET", GRANT), telemetry.named("GET", REFRESH)
    assert (len(grant), len(refresh)) == (1, 1)
    for span in grant + refresh:
        assert span.attributes is not None
        assert not [key for key in span.attributes if key.startswith("tuya.path.")]
    assert telemetry.total("tuyaio.client.token.fetches", **{"tuya.token.kind": "grant"}) == 1
    assert telemetry.total("tuyaio.client.token.fetches", **{"tuya.token.kind": "refresh"}) == 1

    gets = telemetry.named("GET", GET_TASK)
    assert len(gets) == 5
    assert {span.attributes["tuya.path.task_id"] for span in gets if span.attributes} == task_ids
    waits = telemetry.total(
        "tuyaio.client.rate_limit.waits", **{"tuya.rate_limit.limiter": "client"}
    )
    assert waits >= 4  # five calls at once, 50 per second one at a time
    assert telemetry.total("tuyaio.client.rate_limit.wait.duration") == waits + telemetry.total(
        "tuyaio.client.rate_limit.waits", **{"tuya.rate_limit.limiter": "adaptive"}
    )
    waited = [p.sum for p in telemetry.points("tuyaio.client.rate_limit.wait.duration")]
    assert sum(waited) > 0.05

    (create,) = telemetry.named("POST", CREATE_TASK)
    assert create.attributes is not None
    assert create.status.status_code is StatusCode.ERROR
    assert create.attributes["error.type"] == "OutcomeUnknownError"
    assert "http.response.status_code" not in create.attributes  # no answer came back
    assert [event.name for event in create.events][-1] == "give_up"
    assert (
        telemetry.total(
            "tuyaio.client.calls", **{"tuya.outcome": "error", "error.type": "OutcomeUnknownError"}
        )
        == 1
    )

    # The metrics agree with the client's own accounts.
    usage = client.usage
    assert telemetry.total("tuyaio.client.calls") == usage.calls == len(telemetry.finished()) - 1
    assert telemetry.total("tuyaio.client.attempts") == usage.attempts
    assert telemetry.total("tuyaio.client.calls", **{"url.template": LIST_TASKS}) == 20
    assert telemetry.total("tuyaio.client.call.duration") == usage.calls
    for span in telemetry.finished():
        assert span.start_time is not None
        assert span.end_time is not None
        assert span.start_time <= span.end_time


async def test_no_secret_reaches_a_span_an_event_or_a_metric(
    make_sandbox: SandboxFactory, make_client: ClientFactory, telemetry: Telemetry
) -> None:
    sandbox = await make_sandbox(tasks=5, token_ttl_s=30)
    client = await make_client(sandbox, hooks=[telemetry.hook], rate_limit=paced())
    first = await client.authenticate()
    await _day(sandbox, client)
    current = client._transport.tokens.current
    assert current is not None
    assert current.access_token != first.access_token  # refreshed: both pairs were in use
    text = telemetry.everything()
    assert telemetry.named("GET", REFRESH)
    secrets = {
        sandbox.secret,
        first.access_token,
        first.refresh_token,
        current.access_token,
        current.refresh_token,
    }
    for secret in secrets:
        assert secret not in text
    json.loads(telemetry.finished()[0].to_json())  # the text searched is the exported form


async def test_concurrent_calls_keep_their_retries_apart(
    make_sandbox: SandboxFactory, make_client: ClientFactory, telemetry: Telemetry
) -> None:
    sandbox = await make_sandbox(tasks=30)
    client = await make_client(sandbox, hooks=[telemetry.hook])
    project = sandbox.project_id
    sandbox.configure(faults=FaultConfig(rate=0.4, kinds={FAULT_HTTP_502}))
    task_ids = [task["task_id"] for task in sandbox.state.tasks(project)]
    await asyncio.gather(*(client.maintenance.get_task(project, t) for t in task_ids))
    spans = telemetry.named("GET", GET_TASK)
    assert len(spans) == 30
    for span in spans:
        assert span.attributes is not None
        attempts = span.attributes["tuya.attempts"]
        assert isinstance(attempts, int)
        assert len(span.events) == attempts - 1
        numbers = [event.attributes["tuya.attempt"] for event in span.events if event.attributes]
        assert numbers == list(range(1, attempts))
    assert sum(len(span.events) for span in spans) > 0


class _BrokenExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise RuntimeError("the collector is down")


async def test_a_raising_hook_or_exporter_does_not_fail_the_call(
    sandbox: Sandbox,
    make_client: ClientFactory,
    telemetry: Telemetry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(_BrokenExporter()))
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("a broken hook")

    client = await make_client(sandbox, hooks=[broken, telemetry.hook, seen.append])
    project = sandbox.project_id
    with caplog.at_level(logging.WARNING):
        page = await client.maintenance.list_tasks(project)
    assert page.total > 0
    assert len(telemetry.named("GET", LIST_TASKS)) == 1  # the working exporter still got it
    assert len(seen) == 3  # the grant's call and token event, the listing's call
    assert "a tuyaio hook raised" in caplog.text


async def test_a_client_without_the_hook_carries_nothing(
    sandbox: Sandbox, make_client: ClientFactory
) -> None:
    client = await make_client(sandbox)
    assert client._options.hooks == ()
    assert client._transport.options.hooks == ()


def test_importing_tuyaio_does_not_import_opentelemetry() -> None:
    script = (
        "import sys, tuyaio, tuyaio.sandbox, tuyaio.quota, tuyaio.events\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], 'imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
