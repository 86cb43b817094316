"""``tuyaio sandbox serve``: announces itself, serves other programs, stops cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tuyaio import RetryPolicy, TuyaClient
from tuyaio.errors import TuyaError

from .conftest import USAGE, Capture, Served, run_cli


def _while_serving(flags: list[str], use: Callable[[dict[str, Any]], Any]) -> tuple[Any, Any]:
    """Run ``sandbox serve --json *flags`` here; in a thread, once it has announced itself, call
    ``use(announcement)`` and then press Ctrl-C. Returns the CLI's result and what ``use`` gave."""
    stdout = Capture()
    outcome: dict[str, Any] = {}

    def helper() -> None:
        try:
            deadline = time.monotonic() + 20
            while "\n" not in stdout.text() and time.monotonic() < deadline:
                time.sleep(0.01)
            outcome["value"] = use(json.loads(stdout.text()))
        except Exception as error:
            outcome["error"] = error
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=helper)
    thread.start()
    try:
        result = run_cli("sandbox", "serve", "--json", *flags, "--max-seconds", "30", stdout=stdout)
    finally:
        thread.join(30)
    if "error" in outcome:
        raise outcome["error"]
    return result, outcome["value"]


async def _list(env: dict[str, str], project_id: str) -> Any:
    async with TuyaClient.from_env(environ=env, retry=RetryPolicy(max_retries=0)) as client:
        try:
            return (await client.maintenance.list_tasks(project_id, page_size=5)).total
        except TuyaError as error:
            return error


def test_serve_announces_serves_and_stops_on_ctrl_c() -> None:
    def use(info: dict[str, Any]) -> Any:
        assert info["env"]["TUYA_BASE_URL"] == info["base_url"]
        assert info["base_url"].startswith("http://127.0.0.1:")
        return asyncio.run(_list(info["env"], info["project_id"]))

    result, total = _while_serving(["--tasks", "7", "--rooms", "5"], use)
    assert total == 7
    assert result.code == 0, result.err
    assert "stopped" in result.err
    assert "Traceback" not in result.err


def test_fault_kinds_choose_the_faults() -> None:
    def use(info: dict[str, Any]) -> Any:
        return asyncio.run(_list(info["env"], info["project_id"]))

    result, error = _while_serving(["--fail-rate", "1", "--fault-kinds", "http_503"], use)
    assert result.code == 0, result.err
    assert getattr(error, "http_status", None) == 503, error


DETAIL = "GET /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}"


async def _list_then_get(env: dict[str, str], project_id: str) -> Any:
    async with TuyaClient.from_env(environ=env, retry=RetryPolicy(max_retries=0)) as client:
        page = await client.maintenance.list_tasks(project_id, page_size=1)
        try:
            await client.maintenance.get_task(project_id, page.items[0].task_id)
        except TuyaError as error:
            return page.total, error
        return page.total, None


def test_fault_routes_aim_the_faults() -> None:
    def use(info: dict[str, Any]) -> Any:
        return asyncio.run(_list_then_get(info["env"], info["project_id"]))

    flags = ["--tasks", "3", "--fail-rate", "1", "--fault-kinds", "http-503"]
    result, (total, error) = _while_serving([*flags, "--fault-routes", DETAIL], use)
    assert result.code == 0, result.err
    assert total == 3  # the listing was spared
    assert getattr(error, "http_status", None) == 503, error


@pytest.mark.parametrize(
    "flags",
    [
        ["--fault-routes", DETAIL],
        ["--slow-s", "1"],
        ["--fail-rate", "1", "--fault-routes", "GET /v9/nothing"],
    ],
)
def test_aimed_faults_need_a_rate_and_a_known_route(flags: list[str]) -> None:
    result = run_cli("sandbox", "serve", *flags, "--max-seconds", "5")
    assert result.code == USAGE, (flags, result)
    assert "listening" not in result.out


def test_env_prints_only_lines_a_shell_can_eval() -> None:
    result = run_cli("sandbox", "serve", "--env", "--max-seconds", "0.05")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 5
    names = set()
    for line in lines:
        found = re.fullmatch(r"export (TUYA_[A-Z_]+)=(\S+)", line)
        assert found, line
        assert shlex.split(found[2]) == [found[2]]
        names.add(found[1])
    assert names == {
        "TUYA_BASE_URL",
        "TUYA_CLIENT_ID",
        "TUYA_CLIENT_SECRET",
        "TUYA_PROJECT_ID",
        "TUYA_LIGHTING_PROJECT_ID",
    }
    assert "listening" in result.err


def test_for_people_prints_instructions() -> None:
    result = run_cli("sandbox", "serve", "--max-seconds", "0.05")
    assert result.code == 0, result.err
    assert "export TUYA_BASE_URL=http://127.0.0.1:" in result.out
    assert "export TUYA_CLIENT_SECRET=" in result.out


def test_a_taken_port_is_a_usage_error(served: Served) -> None:
    port = served.sandbox.base_url.rsplit(":", 1)[1]
    result = run_cli("sandbox", "serve", "--port", port, "--max-seconds", "5")
    assert result.code == USAGE
    assert "could not listen" in result.err


@pytest.mark.parametrize(
    "flags",
    [
        ["--clock-skew-s", "nan"],
        ["--clock-skew-s", "-inf"],
        ["--port", "65536"],
        ["--port", "http"],
        ["--fault-kinds", "teapot"],
        ["--fault-kinds", "slow"],
    ],
)
def test_bad_serve_flags_are_usage_errors(flags: list[str]) -> None:
    result = run_cli("sandbox", "serve", *flags, "--max-seconds", "5")
    assert result.code == USAGE, (flags, result)
    assert flags[0] in result.err, result.err
    assert "listening" not in result.out
