"""The command line without a server: help, usage errors, missing extras, transport errors."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

from .conftest import TRANSPORT, USAGE, assert_one_error_line, clean_env, run_cli, run_many

REGIONS = ("cn", "us", "us-e", "eu", "eu-w", "in", "sg")
FAKE = {"TUYA_CLIENT_ID": "some-client", "TUYA_CLIENT_SECRET": "s3cret-value-never-shown"}
EU = {**FAKE, "TUYA_REGION": "eu"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_help_version_and_console_script() -> None:
    script = shutil.which("tuyaio")
    assert script is not None, "the tuyaio console script is not installed"
    version = subprocess.Popen([script, "--version"], stdout=subprocess.PIPE, text=True)
    result = run_cli("--help")
    assert result.code == 0
    for word in ("demo", "doctor", "maintenance", "construction", "sandbox", "exit codes"):
        assert word in result.out
    flat = " ".join(result.out.split())
    for region in REGIONS:
        assert f"{region} (" in flat
    assert "eu (Central Europe)" in flat
    out, _ = version.communicate(timeout=60)
    assert version.returncode == 0
    assert out.startswith("tuyaio ")


BAD_ARGUMENTS = [
    ["maintenance", "get", "1233823965050001"],
    ["maintenance", "list", "p1", "--page-size", "0"],
    ["maintenance", "create", "p1", "--worker-id", "w1", "--room", "r1"],
    ["construction", "rooms", "p1", "--authorization-status", "sometimes"],
    ["construction", "create", "--project-id", "p1", "--user-account", "a"],
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
    assert_one_error_line(page, USAGE, "page_size", "99")
    assert_one_error_line(no_id, USAGE, "--client-id", "TUYA_CLIENT_ID")
    assert_one_error_line(no_endpoint, USAGE, "TUYA_REGION", "TUYA_BASE_URL")
    assert_one_error_line(twice, USAGE, "--room r is given twice")


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
