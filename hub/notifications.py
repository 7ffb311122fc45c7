"""Persist notifications and write-backs, and route them into the outbox.

Rules decide *what* must be sent; this module decides *where*, from configuration: each
notification goes to every connection that `[[routes]]` names for its kind (and LA), and a
proposed mark goes to the MIS connection that lists the setting in `setting_ids` and can write.
Everything happens in the caller's transaction with deterministic idempotency keys, so a
re-run of the same rules enqueues nothing new (DESIGN §6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub.engine.routing import enqueue_notification, write_marks_row
from hub.plugins import PluginHost
from hub.rules.reconcile import Finding
from hub.rules.returns import (
    RECIPIENT_LA,
    RECIPIENT_LA_CME,
    RECIPIENT_SAFEGUARDING,
    PlannedNotification,
)
from hub.sdk import Capability
from hub.settings import ConnectionSettings, HubSettings
from hub.store import NotificationRepository, OutboxRepository
from hub_contracts import AttendanceMark, Notification, ProposedAction, Setting

log = structlog.get_logger(__name__)

LONDON = ZoneInfo("Europe/London")


def local_date(now: dt.datetime) -> dt.date:
    """Today in England and Wales (school days are local dates)."""
    return now.astimezone(LONDON).date()


def notification_id(*parts: object) -> str:
    """A deterministic id from a natural key: the same finding never notifies twice."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"ntf_{digest}"


def recipient_for(planned: str, setting: Setting) -> str:
    """Planned roles ("la", "la:cme", "safeguarding") become addresses within the setting's LA."""
    if planned == RECIPIENT_LA:
        return f"la:{setting.la_code}"
    if planned == RECIPIENT_LA_CME:
        return f"la:{setting.la_code}:cme"
    if planned == RECIPIENT_SAFEGUARDING:
        return f"safeguarding:{setting.la_code}"
    return planned


def due_by(planned: PlannedNotification) -> dt.datetime | None:
    if planned.due_at is not None:
        return planned.due_at
    if planned.due_by is None:
        return None
    # A date deadline runs to the end of that day, local time.
    end = dt.datetime.combine(planned.due_by, dt.time(23, 59, 59), tzinfo=LONDON)
    return end.astimezone(dt.UTC)


def notification_from_plan(
    planned: PlannedNotification,
    setting: Setting,
    *,
    now: dt.datetime,
    id_prefix: str,
    extra: Mapping[str, str] | None = None,
) -> Notification:
    """The Notification a rule planned, addressed within the setting's LA, id from its key."""
    return Notification(
        id=notification_id(id_prefix, planned.key),
        kind=planned.kind,
        upn=planned.upn,
        recipient=recipient_for(planned.recipient, setting),
        due_by=due_by(planned),
        created_at=now,
        payload={
            **dict(planned.payload),
            **dict(extra or {}),
            "due_by_is_estimate": planned.due_by_is_estimate,
        },
    )


class NotificationSink(Protocol):
    async def submit(
        self,
        session: AsyncSession,
        notification: Notification,
        *,
        la_code: str | None,
        now: dt.datetime,
    ) -> bool:
        """Store the notification and enqueue its deliveries; False if it already existed."""
        ...

    async def write_back(
        self,
        session: AsyncSession,
        setting_id: str,
        action: ProposedAction,
        finding: Finding,
        *,
        now: dt.datetime,
    ) -> bool:
        """Enqueue a proposed mark for the setting's MIS; False when no connection can write."""
        ...

    async def write_back_many(
        self,
        session: AsyncSession,
        proposals: Sequence[tuple[str, ProposedAction, Finding]],
        *,
        now: dt.datetime,
    ) -> int:
        """`write_back` for several ``(setting_id, action, finding)``; returns how many were
        enqueued (new, and with a connection that can write)."""
        ...


def writer_for(
    settings: HubSettings, plugins: PluginHost, setting_id: str
) -> ConnectionSettings | None:
    """The enabled connection that holds `setting_id` and whose adapter can write marks."""
    for conn in settings.connections:
        if not conn.enabled or setting_id not in conn.setting_ids:
            continue
        adapter = plugins.adapters.get(conn.plugin)
        if adapter is not None and Capability.WRITE_MARKS in adapter.manifest.capabilities:
            return conn
    return None


class OutboxSink:
    """The production `NotificationSink`: the notifications table plus outbox rows, routed by
    `[[routes]]` (`hub.engine.routing`)."""

    def __init__(self, settings: HubSettings, plugins: PluginHost) -> None:
        self.settings = settings
        self.plugins = plugins

    async def submit(
        self,
        session: AsyncSession,
        notification: Notification,
        *,
        la_code: str | None,
        now: dt.datetime,
    ) -> bool:
        created = await NotificationRepository(session).add(notification)
        if created:
            await enqueue_notification(
                session, self.settings, notification, la_code=la_code, now=now
            )
        return created

    async def write_back(
        self,
        session: AsyncSession,
        setting_id: str,
        action: ProposedAction,
        finding: Finding,
        *,
        now: dt.datetime,
    ) -> bool:
        return await self.write_back_many(session, [(setting_id, action, finding)], now=now) > 0

    async def write_back_many(
        self,
        session: AsyncSession,
        proposals: Sequence[tuple[str, ProposedAction, Finding]],
        *,
        now: dt.datetime,
    ) -> int:
        rows = []
        for setting_id, action, finding in proposals:
            conn = writer_for(self.settings, self.plugins, setting_id)
            if conn is None:
                continue
            mark = AttendanceMark(
                upn=finding.upn,
                setting_id=setting_id,
                date=finding.date,
                session=finding.session,
                code=action.code,
                source="attendance-hub",
                source_ref=finding.discrepancy_id,
                recorded_at=now,
            )
            rows.append(
                write_marks_row(
                    conn.name,
                    [mark],
                    ref=finding.discrepancy_id,
                    # One write-back per finding, setting and proposed code, however often it
                    # is judged.
                    key=f"{finding.discrepancy_id}:{setting_id}:{action.code}",
                )
            )
        if not rows:
            return 0
        return len(await OutboxRepository(session).enqueue_many(rows, now=now))
