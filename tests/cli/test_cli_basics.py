"""The command line without a server: help, usage errors, missing extras, transport errors."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

from .conftest import TRANSPORT, USAGE, assert_one_error_line, clean_env, run_cli

REGIONS = ("cn", "us", "us-e", "eu", "eu-w", "in", "sg")
FAKE = {"TUYA_CLIENT_ID": "some-client", "TUYA_CLIENT_SECRET": "s3cret-value-never-shown"}


def test_help_lists_commands_regions_and_exit_codes() -> None:
    result = run_cli("--help")
    assert result.code == 0
    for word in ("demo", "doctor", "maintenance", "construction", "sandbox", "exit codes"):
        assert word in result.out
    flat = " ".join(result.out.split())
    for region in REGIONS:
        assert f"{region} (" in flat
    assert "eu (Central Europe)" in flat


def test_console_script_and_version() -> None:
    script = shutil.which("tuyaio")
    assert script is not None, "the tuyaio console script is not installed"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("tuyaio ")


def test_missing_argument_is_a_usage_error() -> None:
    result = run_cli("maintenance", "get", "1233823965050001", env=FAKE)
    assert result.code == USAGE
    assert "usage: tuyaio maintenance get" in result.err
    assert "TASK_ID" in result.err


@pytest.mark.parametrize(
    "args",
    [
        ["maintenance", "list", "p1", "--page-size", "0"],
        ["maintenance", "list", "bad/id"],
        ["maintenance", "create", "p1", "--worker-id", "w1", "--room", "r1"],
        ["construction", "rooms", "p1", "--authorization-status", "sometimes"],
        ["construction", "create", "--project-id", "p1", "--user-account", "a"],
        ["--region", "mars", "doctor"],
        ["maintenance", "list", "p1", "--json", "--jsonl"],
    ],
    ids=["page-size-0", "unsafe-id", "room-spec", "enum", "required", "region", "formats"],
)
def test_bad_arguments_are_usage_errors(args: list[str]) -> None:
    result = run_cli(*args, env={**FAKE, "TUYA_REGION": "eu"})
    assert result.code == USAGE, result
    assert "usage:" in result.err


def test_page_size_beyond_the_api_limit_is_one_usage_line() -> None:
    result = run_cli(
        "maintenance", "list", "p1", "--page-size", "500", env={**FAKE, "TUYA_REGION": "eu"}
    )
    assert_one_error_line(result, USAGE, "page_size", "99")


def test_missing_credentials_name_the_flag_and_variable() -> None:
    result = run_cli("maintenance", "list", "p1", "--region", "eu")
    assert_one_error_line(result, USAGE, "--client-id", "TUYA_CLIENT_ID")
    result = run_cli("maintenance", "list", "p1", env={**FAKE})
    assert_one_error_line(result, USAGE, "TUYA_REGION", "TUYA_BASE_URL")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_a_transport_error() -> None:
    env = {**FAKE, "TUYA_BASE_URL": f"http://127.0.0.1:{_closed_port()}"}
    result = run_cli("maintenance", "list", "p1", "--max-retries", "0", env=env)
    assert_one_error_line(result, TRANSPORT, "transport error", "could not connect")
    assert FAKE["TUYA_CLIENT_SECRET"] not in result.err


def test_debug_shows_the_traceback() -> None:
    env = {**FAKE, "TUYA_BASE_URL": f"http://127.0.0.1:{_closed_port()}"}
    result = run_cli("maintenance", "list", "p1", "--max-retries", "0", "--debug", env=env)
    assert result.code == TRANSPORT
    assert "Traceback" in result.err
    assert FAKE["TUYA_CLIENT_SECRET"] not in result.err + result.out


def test_doctor_reports_an_unreachable_endpoint() -> None:
    env = {**FAKE, "TUYA_BASE_URL": f"http://127.0.0.1:{_closed_port()}"}
    result = run_cli("doctor", "--json", env=env)
    assert result.code == TRANSPORT
    report = result.json()
    assert report["ok"] is False
    assert "could not reach" in report["verdict"]
    assert "--region" in report["fix"]


def test_the_library_does_not_import_the_cli_or_rich() -> None:
    code = "import sys, tuyaio; print('rich' in sys.modules, 'tuyaio.cli' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=60
    )
    assert done.stdout.split() == ["False", "False"]


def test_without_rich_one_line_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "from tuyaio.cli import main\n"
        "raise SystemExit(main(['--help']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=60
    )
    assert done.returncode == USAGE
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "tuyaio: the command line needs rich; install it with: pip install 'tuyaio[cli]'"
    )
