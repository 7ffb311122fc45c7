"""The audit ledger: every outbound share and every deletion decision, append-only and chained.

Entry ``n`` stores ``prev_hash`` (entry ``n-1``'s hash, or 64 zeros for the first) and
``hash = sha256(prev_hash + canonical JSON of {seq, at, actor, action, subject, detail})``.
Editing, deleting or reordering any stored entry breaks the chain at that entry, which
``verify`` reports. ``prev_hash`` is unique, so two writers can never both extend one entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ._sql import aware, dialect_name, table

GENESIS_HASH = "0" * 64
_LEDGER = table("audit_ledger")
_VERIFY_PAGE = 1_000
# Serialises appends on PostgreSQL for the rest of the transaction (an arbitrary fixed key).
_APPEND_LOCK_KEY = 0x6875625F61756474


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    #: The first entry whose hash, link or sequence number is wrong; ``None`` when ``ok``.
    first_bad_seq: int | None
    #: Entries examined (up to and including the first bad one).
    checked: int


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
) -> str:
    body = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
    }
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


class AuditLedger:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(
        self, actor: str, action: str, subject: str, detail: dict[str, Any], *, at: dt.datetime
    ) -> AuditEntry:
        """Add an entry at the end of the chain, inside the caller's transaction."""
        (entry,) = await self.append_many([(actor, action, subject, detail)], at=at)
        return entry

    async def append_many(
        self, entries: Sequence[tuple[str, str, str, dict[str, Any]]], *, at: dt.datetime
    ) -> list[AuditEntry]:
        """Add ``(actor, action, subject, detail)`` entries at the end of the chain, in order,
        inside the caller's transaction: one lock, one read of the head, one insert."""
        at = aware(at, "at")
        if not entries:
            return []
        if dialect_name(self._session) == "postgresql":
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY}
            )
        last = await self.head()
        seq = 0 if last is None else last.seq
        prev_hash = GENESIS_HASH if last is None else last.hash
        added: list[AuditEntry] = []
        for actor, action, subject, detail in entries:
            seq += 1
            values: dict[str, Any] = {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                # Store exactly what is hashed: round-trip through canonical JSON (fails on
                # non-JSON).
                "detail": json.loads(canonical_json(detail)),
            }
            entry = AuditEntry(**values, prev_hash=prev_hash, hash=entry_hash(prev_hash, **values))
            added.append(entry)
            prev_hash = entry.hash
        await self._session.execute(
            insert(_LEDGER),
            [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "detail": e.detail,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in added
            ],
        )
        return added

    async def head(self) -> AuditEntry | None:
        query = select(_LEDGER).order_by(_LEDGER.c.seq.desc()).limit(1)
        row = (await self._session.execute(query)).first()
        return None if row is None else _entry(row)

    async def entries(
        self, *, subject: str | None = None, after_seq: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        a = _LEDGER.c
        query = select(_LEDGER).where(a.seq > after_seq).order_by(a.seq).limit(limit)
        if subject is not None:
            query = query.where(a.subject == subject)
        return [_entry(row) for row in await self._session.execute(query)]

    async def verify(self) -> VerifyResult:
        """Recompute the whole chain from the first entry, a page at a time."""
        expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
        while True:
            page = await self.entries(after_seq=expected_seq - 1, limit=_VERIFY_PAGE)
            for e in page:
                checked += 1
                recomputed = entry_hash(
                    e.prev_hash,
                    seq=e.seq,
                    at=e.at,
                    actor=e.actor,
                    action=e.action,
                    subject=e.subject,
                    detail=e.detail,
                )
                if e.seq != expected_seq or e.prev_hash != expected_prev or e.hash != recomputed:
                    return VerifyResult(ok=False, first_bad_seq=e.seq, checked=checked)
                expected_prev, expected_seq = e.hash, e.seq + 1
            if len(page) < _VERIFY_PAGE:
                return VerifyResult(ok=True, first_bad_seq=None, checked=checked)


def _entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
