"""``tuyaio maintenance …`` against a served sandbox: output parsed, exit codes checked."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from .conftest import API, USAGE, Served, assert_one_error_line, clean_env


def test_list_json_is_one_document(cli: Any, served: Served) -> None:
    result = cli("maintenance", "list", served.project_id, "--json", "--limit", "150")
    assert result.code == 0, result.err
    document = result.json()
    assert document["total"] == 100_000
    assert document["count"] == 150
    tasks = document["items"]
    assert len(tasks) == 150
    assert len({task["task_id"] for task in tasks}) == 150
    assert set(tasks[0]) == {"task_id", "status", "worker_username", "worker_nickname", "created_at"}
    assert tasks[0]["created_at"].endswith("Z")


def test_list_jsonl_and_table_show_the_same_tasks(cli: Any, served: Served) -> None:
    lines = cli(
        "maintenance", "list", served.project_id, "--jsonl", "--limit", "120", "--page-size", "50"
    )
    assert lines.code == 0, lines.err
    tasks = lines.lines()
    assert len(tasks) == 120
    table = cli("maintenance", "list", served.project_id, "--limit", "5")
    assert table.code == 0, table.err
    assert "task id" in table.out
    assert "5 of 100000 tasks" in table.out
    for task in tasks[:5]:
        assert task["task_id"] in table.out


def test_jsonl_into_head_stops_promptly(served: Served) -> None:
    """100,000 tasks in pages of 10 take many seconds to walk; ``head -1`` must end it at once."""
    command = (
        f"{sys.executable} -m tuyaio maintenance list {served.project_id} "
        "--jsonl --page-size 10 | head -1"
    )
    started = time.perf_counter()
    done = subprocess.run(
        command,
        shell=True,
        capture_output=True,
        text=True,
        env=clean_env(served.env),
        timeout=30,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1
    assert '"task_id"' in done.stdout
    assert "Traceback" not in done.stderr
    assert "BrokenPipe" not in done.stderr
    assert elapsed < 10, elapsed


def _task_in(cli: Any, served: Served, status: str) -> str:
    tasks = cli("maintenance", "list", served.project_id, "--jsonl", "--limit", "99").lines()
    return next(task["task_id"] for task in tasks if task["status"] == status)


def test_create_get_accept_reopen_delete(cli: Any, served: Served) -> None:
    project = served.project_id
    created = cli(
        "maintenance",
        "create",
        project,
        "--worker-id",
        "1306411812723001",
        "--room",
        "145267896505001=00122433001,00122433002",
        "--room",
        "145267896505002=00122433003",
        "--json",
    )
    assert created.code == 0, created.err
    task_id = created.json()["task_id"]

    detail = cli("maintenance", "get", project, task_id, "--json")
    assert detail.code == 0, detail.err
    task = detail.json()
    assert task["task_id"] == task_id
    assert task["status"] == "PENDING_MAINTENANCE"
    assert {room["room_id"]: room["device_ids"] for room in task["rooms"]} == {
        "145267896505001": ["00122433001", "00122433002"],
        "145267896505002": ["00122433003"],
    }
    table = cli("maintenance", "get", project, task_id)
    assert table.code == 0
    assert "pending maintenance" in table.out

    refused = cli("maintenance", "accept", project, task_id)
    assert_one_error_line(refused, API, "2001", "request id")

    pending = _task_in(cli, served, "PENDING_ACCEPTANCE")
    accepted = cli("maintenance", "accept", project, pending, "--json")
    assert accepted.code == 0, accepted.err
    assert accepted.json() == {"task_id": pending, "action": "accept", "result": True}
    status = cli("maintenance", "get", project, pending, "--json").json()["status"]
    assert status == "ACCEPTANCE_COMPLETE"
    reopened = cli("maintenance", "reopen", project, pending)
    assert reopened.code == 0
    assert f"reopened task {pending}" in reopened.out

    deleted = cli("maintenance", "delete", project, task_id)
    assert deleted.code == 0
    gone = cli("maintenance", "get", project, task_id)
    assert_one_error_line(gone, API, "code 1000", "request id", "does not exist")


def test_bad_secret_is_an_api_error(cli: Any, served: Served) -> None:
    result = cli(
        "maintenance",
        "list",
        served.project_id,
        "--limit",
        "1",
        env={"TUYA_CLIENT_SECRET": "not-the-secret"},
    )
    assert_one_error_line(result, API, "code 1004", "request id", "secret")
    assert "not-the-secret" not in result.err


def test_other_project_is_permission_denied(cli: Any) -> None:
    result = cli("maintenance", "list", "999999", "--limit", "1")
    assert_one_error_line(result, API, "code 1106", "data center")


def test_missing_room_is_a_usage_error(cli: Any, served: Served) -> None:
    result = cli("maintenance", "create", served.project_id, "--worker-id", "w1")
    assert result.code == USAGE
    assert "--room" in result.err
