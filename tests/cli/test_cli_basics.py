"""The command line without a server: help, usage errors, missing extras, transport errors."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from tuyaio.cli import main

from .conftest import TRANSPORT, USAGE, assert_one_error_line, run_cli, run_many

REGIONS = ("cn", "us", "us-e", "eu", "eu-w", "in", "sg")
FAKE = {"TUYA_CLIENT_ID": "some-client", "TUYA_CLIENT_SECRET": "s3cret-value-never-shown"}
EU = {**FAKE, "TUYA_REGION": "eu"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_help_and_version() -> None:
    result = run_cli("--help")
    assert result.code == 0
    for word in ("demo", "doctor", "maintenance", "construction", "sandbox", "exit codes"):
        assert word in result.out
    flat = " ".join(result.out.split())
    for region in REGIONS:
        assert f"{region} (" in flat
    assert "eu (Central Europe)" in flat
    assert "--allow-insecure-http" in flat
    version = run_cli("--version")
    assert version.code == 0
    assert version.out.startswith("tuyaio ")


def test_console_script_smoke() -> None:
    """The one subprocess: the installed command serves a sandbox whose --env output a shell
    can eval."""
    script = shutil.which("tuyaio")
    command = script if script is not None else f"{sys.executable} -m tuyaio"
    env = {key: value for key, value in os.environ.items() if not key.startswith("TUYA_")}
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'eval "$({command} sandbox serve --env --max-seconds 0.1)" && '
            'echo "$TUYA_BASE_URL $TUYA_CLIENT_ID"',
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    base_url, client_id = done.stdout.split()
    assert base_url.startswith("http://127.0.0.1:")
    assert client_id == "sandbox-client-id"
    assert "listening" in done.stderr


BAD_ARGUMENTS = [
    ["maintenance", "get", "1233823965050001"],
    ["maintenance", "list", "p1", "--page-size", "0"],
    ["maintenance", "create", "p1", "--worker-id", "w1", "--room", "r1"],
    ["construction", "rooms", "p1", "--authorization-status", "sometimes"],
    ["construction", "create", "p1", "--user-account", "a"],
    ["construction", "update", "p1"],
    ["--region", "mars", "doctor"],
    ["maintenance", "list", "p1", "--json", "--jsonl"],
]


def test_bad_arguments_are_usage_errors() -> None:
    results = run_many(run_cli, [(args, EU) for args in BAD_ARGUMENTS])
    for args, result in zip(BAD_ARGUMENTS, results, strict=True):
        assert result.code == USAGE, (args, result)
        assert "usage: tuyaio" in result.err, (args, result.err)
        assert result.out == ""
    missing = results[0].err
    assert "usage: tuyaio maintenance get" in missing
    assert "TASK_ID" in missing


def test_input_checks_and_missing_settings_are_one_usage_line() -> None:
    page, no_id, no_endpoint, twice = run_many(
        run_cli,
        [
            (["maintenance", "list", "p1", "--page-size", "500"], EU),
            (["maintenance", "list", "p1", "--region", "eu"], None),
            (["maintenance", "list", "p1"], FAKE),
            (
                [
                    "maintenance",
                    "create",
                    "p1",
                    "--worker-id",
                    "w",
                    "--room",
                    "r=a",
                    "--room",
                    "r=b",
                ],
                EU,
            ),
        ],
    )
    assert_one_error_line(page, USAGE, "--page-size must be between 1 and 99")
    assert "page_size" not in page.err
    assert_one_error_line(no_id, USAGE, "--client-id", "TUYA_CLIENT_ID")
    assert_one_error_line(no_endpoint, USAGE, "TUYA_REGION", "TUYA_BASE_URL", "--region")
    assert_one_error_line(twice, USAGE, "--room lists 'r' more than once")


def test_unreachable_server_is_a_transport_error() -> None:
    env = {**FAKE, "TUYA_BASE_URL": f"http://127.0.0.1:{_closed_port()}"}
    plain, debug, doctor = run_many(
        run_cli,
        [
            (["maintenance", "list", "p1", "--max-retries", "0"], env),
            (["maintenance", "list", "p1", "--max-retries", "0", "--debug"], env),
            (["doctor", "--json"], env),
        ],
    )
    assert_one_error_line(plain, TRANSPORT, "transport error", "could not connect")
    assert debug.code == TRANSPORT
    assert "Traceback" in debug.err
    assert doctor.code == TRANSPORT
    report = doctor.json()
    assert report["ok"] is False
    assert "could not reach" in report["verdict"]
    assert "--region" in report["fix"]
    for result in (plain, debug, doctor):
        assert FAKE["TUYA_CLIENT_SECRET"] not in result.out + result.err


def test_both_endpoints_are_an_error_that_says_what_to_unset() -> None:
    both_env, both_flags, flag_and_env = run_many(
        run_cli,
        [
            (["maintenance", "list", "p1"], {**EU, "TUYA_BASE_URL": "https://proxy.example"}),
            (["--region", "eu", "maintenance", "list", "p1", "--base-url", "https://x.example"],
             FAKE),
            (["maintenance", "list", "p1", "--region", "mars"], FAKE),
        ],
    )  # fmt: skip
    assert_one_error_line(both_env, USAGE, "TUYA_REGION and TUYA_BASE_URL", "unset one")
    assert_one_error_line(both_flags, USAGE, "exactly one of --region", "or --base-url")
    assert flag_and_env.code == USAGE
    assert "--region" in flag_and_env.err


def test_hints_use_the_command_lines_terms() -> None:
    far = {**FAKE, "TUYA_BASE_URL": "http://192.0.2.1"}
    plain, bad_env_region, flagged = run_many(
        run_cli,
        [
            (["maintenance", "list", "p1"], far),
            (["maintenance", "list", "p1"], {**FAKE, "TUYA_REGION": "mars"}),
            (["maintenance", "list", "p1", "--base-url", "ftp://x"], FAKE),
        ],
    )
    assert_one_error_line(plain, USAGE, "TUYA_BASE_URL", "--allow-insecure-http")
    assert "allow_insecure_http" not in plain.err
    assert_one_error_line(bad_env_region, USAGE, "TUYA_REGION must be one of", "eu")
    assert_one_error_line(flagged, USAGE, "--base-url must be an http(s) URL")


def test_the_library_does_not_import_the_cli_or_rich() -> None:
    code = "import sys, tuyaio; print('rich' in sys.modules, 'tuyaio.cli' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"]


def test_without_rich_one_line_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    assert main(["--help"]) == USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        "tuyaio: the command line needs rich; install it with: pip install 'tuyaio[cli]'"
    )
