"""Exit codes, and what an error means to a person: one line on stderr, a fix for known codes."""

from __future__ import annotations

import re
from enum import IntEnum

from ..errors import ApiError, TransportError, TuyaError

__all__ = ["EXIT_MEANINGS", "ExitCode", "UsageError", "cli_terms", "exit_code_for", "one_line"]


class ExitCode(IntEnum):
    """The process exit codes of the command line (what each means: :data:`EXIT_MEANINGS`)."""

    OK = 0
    API_ERROR = 1
    USAGE = 2
    TRANSPORT = 3
    INTERRUPTED = 130


EXIT_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.API_ERROR: "API error: the server answered and said no (Tuya's code, message and "
    "request id, and what it usually means, on stderr), or sent data that cannot be written",
    ExitCode.USAGE: "usage error: a missing or wrong argument or setting; nothing was sent",
    ExitCode.TRANSPORT: "transport error: the server could not be reached or its answer not "
    "understood",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}
"""What each exit code means: the help's epilog and the documentation are made from it."""


class UsageError(Exception):
    """A mistake in how the command was called (missing credentials, a bad value)."""


_FAILURES: tuple[tuple[type[BaseException], str, ExitCode], ...] = (
    (ApiError, "API error", ExitCode.API_ERROR),
    (UnicodeEncodeError, "output error", ExitCode.API_ERROR),
    (TransportError, "transport error", ExitCode.TRANSPORT),
    (TuyaError, "error", ExitCode.TRANSPORT),
    (UsageError, "usage error", ExitCode.USAGE),
    (ValueError, "usage error", ExitCode.USAGE),
    (TypeError, "usage error", ExitCode.USAGE),
    (KeyboardInterrupt, "interrupted", ExitCode.INTERRUPTED),
    (BaseException, "error", ExitCode.TRANSPORT),
)
"""What an error is called on stderr, and its exit code: the first row it is an instance of."""


def _failure(error: BaseException) -> tuple[type[BaseException], str, ExitCode]:
    return next(row for row in _FAILURES if isinstance(error, row[0]))


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an error that ended a command."""
    return _failure(error)[2]


def one_line(error: BaseException) -> str:
    """One line for stderr: the kind of failure, Tuya's code, message and request id, a hint."""
    if isinstance(error, ApiError):
        code = f"code {error.code}" if error.code is not None else f"HTTP {error.http_status}"
        tid = f" (request id {error.tid})" if error.tid else ""
        tail = f" - {cli_terms(error.hint.meaning)}" if error.hint else ""
        where = f" [{error.method} {error.route}]" if error.route else ""
        return f"API error {code}: {error.msg or 'no message'}{tid}{where}{tail}"
    if isinstance(error, UnicodeEncodeError):
        bad = error.object[error.start : error.end]
        return (
            f"output error: the data holds {bad!r}, which {error.encoding} cannot encode "
            "(a lone surrogate or a character the output's encoding lacks); output stopped there"
        )
    return f"{_failure(error)[1]}: {cli_terms(str(error))}"


_SAME = """client_id region base_url timeout page_size limit prefetch worker_id room_name
user_account country_code operator_name device_types remark authorization_status task_status"""
_TERMS = {
    **{name: "--" + name.replace("_", "-") for name in _SAME.split()},
    **{name: name.upper() for name in ("project_id", "task_id", "record_id")},
    "allow_insecure_http=True": "--allow-insecure-http",
    "secret": "--client-secret",
    "rooms": "--room",
    "FaultConfig.routes": "--fault-routes",
    "room_ids": "--room-id",
    "start_time": "--start",
    "end_time": "--end",
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
