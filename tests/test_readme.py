"""Every Python block of README.md runs, against the sandbox, in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
ENV = {
    **os.environ,
    "TUYA_CLIENT_ID": "readme-client",
    "TUYA_CLIENT_SECRET": "readme-secret",
    "TUYA_REGION": "eu",
}


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(
    index: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    code = BLOCKS[index]
    env = dict(ENV)
    if "REDIS_URL" in code:
        server: RedisServer = request.getfixturevalue("redis_server")
        env["REDIS_URL"] = server.url
    if "def test_" in code:
        path = tmp_path / "test_readme_example.py"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
    else:
        path = tmp_path / "readme_example.py"
        command = [sys.executable, str(path)]
    path.write_text(code)
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"block {index}:\n{code}\n{done.stdout}\n{done.stderr}"
