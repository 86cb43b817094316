"""tuyaio: an asyncio client for the Tuya Cloud OpenAPI.

Smart Engineering maintenance tasks (``client.maintenance``) and Smart Lighting construction
management (``client.construction``), signed, token-managed, retried and typed::

    async with tuyaio.TuyaClient(client_id, secret, region="eu") as client:
        async for task in client.maintenance.iter_tasks(project_id):
            print(task.task_id, task.status)
"""

from . import batch
from .client import Timeout, TuyaClient
from .errors import (
    ApiError,
    AuthenticationError,
    CallBudgetExceededError,
    ClientClosedError,
    ClockSkewError,
    ConnectError,
    CrossRegionError,
    DataCenterSuspendedError,
    DecodeError,
    InvalidParameterError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    SignatureError,
    TokenInvalidError,
    TransportError,
    TuyaError,
    UnexpectedResponseError,
    WaitTimeoutError,
)
from .events import AttemptEvent, CallEvent, Event, Hook, RateLimitWaitEvent, TokenEvent, last_call
from .jsondata import to_json_data
from .models import (
    AuthorizationStatus,
    ConstructionRecord,
    ConstructionRecordDetail,
    CreatedRecord,
    DeviceType,
    DeviceTypeInfo,
    MaintenanceStatus,
    MaintenanceTask,
    MaintenanceTaskDetail,
    Page,
    Room,
    RoomDevices,
    RoomType,
    TaskStatus,
)
from .pagination import AsyncPager
from .quota import CallQuota, LocalCallQuota, RouteUsage, Usage
from .ratelimit import RateLimiter, TokenBucket
from .regions import REGIONS
from .retry import RetryPolicy
from .tokens import MemoryTokenStore, Token, TokenStore
from .transport import Stats

__version__ = "0.1.0.dev0"

__all__ = [
    "REGIONS",
    "ApiError",
    "AsyncPager",
    "AttemptEvent",
    "AuthenticationError",
    "AuthorizationStatus",
    "CallBudgetExceededError",
    "CallEvent",
    "CallQuota",
    "ClientClosedError",
    "ClockSkewError",
    "ConnectError",
    "ConstructionRecord",
    "ConstructionRecordDetail",
    "CreatedRecord",
    "CrossRegionError",
    "DataCenterSuspendedError",
    "DecodeError",
    "DeviceType",
    "DeviceTypeInfo",
    "Event",
    "Hook",
    "InvalidParameterError",
    "LocalCallQuota",
    "MaintenanceStatus",
    "MaintenanceTask",
    "MaintenanceTaskDetail",
    "MemoryTokenStore",
    "NotFoundError",
    "OutcomeUnknownError",
    "Page",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitWaitEvent",
    "RateLimitedError",
    "RateLimiter",
    "RequestTimeoutError",
    "RetryPolicy",
    "Room",
    "RoomDevices",
    "RoomType",
    "RouteUsage",
    "ServerError",
    "SignatureError",
    "Stats",
    "TaskStatus",
    "Timeout",
    "Token",
    "TokenBucket",
    "TokenEvent",
    "TokenInvalidError",
    "TokenStore",
    "TransportError",
    "TuyaClient",
    "TuyaError",
    "UnexpectedResponseError",
    "Usage",
    "WaitTimeoutError",
    "__version__",
    "batch",
    "last_call",
    "to_json_data",
]
