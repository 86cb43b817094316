"""Progress goes to stderr only when stderr is a terminal, and never mixes into stdout."""

from __future__ import annotations

from .conftest import Capture, Served, run_cli

LISTING = ["--jsonl", "--page-size", "10", "--limit", "600", "--prefetch", "1"]


def test_progress_bar_on_a_terminal_stderr(served: Served) -> None:
    terminal = Capture(tty=True)
    result = run_cli(
        "maintenance", "list", served.project_id, *LISTING, env=served.env, stderr=terminal
    )
    assert result.code == 0
    lines = result.out.splitlines()
    assert len(lines) == 600
    assert all(line.startswith('{"task_id"') for line in lines)
    assert "/600" in result.err


def test_no_progress_when_stderr_is_not_a_terminal(served: Served) -> None:
    result = run_cli("maintenance", "list", served.project_id, *LISTING, env=served.env)
    assert result.code == 0
    assert result.err == ""
