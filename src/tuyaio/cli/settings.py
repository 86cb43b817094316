"""Connection settings, and what a run's clients cost (``--usage``).

The options are defined on a parent parser with ``SUPPRESS`` defaults, so they work before or after
the subcommand (``tuyaio --region eu maintenance list P`` and ``tuyaio maintenance list P --region
eu``), and each is stored under the name of its :meth:`TuyaClient.from_env` keyword: the client is
built by ``from_env`` from the flags and the environment, so the environment is read in one place.
The secret is passed to the client, never printed.
"""

from __future__ import annotations

import argparse
from typing import IO, Any, TypeAlias

from ..client import TuyaClient
from ..quota import Usage
from ..regions import DATA_CENTERS, REGIONS
from ..retry import RetryPolicy
from .argtypes import non_negative_int, positive_float
from .output import printable

__all__ = ["Subparsers", "connect", "connection_parser", "debug_parser", "print_usage", "usage"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns."""

_KEYWORDS = ("client_id", "secret", "region", "base_url", "allow_insecure_http", "timeout", "retry")
"""The flags' destinations: keyword arguments of :meth:`TuyaClient.from_env`."""

_COUNTS = ("calls", "attempts", "succeeded", "failed")


def debug_parser() -> argparse.ArgumentParser:
    """A parent parser with ``--debug`` (tracebacks and the ``tuyaio`` DEBUG log on stderr)."""
    parser = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show tracebacks and the tuyaio debug log (never secrets) on stderr",
    )
    return parser


def _retry(text: str) -> RetryPolicy:
    return RetryPolicy(max_retries=non_negative_int(text))


def connection_parser() -> argparse.ArgumentParser:
    """A parent parser with ``--debug`` and the credential, endpoint and request options."""
    parser = argparse.ArgumentParser(
        add_help=False, argument_default=argparse.SUPPRESS, parents=[debug_parser()]
    )
    group = parser.add_argument_group("connection (flags win over the environment)")
    add = group.add_argument
    add("--client-id", metavar="ID", help="the cloud project's Access ID; default $TUYA_CLIENT_ID")
    add(
        "--client-secret",
        dest="secret",
        metavar="SECRET",
        help="the Access Secret; prefer $TUYA_CLIENT_SECRET (a flag shows in the process list)",
    )
    centers = ", ".join(f"{center.code} ({center.name})" for center in DATA_CENTERS)
    add(
        "--region",
        choices=list(REGIONS),
        metavar="REGION",
        help=f"data center: {centers}; default $TUYA_REGION",
    )
    add("--base-url", metavar="URL", help="another endpoint (a proxy, the sandbox); $TUYA_BASE_URL")
    add(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// base URL to a host other than this machine",
    )
    add("--timeout", type=positive_float, metavar="SECONDS", help="limit per attempt (default 30)")
    add(
        "--usage",
        action="store_true",
        help="at the end, print the requests each route cost (calls, attempts, succeeded, "
        "failed) on stderr",
    )
    add(
        "--max-retries",
        dest="retry",
        type=_retry,
        metavar="N",
        help="retries after a failed attempt (default 4; 0 turns retries off)",
    )
    return parser


def connect(args: argparse.Namespace, **overrides: Any) -> TuyaClient:
    """A client for the flags and the environment; ``overrides`` win over both. It counts in the
    run's :func:`usage`."""
    options = {key: getattr(args, key) for key in _KEYWORDS if hasattr(args, key)}
    client = TuyaClient.from_env(environ=args.environ, **{**options, **overrides})
    vars(args).setdefault("clients", []).append(client)
    return client


def usage(args: argparse.Namespace) -> Usage:
    """What every client of this run (see :func:`connect`) cost, added up per route: token
    calls and retries included, as the cloud project's quota counts them."""
    total = Usage()
    for client in getattr(args, "clients", ()):
        for key, used in client.usage.routes.items():
            route = total.route(key)
            route.calls += used.calls
            route.attempts += used.attempts
            route.succeeded += used.succeeded
            route.failed.update(used.failed)
    return total


def print_usage(used: Usage, stream: IO[str]) -> None:
    """The usage as a small plain-text table, most requests first."""
    rows = used.report()
    print(
        f"tuyaio: usage of this run: {used.calls} calls, {used.attempts} requests sent "
        "(retries and token calls included)",
        file=stream,
    )
    width = max([len("route"), *(len(printable(row[0])) for row in rows)])
    print(f"  {'route':{width}}  " + "  ".join(f"{h:>9}" for h in _COUNTS), file=stream)
    for route, *counts in rows:
        reasons = ", ".join(f"{why}: {n}" for why, n in used.routes[route].failed.most_common())
        cells = [f"{printable(route):{width}}", *(f"{n:>9}" for n in counts)]
        line = "  " + "  ".join(cells) + (f"  ({printable(reasons)})" if reasons else "")
        print(line.rstrip(), file=stream)
