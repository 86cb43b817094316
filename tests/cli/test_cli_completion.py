"""``tuyaio completion bash|zsh``: the script completes what the parser defines."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tuyaio.cli.app import build_parser
from tuyaio.cli.completion import commands

from .conftest import run_cli


def _complete(script: str, *words: str) -> list[str]:
    """What bash offers for ``words`` (the last one being typed)."""
    quoted = " ".join(f"'{word}'" for word in words)
    program = (
        f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _tuyaio; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        ["bash", "-c", program], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_every_command_and_option() -> None:
    result = run_cli("completion", "bash")
    assert result.code == 0, result.err
    script = result.out
    assert _complete(script, "tuyaio", "ma") == ["maintenance"]
    assert _complete(script, "tuyaio", "--region", "eu") == ["eu", "eu-w"]
    for path, parser in commands(build_parser()):
        offered = set(_complete(script, *path, ""))
        for action in parser._actions:
            assert set(action.option_strings) <= offered, (path, action.option_strings)


def test_zsh_loads_the_bash_script_through_bashcompinit() -> None:
    result = run_cli("completion", "zsh")
    assert result.code == 0
    assert result.out.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert "complete -F _tuyaio tuyaio" in result.out
