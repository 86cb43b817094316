"""Connection settings: flags first, then ``TUYA_*`` environment variables; the client from them.

The options are defined on a parent parser with ``SUPPRESS`` defaults, so they work before or
after the subcommand (``tuyaio --region eu maintenance list P`` and ``tuyaio maintenance list P
--region eu``). The secret is read, passed to the client and never printed.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

import attrs

from ..client import TuyaClient
from ..regions import REGIONS
from ..retry import RetryPolicy
from .argtypes import non_negative_int, positive_float
from .failures import UsageError

__all__ = ["REGION_NAMES", "Settings", "connection_parser", "debug_parser", "resolve"]

REGION_NAMES = {
    "cn": "China",
    "us": "Western America",
    "us-e": "Eastern America",
    "eu": "Central Europe",
    "eu-w": "Western Europe",
    "in": "India",
    "sg": "Singapore",
}
"""Region code → the data center's name, as PROTOCOL.md §1 lists them."""


def _region_help() -> str:
    listed = ", ".join(f"{code} ({REGION_NAMES.get(code, code)})" for code in REGIONS)
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
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        default=argparse.SUPPRESS,
        help="limit per attempt (default 30)",
    )
    group.add_argument(
        "--max-retries",
        type=non_negative_int,
        metavar="N",
        default=argparse.SUPPRESS,
        help="retries after a failed attempt (default 4; 0 turns retries off)",
    )
    return parser


@attrs.frozen(kw_only=True)
class Settings:
    """Where and as whom to connect. The secret never shows in ``repr``."""

    client_id: str
    secret: str = attrs.field(repr=False)
    region: str | None = None
    base_url: str | None = None
    timeout: float = 30.0
    max_retries: int = 4

    @property
    def endpoint(self) -> str:
        """The base URL that will be called."""
        if self.base_url is not None:
            return self.base_url
        return REGIONS[self.region or ""]

    def client(self, **overrides: Any) -> TuyaClient:
        """A new client for these settings (keyword arguments override the client's options)."""
        options: dict[str, Any] = {
            "timeout": self.timeout,
            "retry": RetryPolicy(max_retries=self.max_retries),
        }
        if self.base_url is not None:
            options["base_url"] = self.base_url
        else:
            options["region"] = self.region
        options.update(overrides)
        return TuyaClient(self.client_id, self.secret, **options)


def resolve(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the parsed flags, falling back to the environment.

    Raises :class:`UsageError` naming the flag and the variable when something is missing.
    """
    env = os.environ if environ is None else environ
    client_id = getattr(args, "client_id", None) or env.get("TUYA_CLIENT_ID")
    secret = getattr(args, "client_secret", None) or env.get("TUYA_CLIENT_SECRET")
    if not client_id:
        raise UsageError("no client ID: pass --client-id or set TUYA_CLIENT_ID")
    if not secret:
        raise UsageError("no secret: set TUYA_CLIENT_SECRET (or pass --client-secret)")
    region: str | None = getattr(args, "region", None)
    base_url: str | None = getattr(args, "base_url", None)
    if region is None and base_url is None:
        base_url = env.get("TUYA_BASE_URL") or None
        region = None if base_url else (env.get("TUYA_REGION") or None)
    if region is None and base_url is None:
        raise UsageError(
            "no endpoint: pass --region (e.g. eu) or --base-url, "
            "or set TUYA_REGION or TUYA_BASE_URL"
        )
    if region is not None and region not in REGIONS:
        raise UsageError(f"TUYA_REGION must be one of {', '.join(REGIONS)}, got {region!r}")
    return Settings(
        client_id=client_id,
        secret=secret,
        region=region,
        base_url=base_url,
        timeout=getattr(args, "timeout", 30.0),
        max_retries=getattr(args, "max_retries", 4),
    )
