"""The HTTP client for MyConcern's (assumed) concern API, over the core's `HttpClient`.

Bearer-token auth, URLs under the configured `base_url`, and failures classified into the SDK's
errors. It never retries: the core owns retries and rate limits.
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

__all__ = ["MyConcernClient", "VendorResponse"]


class VendorResponse:
    """A response the caller handles itself (a 404 or 409 that means something)."""

    def __init__(self, response: HttpResponse) -> None:
        self.status = response.status
        self._response = response

    def json(self) -> Any:
        return self._response.json()


def _retry_after(response: HttpResponse) -> float | None:
    value = response.header("retry-after")
    seconds = parse_retry_after(value)
    if seconds is None and value is not None:
        try:  # fractional delay-seconds, which RFC 9110 does not allow but gateways send
            seconds = max(0.0, float(value))
        except ValueError:
            return None
    return seconds


def _error_code(response: HttpResponse) -> str | None:
    try:
        body = response.json()
    except ContractViolation:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and code.isidentifier() else None


class MyConcernClient:
    def __init__(
        self, http: HttpClient, base_url: str, token: SecretStr, *, timeout: float | None
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/"
        self._token = token
        self._timeout = timeout

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object | None = None,
        passthrough: frozenset[int] = frozenset(),
    ) -> VendorResponse:
        """Send one request; statuses in `passthrough` are returned, other failures raised."""
        response = await self._http.request(
            method,
            self._base + path,
            headers={
                "Authorization": f"Bearer {self._token.get_secret_value()}",
                "Accept": "application/json",
            },
            params=params,
            json=json,
            timeout=self._timeout,
        )
        if response.ok or response.status in passthrough:
            return VendorResponse(response)
        if response.status == 429:
            raise RateLimited(_retry_after(response), "MyConcern returned HTTP 429: throttled")
        if response.status in (400, 404, 409, 422):
            code = _error_code(response)
            reason = f" ({code})" if code else ""
            raise PermanentError(
                f"MyConcern refused {method} {path}: HTTP {response.status}{reason}"
            )
        response.raise_for_status()
        raise PermanentError(f"MyConcern answered HTTP {response.status}")  # 1xx / 3xx
