"""The one entry point: ``python -m benchmarks.run [--quick]`` or ``python benchmarks/run.py``.

Run it from the repository root with the ``bench`` extra installed
(``pip install -e '.[bench]'``). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _main() -> int:
    if not __package__:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.suite import main

    return main()


if __name__ == "__main__":
    raise SystemExit(_main())
