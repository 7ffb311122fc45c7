"""When to try again: exponential backoff with jitter, capped, honouring `Retry-After`.

The delay is computed with tenacity's wait functions, but the waiting itself is not tenacity's:
a failed delivery is rescheduled in the outbox (`next_attempt_at`), a failed sync pass in the
connection's loop, so retries survive restarts and never hold a worker (anchors §3.3, the
"job-level" retry layer). Short in-request retries, if any, belong to the HTTP client.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, wait_exponential, wait_random

from hub.sdk import RateLimited
from hub.settings import OutboxSettings


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: `initial * 2**(n-1)` seconds plus up to `initial` of jitter,
    capped at `maximum`; a vendor's `Retry-After` hint replaces it."""

    initial: float
    maximum: float

    @classmethod
    def from_settings(cls, settings: OutboxSettings) -> Backoff:
        return cls(settings.backoff_initial_seconds, settings.backoff_max_seconds)

    def delay(self, failures: int, error: BaseException | None = None) -> float:
        """Seconds to wait after the `failures`-th consecutive failure (1 = the first)."""
        if isinstance(error, RateLimited) and error.retry_after is not None:
            # The vendor said when to come back: never earlier, and not capped by our maximum,
            # which would only earn another 429.
            return error.retry_after
        # The jitter is added before the cap, so many workers failing together still spread out
        # below the cap instead of all waking at exactly `maximum`.
        wait = wait_exponential(multiplier=self.initial, max=self.maximum) + wait_random(
            0, self.initial
        )
        state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = max(1, failures)
        return float(min(wait(state), self.maximum))

    def retry_at(
        self, now: dt.datetime, failures: int, error: BaseException | None = None
    ) -> dt.datetime:
        return now + dt.timedelta(seconds=self.delay(failures, error))
