"""The API families as awaitable methods: ``client.maintenance``, ``client.construction`` and
``client.directory``."""

from .construction import ConstructionResource
from .directory import DirectoryResource
from .maintenance import MaintenanceResource

__all__ = ["ConstructionResource", "DirectoryResource", "MaintenanceResource"]
