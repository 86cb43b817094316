"""What every subcommand shares: the handler signature, the subparser type, and the client."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from .output import Output
from .settings import connect

__all__ = ["Handler", "Subparsers", "connect"]

Handler: TypeAlias = Callable[[argparse.Namespace, Output], Awaitable[int]]
"""A subcommand: the parsed arguments and the output in, the exit code out."""

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns."""
