"""The ``webhook`` notifier: POST each notification as signed JSON to a configured URL.

What the receiver gets:

- body: the `Notification` as JSON (keys sorted, UTF-8);
- ``Idempotency-Key``: the delivery's deterministic key — the same notification to the same
  connection always carries the same key, also on retries and dead-letter replays, so the
  receiver must apply each key once and answer a repeat with its earlier result;
- ``X-Hub-Signature-256``: ``sha256=<hex HMAC-SHA256 of the exact body bytes>`` under the
  shared secret (`hub.sdk.verify_hmac_sha256` checks it);
- ``X-Hub-Notification-Kind``: the notification kind, for routing without parsing.

A 2xx answer is a delivery; its JSON ``id`` (if any) is kept as the receipt's external
reference — unless it claims to be JSON and is not, which is retried as a garbled reply.
Other answers are classified by `HttpResponse.raise_for_status` (5xx, 408, 429 are
retried; 401/403 pause; other 4xx dead-letter); redirects are not followed and count as
permanent failures. The request goes through the core's HTTP client, which only reaches the
configured URL's host.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import AnyHttpUrl, Field, SecretStr

from hub.sdk import (
    AdapterConfig,
    ConfigError,
    ContractViolation,
    HttpClient,
    Notifier,
    PermanentError,
    sign_hmac_sha256,
)
from hub_contracts import DeliveryReceipt, Notification

__all__ = ["SIGNATURE_HEADER", "WebhookConfig", "WebhookNotifier"]

SIGNATURE_HEADER = "X-Hub-Signature-256"


class WebhookConfig(AdapterConfig):
    """`[[connections]] plugin = "webhook"`: where to POST and the signing secret."""

    url: AnyHttpUrl = Field(description="The receiver's endpoint, e.g. https://la.example/hook")
    secret: SecretStr = Field(
        description="HMAC-SHA256 signing key, written as env:VAR or file:PATH in hub.toml"
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, description="Total time allowed for one delivery request."
    )


class WebhookNotifier(Notifier[WebhookConfig]):
    """Deliver notifications to an HTTP endpoint (see the module docstring for the protocol).

    The host passes its `HttpClient` bound to this connection as `http` (the core owns HTTP
    sessions); without one, `send` raises `ConfigError`.
    """

    config_model = WebhookConfig

    def __init__(self, config: WebhookConfig, *, http: HttpClient | None = None) -> None:
        super().__init__(config)
        self.http = http

    async def send(self, notification: Notification, idempotency_key: str) -> DeliveryReceipt:
        if self.http is None:
            raise ConfigError("the webhook notifier was built without the core's HTTP client")
        body = json.dumps(
            notification.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
        ).encode("utf-8")
        secret = self.config.secret.get_secret_value().encode("utf-8")
        response = await self.http.request(
            "POST",
            str(self.config.url),
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key,
                SIGNATURE_HEADER: f"sha256={sign_hmac_sha256(secret, body)}",
                "X-Hub-Notification-Kind": notification.kind.value,
            },
            data=body,
            timeout=self.config.timeout_seconds,
        )
        response.raise_for_status()
        if not response.ok:
            raise PermanentError(
                f"webhook receiver answered HTTP {response.status}; redirects are not followed"
            )
        return DeliveryReceipt(
            notification_id=notification.id,
            recipient=notification.recipient,
            idempotency_key=idempotency_key,
            external_ref=_receiver_id(response.body, response.header("content-type") or ""),
            delivered_at=dt.datetime.now(dt.UTC),
            detail=f"HTTP {response.status}",
        )


def _receiver_id(body: bytes, content_type: str = "") -> str | None:
    """The receiver's id for the delivery: `{"id": ...}` in a JSON answer, else None.

    A 2xx that claims to be JSON but is not (an error page cut short, a proxy's garbage) is a
    `ContractViolation`: the dispatcher retries it a few times with the same idempotency key
    rather than trusting that the receiver applied it (the crash soak found such replies).
    """
    if not body.strip():
        return None
    try:
        parsed: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        if "json" in content_type.lower():
            raise ContractViolation(
                "webhook receiver answered 2xx with a body that claims to be JSON but is not"
            ) from None
        return None
    if not isinstance(parsed, dict):
        return None
    ref = parsed.get("id")
    if isinstance(ref, bool) or not isinstance(ref, str | int):
        return None
    text = str(ref).strip()
    if len(text) > 200:
        raise ContractViolation("webhook receiver returned an id longer than 200 characters")
    return text or None
