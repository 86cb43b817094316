"""Actions safe to repeat, under answers lost after processing: the server's state decides.

A quarter of the answers to accept, reopen, delete and cancel are dropped after the sandbox has
done the work; the client repeats, the repeat is refused (wrong state, not found), and the call
must still report the success it was — never a failure, and never a success that was not.
"""

from __future__ import annotations

import pytest

from tuyaio import InvalidParameterError, NotFoundError, TuyaClient
from tuyaio.sandbox import FAULT_ABORT_AFTER, FAULT_HTTP_502, FaultConfig, Sandbox

from .conftest import ClientFactory, SandboxFactory

TASK = "/v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}"
CANCEL = "DELETE /v2.0/illumination/construction/task/cancelAuthorization/{record_id}"
ACTIONS = frozenset({f"POST {TASK}/acceptance", f"POST {TASK}/reopen", f"DELETE {TASK}", CANCEL})


async def test_no_false_failures_at_25_percent_dropped_answers(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox: Sandbox = await make_sandbox(tasks=60, records=40, seed=7)
    client: TuyaClient = await make_client(sandbox)
    project, state = sandbox.project_id, sandbox.state
    task_ids = [task["task_id"] for task in state.tasks(project)]
    for task_id in task_ids:
        state.set_task_status(project, task_id, "PENDING_ACCEPTANCE")
    lighting = sandbox.lighting_project_id
    records = [r["recordId"] for r in state.records(lighting) if r["authorizationStatus"] == 1]
    sandbox.configure(faults=FaultConfig(rate=0.25, kinds={FAULT_ABORT_AFTER}, routes=ACTIONS))

    accepted = [await client.maintenance.accept_task(project, t) for t in task_ids]
    assert {t["status"] for t in state.tasks(project)} == {"ACCEPTANCE_COMPLETE"}
    reopened = [await client.maintenance.reopen_task(project, t) for t in task_ids]
    assert {t["status"] for t in state.tasks(project)} == {"PENDING_MAINTENANCE"}
    cancelled = [await client.construction.cancel_authorization(r) for r in records]
    assert {state.record(r)["authorizationStatus"] for r in records} == {3}
    deleted = [await client.maintenance.delete_task(project, t) for t in task_ids]
    assert state.tasks(project) == []

    assert accepted + reopened + deleted == [True] * (3 * len(task_ids))
    assert cancelled == [True] * len(records)
    dropped = state.faults[FAULT_ABORT_AFTER]
    assert dropped >= 30, "the faults happened"
    assert client.stats.reconciled > 0, "some repeats were refused and reconciled"


async def test_a_refused_action_that_did_not_happen_is_still_a_failure(
    make_sandbox: SandboxFactory, make_client: ClientFactory
) -> None:
    sandbox: Sandbox = await make_sandbox(tasks=10, seed=3)
    client: TuyaClient = await make_client(sandbox)
    project, state = sandbox.project_id, sandbox.state
    task_ids = [task["task_id"] for task in state.tasks(project)]
    for task_id in task_ids:
        state.set_task_status(project, task_id, "PENDING_MAINTENANCE")
    # A 502 from the gateway: the outcome is unknown to the client, but nothing happened.
    accept = f"POST {TASK}/acceptance"
    sandbox.configure(faults=FaultConfig(rate=0.5, kinds={FAULT_HTTP_502}, routes={accept}))
    for task_id in task_ids:
        with pytest.raises(InvalidParameterError):
            await client.maintenance.accept_task(project, task_id)
    assert state.faults[FAULT_HTTP_502] > 0
    assert {t["status"] for t in state.tasks(project)} == {"PENDING_MAINTENANCE"}
    assert client.stats.reconciled == 0
    sandbox.configure(faults=FaultConfig())
    with pytest.raises(NotFoundError):
        await client.maintenance.delete_task(project, "123456789")
