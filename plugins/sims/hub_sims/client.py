"""SIMS partner API calls over the core's `HttpClient`: tokens, headers, error classification.

Every API request carries an OAuth2 bearer token (client-credentials grant at `token_url`) and
the Azure API Management subscription key (``Ocp-Apim-Subscription-Key``). The token is cached
until shortly before it expires; a 401 from the API drops it and the request is retried once
with a fresh one (tokens can be revoked early), and a second 401 is an `AuthError`. Nothing else
is retried here: the core owns retries and backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import structlog

from hub.sdk import (
    AuthError,
    ConfigError,
    ContractViolation,
    HttpClient,
    HttpResponse,
    PermanentError,
    TransientError,
)

__all__ = ["TOKEN_SCOPE", "SimsClient"]

log = structlog.get_logger(__name__)

#: Scopes of a SIMS TI client-credentials client (sims-partners.com, SIMS ID TI interface).
TOKEN_SCOPE = "partner partner-read partner-write"
#: Refresh a token this long before SIMS says it expires.
TOKEN_MARGIN_SECONDS = 30.0


class SimsClient:
    """One school's SIMS API, through the connection's `HttpClient`."""

    def __init__(
        self,
        http: HttpClient,
        *,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        subscription_key: str,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._subscription_key = subscription_key
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    # --- tokens -------------------------------------------------------------------------------

    async def _bearer(self) -> str:
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                self._token = await self._fetch_token()
            return self._token

    async def _fetch_token(self) -> str:
        response = await self._http.request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "scope": TOKEN_SCOPE,
            },
        )
        _check_complete(response)
        if response.status in (400, 401):
            error = _oauth_error(response)
            if error in ("invalid_client", "unauthorized_client", "invalid_scope"):
                raise AuthError(f"SIMS token endpoint refused the client credentials ({error})")
        response.raise_for_status()
        body = _json_object(response)
        token, expires_in = body.get("access_token"), body.get("expires_in", 3600)
        if not isinstance(token, str) or not token:
            raise ContractViolation("SIMS token response has no access_token")
        if not isinstance(expires_in, int | float):
            raise ContractViolation("SIMS token response has a non-numeric expires_in")
        self._token_expires = time.monotonic() + max(0.0, float(expires_in) - TOKEN_MARGIN_SECONDS)
        log.debug("sims_token_issued", expires_in=expires_in)
        return token

    # --- requests -----------------------------------------------------------------------------

    async def get(self, path: str, params: Mapping[str, str | int | float]) -> dict[str, Any]:
        return await self._send("GET", path, params=params)

    async def post(
        self, path: str, body: object, *, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        return await self._send("POST", path, json=body, headers=headers)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | float] | None = None,
        json: object | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        for attempt in (1, 2):
            token = await self._bearer()
            response = await self._http.request(
                method,
                url,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Ocp-Apim-Subscription-Key": self._subscription_key,
                    "Accept": "application/json",
                    **(headers or {}),
                },
                params=params,
                json=json,
            )
            if response.status == 401 and _subscription_key_refused(response):
                raise AuthError("SIMS API gateway refused the subscription key (HTTP 401)")
            if response.status == 401 and attempt == 1:
                # The token may have been revoked before its expiry: fetch one more, once.
                log.info("sims_token_rejected_refreshing", path=path)
                async with self._token_lock:
                    if self._token == token:
                        self._token = None
                continue
            break
        _check_complete(response)
        _classify(response)
        return _json_object(response)


def _check_complete(response: HttpResponse) -> None:
    """A body shorter than its Content-Length was cut short in transit: retry, never parse."""
    length = response.header("content-length")
    if length is None or response.header("content-encoding") not in (None, "", "identity"):
        return
    if length.isdigit() and int(length) != len(response.body):
        raise TransientError(
            f"SIMS response body cut short ({len(response.body)} of {length} bytes)"
        )


def _classify(response: HttpResponse) -> None:
    if response.ok:
        return
    code = _error_code(response)
    if response.status == 404 and code == "SchoolNotFound":
        raise ConfigError("SIMS does not know this school_id for this client (HTTP 404)")
    if response.status == 400 and code:
        raise PermanentError(f"SIMS refused the request (HTTP 400 {code})")
    if response.status == 422 and code:
        raise PermanentError(f"SIMS refused the request (HTTP 422 {code})")
    response.raise_for_status()


def _json_object(response: HttpResponse) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise ContractViolation(f"SIMS returned JSON {type(body).__name__}, expected an object")
    return body


def _oauth_error(response: HttpResponse) -> str | None:
    try:
        body = response.json()
    except ContractViolation:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) else None


def _error_code(response: HttpResponse) -> str | None:
    try:
        body = response.json()
    except ContractViolation:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and code.isidentifier() else None


def _subscription_key_refused(response: HttpResponse) -> bool:
    # Azure API Management's own 401 names the subscription key; the API's names the token.
    return "subscription key" in response.text().lower()
