"""One delivery: which method of which destination an outbox row calls, and what came back.

Nothing here touches the database; the dispatcher claims the row before and settles it after.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hub.engine.destinations import Destinations
from hub.engine.routing import NOTIFICATION, WRITE_MARKS
from hub.sdk import (
    Adapter,
    Capability,
    ConfigError,
    Notifier,
    PermanentError,
    RecordOutcome,
    TransientError,
)
from hub.store import OutboxItem
from hub_contracts import AttendanceMark, DeliveryReceipt, Notification, NotificationKind

__all__ = [
    "Delivered",
    "Unsendable",
    "deliver_row",
    "delivery_method",
    "mark_writer",
    "marks_of",
    "write_delivered",
]

_RETURNS = frozenset({NotificationKind.DELETION_RETURN, NotificationKind.ABSENCE_RETURN})


class Unsendable(Exception):
    """The row itself is unusable (missing notification, invalid payload): a dead letter."""


@dataclass
class Delivered:
    """A delivery the destination acknowledged, waiting to be committed."""

    receipt: DeliveryReceipt
    #: The kind of share for the audit ledger: a notification kind or "write_marks".
    share_kind: str
    #: What was shared, for the audit ledger.
    what: dict[str, Any]
    notification: Notification | None = None
    #: Write-backs: the records the destination refused, `{"index", "error"}` each.
    rejected: list[dict[str, Any]] = field(default_factory=list)


def delivery_method(kind: NotificationKind, capabilities: frozenset[Capability]) -> str | None:
    """The adapter method that delivers a notification of `kind`, given the adapter's declared
    capabilities, or None when it can deliver none.

    Safeguarding alerts open a concern (`raise_concern`). Statutory returns prefer
    `send_return`, every other kind `send_notification`; each falls back to the other, since
    a vendor may receive referrals and returns on one interface (ONE does).
    """
    if kind is NotificationKind.SAFEGUARDING_ALERT:
        return "raise_concern" if Capability.RAISE_CONCERN in capabilities else None
    order = (
        (Capability.SEND_RETURN, Capability.SEND_NOTIFICATION)
        if kind in _RETURNS
        else (Capability.SEND_NOTIFICATION, Capability.SEND_RETURN)
    )
    for capability in order:
        if capability in capabilities:
            return capability.value
    return None


async def deliver_row(
    item: OutboxItem,
    notification: Notification | None,
    destinations: Destinations,
    *,
    now: dt.datetime,
) -> Delivered:
    """Deliver `item` through its connection with the row's idempotency key.

    Raises the destination's SDK errors as they are, `ConfigError` when the connection cannot
    take this row, `TransientError` when the connection is disabled (held, not dropped), and
    `Unsendable` for a row that can never be delivered.
    """
    if item.connection is None:
        raise ConfigError("outbox row names no connection")
    conn = destinations.connection(item.connection)
    if not conn.enabled:
        raise TransientError(f"connection {conn.name!r} is disabled; delivery held")
    target = destinations.get(conn.name)
    if item.kind == NOTIFICATION:
        if notification is None:
            raise Unsendable("outbox row has no notification")
        receipt = await _send(target, notification, item.idempotency_key)
        return Delivered(
            receipt=receipt.model_copy(update={"idempotency_key": item.idempotency_key}),
            share_kind=notification.kind.value,
            what={
                "notification_id": notification.id,
                "kind": notification.kind.value,
                "upn": notification.upn,
                "due_by": None if notification.due_by is None else notification.due_by.isoformat(),
            },
            notification=notification,
        )
    if item.kind == WRITE_MARKS:
        return await _write_marks(item, target, now=now)
    raise Unsendable(f"unknown outbox row kind {item.kind!r}")


async def _send(
    target: Adapter[Any] | Notifier[Any], notification: Notification, key: str
) -> DeliveryReceipt:
    if isinstance(target, Notifier):
        return await target.send(notification, key)
    manifest = type(target).manifest
    method = delivery_method(notification.kind, manifest.capabilities)
    if method is None:
        raise ConfigError(
            f"connection {target.connection_name!r}: adapter {manifest.name!r} cannot "
            f"deliver {notification.kind.value} (no send_return, send_notification or "
            "raise_concern capability for it); fix [[routes]]"
        )
    send: Callable[[Notification, str], Any] = getattr(target, method)
    receipt = await send(notification, key)
    if not isinstance(receipt, DeliveryReceipt):
        raise PermanentError(f"adapter {manifest.name!r} {method} returned no DeliveryReceipt")
    return receipt


async def _write_marks(
    item: OutboxItem, target: Adapter[Any] | Notifier[Any], *, now: dt.datetime
) -> Delivered:
    writer = mark_writer(item, target)
    marks = marks_of(item)
    result = await writer.write_marks(marks, item.idempotency_key)
    return write_delivered(item, marks, result.outcomes, now=now)


def mark_writer(item: OutboxItem, target: Adapter[Any] | Notifier[Any]) -> Adapter[Any]:
    """`target` if it can write marks back, else `ConfigError`."""
    if not isinstance(target, Adapter) or (
        Capability.WRITE_MARKS not in type(target).manifest.capabilities
    ):
        raise ConfigError(f"connection {item.connection!r} cannot write marks back")
    return target


def marks_of(item: OutboxItem) -> list[AttendanceMark]:
    """The marks a write-back row carries; `Unsendable` when there are none or one is bad."""
    raw = item.payload.get("marks")
    if not isinstance(raw, list) or not raw:
        raise Unsendable("write_marks payload has no marks")
    try:
        return [AttendanceMark.model_validate(m) for m in raw]
    except ValidationError as exc:
        raise Unsendable(
            f"write_marks payload holds an invalid mark: {exc.errors()[0]['type']}"
        ) from exc


def write_delivered(
    item: OutboxItem,
    marks: Sequence[AttendanceMark],
    outcomes: Iterable[RecordOutcome],
    *,
    now: dt.datetime,
) -> Delivered:
    """The `Delivered` of a write-back row from the adapter's per-record outcomes (indexes into
    `marks`). Every record gets an outcome; one the adapter did not report is a rejection too,
    so nothing is dropped without a trace."""
    by_index = {o.index: o for o in outcomes}
    rejected = [
        {"index": i, "error": by_index[i].error}
        if i in by_index
        else {"index": i, "error": "the adapter reported no outcome for this record"}
        for i in range(len(marks))
        if not (i in by_index and by_index[i].ok)
    ]
    accepted = len(marks) - len(rejected)
    ref = item.payload.get("ref")
    receipt_id = ref if isinstance(ref, str) and 0 < len(ref) <= 64 else f"outbox-{item.id}"
    receipt = DeliveryReceipt(
        notification_id=receipt_id,
        recipient=str(item.connection),
        idempotency_key=item.idempotency_key,
        external_ref=None,
        delivered_at=now,
        detail=json.dumps({"accepted": accepted, "rejected": rejected}, sort_keys=True),
    )
    return Delivered(
        receipt=receipt,
        share_kind=WRITE_MARKS,
        what={
            "ref": ref,
            "marks": len(marks),
            "accepted": accepted,
            "rejected": len(rejected),
            "upns": sorted({m.upn for m in marks}),
            "setting_ids": sorted({m.setting_id for m in marks}),
        },
        rejected=rejected,
    )
