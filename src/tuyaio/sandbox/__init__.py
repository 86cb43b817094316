"""A strict, in-memory fake of the Tuya Cloud OpenAPI for tests, benchmarks and the demo.

It verifies client_id, the time window and the signature of every request, issues and expires
tokens (refresh tokens are single use; refreshing kills the old access token), enforces page
limits, project ownership and the maintenance task state machine, serves the directory
(projects, workers, rooms, devices) a task must name, and can inject latency, faults
(envelope 500, HTTP 502/503, a connection dropped after processing, slow answers, 1199), a server
rate limit and clock skew — deterministically for a seed. It shares no code with the client.

    async with Sandbox(SandboxConfig(tasks=1000)) as sandbox:
        client = TuyaClient(sandbox.client_id, sandbox.secret, base_url=sandbox.base_url)
"""

from .app import make_app
from .config import (
    FAULT_ABORT_AFTER,
    FAULT_ENVELOPE_500,
    FAULT_HTTP_429,
    FAULT_HTTP_502,
    FAULT_HTTP_503,
    FAULT_KINDS,
    FAULT_RATE_LIMIT,
    FAULT_SLOW,
    FaultConfig,
    SandboxConfig,
)
from .server import Sandbox, serve_forever
from .state import SandboxState

__all__ = [
    "FAULT_ABORT_AFTER",
    "FAULT_ENVELOPE_500",
    "FAULT_HTTP_429",
    "FAULT_HTTP_502",
    "FAULT_HTTP_503",
    "FAULT_KINDS",
    "FAULT_RATE_LIMIT",
    "FAULT_SLOW",
    "FaultConfig",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "make_app",
    "serve_forever",
]
