"""The API families as awaitable methods: ``client.maintenance`` and ``client.construction``."""

from .construction import ConstructionResource
from .maintenance import MaintenanceResource

__all__ = ["ConstructionResource", "MaintenanceResource"]
