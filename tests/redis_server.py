"""A real ``redis-server`` on 127.0.0.1 for tests, started and stopped by the fixture.

Without the binary (or redis-py) the tests that use it are skipped with a message that says how to
install it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

INSTALL_HINT = (
    "redis-server is not installed: `apt-get install redis-server` (Debian/Ubuntu), "
    "`brew install redis` (macOS); .ci/run installs it"
)
_START_TIMEOUT_S = 10.0


@attrs.frozen
class RedisServer:
    """A running redis-server: where it listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """A redis:// URL for database 0."""
        return f"redis://{self.host}:{self.port}/0"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], RedisServer]:
    """Start a redis-server of one's own (stop it with :func:`stop_redis`); skips without one."""
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("CI"):  # .ci/run installs it: a skip there would hide the fleet tests
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return _start(executable, directory)


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    """Stop a redis-server started by :func:`start_redis` (resumed first if it was paused)."""
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)
    _stop(process)


def _start(executable: str, directory: Path) -> tuple[subprocess.Popen[bytes], RedisServer]:
    """Start redis-server on a free port; a few tries in case another process takes the port."""
    redis = pytest.importorskip("redis", reason="pip install 'tuyaio[redis]'")
    for _ in range(3):
        server = RedisServer("127.0.0.1", _free_port())
        options = {
            "bind": server.host,
            "port": str(server.port),
            "save": "",
            "appendonly": "no",
            "dir": str(directory),
            "daemonize": "no",
            "loglevel": "warning",
            "enable-debug-command": "local",  # DEBUG SLEEP, from loopback only
        }
        process = subprocess.Popen(
            [
                executable,
                *(part for name, value in options.items() for part in (f"--{name}", value)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with redis.Redis(host=server.host, port=server.port, socket_timeout=1) as probe:
                    if probe.ping():
                        return process, server
            except redis.ConnectionError:
                time.sleep(0.02)
        _stop(process)
    raise RuntimeError("redis-server did not start on 127.0.0.1")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (no persistence), stopped at the end."""
    process, server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        _stop(process)
