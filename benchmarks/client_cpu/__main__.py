"""``python -m benchmarks.client_cpu [--quick]``: client CPU per call and per streamed room."""

from __future__ import annotations

from .suite import main

if __name__ == "__main__":
    raise SystemExit(main())
