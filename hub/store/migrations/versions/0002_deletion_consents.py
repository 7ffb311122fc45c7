"""Deletion consents: a proprietor's consent to a dual-registered pupil's deletion elsewhere.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deletion_consents",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("setting_id", sa.String(length=64), nullable=False),
        sa.Column("consenting_setting_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_consents")),
        sa.UniqueConstraint(
            "upn",
            "setting_id",
            "consenting_setting_id",
            name=op.f("uq_deletion_consents_upn_setting_id_consenting_setting_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("deletion_consents")
