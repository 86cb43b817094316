"""The argparse wiring, and the one place where an error becomes a stderr line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import textwrap
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress

from .. import __version__
from ..regions import REGIONS
from . import commands, completion, demo, doctor, serve
from .failures import EXIT_MEANINGS, ExitCode, exit_code_for, one_line
from .output import Format, Output, error_document, printable
from .settings import connection_parser, debug_parser, print_usage, usage

__all__ = ["build_parser", "run"]


def _epilog() -> str:
    """The help's epilog: the environment, the exit codes, the output rules, where to start."""
    codes = "\n".join(
        textwrap.fill(
            meaning, width=92, initial_indent=f"  {int(code):<4} ", subsequent_indent=" " * 7
        )
        for code, meaning in EXIT_MEANINGS.items()
    )
    return f"""\
environment:
  TUYA_CLIENT_ID      the cloud project's Access ID
  TUYA_CLIENT_SECRET  its Access Secret (never printed)
  TUYA_REGION         data center: {", ".join(REGIONS)}
  TUYA_BASE_URL       or another endpoint (a proxy, the sandbox)

exit codes:
{codes}

output:
  data goes to stdout, everything else (headers, counts, progress, errors) to stderr;
  on a pipe or in a file a table is tab-separated values; --json always prints one
  document, with an "error" key when the command failed

start with:  tuyaio demo        (no credentials needed)
then:        tuyaio doctor      (checks your credentials)
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``tuyaio`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="tuyaio",
        description="Asyncio client for the Tuya Cloud OpenAPI: Smart Engineering maintenance "
        "tasks and Smart Lighting construction management, from the command line.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[connection_parser()],
    )
    parser.add_argument("--version", action="version", version=f"tuyaio {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    connection = [connection_parser()]
    demo.register(subparsers, [debug_parser()])
    doctor.register(subparsers, connection)
    commands.register(subparsers, connection)
    serve.register(subparsers, [debug_parser()])
    completion.register(subparsers, [])
    return parser


class _PrintableFormatter(logging.Formatter):
    """Log lines without control characters (a record may quote the server)."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(printable(line) for line in super().format(record).splitlines())


@contextmanager
def _debug_log(enabled: bool) -> Iterator[None]:
    """The ``tuyaio`` DEBUG log on stderr while the command runs (removed after)."""
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("tuyaio")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _silence_stdout() -> None:
    """The reader of stdout went away (``| head``): drop whatever is still buffered."""
    stdout = sys.__stdout__
    if stdout is None or sys.stdout is not stdout:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _say(line: str) -> None:
    """One ``tuyaio:`` line on stderr, without control characters."""
    print(f"tuyaio: {printable(' '.join(line.split()))}", file=sys.stderr)


def run(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """Parse ``argv``, run the command, and turn the outcome into an exit code.

    ``environ`` replaces ``os.environ`` as the source of the ``TUYA_*`` settings.
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        parser.print_help()
        return ExitCode.OK
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else ExitCode.USAGE
    args.environ = environ
    debug = getattr(args, "debug", False)
    out = Output(args.format)
    with _debug_log(debug), _quiet_libraries(debug):
        try:
            return int(asyncio.run(args.handler(args, out)))
        except BrokenPipeError:
            _silence_stdout()
            return ExitCode.OK
        except KeyboardInterrupt as interrupt:
            _fail_as_json(out, interrupt)
            _say("interrupted")
            return ExitCode.INTERRUPTED
        except Exception as error:
            if debug:
                for line in traceback.format_exception(error):
                    sys.stderr.write("\n".join(map(printable, line.split("\n"))))
            _fail_as_json(out, error)
            _say(one_line(error))
            return exit_code_for(error)
        finally:
            if getattr(args, "usage", False):
                print_usage(usage(args), sys.stderr)


def _fail_as_json(out: Output, error: BaseException) -> None:
    """A ``--json`` run that wrote nothing still writes one document: the error."""
    if out.format is Format.JSON and not out.written:
        with suppress(OSError):
            out.document({**error_document(error), "exit_code": int(exit_code_for(error))})


@contextmanager
def _quiet_libraries(debug: bool) -> Iterator[None]:
    """Without ``--debug``, what aiohttp and asyncio log while a run is torn down (a request
    cut by Ctrl-C, say) is not shown: the one ``tuyaio:`` line says what happened."""
    if debug:
        yield
        return
    loggers = [logging.getLogger(name) for name in ("aiohttp", "asyncio")]
    sink = logging.NullHandler()
    saved = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(sink)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, saved, strict=True):
            logger.removeHandler(sink)
            logger.propagate = propagate
