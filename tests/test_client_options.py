"""``ClientOptions`` is exactly the client's keyword arguments, and a type checker rejects a
misspelt option passed to ``TuyaClient.from_env``."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from tuyaio import TuyaClient
from tuyaio.client_options import ClientOptions

ROOT = Path(__file__).parent.parent


def test_the_options_are_the_constructors_keyword_arguments() -> None:
    keywords = [
        name
        for name, parameter in inspect.signature(TuyaClient).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert list(ClientOptions.__annotations__) == keywords
    assert not ClientOptions.__required_keys__
    assert typing.get_type_hints(ClientOptions)  # every annotation resolves


@pytest.mark.slow  # a cold mypy run over tuyaio and aiohttp: 15-20 s of CPU
def test_mypy_rejects_a_misspelt_option(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from tuyaio import TuyaClient\n"
        "TuyaClient.from_env(timeout=3, retry=None)\n"  # retry=None: a wrong type
        "TuyaClient.from_env(timeuot=3)\n"
        "TuyaClient.from_env(client_id='id', region='eu', timeout=3.0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"),
         str(snippet)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT / "src")},
        check=False,
    )  # fmt: skip
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert any("snippet.py:3:" in line and "timeuot" in line for line in errors), done.stdout
    assert any("snippet.py:2:" in line and "retry" in line for line in errors), done.stdout
    assert not any("snippet.py:4:" in line for line in errors), done.stdout
