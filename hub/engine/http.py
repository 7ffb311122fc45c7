"""The core's `HttpClient` (hub.sdk.http): one aiohttp session per hub, bound per connection.

It enforces the host allow-list before anything is sent, turns transport failures into
`TransientError`, reads whole bodies with a size cap, and never logs bodies or query strings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp
import structlog

from hub.sdk import ContractViolation, HttpResponse, PermanentError, TransientError, host_allowed

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class ConnectionHttpClient:
    """`HttpClient` for one connection: the manifest's hosts plus the configured base URL's."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        connection_name: str,
        allowed_hosts: tuple[str, ...],
        base_url: str | None = None,
        default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._session = session
        self.connection_name = connection_name
        hosts = list(allowed_hosts)
        if base_url:
            base_host = urlsplit(base_url).hostname
            if base_host:
                hosts.append(base_host.lower())
        self.allowed_hosts = tuple(hosts)
        self.default_timeout = default_timeout
        self.max_response_bytes = max_response_bytes

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentError(f"connection {self.connection_name}: not an http(s) URL")
        if not host_allowed(parts.hostname, self.allowed_hosts):
            raise PermanentError(
                f"connection {self.connection_name}: host {parts.hostname!r} is not in the "
                "adapter's allowed hosts nor the connection's base_url"
            )

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int | float] | None = None,
        json: object | None = None,
        data: bytes | Mapping[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> HttpResponse:
        self._check_url(url)
        if json is not None and data is not None:
            raise PermanentError("a request has either json or data, not both")
        total = timeout if timeout is not None else self.default_timeout
        where = urlsplit(url)
        try:
            async with self._session.request(
                method,
                url,
                headers=dict(headers or {}),
                params={k: str(v) for k, v in (params or {}).items()},
                json=json,
                data=data,
                timeout=aiohttp.ClientTimeout(total=total),
                allow_redirects=False,
            ) as resp:
                # StreamReader.read(n) returns what has arrived, not all of it: read to EOF.
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise ContractViolation(
                            f"{where.scheme}://{where.netloc}{where.path} returned more than "
                            f"{self.max_response_bytes} bytes"
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
                return HttpResponse(
                    status=resp.status, headers=dict(resp.headers), body=body, url=str(resp.url)
                )
        except TimeoutError as exc:
            raise TransientError(
                f"{where.scheme}://{where.netloc}{where.path}: timed out after {total:g}s"
            ) from exc
        except aiohttp.ClientPayloadError as exc:
            raise TransientError(
                f"{where.scheme}://{where.netloc}{where.path}: response body cut short"
            ) from exc
        except aiohttp.ClientError as exc:
            raise TransientError(
                f"{where.scheme}://{where.netloc}{where.path}: {type(exc).__name__}"
            ) from exc
        except asyncio.CancelledError:
            raise
