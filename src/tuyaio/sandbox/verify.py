"""The sandbox's own signature check, written apart from the client's signer on purpose.

It rebuilds the string to sign from the request as received: the raw path, the decoded query
sorted by key, the body bytes and the headers named in ``Signature-Headers``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

__all__ = ["expected_sign"]


def expected_sign(
    *,
    secret: str,
    access_token: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    body: bytes,
    headers: Mapping[str, str],
) -> str:
    """The signature a correct client would have sent for this request; ``headers`` are the
    request's (``client_id``, ``t``, ``nonce``, ``Signature-Headers`` and the headers it names)."""
    pairs = sorted(query, key=lambda pair: pair[0])
    url = path + ("?" + "&".join(f"{key}={value}" for key, value in pairs) if pairs else "")
    names = filter(None, headers.get("Signature-Headers", "").split(":"))
    header_block = "".join(f"{name}:{headers.get(name, '')}\n" for name in names)
    content_sha256 = hashlib.sha256(body).hexdigest()
    string_to_sign = "\n".join((method.upper(), content_sha256, header_block, url))
    client_id, t, nonce = (headers.get(name, "") for name in ("client_id", "t", "nonce"))
    message = client_id + access_token + t + nonce + string_to_sign
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()
