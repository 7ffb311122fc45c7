"""Storage: SQLAlchemy 2 async models, repositories and Alembic migrations.

Repositories take the caller's ``AsyncSession`` and never commit: the caller decides what
one transaction holds (a sync page, its outbox rows and its cursor commit together).
Records cross this boundary as ``hub_contracts`` models or small frozen dataclasses; rows
never leave the package.
"""

from __future__ import annotations

from .audit import AuditEntry, AuditLedger, VerifyResult
from .consents import ConsentRepository
from .cursors import CursorRepository, CursorState, SyncLease
from .db import create_engine, is_sqlite, normalise_url, session_factory
from .errors import ConflictError, NotFoundError, StoreError
from .findings import (
    DeliveryReceiptRepository,
    DiscrepancyEvent,
    DiscrepancyRepository,
    NotificationRepository,
    RollDeletionDecisionRepository,
)
from .marks import MarkEntry, MarkKey, MarkRepository, UpsertResult
from .migrate import current_revision, head_revision, pending, upgrade
from .outbox import (
    DeadLetter,
    DeadLetterRepository,
    Enqueued,
    NewRow,
    OutboxItem,
    OutboxRepository,
    OutboxStatus,
)
from .quarantine import QuarantinedRecord, QuarantineRepository
from .reference import (
    CalendarRepository,
    LearnerRepository,
    PlacementRepository,
    RegistrationRepository,
    SettingRepository,
)
from .tokens import TOKEN_PREFIX, TokenInfo, TokenRepository

__all__ = [
    "TOKEN_PREFIX",
    "AuditEntry",
    "AuditLedger",
    "CalendarRepository",
    "ConflictError",
    "ConsentRepository",
    "CursorRepository",
    "CursorState",
    "DeadLetter",
    "DeadLetterRepository",
    "DeliveryReceiptRepository",
    "DiscrepancyEvent",
    "DiscrepancyRepository",
    "Enqueued",
    "LearnerRepository",
    "MarkEntry",
    "MarkKey",
    "MarkRepository",
    "NewRow",
    "NotFoundError",
    "NotificationRepository",
    "OutboxItem",
    "OutboxRepository",
    "OutboxStatus",
    "PlacementRepository",
    "QuarantineRepository",
    "QuarantinedRecord",
    "RegistrationRepository",
    "RollDeletionDecisionRepository",
    "SettingRepository",
    "StoreError",
    "SyncLease",
    "TokenInfo",
    "TokenRepository",
    "UpsertResult",
    "VerifyResult",
    "create_engine",
    "current_revision",
    "head_revision",
    "is_sqlite",
    "normalise_url",
    "pending",
    "session_factory",
    "upgrade",
]
