"""``tuyaio demo``: the README's first command runs the whole workflow in seconds."""

from __future__ import annotations

import re

from .conftest import Capture, run_cli

SMALL = [
    "--tasks",
    "150",
    "--rooms",
    "300",
    "--batch",
    "60",
    "--latency-ms",
    "1",
    "--fail-rate",
    "0.1",
]


def test_demo_json_summary() -> None:
    result = run_cli("demo", "--json", *SMALL)
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["ok"] is True
    assert [step["name"] for step in summary["steps"]][:4] == [
        "look up the IDs (directory)",
        "open maintenance tasks",
        "walk the task list",
        "accept the finished work (batch)",
    ]
    assert all(step["requests"] >= 1 for step in summary["steps"])
    directory = summary["directory"]
    assert len(directory["workers"]) == len(directory["rooms"]) == 3
    assert all(directory["rooms"].values())  # every room came with its devices
    maintenance = summary["maintenance"]
    assert len(maintenance["created"]) == 3
    assert maintenance["listed"] == 153
    assert maintenance["accepted"] == maintenance["by_status"]["pending acceptance"]
    construction = summary["construction"]
    assert construction["status_after_cancel"] == 3
    assert len(construction["record"]["rooms"]) == 4
    faults = summary["faults"]
    assert faults["ok"] == faults["calls"] == 60
    assert faults["faults_injected"] > 0
    assert faults["retries"] >= faults["faults_injected"]
    totals = summary["totals"]
    assert totals["token_grants"] == 1
    assert totals["requests"] == totals["server_requests"]


def test_demo_for_people() -> None:
    result = run_cli("demo", *SMALL, stdout=Capture(tty=True))
    assert result.code == 0, result.err
    for heading in ("Workflow", "read through 10% faults", "Totals"):
        assert heading in result.out
    assert "token grant" in result.out


def test_demo_shows_its_progress_on_a_terminal() -> None:
    result = run_cli("demo", *SMALL, "--json", stderr=Capture(tty=True))
    assert result.code == 0, result.err
    assert result.json()["ok"] is True
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\n", result.err)  # colours, cursor moves
    steps = [line.strip() for line in err.splitlines() if line.strip().startswith("step ")]
    assert len(steps) == 2 * len(result.json()["steps"])
    assert steps[0].endswith("…")


def test_demo_into_a_pipe_writes_only_its_rows() -> None:
    result = run_cli("demo", *SMALL)
    assert result.code == 0, result.err
    rows = [line.split("\t") for line in result.out.splitlines()]
    assert [row[0] for row in rows] == [str(n) for n in range(1, 8)]
    assert all(len(row) == 5 for row in rows)
    assert "Totals" in result.err
