"""RedisTokenStore: one token for a fleet, renewed under a lock, written only by its holder."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import cattrs
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.exceptions import RedisError

from ..tokens import MemoryTokenStore, Token
from ..validation import check_number, check_positive_number
from . import _scripts
from ._breaker import RETRY_MAX_S, RedisBacked, RedisClient, logger, refused, text
from ._errors import RedisUnavailableError, TokenLockTimeoutError

_CLEARED_TTL_MS = 24 * 3600 * 1000  # how long a cleared token's marker stays

_HELD: contextvars.ContextVar[tuple[object, str, str] | None] = contextvars.ContextVar(
    "tuyaio_fleet_held_lock", default=None
)
"""(store, key, owner) of the token lock the running task holds in Redis."""


class RedisTokenStore(RedisBacked):
    """A :class:`~tuyaio.TokenStore` in Redis: one token, renewed once, for a fleet of workers.

    The token is a hash under ``{prefix}:token:{{key}}`` (``key``: the client's host and
    client_id; the braces keep every key of a client on one Redis Cluster slot). A worker that
    must renew takes the lock ``{prefix}:token-lock:{{key}}`` (``SET NX PX``, a random owner
    value, extended every ``lock_ttl / 3`` while held), re-reads the token, and only then calls
    Tuya; the others poll for the lock for ``lock_wait`` seconds at most. A worker that dies
    holding it blocks the fleet for ``lock_ttl`` at most (use the same on every worker).

    Writes are fenced: a token is stored only by the worker that still holds the lock, and never
    over one that expires later. A worker paused past ``lock_ttl`` keeps the token it got to
    itself. A worker that finds the token gone (``FLUSHALL``, a failover that lost it) publishes
    the one it knows; one that knows none asks the running workers for theirs (pub/sub) before
    its manager grants.

    ``local_fallback=True``: while Redis fails, this worker uses a token of its own instead of
    raising :class:`RedisUnavailableError`. A token Redis refuses to store (``NOPERM``, ``OOM``)
    is kept in this worker, so the next renewal refreshes it rather than granting again. Tokens
    are stored in clear text. ``redis`` is a ``redis.asyncio.Redis`` (or a Sentinel's
    ``master_for()``) or a ``redis.asyncio.cluster.RedisCluster`` you own, or a URL for a client
    of 16 connections that :meth:`aclose` closes.
    """

    _alone = "using a token local to this worker"
    _shared = "sharing the fleet's token"

    def __init__(
        self,
        redis: RedisClient | str,
        *,
        prefix: str = "tuyaio",
        lock_ttl: float = 10.0,
        lock_wait: float = 60.0,
        timeout: float = 2.0,
        local_fallback: bool = False,
    ) -> None:
        super().__init__(redis, timeout)
        self._lock_ttl_ms = round(check_positive_number("lock_ttl", lock_ttl, minimum=0.01) * 1000)
        self._lock_wait = check_number("lock_wait", lock_wait)
        if self._lock_wait < 0:
            raise ValueError(f"lock_wait must be 0 or more, got {lock_wait!r}")
        self._prefix = prefix
        self._local = MemoryTokenStore()  # tokens Redis refused, and all of them when it fails
        self._fallback = self._local if local_fallback else None
        register = self._client.register_script
        self._acquire, self._if_owner = register(_scripts.ACQUIRE), register(_scripts.IF_OWNER)
        self._set_token, self._clear = register(_scripts.SET_TOKEN), register(_scripts.CLEAR)
        self._clears: dict[tuple[str, str], asyncio.Future[Any]] = {}  # of the last 16 tokens
        self._refusing = False
        self._known: dict[str, Token] = {}  # the fleet's token as this worker last saw it
        self._keepers: dict[str, asyncio.Task[None]] = {}

    def __repr__(self) -> str:
        return (
            f"RedisTokenStore(prefix={self._prefix!r}, lock_ttl={self._lock_ttl_ms / 1000:g}, "
            f"local_fallback={self._fallback is not None})"
        )

    def token_key(self, key: str) -> str:
        """The Redis key of the token record for the client key ``key``."""
        return f"{self._prefix}:token:{{{key}}}"

    def lock_key(self, key: str) -> str:
        """The Redis key of the renewal lock for the client key ``key``."""
        return f"{self._prefix}:token-lock:{{{key}}}"

    def _channel(self, key: str) -> str:
        return f"{self._prefix}:token-wanted:{{{key}}}"

    async def aclose(self) -> None:
        """Stop answering for the token, and close the Redis client if made from a URL."""
        for keeper in self._keepers.values():
            keeper.cancel()
        if self._keepers:
            await asyncio.wait(self._keepers.values())
        self._keepers.clear()
        await super().aclose()

    async def get(self, key: str) -> Token | None:
        """The stored token (or one this worker kept, if newer), or ``None``."""
        try:
            found, stored = await self._read(key)
            if not found:
                stored = await self._recover(key)
        except RedisUnavailableError as error:
            return await self._fall_back(error, self._fallback).get(key)
        tokens = [token for token in (stored, await self._local.get(key)) if token]
        return max(tokens, key=lambda token: token.expires_at_ms, default=None)

    async def _read(self, key: str, deadline: float | None = None) -> tuple[bool, Token | None]:
        """Whether the token key exists, and the token in it (remembered, and answered for
        while this worker runs)."""
        record = await self._repairing(key, "HGETALL", self._client.hgetall, deadline)
        if not record:
            return False, None
        try:
            stored = cattrs.structure({text(k): text(v) for k, v in record.items()}, Token)
        except cattrs.BaseValidationError:  # not a whole token: cleared, or corrupt
            return True, None
        self._know(key, stored)
        return True, stored

    def _know(self, key: str, token: Token) -> None:
        known = self._known.get(key)
        if known is None or known.expires_at_ms <= token.expires_at_ms:
            self._known[key] = token
        if key not in self._keepers:
            self._keepers[key] = asyncio.get_running_loop().create_task(self._keep(key))

    async def _recover(self, key: str) -> Token | None:
        """The token key is gone: publish the token this worker knows, or, knowing none, ask
        the running workers for theirs and wait (within the timeout) for one to publish it."""
        deadline = asyncio.get_running_loop().time() + self._timeout
        known = self._known.get(key)
        if known is not None:
            if await self._store(key, known, owner="", deadline=deadline) == 1:
                logger.warning("the fleet's token was gone from Redis; published this worker's")
            return (await self._read(key, deadline))[1]
        publish = self._client.spublish if self.cluster else self._client.publish
        channel = self._channel(key)
        try:
            asked = await self._run("the token request", publish, channel, b"?", deadline=deadline)
        except RedisUnavailableError as error:
            if not refused(error):
                raise
            asked = 0  # SPUBLISH needs Redis 7 on Cluster: nobody to ask
        if not asked:
            return None  # no running worker: a new fleet
        poll = 0.002
        while asyncio.get_running_loop().time() + poll < deadline:
            await asyncio.sleep(poll)
            found, token = await self._read(key, deadline)
            if found:
                return token
            poll = min(poll * 2, 0.05)
        return None

    async def _keep(self, key: str) -> None:
        """Answer the token requests of workers that found it gone, while this store runs."""
        channel, failures = self._channel(key), 0
        while True:
            client = self._client
            try:
                if isinstance(client, RedisCluster):  # sharded pub/sub, on the channel's node
                    await client.initialize()
                    node = client.get_node_from_key(channel)
                    if node is None:
                        raise RedisError(f"no Cluster node serves {channel!r}")
                    client = _node_client(node)
                pubsub = client.pubsub()
            except (RedisError, OSError):
                failures += 1
                await asyncio.sleep(min(RETRY_MAX_S * failures, 2.0) * random.uniform(0.5, 1))
                continue
            try:
                subscribe = pubsub.ssubscribe if client is not self._client else pubsub.subscribe
                await subscribe(channel)
                failures = 0
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                    known = self._known.get(key)
                    if message is not None and known is not None:
                        with contextlib.suppress(RedisUnavailableError):
                            if await self._store(key, known, owner="") == 1:
                                logger.warning("published this worker's token for a new worker")
            except (RedisError, OSError):  # Redis is down or failing over: subscribe again
                failures += 1
                await asyncio.sleep(min(RETRY_MAX_S * failures, 2.0) * random.uniform(0.5, 1))
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await asyncio.shield(pubsub.aclose())
                    if client is not self._client:
                        await asyncio.shield(client.aclose())

    async def _store(
        self, key: str, token: Token, *, owner: str, deadline: float | None = None
    ) -> int:
        """Run the fenced write: 1 stored, 0 lock lost (or a token there), -1 a later one is."""
        fields = [part for item in cattrs.unstructure(token).items() for part in item]
        keys, args = [self.token_key(key), self.lock_key(key)], [owner, token.expires_at_ms]
        stored = await self._run(
            "the token write", self._set_token, keys, [*args, *fields], deadline=deadline
        )
        return int(stored)

    async def set(self, key: str, token: Token) -> None:
        """Store a new token for the whole fleet (and keep it in this worker if Redis does not).

        Only the holder of the renewal lock stores it, and only over an earlier-expiring token;
        otherwise this worker keeps it to itself.
        """
        held = _HELD.get()
        owner = held[2] if held is not None and held[:2] == (self, key) else ""
        try:
            stored = await self._store(key, token, owner=owner)
        except RedisUnavailableError as error:
            await self._local.set(key, token)
            if not refused(error):
                self._fall_back(error, self._fallback)
                return
            if not self._refusing:  # Redis answers, but not with a yes: warn once, keep going
                logger.warning("%s; this worker keeps its token and does not grant again", error)
            self._refusing = True
            if self._fallback is None:
                raise
            return
        self._refusing = False
        if stored != 1:
            await self._local.set(key, token)
            why = "a token expiring later is stored" if stored else "the renewal lock was lost"
            logger.warning("%s; this worker keeps its new token to itself", why)
            return
        self._know(key, token)
        kept = await self._local.get(key)
        if kept is not None:  # the fleet's token is the one to use from now on
            await self._local.clear(key, access_token=kept.access_token)

    async def clear(self, key: str, *, access_token: str) -> None:
        """Forget the token if it still has this access token (one Redis round trip per token)."""
        await self._local.clear(key, access_token=access_token)
        known = self._known.get(key)
        if known is not None and known.access_token == access_token:
            del self._known[key]
        mark = (key, access_token)
        pending = self._clears.get(mark)
        if pending is None:
            name = self.token_key(key)
            command = self._run(
                "the token compare-and-delete",
                self._clear,
                [name],
                [access_token, _CLEARED_TTL_MS],
            )
            pending = self._clears[mark] = asyncio.ensure_future(command)
            if len(self._clears) > 16:
                del self._clears[next(iter(self._clears))]
        try:
            await asyncio.shield(pending)
        except RedisUnavailableError as error:
            if self._clears.get(mark) is pending:
                del self._clears[mark]  # the next clear of this token tries Redis again
            self._fall_back(error, self._fallback)

    async def _repairing(
        self,
        key: str,
        what: str,
        call: Callable[[str], Awaitable[Any]],
        deadline: float | None = None,
    ) -> Any:
        """``call(token key)``, run again if the key had another type (within one timeout)."""
        name = self.token_key(key)
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self._timeout
        try:
            return await self._run(what, call, name, deadline=deadline)
        except RedisUnavailableError as error:
            if not refused(error, "WRONGTYPE"):
                raise
        await self._run("the token key repair", self._clear, [name], deadline=deadline)
        logger.warning("the token key %r was not a hash; deleted it", name)
        return await self._run(what, call, name, deadline=deadline)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """The fleet-wide renewal lock for ``key`` (else TokenLockTimeoutError after lock_wait)."""
        name, owner = self.lock_key(key), secrets.token_hex(16)
        local = await self._take_lock(key, name, owner)
        if local is not None:
            async with local:
                yield
            return
        keep_alive = asyncio.get_running_loop().create_task(self._keep_lock(name, owner))
        held = _HELD.set((self, key, owner))
        try:
            yield
        finally:
            _HELD.reset(held)
            keep_alive.cancel()
            try:
                await self._run("the lock release", self._if_owner, [name], [owner, 0])
            except RedisUnavailableError as error:
                logger.warning("%s; the token lock expires by itself within its TTL", error)

    async def _take_lock(self, key: str, name: str, owner: str) -> asyncio.Lock | None:
        """Take the lock in Redis, or return this worker's own to hold instead if it fails."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait
        poll, args = 0.005, [owner, self._lock_ttl_ms]
        while True:
            try:
                taken, repaired = await self._run("the lock SET NX", self._acquire, [name], args)
            except RedisUnavailableError as error:
                return self._fall_back(error, self._fallback).lock(key)
            if repaired:
                logger.warning("the lock %r was of another type or had no TTL; repaired it", name)
            if taken:
                return None
            remaining = deadline - loop.time()
            if remaining <= 0:
                detail = f"another worker held the token lock for more than {self._lock_wait:g} s"
                raise TokenLockTimeoutError(detail=f"{detail} ({name!r})")
            await asyncio.sleep(min(remaining, random.uniform(poll / 2, poll)))
            poll = min(poll * 2, 0.1)

    async def _keep_lock(self, name: str, owner: str) -> None:
        """Extend the held lock every ``lock_ttl / 3``; stop once it is lost (the token write
        is then refused: the renewal's token stays in this worker)."""
        args, kept = [owner, self._lock_ttl_ms], True
        while kept:
            await asyncio.sleep(self._lock_ttl_ms / 3000)
            try:
                kept = await self._run("the lock extension", self._if_owner, [name], args)
            except RedisUnavailableError as error:
                logger.warning("%s; the token lock may lapse", error)
        logger.warning("the token lock %r lapsed during a renewal", name)


def _node_client(node: ClusterNode) -> aioredis.Redis:
    """A client of one Cluster node, with the cluster client's connection settings."""
    accepted = inspect.signature(aioredis.Redis.__init__).parameters
    settings = {name: value for name, value in node.connection_kwargs.items() if name in accepted}
    if issubclass(node.connection_class, SSLConnection):
        settings["ssl"] = True
    return aioredis.Redis(**settings)
