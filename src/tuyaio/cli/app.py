"""The argparse wiring, and the one place where an error becomes a stderr line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from .. import __version__
from . import commands_construction, commands_maintenance, demo, doctor, serve
from .failures import ExitCode, exit_code_for, one_line
from .output import Format, Output
from .settings import connection_parser, debug_parser

__all__ = ["build_parser", "run"]

_EPILOG = """\
environment:
  TUYA_CLIENT_ID      the cloud project's Access ID
  TUYA_CLIENT_SECRET  its Access Secret (never printed)
  TUYA_REGION         data center: cn, us, us-e, eu, eu-w, in, sg
  TUYA_BASE_URL       or another endpoint (a proxy, the sandbox)

exit codes:
  0  success
  1  API error: the server answered and said no (Tuya code, message and request id on stderr)
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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    connection = [connection_parser()]
    local = [debug_parser()]
    demo.register(commands, local)
    doctor.register(commands, connection)
    commands_maintenance.register(commands, connection)
    commands_construction.register(commands, connection)
    serve.register(commands, local)
    return parser


def _enable_debug_log() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("tuyaio")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _silence_stdout() -> None:
    """The reader of stdout went away (``| head``): drop whatever is still buffered."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, and turn the outcome into an exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else ExitCode.USAGE
    debug = bool(getattr(args, "debug", False))
    if debug:
        _enable_debug_log()
    out = Output(getattr(args, "format", Format.TABLE))
    try:
        return int(asyncio.run(args.handler(args, out)))
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.OK
    except KeyboardInterrupt:
        print("tuyaio: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as error:
        if debug:
            traceback.print_exception(error, file=sys.stderr)
        line = " ".join(one_line(error).split())
        print(f"tuyaio: {line}", file=sys.stderr)
        return exit_code_for(error)
