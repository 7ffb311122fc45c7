"""The HTTP client the core hands to every adapter.

The core owns the aiohttp session, connection pooling, timeouts, tracing and the host allow-list;
adapters never create sessions of their own. What the core's client guarantees:

- requests go only to hosts in the adapter manifest's `allowed_hosts` or to the host of the
  connection's configured `base_url`; any other URL raises `PermanentError` before anything
  is sent;
- transport failures (connection refused, reset, DNS, timeout) raise `TransientError`;
- every HTTP response, whatever its status, is returned as an `HttpResponse`: the adapter
  classifies it, usually with `HttpResponse.raise_for_status()` (the default mapping below),
  overriding it where the vendor's protocol differs;
- request and response bodies are never logged.
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from .errors import AuthError, ContractViolation, PermanentError, RateLimited, TransientError

__all__ = ["HttpClient", "HttpResponse", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or an HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        # RFC 9110 says delay-seconds is an integer; some gateways send fractions ("0.25").
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is no hint
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now if now is not None else dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True)
class HttpResponse:
    """A complete HTTP response. Header names are matched case-insensitively."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: The URL that was requested, for error messages (the query string is never shown).
    url: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", {k.lower(): v for k, v in self.headers.items()})

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        """The body decoded with the charset the response declares (UTF-8 by default)."""
        message = Message()
        message["content-type"] = self.header("content-type", "text/plain") or "text/plain"
        charset = message.get_content_charset() or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; `ContractViolation` when it is not JSON (truncated, HTML
        error page...). Validate the result with a pydantic model before trusting its shape."""
        try:
            return jsonlib.loads(self.body)
        except (UnicodeDecodeError, jsonlib.JSONDecodeError) as exc:
            raise ContractViolation(
                f"{self._where()} returned HTTP {self.status} with a body that is not JSON "
                f"({type(exc).__name__} at position {getattr(exc, 'pos', '?')})"
            ) from None

    def raise_for_status(self) -> None:
        """Raise the SDK error for a failed response (the core's default classification):

        401, 403 → `AuthError`; 429 → `RateLimited` (with the `Retry-After` hint);
        408, 425, 5xx → `TransientError`; any other 4xx → `PermanentError`; other statuses
        (1xx, 2xx, 3xx) return normally. Messages carry the status, never the body.
        """
        status = self.status
        if status < 400:
            return
        where = f"{self._where()} returned HTTP {status}"
        if status in (401, 403):
            raise AuthError(f"{where}: credentials rejected")
        if status == 429:
            raise RateLimited(parse_retry_after(self.header("retry-after")), f"{where}: throttled")
        if status in (408, 425) or status >= 500:
            raise TransientError(where)
        raise PermanentError(where)

    def _where(self) -> str:
        if not self.url:
            return "the vendor"
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


class HttpClient(Protocol):
    """The core's HTTP client, bound to one connection (see the module docstring)."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int | float] | None = None,
        json: object | None = None,
        data: bytes | Mapping[str, str] | None = None,
        # The core applies it as the aiohttp request timeout; adapters only state it.
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> HttpResponse:
        """Send one request and return the whole response.

        `json` is any value `json.dumps` accepts; `data` is a raw body or form fields (not both
        with `json`). `timeout` is the total time in seconds (None: the core's default).
        """
        ...
