"""Run the command line in this process (``main(argv)``), against sandboxes served from threads.

Each run gets its own stdout and stderr (strict UTF-8, like a pipe) and an explicit environment, so
nothing of this process's environment reaches the CLI. Servers run on 127.0.0.1 in a thread with
their own event loop, because the CLI runs ``asyncio.run`` in the calling thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import attrs
import pytest
from aiohttp import web

from tuyaio.cli import main
from tuyaio.sandbox import Sandbox, SandboxConfig

T = TypeVar("T")

START_TIMEOUT_S = 30.0
USAGE, API, TRANSPORT, INTERRUPTED = 2, 1, 3, 130


@contextlib.contextmanager
def in_thread(factory: Callable[[], AbstractAsyncContextManager[T]]) -> Iterator[T]:
    """Enter ``factory()`` on an event loop of its own in a thread; exit it when done."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def body() -> None:
        stop = asyncio.Event()
        box["stop"], box["loop"] = stop, asyncio.get_running_loop()
        try:
            async with factory() as value:
                box["value"] = value
                ready.set()
                await stop.wait()
        except BaseException as error:
            box["error"] = error
            raise
        finally:
            ready.set()

    thread = threading.Thread(target=asyncio.run, args=(body(),), daemon=True)
    thread.start()
    try:
        if not ready.wait(START_TIMEOUT_S) or "error" in box:
            raise AssertionError(f"the server did not start: {box.get('error')!r}")
        yield box["value"]
    finally:
        if "loop" in box:
            with contextlib.suppress(RuntimeError):
                box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(START_TIMEOUT_S)
        assert not thread.is_alive(), "the server thread did not stop"


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """An aiohttp application on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def envelope(result: object) -> web.Response:
    """A successful Tuya envelope around ``result``."""
    return web.json_response(
        {"success": True, "result": result, "t": int(time.time() * 1000), "tid": "tid-1"}
    )


async def grant_token(_: web.Request) -> web.Response:
    """The token route of a scripted server: always grants."""
    return envelope({"access_token": "a1", "refresh_token": "r1", "expire_time": 7200, "uid": "u"})


def scripted(routes: Mapping[tuple[str, str], Callable[..., Any]]) -> web.Application:
    """A server that grants tokens and answers ``routes`` ((method, path) → handler)."""
    app = web.Application()
    app.router.add_get("/v1.0/token", grant_token)
    for (method, path), handler in routes.items():
        app.router.add_route(method, path, handler)
    return app


def env_for(
    base_url: str, client_id: str = "cid", secret: str = "not-a-real-secret"
) -> dict[str, str]:
    """The TUYA_* environment for a server."""
    return {"TUYA_BASE_URL": base_url, "TUYA_CLIENT_ID": client_id, "TUYA_CLIENT_SECRET": secret}


@attrs.frozen
class Served:
    """A sandbox running in a thread, and the environment to reach it."""

    sandbox: Sandbox

    @property
    def env(self) -> dict[str, str]:
        """TUYA_BASE_URL, TUYA_CLIENT_ID and TUYA_CLIENT_SECRET for this sandbox."""
        return env_for(self.sandbox.base_url, self.sandbox.client_id, self.sandbox.secret)

    @property
    def project_id(self) -> str:
        return self.sandbox.project_id

    @property
    def lighting_project_id(self) -> str:
        return self.sandbox.lighting_project_id

    @property
    def secret(self) -> str:
        return self.sandbox.secret


@contextlib.contextmanager
def sandbox_in_thread(**config: Any) -> Iterator[Served]:
    """A sandbox with these SandboxConfig fields, served from a thread."""
    with in_thread(lambda: Sandbox(SandboxConfig(**config))) as sandbox:
        yield Served(sandbox)


SESSION_CONFIG = {"tasks": 2000, "rooms": 3000}
"""The session's sandbox: enough tasks and rooms for many pages."""


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    """One sandbox for the session (see ``SESSION_CONFIG``)."""
    with sandbox_in_thread(**SESSION_CONFIG) as sandbox:
        yield sandbox


class Capture(io.TextIOWrapper):
    """A stream like a pipe's (strict UTF-8), optionally claiming to be a terminal."""

    def __init__(self, *, tty: bool = False, raw: io.RawIOBase | None = None) -> None:
        self.raw_bytes = raw if raw is not None else io.BytesIO()
        super().__init__(self.raw_bytes, encoding="utf-8", errors="strict", write_through=True)  # type: ignore[arg-type]
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty

    def text(self) -> str:
        """What was written so far."""
        self.flush()
        data = self.raw_bytes.getvalue() if isinstance(self.raw_bytes, io.BytesIO) else b""
        return data.decode("utf-8", errors="replace")


@attrs.frozen
class Result:
    """A finished CLI run."""

    code: int
    out: str
    err: str
    seconds: float

    def json(self) -> Any:
        """stdout as one JSON document."""
        return json.loads(self.out)

    def lines(self) -> list[Any]:
        """stdout as JSON lines."""
        return [json.loads(line) for line in self.out.splitlines()]


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    secret: str | None = None,
    stdout: Capture | None = None,
    stderr: Capture | None = None,
) -> Result:
    """Run ``main(args)`` in this process with ``env`` as its whole environment."""
    out = stdout if stdout is not None else Capture()
    err = stderr if stderr is not None else Capture()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args), environ=dict(env or {}))
    result = Result(code, out.text(), err.text(), time.perf_counter() - started)
    if secret:
        assert secret not in result.out
        assert secret not in result.err
    return result


Call = tuple[Sequence[str], Mapping[str, str] | None]
"""One CLI run: its arguments and extra environment."""


def run_many(run: Callable[..., Result], calls: Sequence[Call]) -> list[Result]:
    """Run CLI calls one after the other (in process, each takes milliseconds)."""
    return [run(*args, env=env) for args, env in calls]


@pytest.fixture
def cli(served: Served) -> Callable[..., Result]:
    """``cli(*args, env=...)``: run the CLI against the session sandbox."""

    def run(*args: str, env: Mapping[str, str] | None = None) -> Result:
        return run_cli(*args, env={**served.env, **(env or {})}, secret=served.secret)

    return run


def assert_one_error_line(result: Result, code: int, *needles: str) -> None:
    """Exit code ``code``, one line on stderr that starts with ``tuyaio:`` and holds ``needles``."""
    assert result.code == code, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("tuyaio: "), lines
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _environ() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTEST_CURRENT_TEST"}


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """An in-process run leaves no logging handler, environment change, signal handler or
    thread behind."""
    logger = logging.getLogger("tuyaio")
    handlers, level = list(logger.handlers), logger.level
    environ = _environ()
    sigint = signal.getsignal(signal.SIGINT)
    threads = set(threading.enumerate())
    yield
    assert logger.handlers == handlers
    assert logger.level == level
    assert _environ() == environ
    assert signal.getsignal(signal.SIGINT) is sigint
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - threads and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(threading.enumerate()) - threads, threading.enumerate()
