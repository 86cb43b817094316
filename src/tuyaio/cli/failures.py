"""Exit codes, and what an error means to a person: one line on stderr, a fix for known codes."""

from __future__ import annotations

import re
from enum import IntEnum

from ..errors import (
    ApiError,
    DecodeError,
    Hint,
    OutcomeUnknownError,
    TransportError,
    TuyaError,
    hint_for,
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
        hint = error.hint
        tail = f" - {cli_terms(hint.meaning)}" if hint else ""
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
