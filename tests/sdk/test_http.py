"""HttpResponse helpers: header lookup, decoding, JSON, and the default status classification."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.sdk import (
    AdapterError,
    AuthError,
    ContractViolation,
    HttpResponse,
    PermanentError,
    RateLimited,
    TransientError,
    parse_retry_after,
)


def test_headers_are_case_insensitive() -> None:
    response = HttpResponse(200, {"Content-Type": "application/json", "Retry-After": "3"})
    assert response.header("content-type") == "application/json"
    assert response.header("RETRY-AFTER") == "3"
    assert response.header("x-missing", "default") == "default"


def test_json_and_text() -> None:
    response = HttpResponse(
        200, {"content-type": "text/plain; charset=latin-1"}, "Ysgol Gymraeg é".encode("latin-1")
    )
    assert response.text() == "Ysgol Gymraeg é"
    assert HttpResponse(200, {}, b'{"value": [1, 2]}').json() == {"value": [1, 2]}


def test_malformed_json_is_a_contract_violation_without_the_body() -> None:
    response = HttpResponse(
        502, {}, b"<html>Gateway error for UPN A123456789012</html>", "https://v.example/api?upn=x"
    )
    with pytest.raises(
        ContractViolation, match=r"https://v\.example/api returned HTTP 502"
    ) as raised:
        response.json()
    assert "A123456789012" not in str(raised.value)
    assert "upn=x" not in str(raised.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, AuthError),
        (429, RateLimited),
        (408, TransientError),
        (500, TransientError),
        (503, TransientError),
        (400, PermanentError),
        (404, PermanentError),
        (422, PermanentError),
    ],
)
def test_raise_for_status_default_mapping(status: int, error: type[AdapterError]) -> None:
    with pytest.raises(error) as raised:
        HttpResponse(status, {"retry-after": "12"}, b"secret body").raise_for_status()
    assert type(raised.value) is error
    assert "secret body" not in str(raised.value)


def test_raise_for_status_passes_success_and_carries_retry_after() -> None:
    HttpResponse(204).raise_for_status()
    with pytest.raises(RateLimited) as raised:
        HttpResponse(429, {"Retry-After": "12"}).raise_for_status()
    assert raised.value.retry_after == 12.0


def test_parse_retry_after() -> None:
    now = dt.datetime(2024, 9, 2, 8, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Mon, 02 Sep 2024 08:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Mon, 02 Sep 2024 07:59:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after(" ") is None
