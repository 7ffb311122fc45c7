"""The only exceptions that may cross the plugin boundary.

An adapter classifies every failure into one of these; the core decides what happens next.
Anything else escaping an adapter is treated as a bug in the plugin and handled like
`PermanentError` (the work item goes to the dead-letter queue with the traceback recorded).

| error               | meaning                          | what the core does              |
|---------------------|----------------------------------|---------------------------------|
| `TransientError`    | temporary failure (5xx, timeout) | **retried** with backoff        |
| `RateLimited`       | the vendor throttled us (429)    | **retried** after `retry_after` |
| `AuthError`         | credentials rejected (401/403)   | connection paused, not retried  |
| `ConfigError`       | the connection's config is wrong | connection paused, not retried  |
| `PermanentError`    | can never succeed (other 4xx)    | item goes to the dead letters   |
| `ContractViolation` | vendor data does not map         | record quarantined, not dropped |

Only `TransientError` and its subclass `RateLimited` are retried (`RETRIED_ERRORS`). Messages
must not contain secrets or pupil data: they are logged and shown to operators.
"""

from __future__ import annotations

import math
from typing import ClassVar

__all__ = [
    "RETRIED_ERRORS",
    "AdapterError",
    "AuthError",
    "ConfigError",
    "ContractViolation",
    "PermanentError",
    "RateLimited",
    "TransientError",
]


class AdapterError(Exception):
    """Base of every error an adapter or notifier may raise across the plugin boundary."""

    #: True when the core retries the failed operation later (see `RETRIED_ERRORS`).
    retryable: ClassVar[bool] = False


class TransientError(AdapterError):
    """A temporary failure: the same call may succeed later. The core retries with backoff."""

    retryable: ClassVar[bool] = True


class RateLimited(TransientError):
    """The vendor asked us to slow down. The core waits `retry_after` seconds, then retries.

    `retry_after` is the vendor's hint in seconds (from a `Retry-After` header, say), or `None`
    when it gave none; the core then uses its own backoff. Negative hints are treated as 0.
    """

    def __init__(self, retry_after: float | None = None, message: str | None = None) -> None:
        if retry_after is not None and math.isnan(retry_after):
            retry_after = None
        if retry_after is not None:
            retry_after = max(0.0, float(retry_after))
        self.retry_after: float | None = retry_after
        if message is None:
            hint = "" if retry_after is None else f"; retry after {retry_after:g}s"
            message = f"rate limited by the vendor{hint}"
        super().__init__(message)

    def __reduce__(self) -> tuple[type[RateLimited], tuple[float | None, str]]:
        return (type(self), (self.retry_after, str(self)))


class AuthError(AdapterError):
    """The vendor rejected our credentials. Not retried: an operator must fix them."""


class ConfigError(AdapterError):
    """The connection's configuration is invalid or incomplete. Not retried."""


class PermanentError(AdapterError):
    """This request can never succeed as sent. Not retried: the item goes to dead letters."""


class ContractViolation(AdapterError):
    """Vendor data does not fit the hub's contracts. Not retried: the record is quarantined."""


#: The error types the core retries. Everything else stops the operation.
RETRIED_ERRORS: tuple[type[AdapterError], ...] = (TransientError,)
