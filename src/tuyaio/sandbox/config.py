"""What a sandbox looks like: credentials, clock, latency, faults, limits and seeded data."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import partial
from typing import Any

import attrs
from attrs.validators import and_, deep_iterable, ge, gt, in_, instance_of, le, min_len, optional

from ..validation import check_count, check_int, check_number, field_check

FAULT_ENVELOPE_500 = "envelope_500"
FAULT_HTTP_502 = "http_502"
FAULT_HTTP_503 = "http_503"
FAULT_HTTP_429 = "http_429"
FAULT_ABORT_AFTER = "abort_after"
FAULT_SLOW = "slow"
FAULT_RATE_LIMIT = "rate_limit"
FAULT_KINDS = frozenset(
    {
        FAULT_ENVELOPE_500,
        FAULT_HTTP_502,
        FAULT_HTTP_503,
        FAULT_HTTP_429,
        FAULT_ABORT_AFTER,
        FAULT_SLOW,
        FAULT_RATE_LIMIT,
    }
)

_finite = field_check(check_number)
_non_negative = [_finite, ge(0)]
_positive = [_finite, gt(0)]
_text = instance_of(str)


def _count(minimum: int) -> Any:
    return field_check(partial(check_count, minimum=minimum))


def _frozen(value: Any) -> Any:
    """A collection as a frozenset; a lone string stays one, for the validator to refuse."""
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        return frozenset(value)
    return value


def _collection_of(kind: type, member: Any) -> Any:
    return deep_iterable(member, and_(instance_of(kind), min_len(1)))


def _known_routes(_instance: object, _attribute: object, routes: frozenset[str] | None) -> None:
    """Refuse a route the sandbox does not answer: a typo would silently inject nothing."""
    from .app import route_names  # here: app imports this module

    known = route_names()
    for route in sorted((routes or frozenset()) - known):
        close = difflib.get_close_matches(route, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (write 'METHOD /path/{template}')"
        raise ValueError(f"FaultConfig.routes: the sandbox has no route {route!r}{hint}")


@attrs.frozen(kw_only=True)
class FaultConfig:
    """Injected failures: each business request fails with probability ``rate``, its kind drawn
    uniformly from ``kinds``. ``routes`` limits faults to some routes, each written as the method
    and the route template (``"GET /v1.0/…/tasks/{task_id}"``); token routes are spared unless
    ``include_token_routes``; a route the sandbox does not answer is a ValueError.

    Kinds: ``envelope_500`` (``success: false``, code 500), ``http_502``/``http_503`` (an HTML
    gateway page), ``http_429`` (with ``Retry-After: retry_after_s``), ``rate_limit`` (code 1199)
    — all answered before processing; ``slow`` (waits ``slow_s``, then processes and answers);
    ``abort_after`` (processes the request, then drops the connection without an answer: the
    outcome the caller cannot know). Aimed at one action, ``abort_after`` tests what a caller's
    code does when, say, an acceptance went through but its answer was lost::

        accept = "POST /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}/acceptance"
        FaultConfig(rate=0.25, kinds={FAULT_ABORT_AFTER}, routes={accept})
    """

    rate: float = attrs.field(default=0.0, validator=[*_non_negative, le(1)])
    kinds: frozenset[str] = attrs.field(
        default=FAULT_KINDS,
        converter=_frozen,
        validator=_collection_of(frozenset, in_(FAULT_KINDS)),
    )
    slow_s: float = attrs.field(default=5.0, validator=_non_negative)
    retry_after_s: int = attrs.field(default=1, validator=_count(0))
    """The ``Retry-After`` of an ``http_429`` answer, in whole seconds."""
    routes: frozenset[str] | None = attrs.field(
        default=None,
        converter=_frozen,
        validator=optional([deep_iterable(_text, instance_of(frozenset)), _known_routes]),
    )
    include_token_routes: bool = attrs.field(default=False, validator=instance_of(bool))


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """A sandbox's settings; ``attrs.evolve`` it, or ``Sandbox.configure(...)`` while running.

    Counts are ints of 0 or more, times and latencies finite numbers (``token_ttl_s``,
    ``time_window_s`` and ``rate_limit_rps`` above 0, latencies 0 or more); a bad value is a
    ValueError or TypeError naming the field.
    """

    client_id: str = attrs.field(default="sandbox-client-id", validator=_text)
    secret: str = attrs.field(
        default="sandbox-secret-0123456789abcdef", repr=False, validator=_text
    )
    token_ttl_s: float = attrs.field(default=7200, validator=_positive)
    clock_skew_s: float = attrs.field(default=0.0, validator=_finite)
    time_window_s: float = attrs.field(default=300.0, validator=_positive)
    latency_ms: float = attrs.field(default=0.0, validator=_non_negative)
    latency_jitter_ms: float = attrs.field(default=0.0, validator=_non_negative)
    rate_limit_rps: float | None = attrs.field(default=None, validator=optional(_positive))
    rate_limit_burst: int | None = attrs.field(default=None, validator=optional(_count(1)))
    faults: FaultConfig = attrs.field(factory=FaultConfig, validator=instance_of(FaultConfig))
    seed: int = attrs.field(default=0, validator=field_check(check_int))
    maintenance_projects: tuple[str, ...] = attrs.field(
        default=("1233823965050001",), validator=_collection_of(tuple, _text)
    )
    tasks: int = attrs.field(default=300, validator=_count(0))
    lighting_projects: tuple[str, ...] = attrs.field(
        default=("1333361826326470001",), validator=_collection_of(tuple, _text)
    )
    rooms: int = attrs.field(default=2000, validator=_count(0))
    records: int = attrs.field(default=50, validator=_count(0))
    workers: int = attrs.field(default=12, validator=_count(1))
    """The account's workers: the ``worker_id`` values a task may name."""
    maintenance_rooms: int = attrs.field(default=40, validator=_count(1))
    """Rooms of each maintenance project (the first is ``145267896505001``)."""
    devices_per_room: int = attrs.field(default=3, validator=_count(1))
    """Devices of each maintenance room (the first is ``00122433001``)."""
    page_size_cap: int | None = attrs.field(default=None, validator=optional(_count(1)))
    """At most this many items a page, whatever the page size asked for (``None``: no cap), with
    the listing's true ``total``, as some servers do; pages are counted at the capped size."""
