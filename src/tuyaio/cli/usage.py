"""What a command's run cost: requests per route, for ``--usage`` and ``tuyaio doctor``.

Every client a command makes through :func:`~tuyaio.cli.settings.connect` is tracked on the
parsed arguments; :func:`run_usage` adds up their :attr:`~tuyaio.TuyaClient.usage` (token calls
and retries included: what the cloud project's quota counts).
"""

from __future__ import annotations

import argparse
from typing import IO, Any

from ..client import TuyaClient
from ..quota import Usage
from .render import printable

__all__ = ["print_usage", "run_usage", "track", "usage_rows"]

_TRACKED = "_tracked_clients"


def track(args: argparse.Namespace, client: TuyaClient) -> TuyaClient:
    """Count ``client`` in this run's usage; return it."""
    vars(args).setdefault(_TRACKED, []).append(client)
    return client


def run_usage(args: argparse.Namespace) -> Usage:
    """The usage of every client this run made, added up per route."""
    total = Usage()
    for client in vars(args).get(_TRACKED, []):
        for key, used in client.usage.routes.items():
            route = total.route(key)
            route.calls += used.calls
            route.attempts += used.attempts
            route.succeeded += used.succeeded
            route.failed.update(used.failed)
    return total


def usage_rows(usage: Usage) -> list[dict[str, Any]]:
    """JSON-ready rows, most requests first: route, calls, attempts, succeeded, failed, and the
    failures by Tuya code or HTTP status."""
    return [
        {
            "route": route,
            "calls": calls,
            "attempts": attempts,
            "succeeded": succeeded,
            "failed": failed,
            "failures": dict(usage.routes[route].failed.most_common()),
        }
        for route, calls, attempts, succeeded, failed in usage.report()
    ]


def print_usage(usage: Usage, stream: IO[str]) -> None:
    """The usage as a small plain-text table (for stderr)."""
    rows = usage.report()
    print(
        f"tuyaio: usage of this run: {usage.calls} calls, {usage.attempts} requests sent "
        "(retries and token calls included)",
        file=stream,
    )
    if not rows:
        return
    width = max(len("route"), *(len(printable(row[0])) for row in rows))
    header = ("route".ljust(width), "calls", "attempts", "succeeded", "failed")
    print("  " + "  ".join(f"{h:>9}" if n else h for n, h in enumerate(header)), file=stream)
    for route, calls, attempts, succeeded, failed in rows:
        reasons = ", ".join(f"{why}: {n}" for why, n in usage.routes[route].failed.most_common())
        cells = [printable(route).ljust(width), *(f"{n:>9}" for n in (calls, attempts))]
        cells += [f"{succeeded:>9}", f"{failed:>9}"]
        line = "  " + "  ".join(cells) + (f"  ({printable(reasons)})" if reasons else "")
        print(line.rstrip(), file=stream)
