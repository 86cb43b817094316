"""``tuyaio doctor``: a verdict and a fix for working and broken set-ups."""

from __future__ import annotations

from typing import Any

from .conftest import API, Served, run_cli, start_sandbox, stop_sandbox


def test_working_credentials(cli: Any, served: Served) -> None:
    result = cli(
        "doctor",
        "--project-id",
        served.project_id,
        "--lighting-project-id",
        served.lighting_project_id,
        "--json",
    )
    assert result.code == 0, result.err
    report = result.json()
    assert report["ok"] is True
    assert report["token_lifetime_s"] == 7200
    assert abs(report["clock_offset_ms"]) < 2000
    assert report["rtt_ms"] > 0
    assert {check["status"] for check in report["checks"]} == {"ok"}
    names = [check["name"] for check in report["checks"]]
    assert "maintenance project" in names
    assert "lighting project" in names

    table = cli("doctor")
    assert table.code == 0
    assert "Verdict" in table.out
    assert "credentials and endpoint work" in table.out


def test_wrong_secret_says_so(cli: Any) -> None:
    result = cli("doctor", "--json", env={"TUYA_CLIENT_SECRET": "wrong-secret-123"})
    assert result.code == API
    report = result.json()
    assert report["error"]["code"] == 1004
    assert report["error"]["tid"]
    assert "secret" in report["verdict"]
    assert "TUYA_CLIENT_SECRET" in report["fix"]
    assert "wrong-secret-123" not in result.out + result.err


def test_wrong_client_id_says_so(cli: Any) -> None:
    result = cli("doctor", "--json", env={"TUYA_CLIENT_ID": "someone-else"})
    assert result.code == API
    report = result.json()
    assert report["error"]["code"] == 1005
    assert "client ID" in report["verdict"]


def test_project_elsewhere_points_at_the_data_center(cli: Any) -> None:
    result = cli("doctor", "--project-id", "999999")
    assert result.code == API
    assert "1106" in result.out
    assert "data center" in result.out
    assert "--region" in result.out


def test_clock_offset_is_measured_and_flagged() -> None:
    skewed = start_sandbox("--clock-skew-s", "900", "--tasks", "10", "--rooms", "10")
    try:
        result = run_cli("doctor", "--json", env=skewed.env, secret=skewed.secret)
    finally:
        stop_sandbox(skewed.process)
    assert result.code == 0, result.err
    report = result.json()
    assert abs(report["clock_offset_ms"] - 900_000) < 5_000
    clock = next(check for check in report["checks"] if check["name"] == "clock")
    assert clock["status"] == "warn"
    assert "1013" in clock["detail"]
    assert "NTP" in report["fix"]
