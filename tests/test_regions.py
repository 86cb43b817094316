"""Endpoint resolution: regions, explicit base URLs, and what an error message may show."""

from __future__ import annotations

import pytest

from tuyaio import REGIONS, TuyaClient


@pytest.mark.parametrize(
    "base_url",
    ["https://user:hunter2@openapi.example", "ftp://user:hunter2@example", "http://:hunter2@h/x"],
)
def test_a_password_in_a_refused_base_url_is_not_repeated(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url") as caught:
        TuyaClient("id", "secret", base_url=base_url)
    assert "hunter2" not in str(caught.value)


def test_region_must_be_a_known_code() -> None:
    with pytest.raises(TypeError, match="region"):
        TuyaClient("id", "secret", region=["eu"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="region"):
        TuyaClient("id", "secret", region="mars")
    assert set(REGIONS) >= {"cn", "us", "eu", "in"}
