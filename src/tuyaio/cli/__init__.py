"""The ``tuyaio`` command line (install the ``cli`` extra: ``pip install 'tuyaio[cli]'``).

``tuyaio demo`` runs the whole library against the built-in sandbox; ``tuyaio doctor`` checks
credentials; ``tuyaio maintenance …`` and ``tuyaio construction …`` map one-to-one onto
``client.maintenance`` and ``client.construction``; ``tuyaio sandbox serve`` runs the sandbox for
other programs. The core library never imports this package, and this module imports rich only
once :func:`main` runs.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

__all__ = ["main"]

_INSTALL_HINT = "tuyaio: the command line needs rich; install it with: pip install 'tuyaio[cli]'"


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    ``environ`` replaces ``os.environ`` as the source of the ``TUYA_*`` settings. Exit codes:
    0 success, 1 API error (the server said no), 2 usage error, 3 transport error, 130 Ctrl-C.
    """
    try:
        try:
            import rich  # noqa: F401
        except ImportError:
            print(_INSTALL_HINT, file=sys.stderr)
            return 2
        from .app import run

        return run(argv, environ=environ)
    except KeyboardInterrupt:  # while importing: run() handles it once it runs
        print("tuyaio: interrupted", file=sys.stderr)
        return 130
