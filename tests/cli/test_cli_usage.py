"""``--usage`` and the doctor's own usage: the requests a run cost, per route."""

from __future__ import annotations

from typing import Any

from tuyaio.sandbox import FAULT_HTTP_502, FaultConfig

from .conftest import API, Served, run_cli, sandbox_in_thread

GET_TASK = "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}"
LIST_TASKS = "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks"
GRANT = "GET /v1.0/token"


def _usage_lines(err: str) -> dict[str, list[str]]:
    """The rows of the usage report on stderr: route → [calls, attempts, succeeded, failed…]."""
    lines = err.splitlines()
    start = next(n for n, line in enumerate(lines) if "usage of this run" in line)
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:
        method, route, *numbers = line.split()
        rows[f"{method} {route}"] = numbers
    return rows


def test_usage_flag_prints_each_routes_requests_on_stderr(cli: Any, served: Served) -> None:
    project = served.project_id
    task_id = served.sandbox.state.tasks(project)[0]["task_id"]
    result = cli("--usage", "maintenance", "get", project, task_id, "--json")
    assert result.code == 0, result.err
    assert result.json()["task_id"] == task_id  # stdout is the document alone
    assert "usage of this run: 2 calls, 2 requests sent" in result.err
    rows = _usage_lines(result.err)
    assert rows[GET_TASK] == ["1", "1", "1", "0"]
    assert rows[GRANT] == ["1", "1", "1", "0"]

    after = cli("maintenance", "list", project, "--limit", "3", "--json", "--usage")
    assert after.code == 0, after.err
    assert _usage_lines(after.err)[LIST_TASKS][:3] == ["1", "1", "1"]

    quiet = cli("maintenance", "get", project, task_id, "--json")
    assert quiet.code == 0
    assert quiet.err == ""


def test_usage_shows_failures_and_retries_after_the_error_line(cli: Any, served: Served) -> None:
    result = cli("--usage", "maintenance", "get", served.project_id, "404404")
    assert result.code == API
    lines = result.err.splitlines()
    assert lines[0].startswith("tuyaio: ")
    assert "usage of this run" in lines[1]
    calls, attempts, succeeded, failed, *why = _usage_lines(result.err)[GET_TASK]
    assert (calls, attempts, succeeded, failed) == ("1", "1", "0", "1")
    assert why  # the failure's code, in parentheses


def test_usage_counts_retries_as_requests() -> None:
    faults = FaultConfig(rate=1.0, kinds={FAULT_HTTP_502}, routes={LIST_TASKS})
    with sandbox_in_thread(tasks=3, faults=faults) as served:
        result = run_cli(
            "--usage",
            "--max-retries",
            "2",
            "maintenance",
            "list",
            served.project_id,
            env=served.env,
            secret=served.secret,
        )
    assert result.code != 0
    calls, attempts, succeeded, failed, *why = _usage_lines(result.err)[LIST_TASKS]
    assert (calls, attempts, succeeded, failed) == ("1", "3", "0", "1")
    assert "HTTP 502: 1" in " ".join(why)


def test_doctor_shows_the_usage_of_its_own_run(cli: Any, served: Served) -> None:
    report = cli("doctor", "--project-id", served.project_id, "--json")
    assert report.code == 0, report.err
    usage = {row["route"]: row for row in report.json()["usage"]}
    assert usage[GRANT] == {
        "route": GRANT,
        "calls": 2,  # the grant checked, then timed again
        "attempts": 2,
        "succeeded": 2,
        "failed": 0,
        "failures": {},
    }
    assert usage[LIST_TASKS]["attempts"] == 1
    assert report.err == ""

    table = cli("doctor")
    assert table.code == 0, table.err
    assert "usage of this run: 2 calls, 2 requests sent" in table.out
    assert GRANT in table.out
