"""Retention: `hub purge --before DATE` removes what the retention policy allows, and audits it.

The policy (docs/security.md, "Retention") in one place. Older than DATE (midnight at the start
of DATE, Europe/London) the hub removes:

- **quarantine rows** (`received_at`): rejected inbound records kept verbatim so an operator
  can see what a sender got wrong. They hold raw pupil data and serve no purpose once the
  sender has corrected the record.
- **delivered outbox rows** (`delivered_at`): the delivery receipt and the audit-ledger
  `share` entry remain the evidence of what was sent, to whom and why.
- **dead letters** (`created_at`), replayed or not, and the outbox rows left dead by them. The
  notification itself stays, with status `dead`, so the failure remains visible.
- **payloads of delivered notifications** (`delivered_at`): replaced by a stub that keeps only
  the routing keys (`la_code`, `setting_id`, period, regulation, ground) and `purged_at`. The row
  (id, kind, UPN, recipient, dates, status) stays: notification ids are deterministic, so a
  deleted row could be raised and sent again by the rules.

Never purged: marks and their history (the statutory attendance register: Wales 2010 regs,
England 2024 regs), learners, registrations, placements, settings, calendars, discrepancies,
roll-deletion decisions and consents, delivery receipts, API tokens, sync cursors, and the
audit ledger (append-only and hash-chained: removing an entry would break the chain).

Each purge appends one `purge` entry to the audit ledger with the cutoff and the counts, in the
same transaction as the deletions; a dry run counts, rolls back and records nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

import structlog
from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.notifications import LONDON, local_date
from hub.settings import HubSettings
from hub.store import AuditLedger, OutboxStatus
from hub.store.models import DeadLetterRow, NotificationRow, OutboxRow, QuarantineRow
from hub_contracts import NotificationStatus

__all__ = [
    "AUDIT_ACTION",
    "AUDIT_ACTOR",
    "KEPT_PAYLOAD_KEYS",
    "NEVER_PURGED",
    "PurgeCounts",
    "cutoff_of",
    "parse_before",
    "purge",
    "run_purge",
]

log = structlog.get_logger(__name__)

AUDIT_ACTOR: Final = "hub purge"
AUDIT_ACTION: Final = "purge"

#: Keys a purged notification payload keeps: routing and citation, never pupil data.
KEPT_PAYLOAD_KEYS: Final = frozenset(
    {
        "la_code",
        "setting_id",
        "requesting_setting_id",
        "period_start",
        "period_end",
        "regulation",
        "citation",
        "ground",
        "category",
    }
)

#: What no purge touches, recorded in each ledger entry so the policy applied is on file.
NEVER_PURGED: Final = (
    "marks and mark history (statutory register)",
    "learners, registrations, placements, settings, calendars",
    "discrepancies",
    "roll-deletion decisions and consents",
    "notification rows (payloads of delivered ones are minimised)",
    "delivery receipts",
    "audit ledger",
)


@dataclass(frozen=True)
class PurgeCounts:
    quarantine: int = 0
    outbox_delivered: int = 0
    dead_letters: int = 0
    outbox_dead: int = 0
    notification_payloads: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def parse_before(text: str, *, today: dt.date | None = None) -> dt.date:
    """`--before DATE`: an ISO date no later than today (England and Wales); `ValueError`
    naming what is wrong."""
    today = today or local_date(dt.datetime.now(dt.UTC))
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--before: {text!r} is not a date (use YYYY-MM-DD)") from None
    if day > today:
        raise ValueError(f"--before: {day.isoformat()} is in the future (today is {today})")
    return day


def cutoff_of(before: dt.date) -> dt.datetime:
    """The start of `before` in England and Wales, as UTC: anything earlier is purged."""
    return dt.datetime.combine(before, dt.time(0, 0), tzinfo=LONDON).astimezone(dt.UTC)


async def purge(
    session: AsyncSession, *, before: dt.date, now: dt.datetime, dry_run: bool = False
) -> PurgeCounts:
    """Apply the policy in the caller's transaction and append the ledger entry (unless
    `dry_run`, when the caller rolls back). Returns what was (or would be) removed."""
    cutoff = cutoff_of(before)
    q, o, d, n = (
        QuarantineRow.__table__.c,
        OutboxRow.__table__.c,
        DeadLetterRow.__table__.c,
        NotificationRow.__table__.c,
    )
    quarantine = await _deleted(session, delete(QuarantineRow).where(q.received_at < cutoff))

    letters_of = select(d.outbox_id).where(d.created_at < cutoff)
    dead_rows = set((await session.execute(letters_of)).scalars())
    dead_letters = await _deleted(session, delete(DeadLetterRow).where(d.created_at < cutoff))
    # A row still named by a later (kept) dead letter stays: the letter points at it.
    unreferenced = ~exists().where(d.outbox_id == o.id)
    outbox_delivered = await _deleted(
        session,
        delete(OutboxRow).where(
            o.status == OutboxStatus.DELIVERED.value, o.delivered_at < cutoff, unreferenced
        ),
    )
    outbox_dead = 0
    if dead_rows:
        outbox_dead = await _deleted(
            session,
            delete(OutboxRow).where(
                o.status == OutboxStatus.DEAD.value, o.id.in_(dead_rows), unreferenced
            ),
        )

    stale = select(n.id, n.payload).where(
        n.status == NotificationStatus.DELIVERED.value, n.delivered_at < cutoff
    )
    stamp = now.astimezone(dt.UTC).isoformat()
    payloads = 0
    for notification_id, payload in (await session.execute(stale)).all():
        if isinstance(payload, dict) and "purged_at" in payload:
            continue
        kept = {k: v for k, v in (payload or {}).items() if k in KEPT_PAYLOAD_KEYS}
        await session.execute(
            update(NotificationRow)
            .where(n.id == notification_id)
            .values(payload={**kept, "purged_at": stamp})
        )
        payloads += 1

    counts = PurgeCounts(
        quarantine=quarantine,
        outbox_delivered=outbox_delivered,
        dead_letters=dead_letters,
        outbox_dead=outbox_dead,
        notification_payloads=payloads,
    )
    if not dry_run:
        await AuditLedger(session).append(
            AUDIT_ACTOR,
            AUDIT_ACTION,
            f"retention:{before.isoformat()}",
            {
                "before": before.isoformat(),
                "cutoff": cutoff.isoformat(),
                "counts": counts.as_dict(),
                "never_purged": list(NEVER_PURGED),
                "policy": "docs/security.md#retention",
            },
            at=now,
        )
    log.info("purge_done", dry_run=dry_run, before=before.isoformat(), **counts.as_dict())
    return counts


async def _deleted(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def run_purge(
    settings: HubSettings,
    before: dt.date,
    *,
    dry_run: bool,
    echo: Callable[[str], None],
    now: dt.datetime | None = None,
) -> int:
    """`hub purge`: purge in one transaction and print the counts; returns the exit code."""
    from hub.runtime import HubRuntime

    runtime = await HubRuntime.open(settings)
    try:
        async with runtime.sessions() as session:
            transaction = await session.begin()
            counts = await purge(
                session, before=before, now=now or dt.datetime.now(dt.UTC), dry_run=dry_run
            )
            if dry_run:
                await transaction.rollback()
            else:
                await transaction.commit()
    finally:
        await runtime.close()
    verb = "would remove" if dry_run else "removed"
    echo(
        f"purge before {before.isoformat()}: {verb} {counts.quarantine} quarantined records, "
        f"{counts.outbox_delivered} delivered outbox rows, {counts.dead_letters} dead letters "
        f"({counts.outbox_dead} dead outbox rows), minimised {counts.notification_payloads} "
        "delivered notification payloads" + ("" if dry_run else "; recorded in the audit ledger")
    )
    return 0
