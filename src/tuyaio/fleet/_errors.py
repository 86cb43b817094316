"""The fleet's errors: all :class:`~tuyaio.TuyaError`, so one ``except`` catches every failure."""

from __future__ import annotations

import attrs

from ..errors import TuyaError

__all__ = ["FleetError", "QuotaStateLostError", "RedisUnavailableError", "TokenLockTimeoutError"]


@attrs.define(kw_only=True, eq=False, str=False)
class FleetError(TuyaError):
    """Fleet coordination through Redis failed; ``detail`` says how."""

    detail: str = ""

    def __str__(self) -> str:
        return self.detail


class RedisUnavailableError(FleetError):
    """Redis could not be reached, did not answer within the timeout, or refused a command."""


class TokenLockTimeoutError(FleetError):
    """Another worker held the token lock for longer than this worker was willing to wait."""


class QuotaStateLostError(FleetError):
    """The fleet's call budget lost its count in Redis (``FLUSHALL``, a failover that lost the
    last writes, an eviction): it counts as spent until its window ends, or until
    :meth:`~tuyaio.fleet.RedisCallQuota.reset`. Nothing was sent."""
