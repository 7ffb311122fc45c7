"""The HTTP client for CPOMS's (assumed) incident API, over the core's `HttpClient`.

Bearer-token auth, URLs under the configured `base_url`, JSON bodies in a ``{"data": ...}``
envelope, errors as ``{"errors": [{"code", "field"}]}``. Failures are classified into the
SDK's errors; it never retries (the core owns retries and rate limits).
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

__all__ = ["CpomsClient", "CpomsRefusal"]


class CpomsRefusal(PermanentError):
    """CPOMS refused a request (4xx other than auth and throttling); `codes` are its error
    codes per field, e.g. ``{"external_ref": "taken"}``."""

    def __init__(self, message: str, codes: Mapping[str, str]) -> None:
        super().__init__(message)
        self.codes = dict(codes)


def _retry_after(response: HttpResponse) -> float | None:
    value = response.header("retry-after")
    seconds = parse_retry_after(value)
    if seconds is None and value is not None:
        try:  # fractional delay-seconds, which RFC 9110 does not allow but gateways send
            seconds = max(0.0, float(value))
        except ValueError:
            return None
    return seconds


def _error_codes(response: HttpResponse) -> dict[str, str]:
    try:
        body = response.json()
    except ContractViolation:
        return {}
    errors = body.get("errors") if isinstance(body, dict) else None
    codes: dict[str, str] = {}
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            field, code = error.get("field", ""), error.get("code")
            if isinstance(field, str) and isinstance(code, str) and code.isidentifier():
                codes[field] = code
    return codes


class CpomsClient:
    def __init__(
        self, http: HttpClient, base_url: str, token: SecretStr, *, timeout: float | None
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/"
        self._token = token
        self._timeout = timeout

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self._send("GET", path, params=params)

    async def post(self, path: str, body: object) -> Any:
        return await self._send("POST", path, json={"data": body})

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object | None = None,
    ) -> Any:
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
        if response.status == 429:
            raise RateLimited(_retry_after(response), "CPOMS returned HTTP 429: throttled")
        if response.status in (400, 404, 409, 422):
            codes = _error_codes(response)
            listed = ", ".join(f"{field or 'body'}: {code}" for field, code in codes.items())
            raise CpomsRefusal(
                f"CPOMS refused {method} {path}: HTTP {response.status}"
                + (f" ({listed})" if listed else ""),
                codes,
            )
        response.raise_for_status()
        return response.json()
