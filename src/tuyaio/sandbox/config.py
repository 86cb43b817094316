"""What a sandbox looks like: credentials, clock, latency, faults, limits and seeded data."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "FAULT_ABORT_AFTER",
    "FAULT_ENVELOPE_500",
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
FAULT_ABORT_AFTER = "abort_after"
FAULT_SLOW = "slow"
FAULT_RATE_LIMIT = "rate_limit"
FAULT_KINDS = frozenset(
    {
        FAULT_ENVELOPE_500,
        FAULT_HTTP_502,
        FAULT_HTTP_503,
        FAULT_ABORT_AFTER,
        FAULT_SLOW,
        FAULT_RATE_LIMIT,
    }
)


def _kinds(kinds: Iterable[str]) -> frozenset[str]:
    return frozenset(kinds)


def _known_kinds(_instance: object, _attribute: object, kinds: frozenset[str]) -> None:
    unknown = kinds - FAULT_KINDS
    if unknown or not kinds:
        raise ValueError(f"fault kinds must be a non-empty subset of {sorted(FAULT_KINDS)}")


@attrs.frozen(kw_only=True)
class FaultConfig:
    """Injected failures: each business request fails with probability ``rate``, its kind drawn
    uniformly from ``kinds``. ``routes`` limits faults to some route templates
    (``"GET /v1.0/…"``); token routes are spared unless ``include_token_routes``."""

    rate: float = attrs.field(
        default=0.0, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    kinds: frozenset[str] = attrs.field(
        default=FAULT_KINDS, converter=_kinds, validator=_known_kinds
    )
    slow_s: float = 5.0
    routes: frozenset[str] | None = None
    include_token_routes: bool = False


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """A sandbox's settings; ``attrs.evolve`` it, or ``Sandbox.configure(...)`` while running."""

    client_id: str = "sandbox-client-id"
    secret: str = attrs.field(default="sandbox-secret-0123456789abcdef", repr=False)
    token_ttl_s: float = 7200
    clock_skew_s: float = 0.0
    time_window_s: float = 300.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    rate_limit_rps: float | None = None
    rate_limit_burst: int | None = None
    faults: FaultConfig = FaultConfig()
    seed: int = 0
    maintenance_projects: tuple[str, ...] = ("1233823965050001",)
    tasks: int = 300
    lighting_projects: tuple[str, ...] = ("1333361826326470001",)
    rooms: int = 2000
    records: int = 50
