"""Initial schema: reference data, the register with history, findings, engine state, evidence.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Types are spelt out here rather than imported from the models, so this revision keeps creating
the same schema however the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Timestamps are aware UTC (timestamptz on PostgreSQL; naive UTC text on SQLite, see
# hub.store.types.UtcDateTime). JSON is JSONB on PostgreSQL. 64-bit ids, except SQLite's rowid.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "api_tokens",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "audit_ledger",
        sa.Column("seq", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_ledger")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_ledger_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_ledger_prev_hash")),
    )
    op.create_index(op.f("ix_audit_ledger_subject"), "audit_ledger", ["subject"])

    op.create_table(
        "delivery_receipts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("delivered_at", TIMESTAMP, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_receipts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_delivery_receipts_idempotency_key")),
    )
    op.create_index(
        op.f("ix_delivery_receipts_notification_id"), "delivery_receipts", ["notification_id"]
    )

    op.create_table(
        "discrepancies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=True),
        sa.Column("setting_ids", JSON, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("proposed_actions", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discrepancies")),
    )
    op.create_index(op.f("ix_discrepancies_status_kind"), "discrepancies", ["status", "kind"])
    op.create_index(op.f("ix_discrepancies_upn_date"), "discrepancies", ["upn", "date"])

    op.create_table(
        "learners",
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("given_name", sa.String(length=200), nullable=False),
        sa.Column("family_name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("flags", JSON, nullable=False),
        sa.Column("sharing_restrictions", JSON, nullable=False),
        sa.PrimaryKeyConstraint("upn", name=op.f("pk_learners")),
    )
    op.create_table(
        "marks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("setting_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("minutes_late", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("session IN ('AM', 'PM')", name=op.f("ck_marks_session")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marks")),
    )
    op.create_index(
        op.f("ix_marks_upn_setting_id_date_session_id"),
        "marks",
        ["upn", "setting_id", "date", "session", "id"],
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("due_by", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_status_due_by"), "notifications", ["status", "due_by"])
    op.create_index(op.f("ix_notifications_upn"), "notifications", ["upn"])

    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("delivered_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead')", name=op.f("ck_outbox_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_lease_owner"), "outbox", ["lease_owner"])
    op.create_index(
        op.f("ix_outbox_status_next_attempt_at"), "outbox", ["status", "next_attempt_at"]
    )

    op.create_table(
        "quarantine",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("raw_payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index(
        op.f("ix_quarantine_source_received_at"), "quarantine", ["source", "received_at"]
    )

    op.create_table(
        "roll_deletion_decisions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("setting_id", sa.String(length=64), nullable=False),
        sa.Column("ground", sa.String(length=40), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("notifications", JSON, nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("decided_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roll_deletion_decisions")),
    )
    op.create_index(
        op.f("ix_roll_deletion_decisions_upn_setting_id"),
        "roll_deletion_decisions",
        ["upn", "setting_id"],
    )

    op.create_table(
        "settings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("la_code", sa.String(length=3), nullable=False),
        sa.Column("maintained", sa.Boolean(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings")),
    )
    op.create_index(op.f("ix_settings_la_code"), "settings", ["la_code"])

    op.create_table(
        "sync_cursors",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("connection", "stream", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "sync_leases",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("lease_until", TIMESTAMP, nullable=False),
        sa.Column("acquired_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("connection", name=op.f("pk_sync_leases")),
    )
    op.create_table(
        "current_marks",
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("setting_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=False),
        sa.Column("mark_id", BIG_ID, nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("minutes_late", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("session IN ('AM', 'PM')", name=op.f("ck_current_marks_session")),
        sa.ForeignKeyConstraint(
            ["mark_id"], ["marks.id"], name=op.f("fk_current_marks_mark_id_marks")
        ),
        sa.PrimaryKeyConstraint(
            "upn", "setting_id", "date", "session", name=op.f("pk_current_marks")
        ),
        sa.UniqueConstraint("mark_id", name=op.f("uq_current_marks_mark_id")),
    )
    op.create_index(
        op.f("ix_current_marks_setting_id_date_session_upn"),
        "current_marks",
        ["setting_id", "date", "session", "upn"],
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("outbox_id", BIG_ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("replayed_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_dead_letters_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(op.f("ix_dead_letters_outbox_id"), "dead_letters", ["outbox_id"])

    op.create_table(
        "discrepancy_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("discrepancy_id", sa.String(length=64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("snapshot", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["discrepancy_id"],
            ["discrepancies.id"],
            name=op.f("fk_discrepancy_events_discrepancy_id_discrepancies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discrepancy_events")),
    )
    op.create_index(
        op.f("ix_discrepancy_events_discrepancy_id_id"),
        "discrepancy_events",
        ["discrepancy_id", "id"],
    )

    op.create_table(
        "discrepancy_settings",
        sa.Column("discrepancy_id", sa.String(length=64), nullable=False),
        sa.Column("setting_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["discrepancy_id"],
            ["discrepancies.id"],
            name=op.f("fk_discrepancy_settings_discrepancy_id_discrepancies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "discrepancy_id", "setting_id", name=op.f("pk_discrepancy_settings")
        ),
    )
    op.create_index(
        op.f("ix_discrepancy_settings_setting_id"), "discrepancy_settings", ["setting_id"]
    )

    op.create_table(
        "eotas_placements",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("sessions", JSON, nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("arranged_by", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["settings.id"], name=op.f("fk_eotas_placements_provider_id_settings")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["settings.id"], name=op.f("fk_eotas_placements_school_id_settings")
        ),
        sa.ForeignKeyConstraint(
            ["upn"], ["learners.upn"], name=op.f("fk_eotas_placements_upn_learners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eotas_placements")),
        sa.UniqueConstraint(
            "upn",
            "school_id",
            "provider_id",
            "start_date",
            name=op.f("uq_eotas_placements_upn_school_id_provider_id_start_date"),
        ),
    )
    op.create_index(
        op.f("ix_eotas_placements_provider_id_start_date"),
        "eotas_placements",
        ["provider_id", "start_date"],
    )

    op.create_table(
        "registrations",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("setting_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("deletion_ground", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["setting_id"], ["settings.id"], name=op.f("fk_registrations_setting_id_settings")
        ),
        sa.ForeignKeyConstraint(
            ["upn"], ["learners.upn"], name=op.f("fk_registrations_upn_learners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint(
            "upn",
            "setting_id",
            "start_date",
            name=op.f("uq_registrations_upn_setting_id_start_date"),
        ),
    )
    op.create_index(
        op.f("ix_registrations_setting_id_start_date"),
        "registrations",
        ["setting_id", "start_date"],
    )

    op.create_table(
        "school_days",
        sa.Column("setting_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["setting_id"],
            ["settings.id"],
            name=op.f("fk_school_days_setting_id_settings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("setting_id", "date", name=op.f("pk_school_days")),
    )


def downgrade() -> None:
    """Drop everything (dependents first)."""
    op.drop_table("school_days")
    op.drop_table("registrations")
    op.drop_table("eotas_placements")
    op.drop_table("discrepancy_settings")
    op.drop_table("discrepancy_events")
    op.drop_table("dead_letters")
    op.drop_table("current_marks")
    op.drop_table("sync_leases")
    op.drop_table("sync_cursors")
    op.drop_table("settings")
    op.drop_table("roll_deletion_decisions")
    op.drop_table("quarantine")
    op.drop_table("outbox")
    op.drop_table("notifications")
    op.drop_table("marks")
    op.drop_table("learners")
    op.drop_table("discrepancies")
    op.drop_table("delivery_receipts")
    op.drop_table("audit_ledger")
    op.drop_table("api_tokens")
