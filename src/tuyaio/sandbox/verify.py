"""The sandbox's own signature check, written apart from the client's signer on purpose.

It rebuilds the string to sign from the request as received: the raw path, the decoded query
sorted by key, the body bytes and the headers named in ``Signature-Headers``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

__all__ = ["expected_sign", "signature_matches"]


def expected_sign(
    *,
    client_id: str,
    secret: str,
    access_token: str,
    t: str,
    nonce: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    body: bytes,
    headers: Mapping[str, str],
    signature_headers: str,
) -> str:
    """The signature a correct client would have sent for this request."""
    pairs = sorted(query, key=lambda pair: pair[0])
    url = path + ("?" + "&".join(f"{key}={value}" for key, value in pairs) if pairs else "")
    names = [name for name in signature_headers.split(":") if name]
    header_block = "".join(f"{name}:{headers.get(name, '')}\n" for name in names)
    content_sha256 = hashlib.sha256(body).hexdigest()
    string_to_sign = "\n".join((method.upper(), content_sha256, header_block, url))
    message = client_id + access_token + t + nonce + string_to_sign
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def signature_matches(received: str, expected: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(received.encode(), expected.encode())
