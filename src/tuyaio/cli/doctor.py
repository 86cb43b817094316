"""``tuyaio doctor``: the first troubleshooting step for credentials and endpoint.

It asks for a token (that alone proves the client ID, the secret, the data center and the clock),
then asks again to time a round trip and reads the server's clock offset and the token's lifetime,
optionally reads one page of a project (which shows a wrong data center or a missing API
authorisation), and prints a verdict with the fix to try. Only the token request and the pages
asked for are sent; the token is never printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import attrs

from ..client import TuyaClient
from ..errors import ApiError, DecodeError, TransportError, TuyaError
from ..retry import RetryPolicy
from ..tokens import Token
from .argtypes import id_text
from .failures import ExitCode, cli_terms, one_line
from .output import Format, Output, add_format_flags, printable
from .settings import Subparsers, connect, print_usage, usage

__all__ = ["Check", "Diagnosis", "diagnose", "register"]

_NTP = "synchronise this machine's clock (NTP: timedatectl set-ntp true)"


def register(commands: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``doctor``."""
    doctor = commands.add_parser(
        "doctor",
        parents=parents,
        help="check the credentials, endpoint and clock, and suggest a fix",
        description="Check the configured credentials and endpoint: token grant, clock offset, "
        "token lifetime, round-trip time; optionally one page of a project.",
    )
    doctor.add_argument(
        "--project-id",
        type=id_text,
        metavar="P",
        help="also read one page of this Smart Engineering project's maintenance tasks",
    )
    doctor.add_argument(
        "--lighting-project-id",
        type=id_text,
        metavar="P",
        help="also read one page of this Smart Lighting project's rooms",
    )
    add_format_flags(doctor, lines=False)
    doctor.set_defaults(handler=_doctor)


@attrs.define
class Check:
    """One finding: ``ok``, ``warn`` or ``fail``, with what was seen."""

    name: str
    status: str
    detail: str


@attrs.define
class Diagnosis:
    """Everything the doctor found."""

    endpoint: str
    client_id: str
    checks: list[Check] = attrs.field(factory=list)
    verdict: str = "credentials and endpoint work"
    fix: str = ""
    exit_code: ExitCode = ExitCode.OK
    clock_offset_ms: int | None = None
    token_lifetime_s: float | None = None
    rtt_ms: float | None = None
    error: dict[str, Any] | None = None
    usage: list[dict[str, Any]] = attrs.field(factory=list)
    """The requests this run of the doctor cost, per route (what the project's quota counts)."""

    def add(self, name: str, status: str, detail: str) -> None:
        """Record a finding."""
        self.checks.append(Check(name, status, detail))

    def failed(self, step: str, error: TuyaError) -> None:
        """Record the error that ended the checks at ``step``, with a verdict and a fix."""
        self.add(step, "fail", one_line(error))
        self.exit_code = ExitCode.TRANSPORT
        if isinstance(error, ApiError):
            self.error = {"code": error.code, "msg": error.msg, "tid": error.tid}
            self.verdict = f"the server refused: {error.msg}"
            self.fix = "look up the code in Tuya's error code list"
            if error.hint:
                self.verdict, self.fix = cli_terms(error.hint.meaning), cli_terms(error.hint.fix)
            self.exit_code = ExitCode.API_ERROR
        elif isinstance(error, DecodeError):
            self.verdict = "the endpoint answered, but not like the Tuya OpenAPI"
            self.fix = "check --base-url / TUYA_BASE_URL (a proxy or a wrong host?)"
        else:
            detail = error.detail if isinstance(error, TransportError) else type(error).__name__
            self.verdict = f"could not reach {self.endpoint}: {detail}"
            self.fix = (
                "check the network, proxy and firewall, and the region (--region) or --base-url"
            )


def _client(args: argparse.Namespace, session: aiohttp.ClientSession | None) -> TuyaClient:
    timeout = min(getattr(args, "timeout", 15.0), 15.0)
    retry = RetryPolicy(max_retries=1, base_delay=0.2)
    return connect(args, session=session, retry=retry, timeout=timeout)


async def _grant(client: TuyaClient) -> tuple[Token, float]:
    """A token, and the milliseconds its grant took."""
    started = time.perf_counter()
    token = await client.authenticate()
    return token, round((time.perf_counter() - started) * 1000, 1)


async def diagnose(args: argparse.Namespace) -> Diagnosis:
    """Run every check against the endpoint of the flags and the environment."""
    configured = _client(args, None)  # a bad setting raises here
    diagnosis = Diagnosis(configured.base_url, configured.client_id)
    diagnosis.add("configuration", "ok", f"client ID {diagnosis.client_id}, secret set")
    step = "token grant"
    async with aiohttp.ClientSession() as session, _client(args, session) as client:
        try:
            async with _client(args, session) as first:
                token, grant_ms = await _grant(first)
            lifetime = diagnosis.token_lifetime_s = token.lifetime_ms / 1000
            detail = f"granted in {grant_ms:.0f} ms (with connecting); lifetime {lifetime:.0f} s"
            diagnosis.add(step, "ok", detail)
            if lifetime < 600:
                diagnosis.add("token lifetime", "warn", f"only {lifetime:.0f} s")
            diagnosis.rtt_ms = (await _grant(client))[1]
            diagnosis.add("round trip", "ok", f"{diagnosis.rtt_ms:.0f} ms per request")
            _clock(diagnosis, client)
            probes: list[tuple[str, str | None, str, Callable[..., Awaitable[Any]]]] = [
                ("maintenance", args.project_id, "tasks", client.maintenance.list_tasks),
                ("lighting", args.lighting_project_id, "rooms", client.construction.list_rooms),
            ]
            for what, project, noun, first_page in probes:
                if project is not None:
                    step = f"{what} project {project}"
                    started = time.perf_counter()
                    total = (await first_page(project, page_size=1)).total
                    ms = (time.perf_counter() - started) * 1000
                    detail = f"{project}: {total} {noun}, first page in {ms:.0f} ms"
                    diagnosis.add(f"{what} project", "ok", detail)
        except TuyaError as error:
            diagnosis.failed(step, error)
    if diagnosis.exit_code is ExitCode.OK:
        if any(check.status == "warn" for check in diagnosis.checks):
            diagnosis.verdict += ", with a warning"
        else:
            diagnosis.fix = "nothing to fix"
    return diagnosis


def _clock(diagnosis: Diagnosis, client: TuyaClient) -> None:
    offset = diagnosis.clock_offset_ms = client.clock_offset_ms
    text = f"server clock is {offset / 1000:+.1f} s from this machine's"
    if client.stats.clock_corrections:
        text += ": the server refused the first request (1013) and tuyaio corrected for it"
        diagnosis.add("clock", "warn", text + ", but other tools will fail")
        diagnosis.fix = _NTP
    elif abs(offset) > 60_000:
        diagnosis.add("clock", "warn", f"{text}; Tuya refuses requests beyond 300 s")
        diagnosis.fix = _NTP
    else:
        diagnosis.add("clock", "ok", text)


async def _doctor(args: argparse.Namespace, out: Output) -> int:
    diagnosis = await diagnose(args)
    used = usage(args)
    diagnosis.usage = [
        {"route": route, "calls": calls, "attempts": attempts, "succeeded": ok, "failed": failed}
        | {"failures": dict(used.routes[route].failed.most_common())}
        for route, calls, attempts, ok, failed in used.report()
    ]
    if out.format is not Format.TABLE:
        data = {"ok": diagnosis.exit_code is ExitCode.OK, **attrs.asdict(diagnosis)}
        out.document({**data, "exit_code": int(diagnosis.exit_code)})
        return diagnosis.exit_code
    marks = {"ok": "ok", "warn": "warn", "fail": "FAIL"}
    rows = [(marks[check.status], check.name, check.detail) for check in diagnosis.checks]
    out.table(("", "check", "finding"), rows, f"tuyaio doctor: {diagnosis.endpoint}")
    out.write(
        printable(f"Verdict: {diagnosis.verdict}") + f"\n{printable(f'Fix: {diagnosis.fix}')}\n\n"
    )
    if not getattr(args, "usage", False):  # --usage prints it on stderr at the end
        print_usage(used, sys.stdout)
    return diagnosis.exit_code
