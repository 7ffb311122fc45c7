"""Adapter and notifier base classes: where all plugin I/O happens.

Hooks only register these classes (sync, no I/O); the core instantiates one adapter per
configured connection and calls its async methods. The core owns cursors, retries, rate limits,
the outbox and logging: an adapter maps vendor data to contracts and classifies failures into
`hub.sdk.errors` types.

Every capability an adapter's manifest declares obliges it to override the matching method
(`CAPABILITY_METHODS`); the base implementations raise `PermanentError` for undeclared ones.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from hub_contracts import (
    AttendanceMark,
    DeliveryReceipt,
    EotasPlacement,
    Learner,
    Notification,
    Registration,
)

from .errors import ConfigError, PermanentError
from .http import HttpClient
from .manifest import AdapterConfig, AdapterManifest, Capability

__all__ = [
    "CAPABILITY_METHODS",
    "Adapter",
    "Notifier",
    "Page",
    "RecordOutcome",
    "WebhookRecord",
    "WriteResult",
    "implemented_capabilities",
]

T = TypeVar("T")
ConfigT = TypeVar("ConfigT", bound=AdapterConfig)

#: Records an adapter may return from a webhook push.
WebhookRecord = AttendanceMark | Registration | Learner | EotasPlacement

#: The method each capability obliges an adapter to implement.
CAPABILITY_METHODS: Mapping[Capability, str] = {
    Capability.READ_LEARNERS: "read_learners",
    Capability.READ_ROLL: "read_roll",
    Capability.READ_MARKS: "read_marks",
    Capability.READ_PLACEMENTS: "read_placements",
    Capability.WRITE_MARKS: "write_marks",
    Capability.SEND_RETURN: "send_return",
    Capability.SEND_NOTIFICATION: "send_notification",
    Capability.RAISE_CONCERN: "raise_concern",
    Capability.READ_CONCERN_STATUS: "concern_status",
    Capability.RECEIVE_WEBHOOK: "handle_webhook",
}


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of records read from a vendor.

    `next_cursor` is the cursor the core saves once this page is committed, and passes to the
    next read: after the last page (`has_more=False`) it is the incremental high-water mark
    for the next run, or None when the stream has none. `has_more=True` needs a cursor.
    """

    records: Sequence[T]
    next_cursor: str | None = None
    has_more: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))
        if self.has_more and self.next_cursor is None:
            raise ValueError("a Page with has_more=True must carry next_cursor")


@dataclass(frozen=True)
class RecordOutcome:
    """What happened to one record of a written batch; `index` is its position in the batch."""

    index: int
    ok: bool
    error: str | None = None
    #: The receiving system's id for the written record, when it gives one.
    external_ref: str | None = None

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError("RecordOutcome.index must be >= 0")
        if not self.ok and not self.error:
            raise ValueError("a rejected RecordOutcome must say why (error)")


@dataclass(frozen=True)
class WriteResult:
    """Per-record outcomes of a batch write: one per record of the batch, in any order.

    Vendors that validate each record (SIMS `WriteLessonAttendances2`) reject some and commit
    the rest; a whole-batch failure is raised as an error instead.
    """

    outcomes: Sequence[RecordOutcome]

    def __post_init__(self) -> None:
        outcomes = tuple(sorted(self.outcomes, key=lambda outcome: outcome.index))
        indexes = [outcome.index for outcome in outcomes]
        if len(set(indexes)) != len(indexes):
            raise ValueError("WriteResult has more than one outcome for the same index")
        object.__setattr__(self, "outcomes", outcomes)

    @property
    def accepted(self) -> tuple[RecordOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.ok)

    @property
    def rejected(self) -> tuple[RecordOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if not outcome.ok)


class Adapter(ABC, Generic[ConfigT]):
    """Base class of every adapter: one vendor system, one instance per configured connection.

    Subclasses set `manifest` and implement `check()` plus the method of every declared
    capability. Reads take the cursor the core saved (None on the first run) and return one
    `Page`; the core commits the page and its `next_cursor` in one transaction before asking
    for the next. Writes and sends carry an `idempotency_key`: the same key must never cause a
    second side effect in the vendor system (send it as the vendor's external reference or
    idempotency header). Raise only `hub.sdk.errors` types; chain the cause with `from`.
    """

    manifest: ClassVar[AdapterManifest]

    def __init__(self, config: ConfigT, http: HttpClient, *, connection_name: str) -> None:
        expected = type(self).manifest.config_model
        if not isinstance(config, expected):
            raise ConfigError(
                f"connection {connection_name!r}: adapter {type(self).manifest.name!r} needs "
                f"a {expected.__name__}, got {type(config).__name__}"
            )
        self.config: ConfigT = config
        self.http = http
        self.connection_name = connection_name

    @abstractmethod
    async def check(self) -> None:
        """Reach the vendor and prove the credentials work, changing nothing.

        Return normally when the connection is usable; raise `AuthError` (credentials),
        `ConfigError` (wrong school id, URL...), or `TransientError` (unreachable).
        """

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        """`read_learners`: learners changed since `cursor`."""
        raise self._undeclared(Capability.READ_LEARNERS)

    async def read_roll(self, cursor: str | None) -> Page[Registration]:
        """`read_roll`: registrations (admissions, deletions) changed since `cursor`."""
        raise self._undeclared(Capability.READ_ROLL)

    async def read_marks(self, cursor: str | None) -> Page[AttendanceMark]:
        """`read_marks`: attendance marks recorded or amended since `cursor`."""
        raise self._undeclared(Capability.READ_MARKS)

    async def read_placements(self, cursor: str | None) -> Page[EotasPlacement]:
        """`read_placements`: EOTAS / off-site placements changed since `cursor`."""
        raise self._undeclared(Capability.READ_PLACEMENTS)

    async def write_marks(
        self, batch: Sequence[AttendanceMark], idempotency_key: str
    ) -> WriteResult:
        """`write_marks`: write marks back (corrections the rules proposed), one outcome each."""
        raise self._undeclared(Capability.WRITE_MARKS)

    async def send_return(
        self, notification: Notification, idempotency_key: str
    ) -> DeliveryReceipt:
        """`send_return`: deliver a statutory return (`deletion_return`, `absence_return`)."""
        raise self._undeclared(Capability.SEND_RETURN)

    async def send_notification(
        self, notification: Notification, idempotency_key: str
    ) -> DeliveryReceipt:
        """`send_notification`: deliver any other notification kind (`cme_referral`,
        `deletion_notice`, `consent_request`, `dual_absence_notice`)."""
        raise self._undeclared(Capability.SEND_NOTIFICATION)

    async def raise_concern(self, alert: Notification, idempotency_key: str) -> DeliveryReceipt:
        """`raise_concern`: open a concern / incident in a safeguarding system.

        The receipt's `external_ref` is the vendor's concern id, later passed to
        `concern_status`."""
        raise self._undeclared(Capability.RAISE_CONCERN)

    async def concern_status(self, external_ref: str) -> str:
        """`read_concern_status`: the vendor's status of a concern raised earlier."""
        raise self._undeclared(Capability.READ_CONCERN_STATUS)

    async def handle_webhook(self, headers: Mapping[str, str], body: bytes) -> Page[WebhookRecord]:
        """`receive_webhook`: verify a vendor push (raise `AuthError` on a bad signature, see
        `hub.sdk.webhooks`) and return the records it carries. Header names are lower-case."""
        raise self._undeclared(Capability.RECEIVE_WEBHOOK)

    def _undeclared(self, capability: Capability) -> PermanentError:
        return PermanentError(
            f"adapter {type(self).manifest.name!r} does not declare capability {capability.value!r}"
        )


def implemented_capabilities(adapter_cls: type[Adapter[Any]]) -> frozenset[Capability]:
    """The capabilities whose method `adapter_cls` overrides with an `async def`."""
    implemented = set()
    for capability, method_name in CAPABILITY_METHODS.items():
        method = getattr(adapter_cls, method_name, None)
        if method is not getattr(Adapter, method_name) and inspect.iscoroutinefunction(method):
            implemented.add(capability)
    return frozenset(implemented)


class Notifier(ABC, Generic[ConfigT]):
    """A delivery channel that is not a vendor adapter (e-mail, say), registered by name.

    `config_model` validates the channel's settings; `send` must honour the idempotency key
    as adapters do (e.g. as the e-mail Message-ID) and raise only `hub.sdk.errors` types.
    """

    config_model: ClassVar[type[AdapterConfig]]

    def __init__(self, config: ConfigT) -> None:
        self.config: ConfigT = config

    @abstractmethod
    async def send(self, notification: Notification, idempotency_key: str) -> DeliveryReceipt:
        """Deliver `notification` and return proof of delivery."""
