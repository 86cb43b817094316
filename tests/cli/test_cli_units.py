"""The command line's pure pieces, in process: exit codes, error lines, rendering, settings."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta, timezone

import pytest

import tuyaio
from tuyaio import to_json_data as to_data
from tuyaio.cli.argtypes import (
    enum_list,
    fault_kinds,
    finite_float,
    iso_datetime,
    port,
    prefetch,
    room_spec,
)
from tuyaio.cli.failures import ExitCode, UsageError, cli_terms, exit_code_for, one_line
from tuyaio.cli.output import show
from tuyaio.cli.settings import connect


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (tuyaio.ApiError(code=2001, msg="no"), ExitCode.API_ERROR),
        (tuyaio.SignatureError(code=1004, msg="sign invalid"), ExitCode.API_ERROR),
        (tuyaio.ServerError(code=500, msg="system error"), ExitCode.API_ERROR),
        (tuyaio.ConnectError(detail="refused"), ExitCode.TRANSPORT),
        (tuyaio.DecodeError(errors=("x",)), ExitCode.TRANSPORT),
        (tuyaio.OutcomeUnknownError(reason="timeout"), ExitCode.TRANSPORT),
        (ValueError("page_size must be between 1 and 99"), ExitCode.USAGE),
        (TypeError("rooms must map"), ExitCode.USAGE),
        (UsageError("no client ID"), ExitCode.USAGE),
    ],
)
def test_exit_codes(error: BaseException, code: ExitCode) -> None:
    assert exit_code_for(error) == code


def test_an_api_error_line_has_code_message_request_id_route_and_meaning() -> None:
    error = tuyaio.PermissionDeniedError(
        code=1106, msg="permission deny", tid="abc123", method="GET", route="/v1.0/x/{id}"
    )
    line = one_line(error)
    assert "\n" not in line
    for part in ("code 1106", "permission deny", "request id abc123", "[GET /v1.0/x/{id}]"):
        assert part in line
    assert "data center" in line
    assert "HTTP 429" in one_line(tuyaio.RateLimitedError(http_status=429))


def test_models_as_data_and_as_text() -> None:
    task = tuyaio.MaintenanceTask(
        task_id="1",
        status=tuyaio.MaintenanceStatus("SOMETHING_NEW"),
        created_at=datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
    )
    assert to_data(task) == {
        "task_id": "1",
        "status": "SOMETHING_NEW",
        "worker_username": None,
        "worker_nickname": None,
        "created_at": "2024-05-01T08:00:00.000Z",
    }
    assert show(task.status) == "unknown (SOMETHING_NEW)"
    assert show(tuyaio.AuthorizationStatus.NOT_AUTHORIZED) == "not authorized"
    assert show(("a", "b")) == "a, b"
    assert show("evil\x1b[2J") == "evil?[2J"


def test_argument_types() -> None:
    assert iso_datetime("2030-01-01T08:00") == datetime(2030, 1, 1, 8, tzinfo=UTC)
    east = iso_datetime("2030-01-01T08:00+02:00")
    assert east.utcoffset() == timezone(timedelta(hours=2)).utcoffset(None)
    statuses = enum_list(tuyaio.AuthorizationStatus)("authorized, 0,EXPIRED")
    assert statuses == (
        tuyaio.AuthorizationStatus.AUTHORIZED,
        tuyaio.AuthorizationStatus.NOT_AUTHORIZED,
        tuyaio.AuthorizationStatus.EXPIRED,
    )
    assert room_spec("r1=d1, d2") == tuyaio.RoomDevices(room_id="r1", device_ids=("d1", "d2"))
    for bad in ("r1", "r1=", "r/1=d1"):
        with pytest.raises(argparse.ArgumentTypeError):
            room_spec(bad)
    assert (port("0"), port("65535"), prefetch("0"), prefetch("64")) == (0, 65535, 0, 64)
    assert finite_float("-1.5") == -1.5
    for convert, text in [
        (port, "65536"),
        (port, "-1"),
        (prefetch, "65"),
        (prefetch, "-1"),
        (finite_float, "nan"),
        (finite_float, "inf"),
        (finite_float, "-Infinity"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError):
            convert(text)


def test_flags_win_over_the_environment_and_the_secret_stays_hidden() -> None:
    env = {"TUYA_CLIENT_ID": "env-id", "TUYA_CLIENT_SECRET": "env-secret", "TUYA_REGION": "eu"}
    assert "openapi.tuyaeu.com" in repr(connect(argparse.Namespace(environ=env)))
    flagged = connect(argparse.Namespace(environ=env, client_id="flag-id", region="us"))
    assert "openapi.tuyaus.com" in repr(flagged)
    assert "flag-id" in repr(flagged)
    assert "env-secret" not in repr(flagged)
    proxied = connect(
        argparse.Namespace(environ={**env, "TUYA_REGION": ""}, base_url="http://127.0.0.1:1")
    )
    assert "127.0.0.1:1" in repr(proxied)
    with pytest.raises(ValueError, match=r"exactly one of region .* or base_url"):
        connect(argparse.Namespace(environ=env, region="eu", base_url="https://x.example"))


def test_from_env_refuses_two_endpoints_and_names_the_variable() -> None:
    env = {"TUYA_CLIENT_ID": "c", "TUYA_CLIENT_SECRET": "s", "TUYA_REGION": "eu"}
    with pytest.raises(ValueError, match="both TUYA_REGION and TUYA_BASE_URL are set"):
        tuyaio.TuyaClient.from_env(environ={**env, "TUYA_BASE_URL": "https://x.example"})
    with pytest.raises(ValueError, match=r"^TUYA_REGION must be one of"):
        tuyaio.TuyaClient.from_env(environ={**env, "TUYA_REGION": "mars"})
    with pytest.raises(ValueError, match=r"^TUYA_BASE_URL .* allow_insecure_http=True"):
        tuyaio.TuyaClient.from_env(
            environ={**env, "TUYA_REGION": "", "TUYA_BASE_URL": "http://192.0.2.1"}
        )
    keyword = tuyaio.TuyaClient.from_env(environ=env, base_url="https://x.example", secret="k")
    assert "x.example" in repr(keyword)


def test_library_terms_become_command_line_terms() -> None:
    assert cli_terms("end_time must be after start_time") == "--end must be after --start"
    assert cli_terms("pass allow_insecure_http=True") == "pass --allow-insecure-http"
    assert cli_terms("TUYA_BASE_URL is plain http") == "TUYA_BASE_URL is plain http"


def test_fault_kinds() -> None:
    assert fault_kinds("http-503, envelope_500") == ("http_503", "envelope_500")
    for bad in ("", "slowly", "http_503,teapot"):
        with pytest.raises(argparse.ArgumentTypeError):
            fault_kinds(bad)
