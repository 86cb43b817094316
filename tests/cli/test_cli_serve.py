"""``tuyaio sandbox serve``: announces itself, serves other programs, stops cleanly."""

from __future__ import annotations

import subprocess
import sys
import time

from .conftest import USAGE, Served, clean_env, run_cli, start_sandbox, stop_sandbox


def test_serve_announces_serves_and_stops_on_ctrl_c() -> None:
    served = start_sandbox("--tasks", "7", "--rooms", "5", "--latency-ms", "1")
    try:
        info = served.info
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert info["env"]["TUYA_BASE_URL"] == info["base_url"]
        assert info["client_id"]
        assert info["client_secret"]
        result = run_cli("maintenance", "list", served.project_id, "--json", env=served.env)
        assert result.code == 0, result.err
        assert result.json()["total"] == 7
    finally:
        _, err = stop_sandbox(served.process)
    assert served.process.returncode == 0, err
    assert "stopped" in err
    assert "Traceback" not in err


def test_serve_stops_after_max_seconds_and_prints_instructions() -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tuyaio", "sandbox", "serve", "--max-seconds", "0.5"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - started < 15
    assert "export TUYA_BASE_URL=http://127.0.0.1:" in done.stdout
    assert "export TUYA_CLIENT_SECRET=" in done.stdout


def test_a_taken_port_is_a_usage_error(served: Served) -> None:
    port = served.info["base_url"].rsplit(":", 1)[1]
    result = run_cli("sandbox", "serve", "--port", port, "--max-seconds", "5")
    assert result.code == USAGE
    assert "could not listen" in result.err


def test_bad_serve_flags_are_usage_errors() -> None:
    for flags in (
        ["--clock-skew-s", "nan"],
        ["--clock-skew-s", "inf"],
        ["--clock-skew-s", "-inf"],
        ["--port", "65536"],
        ["--port", "-1"],
        ["--port", "http"],
    ):
        result = run_cli("sandbox", "serve", *flags, "--max-seconds", "5")
        assert result.code == USAGE, (flags, result)
        assert flags[0] in result.err, result.err
        assert "listening" not in result.out
