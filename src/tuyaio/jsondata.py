"""Models as JSON-ready data, with one encoding of enums and datetimes everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import attrs

from .models.common import Page

__all__ = ["to_json_data"]


def to_json_data(value: Any) -> Any:
    """A model, a :class:`Page`, or any list, tuple or dict of them, as data ``json.dumps`` takes.

    Models become dicts keyed by their attribute names (snake_case); a page also carries
    ``has_more``; enums become their value (an undocumented value too); datetimes become ISO 8601
    UTC strings with milliseconds (``"2026-11-28T23:39:13.000Z"``); tuples become lists.

    >>> json.dumps(tuyaio.to_json_data(await client.maintenance.list_tasks(project_id)))
    """
    if attrs.has(type(value)):
        data = {
            field.name: to_json_data(getattr(value, field.name))
            for field in attrs.fields(type(value))
        }
        if isinstance(value, Page):
            data["has_more"] = value.has_more
        return data
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, (list, tuple)):
        return [to_json_data(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json_data(item) for key, item in value.items()}
    return value
