"""Tables. Alembic owns the DDL (``hub/store/migrations``); these classes describe it.

Row classes are named ``...Row`` so they never shadow the ``hub_contracts`` models that
repositories convert them to and from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import BigId, Json, UtcDateTime

#: Deterministic constraint names, so autogenerate and hand-written migrations agree.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SETTING_ID = String(64)
UPN = String(13)
SOURCE = String(200)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- reference data -------------------------------------------------------------------------


class SettingRow(Base):
    __tablename__ = "settings"

    id: Mapped[str] = mapped_column(SETTING_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    la_code: Mapped[str] = mapped_column(String(3), index=True)
    maintained: Mapped[bool]
    contact_email: Mapped[str | None] = mapped_column(String(254))


class LearnerRow(Base):
    __tablename__ = "learners"

    upn: Mapped[str] = mapped_column(UPN, primary_key=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(500))
    flags: Mapped[dict[str, Any]] = mapped_column(Json)
    sharing_restrictions: Mapped[list[str]] = mapped_column(Json)


class RegistrationRow(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("upn", "setting_id", "start_date"),
        Index(None, "setting_id", "start_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    upn: Mapped[str] = mapped_column(ForeignKey("learners.upn"))
    setting_id: Mapped[str] = mapped_column(ForeignKey("settings.id"))
    status: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    deletion_ground: Mapped[str | None] = mapped_column(String(40))


class EotasPlacementRow(Base):
    __tablename__ = "eotas_placements"
    __table_args__ = (
        UniqueConstraint("upn", "school_id", "provider_id", "start_date"),
        Index(None, "provider_id", "start_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    upn: Mapped[str] = mapped_column(ForeignKey("learners.upn"))
    school_id: Mapped[str] = mapped_column(ForeignKey("settings.id"))
    provider_id: Mapped[str] = mapped_column(ForeignKey("settings.id"))
    sessions: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    arranged_by: Mapped[str] = mapped_column(String(16))


class SchoolDayRow(Base):
    __tablename__ = "school_days"

    setting_id: Mapped[str] = mapped_column(
        ForeignKey("settings.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)


# --- the register ---------------------------------------------------------------------------


class MarkRow(Base):
    """Every register entry ever received, append-only; ``id`` orders them."""

    __tablename__ = "marks"
    __table_args__ = (
        Index(None, "upn", "setting_id", "date", "session", "id"),
        CheckConstraint("session IN ('AM', 'PM')", name="session"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    upn: Mapped[str] = mapped_column(UPN)
    setting_id: Mapped[str] = mapped_column(SETTING_ID)
    date: Mapped[dt.date] = mapped_column(Date)
    session: Mapped[str] = mapped_column(String(2))
    code: Mapped[str] = mapped_column(String(2))
    minutes_late: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(SOURCE)
    source_ref: Mapped[str | None] = mapped_column(SOURCE)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CurrentMarkRow(Base):
    """The mark in force per learner, setting and session: a copy of its latest ``marks`` row."""

    __tablename__ = "current_marks"
    __table_args__ = (
        # All four key columns, so a planner without statistics cannot prefer this index
        # over the primary key for an exact-cell lookup and then filter hundreds of rows.
        Index(None, "setting_id", "date", "session", "upn"),
        CheckConstraint("session IN ('AM', 'PM')", name="session"),
    )

    upn: Mapped[str] = mapped_column(UPN, primary_key=True)
    setting_id: Mapped[str] = mapped_column(SETTING_ID, primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    session: Mapped[str] = mapped_column(String(2), primary_key=True)
    mark_id: Mapped[int] = mapped_column(ForeignKey("marks.id"), unique=True)
    code: Mapped[str] = mapped_column(String(2))
    minutes_late: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(SOURCE)
    source_ref: Mapped[str | None] = mapped_column(SOURCE)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


# --- findings, decisions, notifications -----------------------------------------------------


class DiscrepancyRow(Base):
    __tablename__ = "discrepancies"
    __table_args__ = (Index(None, "upn", "date"), Index(None, "status", "kind"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    upn: Mapped[str] = mapped_column(UPN)
    date: Mapped[dt.date] = mapped_column(Date)
    session: Mapped[str | None] = mapped_column(String(2))
    setting_ids: Mapped[list[str]] = mapped_column(Json)
    detail: Mapped[str] = mapped_column(Text)
    proposed_actions: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DiscrepancySettingRow(Base):
    """Which settings a discrepancy concerns, so lists filter by setting through an index."""

    __tablename__ = "discrepancy_settings"
    __table_args__ = (Index(None, "setting_id"),)

    discrepancy_id: Mapped[str] = mapped_column(
        ForeignKey("discrepancies.id", ondelete="CASCADE"), primary_key=True
    )
    setting_id: Mapped[str] = mapped_column(SETTING_ID, primary_key=True)


class DiscrepancyEventRow(Base):
    """Each time a discrepancy was opened or changed, with the state it changed to."""

    __tablename__ = "discrepancy_events"
    __table_args__ = (Index(None, "discrepancy_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    discrepancy_id: Mapped[str] = mapped_column(ForeignKey("discrepancies.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    event: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[dict[str, Any]] = mapped_column(Json)


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index(None, "upn"), Index(None, "status", "due_by"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    upn: Mapped[str | None] = mapped_column(UPN)
    recipient: Mapped[str] = mapped_column(String(200))
    due_by: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)


class DeliveryReceiptRow(Base):
    __tablename__ = "delivery_receipts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Also receipts for write-backs, whose ids are not notification ids: no foreign key.
    notification_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str | None] = mapped_column(Text)


class RollDeletionDecisionRow(Base):
    __tablename__ = "roll_deletion_decisions"
    __table_args__ = (Index(None, "upn", "setting_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    upn: Mapped[str] = mapped_column(UPN)
    setting_id: Mapped[str] = mapped_column(SETTING_ID)
    ground: Mapped[str] = mapped_column(String(40))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    notifications: Mapped[list[str]] = mapped_column(Json)
    request: Mapped[dict[str, Any]] = mapped_column(Json)
    decided_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DeletionConsentRow(Base):
    """A proprietor's consent to a dual-registered pupil's deletion at another setting
    (Wales reg 8(1)(c); England 2024 reg 9(1)(c)(ii)). Appended, never rewritten."""

    __tablename__ = "deletion_consents"
    __table_args__ = (UniqueConstraint("upn", "setting_id", "consenting_setting_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    upn: Mapped[str] = mapped_column(UPN)
    setting_id: Mapped[str] = mapped_column(SETTING_ID)
    consenting_setting_id: Mapped[str] = mapped_column(SETTING_ID)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


# --- engine state: cursors, leases, outbox, dead letters ------------------------------------


class SyncCursorRow(Base):
    __tablename__ = "sync_cursors"

    connection: Mapped[str] = mapped_column(String(100), primary_key=True)
    stream: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class SyncLeaseRow(Base):
    """One leader per connection: the process holding an unexpired lease runs its sync."""

    __tablename__ = "sync_leases"

    connection: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    acquired_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "lease_owner"),
        CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    connection: Mapped[str | None] = mapped_column(String(100))
    recipient: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    replayed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


# --- security and evidence ------------------------------------------------------------------


class ApiTokenRow(Base):
    """API tokens by SHA-256 of the token; the plaintext is shown once and never stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AuditEntryRow(Base):
    """Append-only, hash-chained: ``hash = sha256(prev_hash + canonical JSON of the entry)``."""

    __tablename__ = "audit_ledger"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200), index=True)
    # Plain JSON, not JSONB: PostgreSQL gives back the exact text that was hashed (JSONB
    # would rewrite numbers such as 1e+20), so the chain verifies on every backend.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Unique: two entries can never claim the same predecessor, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class QuarantineRow(Base):
    """Inbound records that failed validation, kept verbatim for an operator to inspect."""

    __tablename__ = "quarantine"
    __table_args__ = (Index(None, "source", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(200))
    raw_payload: Mapped[str] = mapped_column(Text)
