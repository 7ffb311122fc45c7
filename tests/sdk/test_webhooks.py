"""HMAC-SHA256 webhook signatures: sign, verify, tamper, prefixes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import pytest

from hub.sdk import sign_hmac_sha256, verify_hmac_sha256

SECRET = b"synthetic-webhook-secret"
BODY = b'{"event": "marks.changed", "cursor": "synthetic-42"}'


def test_signature_is_hex_hmac_sha256() -> None:
    expected = hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert sign_hmac_sha256(SECRET, BODY) == expected
    assert len(expected) == 64


@pytest.mark.parametrize(
    "form",
    [
        lambda sig: sig,
        lambda sig: f"sha256={sig}",
        lambda sig: f"SHA256={sig.upper()}",
        lambda sig: f"  sha256={sig}\n",
    ],
    ids=["hex", "prefixed", "upper-case", "whitespace"],
)
def test_valid_signature_forms_verify(form: Callable[[str], str]) -> None:
    assert verify_hmac_sha256(SECRET, BODY, form(sign_hmac_sha256(SECRET, BODY)))


def test_tampered_body_fails() -> None:
    signature = sign_hmac_sha256(SECRET, BODY)
    assert not verify_hmac_sha256(SECRET, BODY.replace(b"42", b"43"), signature)
    assert not verify_hmac_sha256(SECRET, BODY + b" ", f"sha256={signature}")


def test_wrong_secret_fails() -> None:
    assert not verify_hmac_sha256(b"another-secret", BODY, sign_hmac_sha256(SECRET, BODY))


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=", "not-hex", "sha1=" + "0" * 40, "é" * 64, "sha256=" + "0" * 64],
)
def test_missing_or_malformed_signatures_fail(signature: str | None) -> None:
    assert not verify_hmac_sha256(SECRET, BODY, signature)


def test_empty_secret_never_verifies() -> None:
    assert not verify_hmac_sha256(b"", BODY, sign_hmac_sha256(b"", BODY))
