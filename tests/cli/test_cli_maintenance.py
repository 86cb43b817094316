"""``tuyaio maintenance …`` against a served sandbox: output parsed, exit codes checked."""

from __future__ import annotations

import io
import re
from typing import Any

from .conftest import (
    API,
    SESSION_CONFIG,
    USAGE,
    Capture,
    Served,
    assert_one_error_line,
    run_cli,
    run_many,
)

ROOMS = [
    "--room",
    "145267896505001=00122433001,00122433002",
    "--room",
    "145267896505002=00122433004",
]


def test_list_as_json_jsonl_and_table(cli: Any, served: Served) -> None:
    project = served.project_id
    document, lines, table = run_many(
        cli,
        [
            (["maintenance", "list", project, "--json", "--limit", "150"], None),
            (
                ["maintenance", "list", project, "--jsonl", "--limit", "120", "--page-size", "50"],
                None,
            ),
            (["maintenance", "list", project, "--limit", "5"], None),
        ],
    )
    terminal = run_cli(
        "maintenance", "list", project, "--limit", "5", env=served.env,
        stdout=Capture(tty=True),
    )  # fmt: skip
    assert document.code == 0, document.err
    data = document.json()
    assert data["total"] == SESSION_CONFIG["tasks"]
    assert data["count"] == 150
    tasks = data["items"]
    assert len({task["task_id"] for task in tasks}) == 150
    assert set(tasks[0]) == {
        "task_id",
        "status",
        "worker_username",
        "worker_nickname",
        "created_at",
    }
    assert tasks[0]["created_at"].endswith("Z")

    assert lines.code == 0, lines.err
    assert [task["task_id"] for task in lines.lines()] == [task["task_id"] for task in tasks[:120]]

    assert table.code == 0, table.err
    rows = [line.split("\t") for line in table.out.splitlines()]
    assert [row[0] for row in rows] == [task["task_id"] for task in tasks[:5]]
    assert {len(row) for row in rows} == {5}
    assert table.err.splitlines()[0].split("\t")[:2] == ["task id", "status"]
    assert f"5 of {SESSION_CONFIG['tasks']} tasks" in table.err

    assert terminal.code == 0, terminal.err
    on_screen = re.sub(r"\x1b\[[0-9;]*m", "", terminal.out).splitlines()
    assert on_screen[0].split()[:3] == ["task", "id", "status"]
    assert max(map(len, on_screen)) <= 80  # the columns fit the (default) terminal width
    assert f"5 of {SESSION_CONFIG['tasks']} tasks" in terminal.err
    for task in tasks[:5]:
        assert task["task_id"] in terminal.out


class _Head(io.RawIOBase):
    """The write end of ``| head -1``: takes one line, then the reader is gone."""

    def __init__(self) -> None:
        self.taken = b""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if b"\n" in self.taken:
            raise BrokenPipeError(32, "Broken pipe")
        self.taken += bytes(data)
        return len(data)


def test_jsonl_into_head_stops_promptly(served: Served) -> None:
    """A reader that goes away after one line ends the walk at once, quietly, with exit 0."""
    before = served.sandbox.state.requests
    head = _Head()
    result = run_cli(
        "maintenance", "list", served.project_id, "--jsonl", "--page-size", "10",
        "--prefetch", "2", env=served.env, stdout=Capture(raw=head),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.err == ""
    assert head.taken.startswith(b'{"task_id": ')
    assert served.sandbox.state.requests - before < 10


def _task_id(result: Any) -> str:
    assert result.code == 0, result.err
    return str(result.json()["task_id"])


def test_create_get_accept_reopen_delete(cli: Any, served: Served) -> None:
    project = served.project_id
    created, listing = run_many(
        cli,
        [
            (
                [
                    "maintenance",
                    "create",
                    project,
                    "--worker-id",
                    "1306411812723001",
                    *ROOMS,
                    "--json",
                ],
                None,
            ),
            (["maintenance", "list", project, "--jsonl", "--limit", "99"], None),
        ],
    )
    task_id = _task_id(created)
    pending = next(t["task_id"] for t in listing.lines() if t["status"] == "PENDING_ACCEPTANCE")

    detail, table, refused, accepted = run_many(
        cli,
        [
            (["maintenance", "get", project, task_id, "--json"], None),
            (["maintenance", "get", project, task_id], None),
            (["maintenance", "accept", project, task_id], None),
            (["maintenance", "accept", project, pending, "--json"], None),
        ],
    )
    task = detail.json()
    assert task["task_id"] == task_id
    assert task["status"] == "PENDING_MAINTENANCE"
    assert {room["room_id"]: room["device_ids"] for room in task["rooms"]} == {
        "145267896505001": ["00122433001", "00122433002"],
        "145267896505002": ["00122433004"],
    }
    assert table.code == 0
    assert "pending maintenance" in table.out
    assert_one_error_line(refused, API, "code 1109", "request id")
    assert accepted.code == 0, accepted.err
    assert accepted.json() == {"task_id": pending, "action": "accept", "result": True}

    after_accept, deleted = run_many(
        cli,
        [
            (["maintenance", "get", project, pending, "--json"], None),
            (["maintenance", "delete", project, task_id], None),
        ],
    )
    assert after_accept.json()["status"] == "ACCEPTANCE_COMPLETE"
    assert deleted.code == 0
    assert f"deleted task {task_id}" in deleted.out

    reopened, gone = run_many(
        cli,
        [
            (["maintenance", "reopen", project, pending], None),
            (["maintenance", "get", project, task_id], None),
        ],
    )
    assert reopened.code == 0
    assert f"reopened task {pending}" in reopened.out
    assert_one_error_line(gone, API, "code 1000", "request id", "does not exist")


def test_refusals_are_api_errors_and_mistakes_usage_errors(cli: Any, served: Served) -> None:
    project = served.project_id
    bad_secret, elsewhere, no_room = run_many(
        cli,
        [
            (["maintenance", "list", project, "--limit", "1"], {"TUYA_CLIENT_SECRET": "not-it"}),
            (["maintenance", "list", "999999", "--limit", "1"], None),
            (["maintenance", "create", project, "--worker-id", "w1"], None),
        ],
    )
    assert_one_error_line(bad_secret, API, "code 1004", "request id", "secret")
    assert "not-it" not in bad_secret.err
    assert_one_error_line(elsewhere, API, "code 1106", "data center")
    assert no_room.code == USAGE
    assert "--room" in no_room.err
