"""Data on stdout, everything else on stderr: what a pipe or a file receives is only data, and a
``--json`` run always writes one document."""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from .conftest import (
    API,
    USAGE,
    Capture,
    Served,
    env_for,
    in_thread,
    run_cli,
    scripted,
    serving,
)

TASKS = "/v1.0/osaas/projects/{project_id}/maintenance/tasks"


async def _refused(_: web.Request) -> web.Response:
    body = {"success": False, "code": 1106, "msg": "permission deny", "t": int(time.time() * 1000)}
    return web.json_response(body)


def test_a_listing_into_a_pipe_is_only_tab_separated_rows(served: Served) -> None:
    result = run_cli(
        "maintenance", "list", served.project_id, "--limit", "7", env=served.env
    )  # what `| cat` receives: stdout is not a terminal
    assert result.code == 0, result.err
    rows = [line.split("\t") for line in result.out.splitlines()]
    assert len(rows) == 7
    assert all(len(row) == 5 and row[0].isdigit() for row in rows)
    assert "  " not in result.out  # no padding
    assert "tasks" in result.err  # the count went to stderr


def test_a_detail_into_a_pipe_is_not_padded(served: Served) -> None:
    listing = run_cli("maintenance", "list", served.project_id, "--limit", "1", env=served.env)
    task_id = listing.out.split("\t")[0]
    detail = run_cli("maintenance", "get", served.project_id, task_id, env=served.env)
    assert detail.code == 0, detail.err
    assert all("\t" in line for line in detail.out.splitlines())
    assert max(map(len, detail.out.splitlines())) < 120
    assert task_id in detail.err  # the title


def test_a_json_listing_refused_on_its_first_page_is_one_document_with_an_error() -> None:
    with in_thread(lambda: serving(scripted({("GET", TASKS): _refused}))) as base_url:
        result = run_cli("maintenance", "list", "p1", "--json", env=env_for(base_url))
    assert result.code == API
    data = result.json()
    assert (data["items"], data["count"], data["ok"]) == ([], 0, False)
    assert "code 1106" in data["error"]


def test_json_without_credentials_is_one_document_with_an_error() -> None:
    for args in (("doctor", "--json"), ("maintenance", "get", "p1", "t1", "--json")):
        result = run_cli(*args, env={})
        assert result.code == USAGE, result
        data = result.json()
        assert data["ok"] is False
        assert "TUYA_CLIENT_ID" in data["error"]
        assert data["exit_code"] == USAGE


def test_bare_tuyaio_shows_the_help() -> None:
    result = run_cli()
    assert result.code == 0
    assert result.out.startswith("usage: tuyaio")
    assert "maintenance" in result.out


def test_a_terminal_gets_a_table_that_fits(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    widths = {}
    for columns in (70, 100, 200):
        monkeypatch.setenv("COLUMNS", str(columns))
        result = run_cli(
            "maintenance", "list", served.project_id, "--limit", "3",
            env=served.env, stdout=Capture(tty=True),
        )  # fmt: skip
        assert result.code == 0, result.err
        lines = result.out.replace("\x1b[1m", "").replace("\x1b[0m", "").splitlines()
        assert len(lines) == 4
        widths[columns] = max(map(len, lines))
        assert widths[columns] <= columns
        assert all(line[:19].strip().isdigit() for line in lines[1:])  # IDs are never cut
    assert widths[70] < widths[100] < widths[200]
