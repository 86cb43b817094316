"""``tuyaio demo``: the README's first command runs the whole workflow in seconds."""

from __future__ import annotations

from .conftest import run_cli


def test_demo_json_summary() -> None:
    result = run_cli("demo", "--json", timeout=60)
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["ok"] is True
    assert len(summary["steps"]) >= 8
    maintenance = summary["maintenance"]
    assert len(maintenance["created"]) == 3
    assert maintenance["listed"] == 503
    assert set(maintenance["statuses_after"].values()) == {
        "ACCEPTANCE_COMPLETE",
        "PENDING_MAINTENANCE",
    }
    assert maintenance["lookup_after_delete"] == "NotFoundError (code 1000)"
    construction = summary["construction"]
    assert construction["status_after_cancel"] == 3
    assert len(construction["record"]["rooms"]) == 4
    batch = summary["batch"]
    assert (batch["ok"], batch["failed"]) == (199, 1)
    totals = summary["totals"]
    assert totals["token_grants"] == 1
    assert totals["requests"] >= totals["server_requests"] - totals["server_faults_injected"]
    assert totals["seconds"] < 20
    assert result.seconds < 30


def test_demo_for_people() -> None:
    result = run_cli("demo", "--tasks", "150", "--rooms", "300", "--batch", "50", timeout=60)
    assert result.code == 0, result.err
    for heading in ("Workflow", "Tasks by status", "Authorization record", "Batch", "Totals"):
        assert heading in result.out
    assert "token grant" in result.out
