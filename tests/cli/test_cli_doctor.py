"""``tuyaio doctor``: a verdict and a fix for working and broken set-ups."""

from __future__ import annotations

from typing import Any

from .conftest import API, Served, run_cli, run_many, sandbox_in_thread


def test_working_credentials(cli: Any, served: Served) -> None:
    probes = [
        "--project-id",
        served.project_id,
        "--lighting-project-id",
        served.lighting_project_id,
    ]
    result, table = run_many(cli, [(["doctor", *probes, "--json"], None), (["doctor"], None)])
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
    assert table.code == 0
    assert "Verdict" in table.out
    assert "credentials and endpoint work" in table.out


def test_wrong_settings_get_a_verdict_and_a_fix(cli: Any) -> None:
    secret, client_id, elsewhere = run_many(
        cli,
        [
            (["doctor", "--json"], {"TUYA_CLIENT_SECRET": "wrong-secret-123"}),
            (["doctor", "--json"], {"TUYA_CLIENT_ID": "someone-else"}),
            (["doctor", "--project-id", "999999"], None),
        ],
    )
    assert secret.code == API
    report = secret.json()
    assert report["error"]["code"] == 1004
    assert report["error"]["tid"]
    assert "secret" in report["verdict"]
    assert "TUYA_CLIENT_SECRET" in report["fix"]
    assert "wrong-secret-123" not in secret.out + secret.err

    assert client_id.code == API
    assert client_id.json()["error"]["code"] == 1005
    assert "client ID" in client_id.json()["verdict"]

    assert elsewhere.code == API
    assert "1106" in elsewhere.out
    assert "data center" in elsewhere.out
    assert "--region" in elsewhere.out


def test_clock_offset_is_measured_and_flagged() -> None:
    with sandbox_in_thread(clock_skew_s=900, tasks=10, rooms=10) as skewed:
        result = run_cli("doctor", "--json", env=skewed.env, secret=skewed.secret)
    assert result.code == 0, result.err
    report = result.json()
    assert abs(report["clock_offset_ms"] - 900_000) < 5_000
    clock = next(check for check in report["checks"] if check["name"] == "clock")
    assert clock["status"] == "warn"
    assert "1013" in clock["detail"]
    assert "NTP" in report["fix"]
