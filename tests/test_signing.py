"""The signer against every vector of PROTOCOL.md §2 (kept in tests/data/signing_vectors.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuyaio.signing import (
    EMPTY_BODY_SHA256,
    encode_query,
    sign,
    signed_headers,
    string_to_sign,
)

VECTORS = json.loads((Path(__file__).parent / "data" / "signing_vectors.json").read_text())
CREDS = VECTORS["credentials"]


def _case_id(case: dict[str, Any]) -> str:
    return str(case["name"])


@pytest.mark.parametrize("case", VECTORS["cases"], ids=_case_id)
def test_every_published_and_derived_vector(case: dict[str, Any]) -> None:
    headers = signed_headers(
        method=case["method"],
        path=case["path"],
        query=encode_query(case["params"]),
        body=case["body"].encode(),
        client_id=CREDS["client_id"],
        secret=CREDS["secret"],
        t=CREDS["t"],
        nonce=CREDS["nonce"] if case["nonce"] else "",
        access_token=CREDS["access_token"] if case["access_token"] else None,
        extra_headers=[tuple(pair) for pair in case["signed_headers"]],
    )
    assert headers["sign"] == case["sign"]
    assert headers["client_id"] == CREDS["client_id"]
    assert headers["t"] == CREDS["t"]
    assert headers["sign_method"] == "HMAC-SHA256"
    assert ("access_token" in headers) == case["access_token"]
    if case["signed_headers"]:
        assert headers["Signature-Headers"] == "area_id:call_id"


@pytest.mark.parametrize("simple", VECTORS["simple"])
def test_simple_form_vectors(simple: dict[str, Any]) -> None:
    token = CREDS["access_token"] if simple["access_token"] else ""
    assert (
        sign(
            client_id=CREDS["client_id"],
            secret=CREDS["secret"],
            t=CREDS["t"],
            string_to_sign="",
            access_token=token,
        )
        == simple["sign"]
    )


def test_empty_body_hash_and_content_type_only_with_a_body() -> None:
    assert hashlib.sha256(b"").hexdigest() == EMPTY_BODY_SHA256
    assert string_to_sign("get", "/p", {}, b"").split("\n")[:2] == ["GET", EMPTY_BODY_SHA256]
    common: dict[str, Any] = {
        "method": "POST",
        "path": "/p",
        "query": {},
        "client_id": "c",
        "secret": "s",
        "t": "1",
        "nonce": "n",
        "access_token": "a",
    }
    assert "Content-Type" not in signed_headers(body=b"", **common)
    assert signed_headers(body=b"{}", **common)["Content-Type"] == "application/json"


def test_query_encoding_drops_none_joins_lists_and_sorts_raw() -> None:
    from tuyaio import AuthorizationStatus

    query = encode_query(
        {
            "z": None,
            "roomName": "Room 2 & Hall",
            "authorizationStatus": [AuthorizationStatus.NOT_AUTHORIZED, 1],
            "page": 1,
            "flag": True,
        }
    )
    assert query == {
        "roomName": "Room 2 & Hall",
        "authorizationStatus": "0,1",
        "page": "1",
        "flag": "true",
    }
    assert string_to_sign("GET", "/x", query, b"").endswith(
        "\n/x?authorizationStatus=0,1&flag=true&page=1&roomName=Room 2 & Hall"
    )


@pytest.mark.parametrize("case", VECTORS["cases"], ids=_case_id)
def test_sign_over_the_string_to_sign_gives_each_vector(case: dict[str, Any]) -> None:
    headers = [(name, value) for name, value in case["signed_headers"]]
    message = string_to_sign(
        case["method"], case["path"], encode_query(case["params"]), case["body"].encode(), headers
    )
    got = sign(
        client_id=CREDS["client_id"],
        secret=CREDS["secret"],
        t=CREDS["t"],
        string_to_sign=message,
        access_token=CREDS["access_token"] if case["access_token"] else "",
        nonce=CREDS["nonce"] if case["nonce"] else "",
    )
    assert got == case["sign"]


FIELDS = ("client_id", "secret", "t", "string_to_sign", "access_token", "nonce")


@given(field=st.sampled_from(FIELDS), extra=st.text(min_size=1, max_size=8))
def test_every_input_of_the_signature_counts(field: str, extra: str) -> None:
    case = VECTORS["cases"][1]  # published, with a token and a nonce
    message = string_to_sign(
        case["method"],
        case["path"],
        encode_query(case["params"]),
        b"",
        [(name, value) for name, value in case["signed_headers"]],
    )
    inputs = {
        "client_id": CREDS["client_id"],
        "secret": CREDS["secret"],
        "t": CREDS["t"],
        "string_to_sign": message,
        "access_token": CREDS["access_token"],
        "nonce": CREDS["nonce"],
    }
    assert sign(**inputs) == case["sign"]
    # Prepended: HMAC pads a short key with NUL bytes, so a key and the same key plus a trailing
    # NUL are one key (a property of HMAC, not of the signer).
    inputs[field] = extra + inputs[field]
    assert sign(**inputs) != case["sign"]
