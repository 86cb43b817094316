"""The local call budget: ``limit`` requests in all, or per ``window`` seconds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tuyaio import LocalCallQuota


async def test_a_budget_refuses_once_spent_and_refills_each_window() -> None:
    once = LocalCallQuota(2)
    assert [await once.take() for _ in range(3)] == [True, True, False]
    assert repr(once) == "LocalCallQuota(limit=2, window=None, used=2)"

    windowed = LocalCallQuota(1, window=0.05)
    assert [await windowed.take() for _ in range(2)] == [True, False]
    await asyncio.sleep(0.06)
    assert [await windowed.take() for _ in range(2)] == [True, False]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"limit": 0}, ValueError, "limit"),
        ({"limit": 1.5}, TypeError, "limit"),
        ({"limit": 1, "window": 0}, ValueError, "window"),
        ({"limit": 1, "window": float("nan")}, ValueError, "window"),
    ],
)
def test_bad_budgets_are_refused_by_name(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        LocalCallQuota(**kwargs)
