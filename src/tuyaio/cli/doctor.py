"""``tuyaio doctor``: the first troubleshooting step for credentials and endpoint.

It asks for a token (that alone proves the client ID, the secret, the data center and the clock),
then measures the offset between this machine's clock and the server's, the token's lifetime and
the round-trip time, optionally reads one page of a project (which shows a wrong data center or a
missing API authorisation), and prints a verdict with the fix to try.

The token grant goes through the public API (:meth:`~tuyaio.TuyaClient.authenticate`), so that
nothing but the token request is sent. The token is never printed.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import attrs
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..client import TuyaClient
from ..errors import ApiError, DecodeError, TransportError, TuyaError
from ..retry import RetryPolicy
from ..tokens import MemoryTokenStore, Token, TokenStore
from .argtypes import id_text
from .commands import Subparsers
from .failures import ExitCode, cli_terms, one_line
from .output import Format, Output, add_format_flags
from .settings import connect
from .usage import run_usage, usage_rows

__all__ = ["Check", "Diagnosis", "register"]

_CLOCK_WARN_MS = 60_000
_CLOCK_WINDOW_MS = 300_000
_SHORT_TOKEN_S = 600
_DOCTOR_TIMEOUT_S = 15.0


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
    verdict: str = ""
    fix: str = ""
    exit_code: ExitCode = ExitCode.OK
    clock_offset_ms: int | None = None
    token_lifetime_s: float | None = None
    grant_ms: float | None = None
    rtt_ms: float | None = None
    error: dict[str, Any] | None = None
    usage: list[dict[str, Any]] = attrs.field(factory=list)
    """The requests this run of the doctor cost, per route (what the project's quota counts)."""

    def add(self, name: str, status: str, detail: str) -> None:
        """Record a finding."""
        self.checks.append(Check(name, status, detail))


@attrs.define
class _Grant:
    store: MemoryTokenStore
    token: Token | None = None
    seconds: float = 0.0
    received_wall_ms: float = 0.0
    corrections: int = 0
    error: TuyaError | None = None


def _client(
    args: argparse.Namespace, session: aiohttp.ClientSession | None, store: TokenStore
) -> TuyaClient:
    return connect(
        args,
        session=session,
        token_store=store,
        retry=RetryPolicy(max_retries=1, base_delay=0.2),
        timeout=min(getattr(args, "timeout", _DOCTOR_TIMEOUT_S), _DOCTOR_TIMEOUT_S),
    )


_REPR = re.compile(r"base_url='(?P<endpoint>[^']*)', client_id='(?P<client_id>[^']*)'")


def _identity(args: argparse.Namespace) -> tuple[str, str]:
    """The endpoint and client ID the settings resolve to (a bad setting raises here)."""
    shown = repr(_client(args, None, MemoryTokenStore()))
    found = _REPR.search(shown)
    return (found["endpoint"], found["client_id"]) if found else (shown, "?")


async def _grant(args: argparse.Namespace, session: aiohttp.ClientSession) -> _Grant:
    grant = _Grant(MemoryTokenStore())
    async with _client(args, session, grant.store) as client:
        started = time.perf_counter()
        try:
            grant.token = await client.authenticate()
        except TuyaError as error:
            grant.error = error
        grant.seconds = time.perf_counter() - started
        grant.received_wall_ms = time.time() * 1000
        grant.corrections = client.stats.clock_corrections
    return grant


async def _probe(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    store: TokenStore,
    what: str,
    project: str,
) -> tuple[float, int]:
    async with _client(args, session, store) as client:
        started = time.perf_counter()
        if what == "maintenance":
            total = (await client.maintenance.list_tasks(project, page_size=1)).total
        else:
            total = (await client.construction.list_rooms(project, page_size=1)).total
        return time.perf_counter() - started, total


def _explain(diagnosis: Diagnosis, error: TuyaError, step: str) -> None:
    diagnosis.add(step, "fail", one_line(error))
    if isinstance(error, ApiError):
        hint = error.hint
        diagnosis.error = {"code": error.code, "msg": error.msg, "tid": error.tid}
        diagnosis.verdict = cli_terms(hint.meaning) if hint else f"the server refused: {error.msg}"
        diagnosis.fix = (
            cli_terms(hint.fix) if hint else "look up the code in Tuya's error code list"
        )
        diagnosis.exit_code = ExitCode.API_ERROR
    elif isinstance(error, DecodeError):
        diagnosis.verdict = "the endpoint answered, but not like the Tuya OpenAPI"
        diagnosis.fix = "check --base-url / TUYA_BASE_URL (a proxy or a wrong host?)"
        diagnosis.exit_code = ExitCode.TRANSPORT
    else:
        detail = error.detail if isinstance(error, TransportError) else type(error).__name__
        diagnosis.verdict = f"could not reach {diagnosis.endpoint}: {detail}"
        diagnosis.fix = (
            "check the network, proxy and firewall, and the region (--region) or --base-url"
        )
        diagnosis.exit_code = ExitCode.TRANSPORT


def _clock(diagnosis: Diagnosis, grant: _Grant) -> None:
    token = grant.token
    assert token is not None
    server_ms = token.expires_at_ms - token.lifetime_ms
    one_way_ms = min(grant.seconds, 2.0) * 500
    offset = round(server_ms - (grant.received_wall_ms - one_way_ms))
    diagnosis.clock_offset_ms = offset
    seconds = f"{offset / 1000:+.1f}".replace("-0.0", "+0.0")
    text = f"server clock is {seconds} s from this machine's"
    if grant.corrections:
        diagnosis.add(
            "clock",
            "warn",
            f"{text}: the server refused the first request (1013) and tuyaio corrected "
            "for it, but other tools will fail",
        )
        diagnosis.fix = "synchronise this machine's clock (NTP: timedatectl set-ntp true)"
    elif abs(offset) > _CLOCK_WARN_MS:
        limit = _CLOCK_WINDOW_MS // 1000
        diagnosis.add("clock", "warn", f"{text}; Tuya refuses requests beyond {limit} s")
        diagnosis.fix = "synchronise this machine's clock (NTP: timedatectl set-ntp true)"
    else:
        diagnosis.add("clock", "ok", text)


async def diagnose(args: argparse.Namespace) -> Diagnosis:
    """Run every check against the endpoint of the flags and the environment."""
    endpoint, client_id = _identity(args)
    diagnosis = Diagnosis(endpoint=endpoint, client_id=client_id)
    diagnosis.add("configuration", "ok", f"client ID {client_id}, secret set")
    async with aiohttp.ClientSession() as session:
        first = await _grant(args, session)
        if first.token is None:
            error = first.error or TuyaError(method="GET", route="/v1.0/token")
            _explain(diagnosis, error, "token grant")
            return diagnosis
        token = first.token
        diagnosis.grant_ms = round(first.seconds * 1000, 1)
        lifetime = token.lifetime_ms / 1000
        diagnosis.token_lifetime_s = lifetime
        diagnosis.add(
            "token grant",
            "ok",
            f"granted in {first.seconds * 1000:.0f} ms (with connecting); "
            f"lifetime {lifetime:.0f} s",
        )
        if lifetime < _SHORT_TOKEN_S:
            diagnosis.add("token lifetime", "warn", f"only {lifetime:.0f} s")
        second = await _grant(args, session)
        timing = second if second.token is not None else first
        diagnosis.rtt_ms = round(timing.seconds * 1000, 1)
        diagnosis.add("round trip", "ok", f"{timing.seconds * 1000:.0f} ms per request")
        _clock(diagnosis, timing)
        probes = [
            ("maintenance", args.project_id, "tasks"),
            ("lighting", args.lighting_project_id, "rooms"),
        ]
        for what, project, noun in probes:
            if project is None:
                continue
            try:
                seconds, total = await _probe(args, session, timing.store, what, project)
            except TuyaError as error:
                _explain(diagnosis, error, f"{what} project {project}")
                return diagnosis
            diagnosis.add(
                f"{what} project",
                "ok",
                f"{project}: {total} {noun}, first page in {seconds * 1000:.0f} ms",
            )
    warned = any(check.status == "warn" for check in diagnosis.checks)
    diagnosis.verdict = (
        "credentials and endpoint work, with a warning"
        if warned
        else "credentials and endpoint work"
    )
    if not warned:
        diagnosis.fix = "nothing to fix"
    return diagnosis


_MARKS = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


async def _doctor(args: argparse.Namespace, out: Output) -> int:
    diagnosis = await diagnose(args)
    usage = run_usage(args)
    diagnosis.usage = usage_rows(usage)
    if out.format is not Format.TABLE:
        data = {"ok": diagnosis.exit_code is ExitCode.OK, **attrs.asdict(diagnosis)}
        data["exit_code"] = int(diagnosis.exit_code)
        out.document(data)
        return diagnosis.exit_code
    table = Table(
        title=f"tuyaio doctor: {diagnosis.endpoint}", box=box.SIMPLE_HEAD, title_justify="left"
    )
    table.add_column("")
    table.add_column("check")
    table.add_column("finding", overflow="fold")
    for check in diagnosis.checks:
        table.add_row(_MARKS[check.status], check.name, Text(check.detail))
    console = out.console
    console.print(table)
    style = "green" if diagnosis.exit_code is ExitCode.OK else "red"
    console.print(
        f"[bold {style}]Verdict:[/bold {style}] {escape(diagnosis.verdict)}", highlight=False
    )
    console.print(f"[bold]Fix:[/bold] {escape(diagnosis.fix)}", highlight=False)
    spent = Table(
        title=f"Requests of this run: {usage.attempts} (the project's quota counts them)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    for column in ("route", "calls", "attempts", "succeeded", "failed"):
        spent.add_column(column, justify="left" if column == "route" else "right")
    for row in diagnosis.usage:
        cells = (row["calls"], row["attempts"], row["succeeded"], row["failed"])
        spent.add_row(Text(row["route"]), *map(str, cells))
    console.print(spent)
    return diagnosis.exit_code
