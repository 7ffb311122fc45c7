"""`POST /v1/webhooks/{connection}`: a vendor pushes records; the connection's adapter checks.

No bearer token: vendors sign their pushes instead. The raw body and the (lower-cased)
headers go to the connection's adapter (`Adapter.handle_webhook`), which verifies the
signature (`hub.sdk.webhooks`) before parsing anything and returns the records it carries.
They are then ingested exactly like a sync page, in ONE transaction: reference records through
`ingest_reference` (settings, then learners, then registrations and placements, so that a push
may admit a pupil and mark them at once), marks through `ingest_marks` with the rules.

Replays are harmless without any stored delivery ids: ingest skips a mark identical to the
one stored and reference upserts are keyed by natural keys, so a redelivered webhook
(same `X-Hub-Delivery` or vendor id) changes nothing and runs no rules a second time. The
delivery id is only logged, to correlate with the vendor's delivery log.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.exc import IntegrityError

from hub.api.context import ApiState, Call
from hub.api.errors import ApiError, not_found
from hub.api.handlers.marks import rejections
from hub.api.jsonbody import read_body
from hub.api.routing import json_reply
from hub.api.schemas import ConnectionPath, WebhookReply
from hub.connections import build_adapter
from hub.ingest import ingest_marks, ingest_reference
from hub.sdk import (
    Adapter,
    AdapterError,
    AuthError,
    Capability,
    ConfigError,
    RateLimited,
    TransientError,
)
from hub.settings import ConfigError as SettingsConfigError
from hub.settings import ConnectionSettings
from hub_contracts import AttendanceMark, EotasPlacement, Learner, Registration, Setting

log = structlog.get_logger(__name__)

_DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_REFERENCE_ORDER: dict[type, int] = {Setting: 0, Learner: 1, Registration: 2, EotasPlacement: 2}


async def receive_webhook(call: Call) -> web.StreamResponse:
    name = call.path_as(ConnectionPath).connection
    state = call.state
    conn = next((c for c in state.runtime.settings.connections if c.name == name), None)
    if conn is None or not conn.enabled:
        raise not_found("enabled connection")
    adapter = _adapter(state, conn)
    body = await read_body(call.request)
    headers = {key.lower(): value for key, value in call.request.headers.items()}
    delivery = headers.get("x-hub-delivery", "")
    try:
        page = await adapter.handle_webhook(headers, body)
    except AuthError as exc:
        log.warning("webhook_signature_refused", connection=name)
        raise ApiError(
            401,
            "invalid_signature",
            "the webhook signature does not verify",
            headers={"WWW-Authenticate": 'Signature realm="attendance-hub-webhooks"'},
        ) from exc
    except (TransientError, ConfigError) as exc:
        retry = exc.retry_after if isinstance(exc, RateLimited) else None
        headers_out = {} if retry is None else {"Retry-After": str(int(retry + 0.999))}
        raise ApiError(
            503,
            "connection_unavailable",
            f"connection {name!r} cannot take webhooks now ({type(exc).__name__})",
            headers=headers_out,
        ) from exc
    except AdapterError as exc:
        # PermanentError, ContractViolation: the push cannot be read. SDK error messages carry
        # no secrets or pupil data (hub.sdk.errors), so the adapter's reason is passed on.
        raise ApiError(400, "invalid_webhook", f"{type(exc).__name__}: {exc}") from exc

    marks = [r for r in page.records if isinstance(r, AttendanceMark)]
    references = sorted(
        (r for r in page.records if not isinstance(r, AttendanceMark)),
        key=lambda r: _REFERENCE_ORDER.get(type(r), 3),
    )
    now = state.now()
    try:
        async with state.session() as session, session.begin():
            changed = await ingest_reference(session, references, now=now)
            result = await ingest_marks(session, marks, source=name, now=now, rules=state.rules)
    except IntegrityError as exc:
        raise ApiError(
            400,
            "invalid_webhook",
            "a registration or placement names a learner or setting the hub does not know",
        ) from exc
    state.wake_outbox()
    state.metrics.count_marks("webhook", result.accepted, (r.code for r in result.rejected))
    log.info(
        "webhook_received",
        connection=name,
        delivery_id=delivery if _DELIVERY_ID.match(delivery) else None,
        marks_accepted=result.accepted,
        marks_rejected=len(result.rejected),
        reference_changed=changed,
    )
    return json_reply(
        WebhookReply(
            connection=name,
            accepted=result.accepted,
            rejected=rejections(result.rejected),
            reference_changed=changed,
        )
    )


def _adapter(state: ApiState, conn: ConnectionSettings) -> Adapter[Any]:
    """The connection's adapter, built once on the app's HTTP session."""
    cached = state.adapters.get(conn.name)
    if cached is not None:
        return cached
    adapter_cls = state.runtime.plugins.adapters.get(conn.plugin)
    if adapter_cls is None:
        raise ApiError(
            503,
            "connection_unavailable",
            f"connection {conn.name!r}: plugin {conn.plugin!r} is not loaded (`hub plugins list`)",
        )
    if Capability.RECEIVE_WEBHOOK not in adapter_cls.manifest.capabilities:
        raise ApiError(
            404,
            "webhooks_not_supported",
            f"connection {conn.name!r} (plugin {conn.plugin!r}) does not receive webhooks",
        )
    try:
        adapter = build_adapter(state.runtime.plugins, conn, state.client())
    except (SettingsConfigError, AdapterError) as exc:
        log.warning("webhook_connection_misconfigured", connection=conn.name, key=_key(exc))
        raise ApiError(
            503,
            "connection_unavailable",
            f"connection {conn.name!r} is misconfigured; run `hub check`",
        ) from exc
    state.adapters[conn.name] = adapter
    return adapter


def _key(exc: Exception) -> str | None:
    return exc.key if isinstance(exc, SettingsConfigError) else None
