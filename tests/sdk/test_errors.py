"""The error taxonomy that crosses the plugin boundary, and which errors the core retries."""

from __future__ import annotations

import math
import pickle

import pytest

from hub.sdk import (
    RETRIED_ERRORS,
    AdapterError,
    AuthError,
    ConfigError,
    ContractViolation,
    PermanentError,
    RateLimited,
    TransientError,
)
from hub.sdk import errors as errors_module

ALL = [TransientError, RateLimited, AuthError, ConfigError, PermanentError, ContractViolation]


def test_exactly_the_documented_errors_are_public() -> None:
    public = {
        obj
        for obj in vars(errors_module).values()
        if isinstance(obj, type) and issubclass(obj, Exception)
    }
    assert public == {AdapterError, *ALL}


@pytest.mark.parametrize("error", ALL)
def test_every_error_is_an_adapter_error(error: type[AdapterError]) -> None:
    assert issubclass(error, AdapterError)


def test_rate_limited_is_transient() -> None:
    assert issubclass(RateLimited, TransientError)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (TransientError, True),
        (RateLimited, True),
        (AuthError, False),
        (ConfigError, False),
        (PermanentError, False),
        (ContractViolation, False),
    ],
)
def test_only_transient_errors_are_retried(error: type[AdapterError], retried: bool) -> None:
    assert error.retryable is retried
    assert issubclass(error, RETRIED_ERRORS) is retried


@pytest.mark.parametrize(
    ("hint", "expected"),
    [(None, None), (0, 0.0), (2.5, 2.5), (120, 120.0), (-3, 0.0), (math.nan, None)],
)
def test_rate_limited_retry_after(hint: float | None, expected: float | None) -> None:
    error = RateLimited(hint)
    assert error.retry_after == expected


def test_rate_limited_message_and_keyword() -> None:
    assert "retry after 30s" in str(RateLimited(retry_after=30))
    assert str(RateLimited(1.0, "SIMS throttled the roll read")) == "SIMS throttled the roll read"


def test_rate_limited_survives_pickling() -> None:
    copy = pickle.loads(pickle.dumps(RateLimited(7.0, "slow down")))
    assert isinstance(copy, RateLimited)
    assert copy.retry_after == 7.0
    assert str(copy) == "slow down"
