"""A client worker: ``python -m benchmarks.client_cpu.worker SPEC_JSON``; prints one JSON line.

It pins itself to ``spec["cpu"]`` first, and, when ``BENCH_NO_ORJSON=1`` is set, hides orjson
(``sys.modules["orjson"] = None``) before tuyaio is imported, so that tuyaio reads bodies with the
standard library as it does without ``tuyaio[speedups]``. Then :mod:`.work` runs the spec.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from .pinning import pin

__all__ = ["NO_ORJSON_ENV", "main"]

NO_ORJSON_ENV = "BENCH_NO_ORJSON"


def main() -> None:
    """Pin, maybe hide orjson, run the spec, print its figures."""
    spec = json.loads(sys.argv[1])
    pin(spec.get("cpu"))
    if os.environ.get(NO_ORJSON_ENV) == "1":
        sys.modules["orjson"] = None  # type: ignore[assignment]
    from .work import run  # imports tuyaio: only now

    print(json.dumps(asyncio.run(run(spec))), flush=True)


if __name__ == "__main__":
    main()
