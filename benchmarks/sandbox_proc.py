"""The sandbox as a separate process: ``tuyaio sandbox serve`` on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
from dataclasses import dataclass
from types import TracebackType

__all__ = ["SandboxInfo", "SandboxProcess", "start_all", "stop_process"]


@dataclass(frozen=True)
class SandboxInfo:
    """Where a running sandbox listens and its throwaway credentials."""

    base_url: str
    client_id: str
    secret: str
    project_id: str
    lighting_project_id: str
    latency_ms: float
    pid: int


class SandboxProcess:
    """Starts ``tuyaio sandbox serve`` and stops it (SIGTERM, then SIGKILL) on exit.

    ``max_seconds`` is passed on as ``--max-seconds``: the server stops by itself even if this
    process dies without cleaning up. ``extra_args`` are more ``tuyaio sandbox serve`` options.
    """

    def __init__(
        self,
        *,
        latency_ms: float,
        tasks: int,
        rooms: int,
        max_seconds: float,
        startup_timeout_s: float = 60.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "tuyaio",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--latency-ms",
            f"{latency_ms:g}",
            "--tasks",
            str(tasks),
            "--rooms",
            str(rooms),
            "--max-seconds",
            f"{max_seconds:g}",
            "--json",
            *extra_args,
        ]
        self._latency_ms = latency_ms
        self._startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[str] | None = None
        self.info: SandboxInfo | None = None

    def start(self) -> None:
        """Spawn the server; :meth:`wait_ready` reads its announcement."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            self._argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    def wait_ready(self) -> SandboxInfo:
        """Block until the server prints its base URL (bounded by ``startup_timeout_s``)."""
        process = self._process
        assert process is not None
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(self._startup_timeout_s):
                self.stop()
                raise RuntimeError(f"sandbox did not start in {self._startup_timeout_s:g} s")
        line = process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"sandbox exited early with code {process.wait()}")
        data = json.loads(line)
        self.info = SandboxInfo(
            base_url=data["base_url"],
            client_id=data["client_id"],
            secret=data["client_secret"],
            project_id=data["project_id"],
            lighting_project_id=data["lighting_project_id"],
            latency_ms=self._latency_ms,
            pid=process.pid,
        )
        return self.info

    def stop(self) -> None:
        """Stop the server this object started (and only it)."""
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)

    def __enter__(self) -> SandboxInfo:
        self.start()
        return self.wait_ready()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def stop_process(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL after 10 s; close its stdout. This process only."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stdout is not None:
        with contextlib.suppress(OSError):
            process.stdout.close()


def start_all(processes: list[SandboxProcess]) -> list[SandboxInfo]:
    """Start several sandboxes at once (they seed in parallel) and wait for all of them."""
    for process in processes:
        process.start()
    try:
        infos = [process.wait_ready() for process in processes]
    except BaseException:
        for process in processes:
            process.stop()
        raise
    return infos
