"""tuyaio: an asyncio client for the Tuya Cloud OpenAPI.

Smart Engineering maintenance tasks (``client.maintenance``) and Smart Lighting construction
management (``client.construction``), with the directory their IDs come from
(``client.directory``), signed, token-managed, retried and typed::

    async with tuyaio.TuyaClient(client_id, secret, region="eu") as client:
        async for task in client.maintenance.iter_tasks(project_id):
            print(task.task_id, task.status)
"""

from . import batch, errors, models
from .client import Timeout, TuyaClient
from .errors import *  # noqa: F403 (the one list: errors.__all__)
from .events import AttemptEvent, CallEvent, Event, Hook, RateLimitWaitEvent, TokenEvent, last_call
from .jsondata import to_json_data
from .models import *  # noqa: F403 (the one list: models.__all__)
from .pagination import AsyncPager
from .quota import CallQuota, LocalCallQuota, RouteUsage, Usage
from .ratelimit import RateLimiter, ThrottlePolicy, TokenBucket
from .regions import REGIONS
from .retry import RetryPolicy
from .tokens import MemoryTokenStore, Token, TokenStore
from .transport import Stats

__version__ = "0.1.0.dev0"

__all__ = [
    "REGIONS",
    "AsyncPager",
    "AttemptEvent",
    "CallEvent",
    "CallQuota",
    "Event",
    "Hook",
    "LocalCallQuota",
    "MemoryTokenStore",
    "RateLimitWaitEvent",
    "RateLimiter",
    "RetryPolicy",
    "RouteUsage",
    "Stats",
    "ThrottlePolicy",
    "Timeout",
    "Token",
    "TokenBucket",
    "TokenEvent",
    "TokenStore",
    "TuyaClient",
    "Usage",
    "__version__",
    "batch",
    "last_call",
    "to_json_data",
]
__all__ += errors.__all__
__all__ += models.__all__
