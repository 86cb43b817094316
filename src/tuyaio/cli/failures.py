"""Exit codes, and what an error means to a person: one line on stderr, a fix for known codes."""

from __future__ import annotations

import re
from enum import IntEnum

import attrs

from ..errors import (
    ApiError,
    DecodeError,
    OutcomeUnknownError,
    TransportError,
    TuyaError,
)

__all__ = [
    "ExitCode",
    "Hint",
    "UsageError",
    "cli_terms",
    "exit_code_for",
    "hint_for",
    "one_line",
]


class ExitCode(IntEnum):
    """The process exit codes of the command line."""

    OK = 0
    API_ERROR = 1
    """The server answered and said no (a Tuya error code), or sent data that cannot be written."""
    USAGE = 2
    """The command line or an argument was wrong; nothing was sent."""
    TRANSPORT = 3
    """The server could not be reached, or its answer could not be understood."""
    INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in how the command was called (missing credentials, a bad value)."""


@attrs.frozen
class Hint:
    """What a Tuya code usually means, and the fix to try first."""

    meaning: str
    fix: str


_HINTS: dict[int, Hint] = {
    1004: Hint(
        "sign invalid: the secret does not match this client ID (usually a wrong secret)",
        "copy the Access Secret again from the cloud project's overview page into "
        "TUYA_CLIENT_SECRET",
    ),
    1005: Hint(
        "client ID invalid: wrong Access ID, or the project lives in another data center",
        "check TUYA_CLIENT_ID, and pick the region the cloud project was created in (--region)",
    ),
    1010: Hint(
        "token invalid: another process may have refreshed the same credentials",
        "retry; share one token between processes (RedisTokenStore) if it keeps happening",
    ),
    1011: Hint("token expired", "retry; if it persists, check this machine's clock"),
    1012: Hint("token status invalid", "retry; if it persists, check the credentials"),
    1013: Hint(
        "request time invalid: this machine's clock is more than 5 minutes off the server's",
        "synchronise the clock (NTP: timedatectl set-ntp true)",
    ),
    1100: Hint("a required parameter is empty", "check the arguments of the command"),
    1101: Hint("a parameter is out of range", "check the arguments of the command"),
    1109: Hint("a parameter is illegal", "check the arguments of the command"),
    1106: Hint(
        "permission denied: usually the wrong data center for this project, or the API "
        "service is not authorised for the cloud project",
        "use the region the project was created in (--region), and authorise the API "
        "service (Smart Engineering / Smart Lighting) in the cloud project",
    ),
    1000: Hint("the object does not exist", "check the ID (list the objects to find it)"),
    1108: Hint("the path is not one the server knows", "check the IDs and the endpoint"),
    1110: Hint("too many concurrent requests", "slow down (fewer concurrent calls)"),
    1111: Hint("the system is busy", "retry later"),
    1199: Hint("requests too frequent", "slow down, or retry later"),
    1113: Hint("the same operation was repeated too soon", "wait a moment before repeating"),
    28841002: Hint("the cloud subscription has expired", "renew the cloud development plan"),
    28841004: Hint(
        "the trial quota is used up", "upgrade or renew the plan; retrying burns more quota"
    ),
    500: Hint("server error", "retry later; for a create, first check whether it happened"),
}


def hint_for(code: int | None) -> Hint | None:
    """The meaning and fix for a Tuya code, when it is a well-known one."""
    return None if code is None else _HINTS.get(code)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an error that ended a command."""
    if isinstance(error, (ApiError, UnicodeEncodeError)):
        return ExitCode.API_ERROR
    if isinstance(error, (UsageError, ValueError, TypeError)):
        return ExitCode.USAGE
    if isinstance(error, (TransportError, DecodeError, OutcomeUnknownError, TuyaError)):
        return ExitCode.TRANSPORT
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.TRANSPORT


def _where(error: TuyaError) -> str:
    return f" [{error.method} {error.route}]" if error.route else ""


def one_line(error: BaseException) -> str:
    """One line for stderr: the kind of failure, Tuya's code, message and request id, a hint."""
    if isinstance(error, ApiError):
        code = f"code {error.code}" if error.code is not None else f"HTTP {error.http_status}"
        tid = f" (request id {error.tid})" if error.tid else ""
        hint = hint_for(error.code)
        tail = f" - {hint.meaning}" if hint else ""
        return f"API error {code}: {error.msg or 'no message'}{tid}{_where(error)}{tail}"
    if isinstance(error, OutcomeUnknownError):
        return f"outcome unknown: {error}"
    if isinstance(error, DecodeError):
        return f"unexpected answer: {error}"
    if isinstance(error, TransportError):
        return f"transport error: {error}"
    if isinstance(error, TuyaError):
        return f"error: {type(error).__name__}{_where(error)}"
    if isinstance(error, UnicodeEncodeError):
        bad = error.object[error.start : error.end]
        return (
            f"output error: the data holds {bad!r}, which {error.encoding} cannot encode "
            "(a lone surrogate or a character the output's encoding lacks); output stopped there"
        )
    if isinstance(error, UsageError):
        return f"usage error: {error}"
    if isinstance(error, (ValueError, TypeError)):
        return f"usage error: {cli_terms(str(error))}"
    return f"error: {type(error).__name__}: {error}"


_TERMS = {
    "allow_insecure_http=True": "--allow-insecure-http",
    "client_id": "--client-id",
    "secret": "--client-secret",
    "region": "--region",
    "base_url": "--base-url",
    "timeout": "--timeout",
    "page_size": "--page-size",
    "limit": "--limit",
    "prefetch": "--prefetch",
    "worker_id": "--worker-id",
    "rooms": "--room",
    "room_ids": "--room-id",
    "room_name": "--room-name",
    "start_time": "--start",
    "end_time": "--end",
    "user_account": "--user-account",
    "country_code": "--country-code",
    "operator_name": "--operator-name",
    "device_types": "--device-types",
    "remark": "--remark",
    "authorization_status": "--authorization-status",
    "task_status": "--task-status",
    "project_id": "PROJECT_ID",
    "task_id": "TASK_ID",
    "record_id": "RECORD_ID",
}
"""The library's keyword names → the command line's flags and arguments."""

_TERM = re.compile(
    r"(?<![\w.-])("
    + "|".join(re.escape(name) for name in sorted(_TERMS, key=len, reverse=True))
    + r")(?![\w=])"
)


def cli_terms(message: str) -> str:
    """A library message in the command line's terms: ``page_size`` becomes ``--page-size``."""
    return _TERM.sub(lambda found: _TERMS[found[1]], message)
