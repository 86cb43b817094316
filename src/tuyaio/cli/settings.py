"""Connection settings: flags that override the ``TUYA_*`` environment, and the client from them.

The client is built by :meth:`TuyaClient.from_env` with the flags as keyword arguments, so the
environment is read in one place. The options are defined on a parent parser with ``SUPPRESS``
defaults, so they work before or after the subcommand (``tuyaio --region eu maintenance list P``
and ``tuyaio maintenance list P --region eu``). The secret is passed to the client, never printed.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from ..client import TuyaClient
from ..regions import DATA_CENTERS, REGIONS
from ..retry import RetryPolicy
from .argtypes import non_negative_int, positive_float
from .failures import UsageError
from .usage import track

__all__ = ["client_options", "connect", "connection_parser", "debug_parser", "environ_of"]


def _region_help() -> str:
    listed = ", ".join(f"{center.code} ({center.name})" for center in DATA_CENTERS)
    return f"data center: {listed}; default $TUYA_REGION"


def debug_parser() -> argparse.ArgumentParser:
    """A parent parser with ``--debug`` (tracebacks and the ``tuyaio`` DEBUG log on stderr)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and the tuyaio debug log (never secrets) on stderr",
    )
    return parser


def connection_parser() -> argparse.ArgumentParser:
    """A parent parser with the credential, endpoint and request options."""
    parser = argparse.ArgumentParser(add_help=False, parents=[debug_parser()])
    group = parser.add_argument_group("connection (flags win over the environment)")
    group.add_argument(
        "--client-id",
        metavar="ID",
        default=argparse.SUPPRESS,
        help="the cloud project's Access ID; default $TUYA_CLIENT_ID",
    )
    group.add_argument(
        "--client-secret",
        metavar="SECRET",
        default=argparse.SUPPRESS,
        help="the Access Secret; prefer $TUYA_CLIENT_SECRET (a flag shows in the process list)",
    )
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        "--region",
        choices=list(REGIONS),
        metavar="REGION",
        default=argparse.SUPPRESS,
        help=_region_help(),
    )
    where.add_argument(
        "--base-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="another endpoint (a proxy, the sandbox); default $TUYA_BASE_URL",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=argparse.SUPPRESS,
        help="allow a plain http:// base URL to a host other than this machine",
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help="limit per attempt (default 30)",
    )
    group.add_argument(
        "--usage",
        action="store_true",
        default=argparse.SUPPRESS,
        help="at the end, print the requests each route cost (calls, attempts, succeeded, "
        "failed) on stderr",
    )
    group.add_argument(
        "--max-retries",
        type=non_negative_int,
        metavar="N",
        default=argparse.SUPPRESS,
        help="retries after a failed attempt (default 4; 0 turns retries off)",
    )
    return parser


_FLAGS = {
    "client_id": "client_id",
    "client_secret": "secret",
    "region": "region",
    "base_url": "base_url",
    "allow_insecure_http": "allow_insecure_http",
    "timeout": "timeout",
}
"""Parsed flag → keyword argument of :meth:`TuyaClient.from_env`."""


def environ_of(args: argparse.Namespace) -> Mapping[str, str]:
    """The environment the command runs with (``run(..., environ=...)``, else ``os.environ``)."""
    environ: Mapping[str, str] | None = getattr(args, "environ", None)
    return os.environ if environ is None else environ


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments for :meth:`TuyaClient.from_env` that the flags set."""
    options = {
        keyword: getattr(args, flag) for flag, keyword in _FLAGS.items() if hasattr(args, flag)
    }
    if "region" in options and "base_url" in options:
        raise UsageError("--region and --base-url are both given: drop one of them")
    if hasattr(args, "max_retries"):
        options["retry"] = RetryPolicy(max_retries=args.max_retries)
    return options


def connect(args: argparse.Namespace, **overrides: Any) -> TuyaClient:
    """A client for the flags and the environment; ``overrides`` win over both. It counts in the
    run's usage (``--usage``)."""
    options = {**client_options(args), **overrides}
    return track(args, TuyaClient.from_env(environ=environ_of(args), **options))
