"""End to end: a notification in the outbox, the real Dispatcher, the email notifier, aiosmtpd.

Runs on every database backend (`database_url`), like the engine's dispatcher tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from importlib.metadata import EntryPoint
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.engine.destinations import Destinations
from hub.engine.dispatcher import Dispatcher
from hub.engine.routing import enqueue_notification, notification_key
from hub.notify.email import message_id_for
from hub.plugins import PluginHost
from hub.sdk import ENTRY_POINT_GROUP
from hub.settings import HubSettings
from hub.store import (
    AuditLedger,
    DeliveryReceiptRepository,
    NotificationRepository,
    OutboxRepository,
    OutboxStatus,
)
from hub_contracts import Notification, NotificationKind, NotificationStatus
from tests.notify.smtp_servers import SmtpServer
from tests.notify.synthetic import FULL_NAME, T0, UPN, notification

Sessions = async_sessionmaker[AsyncSession]
CONNECTION = "la-999-mail"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _settings(database_url: str, server: SmtpServer) -> HubSettings:
    connection = {
        "name": CONNECTION,
        "plugin": "email",
        "host": server.host,
        "port": server.port,
        "starttls": "off",
        "from_address": "attendance-hub@school.example",
        "to": "attendance@la999.example",
        "to_by_kind": {"cme_referral": "cme@la999.example"},
        "language": "both",
        "timeout_seconds": 10,
    }
    outbox = {
        "batch_size": 10,
        "lease_seconds": 30.0,
        "poll_interval_seconds": 0.05,
        "max_attempts": 5,
        "backoff_initial_seconds": 1.0,
        "backoff_max_seconds": 60.0,
    }
    routes = [{"kind": kind.value, "connections": [CONNECTION]} for kind in NotificationKind]
    return HubSettings.model_validate(
        {
            "database_url": database_url,
            "connections": [connection],
            "routes": routes,
            "outbox": outbox,
        }
    )


def _core_plugins() -> PluginHost:
    host = PluginHost(entry_points=[EntryPoint("core", "hub.notify.plugin", ENTRY_POINT_GROUP)])
    host.load()
    assert not host.refused, host.refused
    return host


async def _run(
    database_url: str, sessions: Sessions, server: SmtpServer, clock: Clock, note: Notification
) -> tuple[Dispatcher, Destinations, str]:
    settings = _settings(database_url, server)
    destinations = Destinations(settings, _core_plugins(), environ={})
    dispatcher = Dispatcher(
        settings=settings,
        sessions=sessions,
        destinations=destinations,
        owner="worker-a",
        clock=clock,
    )
    async with sessions.begin() as session:
        enqueued = await enqueue_notification(session, settings, note, la_code="999", now=T0)
    assert len(enqueued) == 1
    return dispatcher, destinations, notification_key(note.id, CONNECTION)


async def _pass(dispatcher: Dispatcher) -> Any:
    async with asyncio.timeout(30):
        return await dispatcher.dispatch_once()


async def test_an_outbox_notification_is_mailed_by_the_dispatcher(
    database_url: str, sessions: Sessions, start_smtp: Any
) -> None:
    server = start_smtp()
    clock = Clock()
    note = notification(NotificationKind.CME_REFERRAL, recipient="la:999:cme")
    dispatcher, destinations, key = await _run(database_url, sessions, server, clock, note)
    try:
        summary = await _pass(dispatcher)
    finally:
        await destinations.close()

    assert (summary.claimed, summary.delivered) == (1, 1)
    [mail] = server.mailbox.received
    assert mail.rcpt_tos == ["cme@la999.example"]
    assert mail.message["Message-ID"] == message_id_for(key)
    assert UPN not in str(mail.message["Subject"])
    assert FULL_NAME in mail.message.get_content()

    async with sessions() as session:
        row = await OutboxRepository(session).get_by_key(key)
        stored = await NotificationRepository(session).get(note.id)
        (receipt,) = await DeliveryReceiptRepository(session).for_notification(note.id)
        (entry,) = await AuditLedger(session).entries()
    assert row is not None and row.status is OutboxStatus.DELIVERED
    assert stored is not None and stored.status is NotificationStatus.DELIVERED
    assert receipt.external_ref == message_id_for(key)
    assert receipt.detail == "250 2.0.0 OK queued as synthetic-1"
    assert entry.detail["to"] == CONNECTION


async def test_a_refused_mailbox_is_a_dead_letter(
    database_url: str, sessions: Sessions, start_smtp: Any
) -> None:
    server = start_smtp()
    server.mailbox.refuse["RCPT"] = "550 5.1.1 mailbox unavailable"
    note = notification(NotificationKind.DELETION_RETURN)
    dispatcher, destinations, key = await _run(database_url, sessions, server, Clock(), note)
    try:
        summary = await _pass(dispatcher)
    finally:
        await destinations.close()

    assert (summary.claimed, summary.dead, summary.retried) == (1, 1, 0)
    async with sessions() as session:
        row = await OutboxRepository(session).get_by_key(key)
        stored = await NotificationRepository(session).get(note.id)
    assert row is not None and row.status is OutboxStatus.DEAD
    assert stored is not None and stored.status is NotificationStatus.DEAD
    assert server.mailbox.received == []


async def test_a_deferral_is_retried_then_delivered_with_the_same_message_id(
    database_url: str, sessions: Sessions, start_smtp: Any
) -> None:
    server = start_smtp()
    server.mailbox.refuse["DATA"] = "451 4.3.0 try again later"
    clock = Clock()
    note = notification(NotificationKind.SAFEGUARDING_ALERT)
    dispatcher, destinations, key = await _run(database_url, sessions, server, clock, note)
    try:
        first = await _pass(dispatcher)
        async with sessions() as session:
            row = await OutboxRepository(session).get_by_key(key)
            stored = await NotificationRepository(session).get(note.id)
        assert (first.claimed, first.retried) == (1, 1)
        assert row is not None and row.status is OutboxStatus.PENDING
        assert "451" in (row.last_error or "")
        assert stored is not None and stored.status is NotificationStatus.FAILED

        server.mailbox.refuse.clear()
        clock.now = row.next_attempt_at
        second = await _pass(dispatcher)
    finally:
        await destinations.close()

    assert second.delivered == 1
    [mail] = server.mailbox.received
    assert mail.message["Message-ID"] == message_id_for(key)
    async with sessions() as session:
        stored = await NotificationRepository(session).get(note.id)
    assert stored is not None and stored.status is NotificationStatus.DELIVERED
