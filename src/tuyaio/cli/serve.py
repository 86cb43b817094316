"""``tuyaio sandbox serve``: the built-in fake Tuya server, standalone, on 127.0.0.1.

It prints its base URL and its own throwaway credentials (they are the sandbox's, not a user's),
then serves until Ctrl-C, SIGTERM or ``--max-seconds``. With ``--env`` stdout holds only
``export NAME=value`` lines, for ``eval`` (the ``TUYA_*`` settings, and ``TUYA_PROJECT_ID`` and
``TUYA_LIGHTING_PROJECT_ID`` for scripts: tuyaio itself reads no project from the environment);
everything else goes to stderr. ``--fault-routes`` aims the faults at some routes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..sandbox.config import FAULT_KINDS
from . import argtypes
from .failures import ExitCode, UsageError
from .output import Format, Output, add_format_flags
from .settings import Subparsers

if TYPE_CHECKING:
    from ..sandbox import SandboxConfig

__all__ = ["register", "sandbox_config"]

_CONFIG_FLAGS = (
    ("--latency-ms", argtypes.non_negative_float, "MS", "delay before each answer"),
    ("--latency-jitter-ms", argtypes.non_negative_float, "MS", "plus up to this"),
    ("--tasks", argtypes.non_negative_int, "N", "seeded tasks"),
    ("--rooms", argtypes.non_negative_int, "N", "seeded rooms"),
    ("--records", argtypes.non_negative_int, "N", "seeded records"),
    ("--clock-skew-s", argtypes.finite_float, "S", "server clock = real clock + S"),
    ("--token-ttl-s", argtypes.positive_float, "S", "access token lifetime"),
    ("--rate-limit-rps", argtypes.positive_float, "N", "1199 above"),
    ("--seed", int, "N", "seed of the data and the faults (default 0)"),
)
"""Flags that set the :class:`SandboxConfig` field of the same name."""


def register(commands: Subparsers, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``sandbox serve``."""
    group = commands.add_parser(
        "sandbox",
        help="the built-in sandbox (a strict, in-memory fake of the Tuya cloud)",
        description="The built-in sandbox: a strict, in-memory fake of the Tuya cloud.",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        parents=parents,
        help="run the sandbox as a server for other programs",
        description="Run the sandbox on 127.0.0.1 and print its base URL and credentials.",
    )
    add = serve.add_argument
    add("--port", type=argtypes.port, default=0, help="TCP port (default 0: any free port)")
    for flag, kind, metavar, help_text in _CONFIG_FLAGS:
        add(flag, type=kind, metavar=metavar, default=argparse.SUPPRESS, help=help_text)
    add(
        "--fail-rate",
        type=argtypes.probability,
        metavar="P",
        help="share of business requests that get a fault (of --fault-kinds, on --fault-routes)",
    )
    kinds = ", ".join(sorted(FAULT_KINDS))
    add(
        "--fault-kinds",
        type=argtypes.fault_kinds,
        metavar="KIND,KIND",
        help=f"the faults --fail-rate draws from (default all, 5 s slow answers included): {kinds}",
    )
    add(
        "--fault-routes",
        dest="fault_routes",
        action="append",
        metavar="ROUTE",
        help="fault only this route, written as the method and the route template, e.g. "
        "'GET /v1.0/osaas/projects/{project_id}/maintenance/tasks/{task_id}'; repeat for more "
        "(default: every business route)",
    )
    add(
        "--fault-token-routes",
        action="store_true",
        help="let faults hit the token routes too (spared by default)",
    )
    add(
        "--slow-s",
        type=argtypes.non_negative_float,
        metavar="S",
        help="how long a slow fault waits before it answers (default 5)",
    )
    add(
        "--retry-after-s",
        type=argtypes.non_negative_int,
        metavar="S",
        help="the Retry-After of an http-429 fault, whole seconds (default 1)",
    )
    add("--max-seconds", type=argtypes.positive_float, metavar="S", help="stop after S seconds")
    add_format_flags(serve, lines=False).add_argument(
        "--env",
        dest="format",
        action="store_const",
        const=Format.ENV,
        help="print only 'export NAME=value' lines (for eval); the rest goes to stderr",
    )
    serve.set_defaults(handler=_serve)


def sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    """The :class:`SandboxConfig` for the flags given (the sandbox's defaults for the rest)."""
    from ..sandbox import FaultConfig, SandboxConfig

    names = [flag[2:].replace("-", "_") for flag, *_ in _CONFIG_FLAGS]
    fields = {name: getattr(args, name) for name in names if name in args}
    aimed: dict[str, Any] = {
        name: value
        for name, value in (
            ("kinds", args.fault_kinds),
            ("routes", frozenset(args.fault_routes) if args.fault_routes else None),
            ("include_token_routes", args.fault_token_routes or None),
            ("slow_s", args.slow_s),
            ("retry_after_s", args.retry_after_s),
        )
        if value is not None
    }
    if aimed and not args.fail_rate:
        flags = "--fault-kinds, --fault-routes, --fault-token-routes, --slow-s and --retry-after-s"
        raise UsageError(f"{flags} need --fail-rate (the share of requests that fail)")
    if args.fail_rate:
        fields["faults"] = FaultConfig(rate=args.fail_rate, **aimed)
    return SandboxConfig(**fields)


def _announce(out: Output, config: SandboxConfig, base_url: str) -> None:
    project, lighting = config.maintenance_projects[0], config.lighting_projects[0]
    env = {
        "TUYA_BASE_URL": base_url,
        "TUYA_CLIENT_ID": config.client_id,
        "TUYA_CLIENT_SECRET": config.secret,
        "TUYA_PROJECT_ID": project,
        "TUYA_LIGHTING_PROJECT_ID": lighting,
    }
    exports = [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    if out.format is Format.ENV:
        out.write("".join(line + "\n" for line in exports))
        print(f"tuyaio: sandbox listening on {base_url} (Ctrl-C to stop)", file=sys.stderr)
    elif out.format is Format.JSON:
        ids = {"client_id": config.client_id, "client_secret": config.secret}
        data = {"base_url": base_url, **ids, "project_id": project, "env": env}
        out.document({**data, "lighting_project_id": lighting}, indent=None)
    else:
        lines = [
            f"tuyaio sandbox listening on {base_url} (Ctrl-C to stop)",
            "throwaway sandbox credentials and project IDs, for your shell:",
            *(f"  {line}" for line in exports),
            f"maintenance project: {project} ({config.tasks} tasks)",
            f"lighting project:    {lighting} ({config.rooms} rooms, {config.records} records)",
            f"try: tuyaio maintenance list {project} --limit 5",
        ]
        out.write("\n".join(lines) + "\n")


async def _serve(args: argparse.Namespace, out: Output) -> int:
    from ..sandbox import Sandbox

    config = sandbox_config(args)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        async with contextlib.AsyncExitStack() as stack:
            try:
                sandbox = Sandbox(config, host="127.0.0.1", port=args.port)
                await stack.enter_async_context(sandbox)
            except OSError as error:
                where = f"127.0.0.1:{args.port}"
                raise UsageError(f"could not listen on {where}: {error.strerror}") from None
            _announce(out, config, sandbox.base_url)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.max_seconds)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    print("tuyaio: sandbox stopped", file=sys.stderr)
    return ExitCode.OK
