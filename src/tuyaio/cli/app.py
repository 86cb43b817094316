"""The argparse wiring, and the one place where an error becomes a stderr line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from .. import __version__
from . import commands, demo, doctor, serve
from .failures import ExitCode, exit_code_for, one_line
from .output import Output, printable
from .settings import connection_parser, debug_parser, print_usage, usage

__all__ = ["build_parser", "run"]

_EPILOG = """\
environment:
  TUYA_CLIENT_ID      the cloud project's Access ID
  TUYA_CLIENT_SECRET  its Access Secret (never printed)
  TUYA_REGION         data center: cn, us, us-e, eu, eu-w, in, sg
  TUYA_BASE_URL       or another endpoint (a proxy, the sandbox)

exit codes:
  0  success
  1  API error: the server answered and said no (Tuya code, message and request id on stderr),
     or sent data that cannot be written to the output
  2  usage error: a missing or wrong argument; nothing was sent
  3  transport error: the server could not be reached or its answer not understood

start with:  tuyaio demo        (no credentials needed)
then:        tuyaio doctor      (checks your credentials)
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``tuyaio`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="tuyaio",
        description="Asyncio client for the Tuya Cloud OpenAPI: Smart Engineering maintenance "
        "tasks and Smart Lighting construction management, from the command line.",
        epilog=_EPILOG,
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else ExitCode.USAGE
    args.environ = environ
    debug = getattr(args, "debug", False)
    with _debug_log(debug):
        try:
            return int(asyncio.run(args.handler(args, Output(args.format))))
        except BrokenPipeError:
            _silence_stdout()
            return ExitCode.OK
        except KeyboardInterrupt:
            _say("interrupted")
            return ExitCode.INTERRUPTED
        except Exception as error:
            if debug:
                for line in traceback.format_exception(error):
                    sys.stderr.write("\n".join(map(printable, line.split("\n"))))
            _say(one_line(error))
            return exit_code_for(error)
        finally:
            if getattr(args, "usage", False):
                print_usage(usage(args), sys.stderr)
