"""RedisCallQuota: one budget of requests for a fleet, which notices when Redis lost its count."""

from __future__ import annotations

import math
import secrets

from ..quota import LocalCallQuota
from ..validation import check_count, check_positive_number
from . import _scripts
from ._breaker import RedisBacked, RedisClient, logger, text
from ._errors import QuotaStateLostError, RedisUnavailableError


class RedisCallQuota(RedisBacked):
    """A fleet-wide budget of requests in Redis: ``limit`` in all, or per ``window`` seconds.

    For ``TuyaClient(call_quota=...)``: workers that pass the same ``key`` spend one budget
    (retries and token calls count), checked and counted by a Lua script so that it is never
    overspent; then requests are refused with :class:`~tuyaio.CallBudgetExceededError`. A window
    starts with its first request (without one, the budget lasts until the key is deleted). With
    ``local_fallback=n``, a worker may send ``n`` requests (per window) of its own while Redis
    fails. A request that timed out in Redis may still be counted: the budget errs on spent.

    The count lives in ``{prefix}:quota:{{key}}`` beside an epoch, ``{prefix}:quota-epoch:{{key}}``.
    If Redis loses them (``FLUSHALL``, a failover that lost the last writes, an eviction), a
    worker that had seen the epoch marks the budget spent, for a window or until :meth:`reset`,
    and refuses with :class:`QuotaStateLostError` rather than counting from zero again.
    """

    _shared = "spending the fleet's call budget"

    def __init__(
        self,
        redis: RedisClient | str,
        key: str,
        limit: int,
        *,
        window: float | None = None,
        prefix: str = "tuyaio",
        timeout: float = 2.0,
        local_fallback: int | None = None,
    ) -> None:
        super().__init__(redis, timeout)
        if not key:
            raise ValueError("key must be a non-empty string, e.g. the project's client_id")
        self.key: str = f"{prefix}:quota:{{{key}}}"
        """The Redis key that holds the count."""
        self.epoch_key: str = f"{prefix}:quota-epoch:{{{key}}}"
        """The Redis key that tells a budget that lost its count from one that never had one."""
        self.limit: int = check_count("limit", limit, minimum=1)
        self.window: float | None = (
            None if window is None else check_positive_number("window", window)
        )
        self._fallback: LocalCallQuota | None = None
        if local_fallback is not None:
            share = check_count("local_fallback", local_fallback, minimum=1)
            self._fallback = LocalCallQuota(share, window=self.window)
        self._alone = f"spending this worker's local share of the call budget ({local_fallback})"
        window_ms = 0 if self.window is None else max(1, math.ceil(self.window * 1000))
        self._args = [self.limit, window_ms]
        self._epoch = ""  # the epoch this worker saw last
        self._spend = self._client.register_script(_scripts.SPEND)
        self._reset = self._client.register_script(_scripts.RESET)

    def __repr__(self) -> str:
        return f"RedisCallQuota(limit={self.limit}, window={self.window}, key={self.key!r})"

    async def take(self) -> bool:
        """Spend one request of the fleet's budget; False when it is spent (in this window).

        Raises :class:`QuotaStateLostError` instead of False while the budget counts as spent
        because Redis lost its state.
        """
        args = [*self._args, self._epoch, secrets.token_hex(8)]
        keys = [self.key, self.epoch_key]
        try:
            taken, repaired, epoch, lost = await self._run(
                "the quota script", self._spend, keys, args
            )
        except RedisUnavailableError as error:
            return await self._fall_back(error, self._fallback).take()
        first_loss = bool(lost) and text(epoch) != self._epoch
        self._epoch = text(epoch)
        if repaired:
            logger.warning("the call budget %r was corrupt; started it again", self.key)
        if first_loss:
            logger.warning(
                "the call budget %r lost its count in Redis; it counts as spent", self.key
            )
        if lost and not taken:
            raise QuotaStateLostError(
                detail=(
                    f"the call budget {self.key!r} lost its count in Redis (FLUSHALL, a failover "
                    "or an eviction): it counts as spent "
                    + ("until reset()" if self.window is None else "for one window")
                )
            )
        return bool(taken)

    async def used(self) -> int:
        """Requests the fleet has spent so far (in the current window; 0 before the first)."""
        value = await self._run("the quota read", self._client.get, self.key)
        return int(value) if value and value.isdigit() else 0

    async def reset(self) -> None:
        """Start the budget again from zero, for every worker: after a loss of state, once you
        know how much of it was spent (or to start a new budget)."""
        keys = [self.key, self.epoch_key]
        await self._run("the quota reset", self._reset, keys, [secrets.token_hex(8)])
