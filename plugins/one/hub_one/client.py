"""The HTTP client for One's (assumed) integration API, over the core's `HttpClient`.

It adds the API key header, builds URLs under the configured `base_url`, and classifies every
failure into the SDK's errors: the core's mapping of HTTP statuses (`raise_for_status`), made
more specific where One says more (a reused idempotency key, a rejected submission). It never
retries: the core owns retries and rate limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from hub.sdk import (
    ContractViolation,
    HttpClient,
    HttpResponse,
    PermanentError,
    RateLimited,
    parse_retry_after,
)

__all__ = ["API_KEY_HEADER", "IDEMPOTENCY_HEADER", "OneClient"]

#: One's integration endpoint authenticates each request by an API key (assumed, see README).
API_KEY_HEADER = "X-API-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _retry_after(response: HttpResponse) -> float | None:
    value = response.header("retry-after")
    seconds = parse_retry_after(value)
    if seconds is None and value is not None:
        # Some gateways send fractional delay-seconds ("0.5"), which RFC 9110 does not allow.
        try:
            seconds = max(0.0, float(value))
        except ValueError:
            return None
    return seconds


def _vendor_error_code(response: HttpResponse) -> str | None:
    """One's error code (`{"error": {"code": ...}}`); its message may quote pupil data."""
    try:
        body = response.json()
    except ContractViolation:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        if isinstance(code, str) and code.isidentifier():
            return code
    return None


class OneClient:
    """Requests to one LA's One, authenticated by its API key."""

    def __init__(
        self, http: HttpClient, base_url: str, api_key: SecretStr, *, timeout: float | None
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/"
        self._api_key = api_key
        self._timeout = timeout

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {API_KEY_HEADER: self._api_key.get_secret_value(), "Accept": "application/json"}
        headers.update(extra or {})
        return headers

    async def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        response = await self._http.request(
            "GET",
            self._base + path,
            headers=self._headers(),
            params=params,
            timeout=self._timeout,
        )
        self._raise_for_status(response)
        return response.json()

    async def post(self, path: str, body: object, *, idempotency_key: str) -> Any:
        response = await self._http.request(
            "POST",
            self._base + path,
            headers=self._headers({IDEMPOTENCY_HEADER: idempotency_key}),
            json=body,
            timeout=self._timeout,
        )
        self._raise_for_status(response)
        return response.json()

    def _raise_for_status(self, response: HttpResponse) -> None:
        if response.ok:
            return
        if response.status == 429:
            raise RateLimited(_retry_after(response), "One returned HTTP 429: throttled")
        if response.status in (409, 422, 400):
            code = _vendor_error_code(response)
            reason = f" ({code})" if code else ""
            raise PermanentError(f"One refused the request: HTTP {response.status}{reason}")
        response.raise_for_status()
