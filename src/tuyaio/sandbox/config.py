"""What a sandbox looks like: credentials, clock, latency, faults, limits and seeded data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ..validation import check_count, check_int, check_number, field_check

__all__ = [
    "FAULT_ABORT_AFTER",
    "FAULT_ENVELOPE_500",
    "FAULT_HTTP_429",
    "FAULT_HTTP_502",
    "FAULT_HTTP_503",
    "FAULT_KINDS",
    "FAULT_RATE_LIMIT",
    "FAULT_SLOW",
    "FaultConfig",
    "SandboxConfig",
]

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


def _kinds(kinds: Iterable[str]) -> frozenset[str]:
    if isinstance(kinds, (str, bytes)):
        raise TypeError(f"kinds must be a set of fault kinds, not a {type(kinds).__name__}")
    return frozenset(kinds)


def _routes(routes: Iterable[str] | None) -> frozenset[str] | None:
    if routes is None:
        return None
    if isinstance(routes, (str, bytes)) or not isinstance(routes, Iterable):
        raise TypeError(
            "routes must be a set of route templates such as {'GET /v1.0/…'}, "
            f"not a {type(routes).__name__}"
        )
    templates = frozenset(routes)
    for template in templates:
        if not isinstance(template, str):
            raise TypeError(f"routes must hold str, got {type(template).__name__}")
    return templates


_finite = field_check(check_number)
_non_negative = [_finite, attrs.validators.ge(0)]
_positive = [_finite, attrs.validators.gt(0)]
_probability = [_finite, attrs.validators.ge(0), attrs.validators.le(1)]
_seed = field_check(check_int)


def _int_at_least(minimum: int) -> Any:
    return field_check(lambda name, value: check_count(name, value, minimum=minimum))


def _projects(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{attribute.name} must be a tuple of str, got {value!r}")
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


def _known_kinds(_instance: object, _attribute: object, kinds: frozenset[str]) -> None:
    unknown = kinds - FAULT_KINDS
    if unknown or not kinds:
        raise ValueError(f"fault kinds must be a non-empty subset of {sorted(FAULT_KINDS)}")


@attrs.frozen(kw_only=True)
class FaultConfig:
    """Injected failures: each business request fails with probability ``rate``, its kind drawn
    uniformly from ``kinds``. ``routes`` limits faults to some routes, each written as the method
    and the route template (``"GET /v1.0/…/tasks/{task_id}"``); token routes are spared unless
    ``include_token_routes``.

    Kinds: ``envelope_500`` (``success: false``, code 500), ``http_502``/``http_503`` (an HTML
    gateway page), ``http_429`` (with ``Retry-After: retry_after_s``), ``rate_limit`` (code 1199)
    — all answered before processing; ``slow`` (waits ``slow_s``, then processes and answers);
    ``abort_after`` (processes the request, then drops the connection without an answer: the
    outcome the caller cannot know). Aimed at one action, ``abort_after`` tests what a caller's
    code does when, say, an acceptance went through but its answer was lost::

        accept = "POST /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}/acceptance"
        FaultConfig(rate=0.25, kinds={FAULT_ABORT_AFTER}, routes={accept})
    """

    rate: float = attrs.field(default=0.0, validator=_probability)
    kinds: frozenset[str] = attrs.field(
        default=FAULT_KINDS, converter=_kinds, validator=_known_kinds
    )
    slow_s: float = attrs.field(default=5.0, validator=_non_negative)
    retry_after_s: int = attrs.field(default=1, validator=_int_at_least(0))
    """The ``Retry-After`` of an ``http_429`` answer, in whole seconds."""
    routes: frozenset[str] | None = attrs.field(default=None, converter=_routes)
    include_token_routes: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """A sandbox's settings; ``attrs.evolve`` it, or ``Sandbox.configure(...)`` while running.

    Counts are ints of 0 or more, times and latencies finite numbers (``token_ttl_s``,
    ``time_window_s`` and ``rate_limit_rps`` above 0, latencies 0 or more); a bad value is a
    ValueError or TypeError naming the field.
    """

    client_id: str = attrs.field(
        default="sandbox-client-id", validator=attrs.validators.instance_of(str)
    )
    secret: str = attrs.field(
        default="sandbox-secret-0123456789abcdef",
        repr=False,
        validator=attrs.validators.instance_of(str),
    )
    token_ttl_s: float = attrs.field(default=7200, validator=_positive)
    clock_skew_s: float = attrs.field(default=0.0, validator=_finite)
    time_window_s: float = attrs.field(default=300.0, validator=_positive)
    latency_ms: float = attrs.field(default=0.0, validator=_non_negative)
    latency_jitter_ms: float = attrs.field(default=0.0, validator=_non_negative)
    rate_limit_rps: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_positive)
    )
    rate_limit_burst: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(_int_at_least(1))
    )
    faults: FaultConfig = attrs.field(
        factory=FaultConfig, validator=attrs.validators.instance_of(FaultConfig)
    )
    seed: int = attrs.field(default=0, validator=_seed)
    maintenance_projects: tuple[str, ...] = attrs.field(
        default=("1233823965050001",), validator=_projects
    )
    tasks: int = attrs.field(default=300, validator=_int_at_least(0))
    lighting_projects: tuple[str, ...] = attrs.field(
        default=("1333361826326470001",), validator=_projects
    )
    rooms: int = attrs.field(default=2000, validator=_int_at_least(0))
    records: int = attrs.field(default=50, validator=_int_at_least(0))
