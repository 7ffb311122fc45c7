"""Outbox rows: what producers (rules, the API) enqueue and where notifications are routed.

Two row kinds exist, each carrying its target connection in the row's `connection` column:

- ``"notification"``: payload ``{"notification_id": "<Notification.id>"}``. The notification
  itself is stored in the ``notifications`` table; one row per destination connection, with the
  idempotency key ``notification:<id>:<connection>``.
- ``"write_marks"``: payload ``{"marks": [AttendanceMark as JSON, ...], "ref": "<optional
  producer reference, e.g. a discrepancy id>"}``; idempotency key
  ``write_marks:<connection>:<sha256 of the marks>``.

Routes come from ``[[routes]]`` in hub.toml: a notification goes to every connection of every
route whose ``kind`` matches and whose ``la_code`` is unset or the learner's LA.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.settings import HubSettings
from hub.store import Enqueued, NewRow, NotificationRepository, OutboxRepository
from hub_contracts import AttendanceMark, Notification

__all__ = [
    "NOTIFICATION",
    "WRITE_MARKS",
    "enqueue_notification",
    "enqueue_write_marks",
    "notification_key",
    "notification_key_prefix",
    "route_notification",
]

log = structlog.get_logger(__name__)

#: Outbox row kinds.
NOTIFICATION = "notification"
WRITE_MARKS = "write_marks"


def route_notification(
    settings: HubSettings, notification: Notification, la_code: str | None
) -> list[str]:
    """The connection names `notification` must be delivered to, in route order, once each.

    Disabled connections are included: the dispatcher holds their rows (and, if they stay
    disabled, dead-letters them visibly) rather than the notification silently going nowhere.
    """
    destinations: dict[str, None] = {}
    for route in settings.routes:
        if route.kind != notification.kind.value:
            continue
        if route.la_code is not None and route.la_code != la_code:
            continue
        destinations.update(dict.fromkeys(route.connections))
    return list(destinations)


def notification_key_prefix(notification_id: str) -> str:
    return f"{NOTIFICATION}:{notification_id}:"


def notification_key(notification_id: str, connection: str) -> str:
    """The idempotency key of delivering one notification to one connection."""
    return f"{notification_key_prefix(notification_id)}{connection}"


async def enqueue_notification(
    session: AsyncSession,
    settings: HubSettings,
    notification: Notification,
    *,
    la_code: str | None,
    now: dt.datetime,
) -> list[Enqueued]:
    """Store `notification` (a no-op if already stored) and enqueue one delivery per route,
    in the caller's transaction. Idempotent: calling it again adds nothing.

    With no matching route nothing is enqueued and a warning is logged; the notification stays
    pending, so a statutory one shows up as overdue (`hub_notifications_overdue`).
    """
    await NotificationRepository(session).add(notification)
    connections = route_notification(settings, notification, la_code)
    if not connections:
        log.warning(
            "notification_unrouted",
            notification_id=notification.id,
            kind=notification.kind.value,
            la_code=la_code,
        )
        return []
    outbox = OutboxRepository(session)
    return [
        await outbox.enqueue(
            NOTIFICATION,
            {"notification_id": notification.id},
            notification_key(notification.id, connection),
            now=now,
            connection=connection,
            recipient=notification.recipient,
        )
        for connection in connections
    ]


async def enqueue_write_marks(
    session: AsyncSession,
    connection: str,
    marks: Sequence[AttendanceMark],
    *,
    now: dt.datetime,
    ref: str | None = None,
    key: str | None = None,
) -> Enqueued:
    """Enqueue a register write-back of `marks` through `connection`'s adapter.

    `key` names the write-back for idempotency (e.g. the finding and the code proposed); by
    default the marks' content is hashed, so resending the same marks enqueues nothing.
    """
    row = write_marks_row(connection, marks, ref=ref, key=key)
    return await OutboxRepository(session).enqueue(
        row.kind, row.payload, row.idempotency_key, now=now, connection=connection
    )


def write_marks_row(
    connection: str,
    marks: Sequence[AttendanceMark],
    *,
    ref: str | None = None,
    key: str | None = None,
) -> NewRow:
    """The outbox row of a write-back (`enqueue_write_marks`; several at once with
    `OutboxRepository.enqueue_many`)."""
    if not marks:
        raise ValueError("a write-back needs at least one mark")
    body = [mark.model_dump(mode="json") for mark in marks]
    digest = (
        key
        or hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
        ).hexdigest()
    )
    payload: dict[str, object] = {"marks": body}
    if ref is not None:
        payload["ref"] = ref
    return NewRow(
        kind=WRITE_MARKS,
        payload=payload,
        idempotency_key=f"{WRITE_MARKS}:{connection}:{digest[:120]}",
        connection=connection,
    )
