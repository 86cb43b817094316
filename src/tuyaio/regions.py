"""Tuya's data centers and the rules for a base URL (docs/protocol.md, "Transport")."""

from __future__ import annotations

import ipaddress
from types import MappingProxyType

import attrs
from yarl import URL

__all__ = ["DATA_CENTERS", "REGIONS", "DataCenter", "resolve_base_url"]


@attrs.frozen
class DataCenter:
    """One of Tuya's data centers: its region code, its name and its base URL."""

    code: str
    name: str
    base_url: str


DATA_CENTERS: tuple[DataCenter, ...] = (
    DataCenter("cn", "China", "https://openapi.tuyacn.com"),
    DataCenter("us", "Western America", "https://openapi.tuyaus.com"),
    DataCenter("us-e", "Eastern America", "https://openapi-ueaz.tuyaus.com"),
    DataCenter("eu", "Central Europe", "https://openapi.tuyaeu.com"),
    DataCenter("eu-w", "Western Europe", "https://openapi-weaz.tuyaeu.com"),
    DataCenter("in", "India", "https://openapi.tuyain.com"),
    DataCenter("sg", "Singapore", "https://openapi-sg.iotbing.com"),
)
"""The data centers (docs/protocol.md, "Transport"): the one table of regions."""

REGIONS = MappingProxyType({center.code: center.base_url for center in DATA_CENTERS})
"""Region code → base URL of that data center (a view of :data:`DATA_CENTERS`)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _shown(url: URL) -> str:
    """The URL for an error message, without a user name or password."""
    return str(url.with_user(None) if url.absolute else url)


def resolve_base_url(
    region: str | None, base_url: str | URL | None, *, allow_insecure_http: bool = False
) -> URL:
    """The base URL for a region code or an explicit URL (exactly one; plain ``http://`` only to
    a loopback host unless ``allow_insecure_http``)."""
    if (region is None) == (base_url is None):
        raise ValueError(f"pass exactly one of region (one of {', '.join(REGIONS)}) or base_url")
    if region is not None:
        if region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}, got {region!r}")
        return URL(REGIONS[region])
    url = URL(str(base_url))
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {_shown(url)!r}")
    if url.user or url.password or url.query_string or url.fragment or url.path not in {"", "/"}:
        raise ValueError(
            "base_url must be scheme://host[:port] only (no credentials, path or query), "
            f"got {_shown(url)!r}"
        )
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ValueError(
            f"base_url {str(url)!r} is plain http to a non-loopback host; use https, "
            "or pass allow_insecure_http=True if you really mean it"
        )
    return url.with_path("")
