"""What the CLI writes stays usable whatever the server sends or does mid-stream: a ``--json``
listing is always one valid document, control characters never reach a stream, and data that
cannot be encoded is a clear error."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .conftest import API, INTERRUPTED, env_for, envelope, in_thread, run_cli, scripted, serving

TASKS = "/v1.0/osaas/projects/{project_id}/maintenance/tasks"
PAGE = 10
CONTROL = "\x1b[2J\x1b]0;owned\x07\x9b31m\x7f"


def _task(number: int, nickname: str = "Tom") -> dict[str, Any]:
    return {
        "task_id": f"13064118127230{number:02d}",
        "worker_username": "worker@example.com",
        "worker_nickname": nickname,
        "maintenance_status": "PENDING_ACCEPTANCE",
        "gmt_create": 1600766546913,
    }


def _listing(
    second_page: Callable[[], Awaitable[web.Response]], nickname: str = "Tom"
) -> web.Application:
    """Thirty tasks: the first page answered, the second one by ``second_page``."""

    async def tasks(request: web.Request) -> web.Response:
        page_no = int(request.query["page_no"])
        if page_no > 1:
            return await second_page()
        items = [_task(n, nickname) for n in range(PAGE)]
        return envelope({"total": 3 * PAGE, "page_no": 1, "page_size": PAGE, "tasks": items})

    return scripted({("GET", TASKS): tasks})


async def _refused() -> web.Response:
    return web.json_response(
        {
            "success": False,
            "code": 1106,
            "msg": f"permission deny{CONTROL}",
            "t": int(time.time() * 1000),
            "tid": "tid-2",
        }
    )


async def _interrupted() -> web.Response:
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.sleep(0.5)
    return await _refused()


LIST = ["maintenance", "list", "p1", "--page-size", str(PAGE), "--prefetch", "0"]


def _no_control_characters(*texts: str) -> None:
    for text in texts:
        for char in "\x1b\x07\x9b\x7f":
            assert char not in text, (char, text)


def test_an_api_error_mid_stream_still_closes_the_json_document() -> None:
    with in_thread(lambda: serving(_listing(_refused))) as base_url:
        document = run_cli(*LIST, "--json", env=env_for(base_url))
        lines = run_cli(*LIST, "--jsonl", env=env_for(base_url))
    assert document.code == API
    data = document.json()
    assert (data["total"], data["count"], len(data["items"])) == (30, 10, 10)
    assert "code 1106" in data["error"]
    assert lines.code == API
    assert len(lines.lines()) == PAGE
    _no_control_characters(document.out, document.err, lines.err)


def test_ctrl_c_mid_stream_still_closes_the_json_document() -> None:
    with in_thread(lambda: serving(_listing(_interrupted))) as base_url:
        result = run_cli(*LIST, "--json", env=env_for(base_url))
    assert result.code == INTERRUPTED
    data = result.json()
    assert (data["count"], data["error"]) == (PAGE, "interrupted")
    assert result.err.strip() == "tuyaio: interrupted"


def test_control_characters_from_the_server_reach_no_stream() -> None:
    with in_thread(lambda: serving(_listing(_refused, nickname=f"Tom{CONTROL}"))) as base_url:
        env = env_for(base_url)
        document = run_cli(*LIST, "--json", env=env)
        table = run_cli(*LIST, env=env)
        debug = run_cli(*LIST, "--jsonl", "--debug", env=env)
    assert json.loads(document.out)["items"][0]["worker_nickname"] == f"Tom{CONTROL}"
    assert "Tom?[2J" in table.out
    assert "permission deny" in table.err
    _no_control_characters(document.out, document.err, table.out, table.err, debug.err)


def test_a_lone_surrogate_in_json_output_is_an_error_of_the_data() -> None:
    with in_thread(lambda: serving(_listing(_refused, nickname="Tom\ud800"))) as base_url:
        result = run_cli(*LIST, "--json", env=env_for(base_url))
        table = run_cli(*LIST, "--limit", "1", env=env_for(base_url))
    assert result.code == API, result
    assert result.json()["items"] == []
    assert "output error" in result.json()["error"]
    assert "output error" in result.err
    assert "\\ud800" in result.err
    assert "usage" not in result.err
    assert table.code == 0
    assert "Tom?" in table.out
