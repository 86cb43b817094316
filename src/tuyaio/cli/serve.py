"""``tuyaio sandbox serve``: the built-in fake Tuya server, standalone, on 127.0.0.1.

It prints its base URL and its own throwaway credentials (they are the sandbox's, not a user's),
then serves until Ctrl-C, SIGTERM or ``--max-seconds``. With ``--env`` stdout holds only
``export NAME=value`` lines, for ``eval``; everything else goes to stderr.
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

from .argtypes import (
    FAULT_KIND_NAMES,
    fault_kinds,
    finite_float,
    non_negative_float,
    non_negative_int,
    port,
    positive_float,
    probability,
)
from .commands import Subparsers
from .failures import ExitCode, UsageError
from .output import Format, Output, add_format_flags, dumps

if TYPE_CHECKING:
    from ..sandbox import SandboxConfig

__all__ = ["register", "sandbox_config"]


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
    serve.add_argument(
        "--port", type=port, default=0, help="TCP port, 0-65535 (default 0: any free port)"
    )
    serve.add_argument(
        "--latency-ms", type=non_negative_float, metavar="MS", help="delay before each answer"
    )
    serve.add_argument(
        "--latency-jitter-ms", type=non_negative_float, metavar="MS", help="plus up to this"
    )
    serve.add_argument(
        "--fail-rate",
        type=probability,
        metavar="P",
        help="share of business requests that get a fault (of --fault-kinds)",
    )
    serve.add_argument(
        "--fault-kinds",
        type=fault_kinds,
        metavar="KIND,KIND",
        help=f"the faults --fail-rate draws from (default all): {', '.join(FAULT_KIND_NAMES)}",
    )
    serve.add_argument("--tasks", type=non_negative_int, metavar="N", help="seeded tasks")
    serve.add_argument("--rooms", type=non_negative_int, metavar="N", help="seeded rooms")
    serve.add_argument("--records", type=non_negative_int, metavar="N", help="seeded records")
    serve.add_argument(
        "--clock-skew-s", type=finite_float, metavar="S", help="server clock = real clock + S"
    )
    serve.add_argument(
        "--token-ttl-s", type=positive_float, metavar="S", help="access token lifetime"
    )
    serve.add_argument("--rate-limit-rps", type=positive_float, metavar="N", help="1199 above")
    serve.add_argument("--seed", type=int, help="seed of the data and the faults (default 0)")
    serve.add_argument(
        "--max-seconds", type=positive_float, metavar="S", help="stop after S seconds"
    )
    formats = add_format_flags(serve, lines=False)
    formats.add_argument(
        "--env",
        dest="format",
        action="store_const",
        const=Format.ENV,
        help="print only 'export NAME=value' lines (for eval); the rest goes to stderr",
    )
    serve.set_defaults(handler=_serve)


_CONFIG_FLAGS = (
    "latency_ms",
    "latency_jitter_ms",
    "tasks",
    "rooms",
    "records",
    "clock_skew_s",
    "token_ttl_s",
    "rate_limit_rps",
    "seed",
)
"""Flags that set the SandboxConfig field of the same name."""


def sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    """The :class:`SandboxConfig` for the flags given (the sandbox's defaults for the rest)."""
    from ..sandbox import FaultConfig, SandboxConfig

    fields: dict[str, Any] = {
        name: getattr(args, name) for name in _CONFIG_FLAGS if getattr(args, name, None) is not None
    }
    kinds = getattr(args, "fault_kinds", None)
    if kinds is not None and not getattr(args, "fail_rate", None):
        raise UsageError("--fault-kinds needs --fail-rate (the share of requests that fail)")
    if getattr(args, "fail_rate", None):
        fields["faults"] = FaultConfig(rate=args.fail_rate, **({"kinds": kinds} if kinds else {}))
    return SandboxConfig(**fields)


def _announce(out: Output, config: SandboxConfig, base_url: str) -> None:
    project, lighting = config.maintenance_projects[0], config.lighting_projects[0]
    env = {
        "TUYA_BASE_URL": base_url,
        "TUYA_CLIENT_ID": config.client_id,
        "TUYA_CLIENT_SECRET": config.secret,
    }
    if out.format is Format.ENV:
        out.write("".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items()))
        out.flush()
        print(f"tuyaio: sandbox listening on {base_url} (Ctrl-C to stop)", file=sys.stderr)
        return
    if out.format is not Format.TABLE:
        data = {
            "base_url": base_url,
            "client_id": config.client_id,
            "client_secret": config.secret,
            "project_id": project,
            "lighting_project_id": lighting,
            "env": env,
        }
        out.write(dumps(data) + "\n")
        out.flush()
        return
    lines = [
        f"tuyaio sandbox listening on {base_url} (Ctrl-C to stop)",
        "throwaway sandbox credentials, for your shell:",
        *(f"  export {name}={shlex.quote(value)}" for name, value in env.items()),
        f"maintenance project: {project} ({config.tasks} tasks)",
        f"lighting project:    {lighting} ({config.rooms} rooms, {config.records} records)",
        f"try: tuyaio maintenance list {project} --limit 5",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


async def _serve(args: argparse.Namespace, out: Output) -> int:
    from ..sandbox import serve_forever

    config = sandbox_config(args)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    server = asyncio.ensure_future(
        serve_forever(
            config,
            host="127.0.0.1",
            port=args.port,
            ready=lambda base_url: _announce(out, config, base_url),
            max_seconds=args.max_seconds,
        )
    )
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({server, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (server, stopper):
            task.cancel()
        await asyncio.gather(server, stopper, return_exceptions=True)
        for sig in handled:
            loop.remove_signal_handler(sig)
    if not server.cancelled() and server.exception() is not None:
        error = server.exception()
        if isinstance(error, OSError):
            raise UsageError(f"could not listen on 127.0.0.1:{args.port}: {error.strerror}")
        assert error is not None
        raise error
    print("tuyaio: sandbox stopped", file=sys.stderr)
    return ExitCode.OK
