"""The peer: tuya-connector-python (synchronous, on ``requests``), driven only with calls it signs
right.

Two request shapes are signed wrongly by tuya-connector-python 0.1.2 and rejected by the strict
sandbox with 1004 (sign invalid); :func:`probe` shows each one with the headers it sent:

- a JSON body of ``{}``: ``_calculate_sign`` hashes the empty string for an empty dict, but
  ``requests`` sends the two bytes ``{}``;
- a query parameter whose value is ``None``: it is signed as ``key=None`` but ``requests`` leaves it
  out of the URL.

The benchmarks only make GETs with non-``None`` parameters, which it signs correctly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from .sandbox_proc import SandboxInfo

__all__ = ["available", "make_api", "probe", "version"]


def available() -> bool:
    """True when tuya-connector-python is installed (the ``bench`` extra)."""
    try:
        import tuya_connector  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def version() -> str | None:
    """The installed tuya-connector-python version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("tuya-connector-python")
    except PackageNotFoundError:
        return None


def make_api(info: SandboxInfo, *, pool_size: int) -> Any:
    """A connected ``TuyaOpenAPI`` whose ``requests`` pool keeps ``pool_size`` connections.

    ``requests`` keeps 10 connections per host by default; with more threads than that it would
    open and drop a connection per call. The pool is widened to the thread count, which is the
    most favourable set-up for the peer, not the out-of-the-box one.
    """
    import requests.adapters
    from tuya_connector import TuyaOpenAPI

    api = TuyaOpenAPI(info.base_url, info.client_id, info.secret)
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(10, pool_size))
    api.session.mount("http://", adapter)
    answer = api.connect()
    if not answer or not answer.get("success"):
        raise RuntimeError(f"tuya-connector-python could not get a token: {answer}")
    return api


def checked(answer: Any, what: str) -> Any:
    """The ``result`` of a successful answer, else an error naming the call."""
    if not isinstance(answer, dict) or not answer.get("success"):
        raise RuntimeError(f"tuya-connector-python {what}: {answer}")
    return answer["result"]


def probe(info: SandboxInfo) -> list[dict[str, Any]]:
    """Make the two calls tuya-connector-python signs wrongly; what it sent and what came back."""
    api = make_api(info, pool_size=1)
    sent: list[Any] = []
    api.session.hooks["response"].append(lambda response, **_: sent.append(response.request))
    project = info.project_id
    tasks = checked(
        api.get(f"/v1.0/osaas/projects/{project}/maintenance/tasks", {"page_no": 1}), "list"
    )
    task_id = tasks["tasks"][0]["task_id"]
    findings = []
    cases: list[tuple[str, Callable[[], Any], str]] = [
        (
            "POST with a JSON body of {}",
            lambda: api.post(
                f"/v1.0/osaas/projects/{project}/maintenance/tasks/{task_id}/reopen", {}
            ),
            "signs sha256('') = "
            + hashlib.sha256(b"").hexdigest()[:16]
            + "… (an empty dict counts as no body) but sends the 2 bytes '{}', sha256 "
            + hashlib.sha256(b"{}").hexdigest()[:16]
            + "…",
        ),
        (
            "GET with a None query parameter",
            lambda: api.get(
                f"/v1.0/osaas/projects/{project}/maintenance/tasks",
                {"page_no": 1, "page_size": None},
            ),
            "signs '…/tasks?page_no=1&page_size=None' but requests drops None parameters, "
            "so the URL sent is '…/tasks?page_no=1'",
        ),
    ]
    for name, call, reason in cases:
        sent.clear()
        answer = call()
        request = sent[-1]
        headers = {
            key: (value[:12] + "…" if key in {"sign", "access_token"} and value else value)
            for key, value in request.headers.items()
        }
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        findings.append(
            {
                "call": name,
                "answer": {"success": answer.get("success"), "code": answer.get("code")},
                "sent_url": request.path_url,
                "sent_body": body.decode(),
                "sent_headers": headers,
                "why": reason if answer.get("code") == 1004 else "accepted by this version",
            }
        )
    api.session.close()
    return findings
