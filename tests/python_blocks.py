"""Runs a Python block of the README or of a guide in a fresh interpreter, against the sandbox:
a block that defines tests runs under pytest, any other as a script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .redis_server import RedisServer

ENV = {
    **os.environ,
    "TUYA_CLIENT_ID": "example-client",
    "TUYA_CLIENT_SECRET": "example-secret",
    "TUYA_REGION": "eu",
}


def run_block(code: str, label: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Run ``code``; fail with ``label``, the code and its output unless it exits 0."""
    env = dict(ENV)
    if "REDIS_URL" in code:
        server: RedisServer = request.getfixturevalue("redis_server")
        env["REDIS_URL"] = server.url
    if "def test_" in code:
        path = tmp_path / "test_example.py"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
    else:
        path = tmp_path / "example.py"
        command = [sys.executable, str(path)]
    path.write_text(code, encoding="utf-8")
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{label}:\n{code}\n{done.stdout}\n{done.stderr}"
