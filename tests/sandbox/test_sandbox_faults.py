"""The sandbox's faults behave like a real server's: a slow answer is still processed after the
client gave up, a page-size cap serves fewer items with the true total, and a fault aimed at a
route the sandbox does not have is refused instead of injecting nothing."""

from __future__ import annotations

import asyncio

import pytest

from tuyaio import OutcomeUnknownError
from tuyaio.sandbox import FAULT_SLOW, FaultConfig, SandboxConfig
from tuyaio.sandbox.app import route_names

from ..conftest import ClientFactory, SandboxFactory, task_args

CREATE_TASK = "POST /v1.0/osaas/projects/{project_id}/maintenance/task"
CREATE_RECORD = "POST /v2.0/illumination/construction/record"


@pytest.mark.parametrize(
    ("route", "suggestion"),
    [
        ("POST /v2.0/illumination/construction/records", CREATE_RECORD),
        ("post /v1.0/osaas/projects/{project_id}/maintenance/task", CREATE_TASK),
        ("/v2.0/illumination/construction/record", CREATE_RECORD),
        ("GET /nowhere", None),
    ],
)
def test_a_fault_route_the_sandbox_does_not_answer_is_refused(
    route: str, suggestion: str | None
) -> None:
    with pytest.raises(ValueError, match="no route") as caught:
        FaultConfig(rate=1.0, routes={route})
    assert (suggestion is not None) == ("did you mean" in str(caught.value))
    if suggestion is not None:
        assert repr(suggestion) in str(caught.value)


def test_every_route_the_sandbox_answers_is_accepted() -> None:
    assert CREATE_TASK in route_names()
    assert CREATE_RECORD in route_names()
    assert FaultConfig(routes=route_names()).routes == route_names()


async def test_configure_refuses_an_unknown_route_and_keeps_the_faults(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = await make_sandbox()
    with pytest.raises(ValueError, match="records"):
        sandbox.configure(faults=FaultConfig(rate=1.0, routes={CREATE_RECORD + "s"}))
    assert sandbox.config.faults == FaultConfig()


def test_a_page_size_cap_is_checked() -> None:
    with pytest.raises(ValueError, match="page_size_cap"):
        SandboxConfig(page_size_cap=0)


async def test_a_slow_create_still_happens_after_the_client_gave_up(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    faults = FaultConfig(rate=1.0, kinds={FAULT_SLOW}, slow_s=0.3, routes={CREATE_TASK})
    sandbox = await make_sandbox(tasks=0, faults=faults)
    client = await make_client(sandbox, timeout=0.05)
    with pytest.raises(OutcomeUnknownError):
        await client.maintenance.create_task(sandbox.project_id, **task_args(sandbox))
    for _ in range(200):  # the server finishes it on its own, a moment later
        if sandbox.state.tasks(sandbox.project_id):
            break
        await asyncio.sleep(0.05)
    (task,) = sandbox.state.tasks(sandbox.project_id)
    (room,) = task_args(sandbox)["rooms"]
    assert task["room_device_relations"][0]["room_id"] == room
