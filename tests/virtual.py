"""Virtual time and a scripted server, for the core's timing cases in milliseconds.

:func:`run` runs a coroutine in an event loop whose clock jumps to the next timer whenever nothing
is ready, so a 20 s token grant or a 6 s deadline takes no real time and every figure is exact.
:class:`FakeServer` answers the client through a :class:`FakeExchange` (the core's exchange seam):
token grants by itself, every other request through the test's handler.
"""

from __future__ import annotations

import asyncio
import json
import selectors
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

import attrs
from yarl import URL

from tuyaio import TuyaClient
from tuyaio.clock import Clock, loop_time
from tuyaio.exchange import Answer, ExchangeError
from tuyaio.options import Timeout

T = TypeVar("T")

EPOCH_S = 1_765_000_000.0
"""The server's clock reads this at virtual time 0."""
STALL_S = 5.0
"""Real seconds a virtual loop waits for outside I/O before it declares itself stuck."""


class _Selector(selectors.BaseSelector):
    """A selector that, when nothing is ready, moves the loop's clock instead of waiting."""

    def __init__(self, loop: VirtualLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # no timer: only outside I/O can wake the loop
            ready = self._real.select(STALL_S)
            if not ready:
                raise RuntimeError("the virtual loop is stuck: nothing scheduled, nothing ready")
            return ready
        self._loop.now += timeout
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: ``time()`` starts at 0 and jumps to each next timer."""

    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self.now


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``main()`` run to completion on virtual time."""
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def now() -> float:
    """The running loop's (virtual) time in seconds."""
    return asyncio.get_running_loop().time()


@attrs.define
class Request:
    """One request the client sent, as the server saw it."""

    method: str
    url: URL
    headers: Mapping[str, str]
    body: bytes
    limits: Timeout
    fresh: bool
    at: float
    """Virtual time it arrived."""

    @property
    def path(self) -> str:
        return self.url.path


Handler = Callable[[Request], Awaitable[Answer]]


def envelope(
    result: Any = None, *, success: bool = True, code: int | None = None, msg: str = ""
) -> Answer:
    """A Tuya envelope stamped with the server's time."""
    document: dict[str, Any] = {"success": success, "t": int((EPOCH_S + now()) * 1000)}
    if success:
        document["result"] = result
    else:
        document.update(code=code, msg=msg)
    document["tid"] = "tid"
    return Answer(200, {"Content-Type": "application/json"}, json.dumps(document).encode())


@attrs.define
class FakeServer:
    """Answers token grants itself (after ``grant_delay_s``), every other request by ``handle``."""

    handle: Handler
    grant_delay_s: float = 0.0
    expire_time_s: int = 7200
    requests: list[Request] = attrs.field(factory=list)
    grants: int = 0

    def of(self, path_part: str) -> list[Request]:
        """The requests whose path holds ``path_part``."""
        return [r for r in self.requests if path_part in r.path]

    async def __call__(self, request: Request) -> Answer:
        self.requests.append(request)
        if request.path.startswith("/v1.0/token"):
            await asyncio.sleep(self.grant_delay_s)
            self.grants += 1
            token = {
                "access_token": f"access{self.grants}",
                "refresh_token": f"refresh{self.grants}",
                "expire_time": self.expire_time_s,
                "uid": "u",
            }
            return envelope(token)
        return await self.handle(request)


@attrs.define
class FakeExchange:
    """The core's exchange seam, answered by a :class:`FakeServer` on virtual time."""

    server: FakeServer
    closed: bool = False
    _serving: set[asyncio.Future[Answer]] = attrs.field(factory=set)

    async def send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes,
        limits: Timeout,
        *,
        fresh: bool = False,
    ) -> Answer:
        request = Request(method, url, dict(headers), body, limits, fresh, now())
        serving = asyncio.ensure_future(self.server(request))
        self._serving.add(serving)
        try:
            async with asyncio.timeout(limits.total):
                return await serving
        except TimeoutError:
            failure = ExchangeError("timeout", "the attempt timed out", sent=True)
        except asyncio.CancelledError:
            if not self.closed:
                raise
            failure = ExchangeError("closed", "the HTTP session is closed", sent=True)
        finally:
            serving.cancel()
            self._serving.discard(serving)
        raise failure

    async def close(self) -> None:
        """Like closing a session: what is in flight fails."""
        self.closed = True
        for serving in list(self._serving):
            serving.cancel()


@attrs.define
class Wall:
    """The client's wall clock: the server's, plus ``step_s`` (set it to step the clock)."""

    step_s: float = 0.0

    def __call__(self) -> float:
        return EPOCH_S + now() + self.step_s


def client_for(
    server: FakeServer, *, connections: int = 0, wall: Wall | None = None, **options: Any
) -> TuyaClient:
    """A real client whose requests go to ``server`` on virtual time (made inside :func:`run`)."""
    client = TuyaClient("client-id", "s" * 32, base_url="https://tuya.test", **options)
    clock = Clock(monotonic=loop_time, time=wall or Wall())
    client._transport.use(FakeExchange(server), clock, connections)
    return client
