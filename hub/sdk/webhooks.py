"""HMAC-SHA256 signatures for vendor webhooks (`POST /v1/webhooks/{connection}`).

The adapter's `handle_webhook` verifies the signature over the raw body bytes, before parsing
anything, and raises `AuthError` when it does not match.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["sign_hmac_sha256", "verify_hmac_sha256"]

_PREFIX = "sha256="


def sign_hmac_sha256(secret: bytes, body: bytes) -> str:
    """The lower-case hex HMAC-SHA256 of `body` under `secret`."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_hmac_sha256(secret: bytes, body: bytes, signature: str | None) -> bool:
    """True when `signature` is the HMAC-SHA256 of `body` under `secret`.

    Accepts plain hex or the `sha256=<hex>` form (GitHub style), in either case. The comparison
    takes constant time (`hmac.compare_digest`); a missing or malformed signature is False.
    """
    if not signature or not secret:
        return False
    candidate = signature.strip()
    if candidate[: len(_PREFIX)].lower() == _PREFIX:
        candidate = candidate[len(_PREFIX) :]
    candidate = candidate.lower()
    if not candidate.isascii():
        return False
    return hmac.compare_digest(candidate.encode("ascii"), sign_hmac_sha256(secret, body).encode())
