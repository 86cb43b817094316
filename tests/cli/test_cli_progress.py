"""Progress goes to stderr only when stderr is a terminal, and never mixes into stdout."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading

from .conftest import Served, clean_env, run_cli


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.extend(chunk)


def test_progress_bar_on_a_terminal_stderr(served: Served) -> None:
    controller, terminal = pty.openpty()
    seen = bytearray()
    reader = threading.Thread(target=_drain, args=(controller, seen), daemon=True)
    reader.start()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tuyaio",
                "maintenance",
                "list",
                served.project_id,
                "--jsonl",
                "--page-size",
                "10",
                "--limit",
                "600",
                "--prefetch",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=clean_env(served.env),
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        reader.join(timeout=10)
        os.close(controller)
    assert done.returncode == 0
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 600
    assert all(line.startswith('{"task_id"') for line in lines)
    assert b"/600" in bytes(seen)


def test_no_progress_when_stderr_is_not_a_terminal(cli: object, served: Served) -> None:
    result = run_cli(
        "maintenance",
        "list",
        served.project_id,
        "--jsonl",
        "--page-size",
        "10",
        "--limit",
        "100",
        env=served.env,
    )
    assert result.code == 0
    assert result.err == ""
