"""No secret in any error (issue 25, row 9): the secret, the tokens and the request's signature,
echoed by a server in every place an error quotes it, never reach ``str``, ``repr``, ``args``, an
attribute, the cause chain or a DEBUG log; and redaction never mangles ordinary text."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import attrs
import pytest
from aiohttp import web

from tuyaio import DecodeError, RetryPolicy, TuyaClient, TuyaError
from tuyaio.envelope import Envelope, excerpt, parse_envelope, redact

from .conftest import loopback_server

SECRET = "hostile-secret-0123456789"
ACCESS = "access-token-abcdef0123456789"
REFRESH = "refresh-token-fedcba9876543210"
PROJECT = "p1"


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("system error", ["rror"], "system error"),  # never inside a word
        ("system error", ["err"], "system error"),  # under 4 characters: never looked for
        ("param is illegal", ["is i"], "param is illegal"),  # "is i" stands alone only twice over
        ("token abcd expired", ["abcd"], "token <redacted> expired"),  # a short one, alone
        ("xabcdx and abcd", ["abcd"], "xabcdx and <redacted>"),
        (f"bearer{ACCESS}tail", [ACCESS], "bearer<redacted>tail"),  # 16+: anywhere
        ('{"sign":"ABC","x":1}', [], '{"sign":"<redacted>","x":1}'),
        ('{"accessToken": "q\\"r"}', [], '{"accessToken": "<redacted>"}'),
        (
            "GET /x?access_token=abc&sign=DEF&t=1",
            [],
            "GET /x?access_token=<redacted>&sign=<redacted>&t=1",
        ),
        ("design=nice", [], "design=nice"),  # not a parameter named sign
        ("", [ACCESS], ""),
        ("a page of rooms", ["a", ""], "a page of rooms"),
    ],
)
def test_redaction_removes_secrets_and_leaves_ordinary_text_alone(
    text: str, secrets: list[str], expected: str
) -> None:
    assert redact(text, secrets) == expected


@pytest.mark.parametrize("shift", range(0, 65, 8))
def test_an_excerpt_cut_through_a_secret_keeps_no_piece_of_it(shift: int) -> None:
    sign = "0123456789ABCDEF" * 4  # 64 characters, like a signature
    body = ("x" * shift + (sign + " ") * 40).encode()  # cut somewhere inside a sign
    text = excerpt(body, [sign])
    assert text.count("<redacted>") >= 10  # redacted, the window fits in the excerpt
    for size in range(6, len(sign)):
        assert sign[:size] not in text


def secrets_in(error: BaseException) -> Iterator[str]:
    """Every text an error shows, through its cause and context chain."""
    seen: BaseException | None = error
    while seen is not None:
        yield str(seen)
        yield repr(seen)
        yield repr(seen.args)
        if attrs.has(type(seen)):
            yield repr(attrs.asdict(seen, recurse=False))  # type: ignore[arg-type]
        seen = seen.__cause__ or seen.__context__


class Echo:
    """A server that grants a token, then answers every call by ``answer(headers)``."""

    def __init__(self) -> None:
        self.answer: Callable[[str, str], web.Response] = lambda token, sign: web.Response()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        if request.path.startswith("/v1.0/token"):
            result = {"access_token": ACCESS, "refresh_token": REFRESH, "expire_time": 7200}
            return web.json_response({"success": True, "t": 1_765_000_000_000, "result": result})
        return self.answer(request.headers.get("access_token", ""), request.headers.get("sign", ""))


@pytest.fixture
async def echo() -> AsyncIterator[tuple[Echo, str]]:
    server = Echo()
    async with loopback_server(server.handle) as base_url:
        yield server, base_url


Echoed = Callable[[str, str], Any]
"""What a server echoes, from the request's token and sign: a str, or JSON data."""


def echoed(make: Echoed) -> dict[str, Callable[[str, str], web.Response]]:
    """Answers that quote what ``make`` gives in each place an error shows server text."""

    def text(token: str, sign: str) -> str:
        value = make(token, sign)
        return value if isinstance(value, str) else json.dumps(value)

    def body(document: Callable[[str, str], Any], status: int = 200) -> Any:
        def answer(token: str, sign: str) -> web.Response:
            return web.json_response(document(token, sign), status=status)

        return answer

    def page(token: str, sign: str) -> Any:
        value = make(token, sign)
        return {"success": True, "result": {"total": 1, "tasks": [{"task_id": {"x": value}}]}}

    def gateway(token: str, sign: str) -> web.Response:
        return web.Response(text=f"<html>{text(token, sign)}</html>", status=502)

    return {
        "a listing result that fails to decode": body(page),
        "a create result that fails to decode": body(
            lambda token, sign: {"success": True, "result": {"echo": make(token, sign)}}
        ),
        "an error message": body(
            lambda token, sign: {"success": False, "code": 1106, "msg": "no " + text(token, sign)}
        ),
        "an error's tid": body(
            lambda token, sign: {"success": False, "code": 1106, "tid": text(token, sign)}
        ),
        "not an envelope": body(lambda token, sign: {"html": make(token, sign)}),
        "a gateway page": gateway,
    }


CALLS: dict[str, Callable[[TuyaClient], Awaitable[Any]]] = {
    "list": lambda client: client.maintenance.list_tasks(PROJECT),
    "create": lambda client: client.maintenance.create_task(
        PROJECT, worker_id="w", rooms={"r": ["d"]}
    ),
}


async def check_no_leak(
    echo: tuple[Echo, str],
    caplog: pytest.LogCaptureFixture,
    make: Echoed,
    leaked: Callable[[str, str], list[str]],
) -> None:
    server, base_url = echo
    caplog.set_level(logging.DEBUG, logger="tuyaio")
    sent: list[str] = []
    async with TuyaClient(
        PROJECT + "-id", SECRET, base_url=base_url, retry=RetryPolicy(max_retries=0)
    ) as client:
        for name, answer in echoed(make).items():
            for call in CALLS.values():

                def recording(token: str, sign: str, answer: Any = answer) -> web.Response:
                    sent.append(sign)
                    return answer(token, sign)

                server.answer = recording
                with pytest.raises(TuyaError) as caught:
                    await call(client)
                for text in secrets_in(caught.value):
                    for value in leaked(text, sent[-1]):
                        pytest.fail(
                            f"{name}: {value[:12]}… in {type(caught.value).__name__}: {text[:300]}"
                        )
    for value in (SECRET, ACCESS, REFRESH, *sent):
        assert value not in caplog.text


def token_or_secret(text: str, sign: str) -> list[str]:
    return [value for value in (SECRET, ACCESS, REFRESH) if value in text]


def the_sign(text: str, sign: str) -> list[str]:
    return [sign] if sign in text else []


async def test_no_token_or_secret_reaches_any_error_or_the_debug_log(
    echo: tuple[Echo, str], caplog: pytest.LogCaptureFixture
) -> None:
    await check_no_leak(
        echo, caplog, lambda token, sign: f"{token} {SECRET} {REFRESH}", token_or_secret
    )


async def test_a_sign_under_its_own_name_never_reaches_an_error(
    echo: tuple[Echo, str], caplog: pytest.LogCaptureFixture
) -> None:
    await check_no_leak(
        echo, caplog, lambda token, sign: {"sign": sign, "url": f"?sign={sign}"}, the_sign
    )


async def test_a_bare_sign_never_reaches_an_error(
    echo: tuple[Echo, str], caplog: pytest.LogCaptureFixture
) -> None:
    await check_no_leak(echo, caplog, lambda token, sign: f"bad signature {sign}", the_sign)


def test_parse_envelope_redacts_the_sign_it_is_given_and_the_envelope_keeps_it() -> None:
    sign = "0123456789ABCDEF" * 4
    body = json.dumps({"success": False, "code": 1004, "msg": f"sign invalid: {sign}"}).encode()
    with pytest.raises(TuyaError) as caught:
        parse_envelope(status=200, body=body, method="GET", route="/r", sign=sign)
    assert sign not in str(caught.value)
    ok = json.dumps({"success": True, "result": {"task_id": [sign, ACCESS]}}).encode()
    envelope = parse_envelope(
        status=200, body=ok, method="GET", route="/r", secrets=lambda: (ACCESS,), sign=sign
    )

    def structure(result: Any) -> Any:
        raise DecodeError(errors=(f"bad {sign} @ result",), body_excerpt=json.dumps(result))

    with pytest.raises(DecodeError) as decoded:
        envelope.decode(structure)
    for text in secrets_in(decoded.value):
        assert sign not in text
        assert ACCESS not in text
    assert decoded.value.__cause__ is None
    assert decoded.value.__context__ is None
    assert "<redacted>" in decoded.value.body_excerpt


def test_an_envelope_made_by_hand_still_decodes() -> None:
    assert Envelope({"a": 1}, None, None).decode(lambda result: result["a"]) == 1


async def test_a_replaced_token_echoed_after_a_refresh_never_reaches_an_error() -> None:
    tokens = iter(["old-access-token-0123456789abcdef", "new-access-token-0123456789abcdef"])
    state = {"first": ""}

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        if request.path.startswith("/v1.0/token"):
            access = next(tokens)
            state["first"] = state["first"] or access
            result = {"access_token": access, "refresh_token": access + "-r", "expire_time": 7200}
            return web.json_response({"success": True, "t": 1_765_000_000_000, "result": result})
        if request.headers.get("access_token") == state["first"]:
            return web.json_response({"success": False, "code": 1010, "msg": "token invalid"})
        result = {"total": 1, "tasks": [{"task_id": {"old": state["first"]}}]}
        return web.json_response({"success": True, "result": result})

    async with (
        loopback_server(handle) as base_url,
        TuyaClient("id", SECRET, base_url=base_url, retry=RetryPolicy(max_retries=0)) as client,
    ):
        with pytest.raises(DecodeError) as caught:
            await client.maintenance.list_tasks(PROJECT)
    for text in secrets_in(caught.value):
        assert state["first"] not in text
