"""Run the command line as a subprocess, against a sandbox served by ``tuyaio sandbox serve``."""

from __future__ import annotations

import atexit
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import pytest

TIMEOUT_S = 60.0
START_TIMEOUT_S = 30.0

USAGE, API, TRANSPORT = 2, 1, 3


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any TUYA_* variable, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TUYA_")}
    env.pop("COLUMNS", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@attrs.frozen
class Served:
    """A running ``tuyaio sandbox serve``: what it printed, and the environment to reach it."""

    process: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def env(self) -> dict[str, str]:
        """TUYA_BASE_URL, TUYA_CLIENT_ID and TUYA_CLIENT_SECRET for this sandbox."""
        return dict(self.info["env"])

    @property
    def project_id(self) -> str:
        return str(self.info["project_id"])

    @property
    def lighting_project_id(self) -> str:
        return str(self.info["lighting_project_id"])

    @property
    def secret(self) -> str:
        return str(self.info["client_secret"])


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line of the process's stdout, waiting at most ``timeout`` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no output within {timeout} s")
    return process.stdout.readline()


def spawn_sandbox(*flags: str) -> subprocess.Popen[str]:
    """Start ``tuyaio sandbox serve --json`` with ``flags`` (not waiting for it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tuyaio", "sandbox", "serve", "--json", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


def await_sandbox(process: subprocess.Popen[str]) -> Served:
    """Wait for a spawned sandbox's announcement."""
    try:
        line = read_line(process, START_TIMEOUT_S)
        if not line:
            raise AssertionError(f"sandbox did not start: {process.communicate(timeout=5)}")
        return Served(process, json.loads(line))
    except BaseException:
        stop_sandbox(process)
        raise


def start_sandbox(*flags: str) -> Served:
    """Start ``tuyaio sandbox serve --json`` with ``flags`` and wait for its announcement."""
    return await_sandbox(spawn_sandbox(*flags))


def stop_sandbox(process: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[str, str]:
    """Stop a served sandbox (Ctrl-C by default) and return what it printed after starting."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


SESSION_FLAGS = (
    "--tasks",
    "100000",
    "--rooms",
    "3000",
    "--latency-ms",
    "2",
    "--max-seconds",
    "600",
)
"""The session's sandbox: 100,000 tasks, a couple of milliseconds of latency."""

_early: list[subprocess.Popen[str]] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the session's sandbox as soon as a collected test needs it: seeding 100,000 tasks
    takes a few seconds, which the tests that need no server can use."""
    if not _early and any("served" in getattr(item, "fixturenames", ()) for item in items):
        _early.append(spawn_sandbox(*SESSION_FLAGS))
        atexit.register(_kill_if_running, _early[0])


def _kill_if_running(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    """One sandbox for the session (see ``SESSION_FLAGS``)."""
    process = _early[0] if _early else spawn_sandbox(*SESSION_FLAGS)
    sandbox = await_sandbox(process)
    yield sandbox
    stop_sandbox(sandbox.process)


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
    timeout: float = TIMEOUT_S,
) -> Result:
    """Run ``python -m tuyaio *args``; the secret (when given) must not appear in the output."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tuyaio", *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=timeout,
        check=False,
    )
    result = Result(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
    if secret:
        assert secret not in result.out
        assert secret not in result.err
    return result


Call = tuple[Sequence[str], Mapping[str, str] | None]
"""One CLI run: its arguments and extra environment."""


def run_many(run: Callable[..., Result], calls: Sequence[Call]) -> list[Result]:
    """Run independent CLI calls side by side (each is a process; start-up dominates)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(run, *args, env=env) for args, env in calls]
        return [future.result() for future in futures]


@pytest.fixture
def cli(served: Served) -> Any:
    """``cli(*args, env=...)``: run the CLI against the session sandbox."""

    def run(*args: str, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT_S) -> Result:
        return run_cli(
            *args, env={**served.env, **(env or {})}, secret=served.secret, timeout=timeout
        )

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
