"""The ``email`` notifier against real aiosmtpd servers on loopback."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from pydantic import ValidationError

import hub.notify.email
from hub.connections import check_connections
from hub.engine.destinations import Destinations
from hub.notify.email import (
    EmailConfig,
    EmailNotifier,
    classify_smtp_error,
    message_id_for,
    recipients_for,
)
from hub.plugins import PluginHost
from hub.sdk import (
    ENTRY_POINT_GROUP,
    AdapterError,
    AuthError,
    ConfigError,
    PermanentError,
    TransientError,
)
from hub.settings import HubSettings
from hub_contracts import Notification, NotificationKind
from tests.notify.smtp_servers import Mailbox, SmtpServer, free_port
from tests.notify.synthetic import FULL_NAME, SMTP_PASSWORD, SMTP_USER, UPN

MakeNotification = Callable[..., Notification]
BASE = {"host": "smtp.la.example", "from_address": "hub@school.example", "to": "la@la.example"}


async def _send(
    notifier: EmailNotifier, note: Notification, key: str = "notification:n1:mail"
) -> Any:
    async with asyncio.timeout(30):
        return await notifier.send(note, key)


# --- configuration ---------------------------------------------------------------------------


def test_minimal_config_defaults_to_required_starttls_and_english() -> None:
    config = EmailConfig.model_validate(BASE)
    assert config.starttls == "required"
    assert config.port == 587
    assert config.language == "en"
    assert config.to == ["la@la.example"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"smtp_host": "x"}, "smtp_host", id="unknown-key"),
        pytest.param({"starttls": "off"}, "starttls", id="clear-text-to-a-remote-host"),
        pytest.param({"starttls": "sometimes"}, "starttls", id="unknown-starttls-mode"),
        pytest.param({"username": "u"}, "password", id="username-without-password"),
        pytest.param({"password": "p"}, "password", id="password-without-username"),
        pytest.param({"from_address": "not an address"}, "from_address", id="bad-from"),
        pytest.param({"to": ["la@la.example", "x@"]}, "to", id="bad-to"),
        pytest.param({"to": "a@b.example\r\nBcc: x@y.example"}, "to", id="header-injection"),
        pytest.param({"to_by_kind": {"cme_referal": "a@b.example"}}, "to_by_kind", id="bad-kind"),
        pytest.param({"by_la": {"99": {"to": "a@b.example"}}}, "by_la", id="bad-la-code"),
        pytest.param({"by_la": {"999": {"cc": "a@b.example"}}}, "by_la", id="unknown-la-key"),
        pytest.param({"to": []}, "by_la", id="no-mailbox-at-all"),
        pytest.param({"host": "smtp://smtp.la.example"}, "host", id="url-not-host"),
        pytest.param({"language": "fr"}, "language", id="unknown-language"),
        pytest.param({"port": 0}, "port", id="bad-port"),
    ],
)
def test_bad_config_is_refused_naming_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EmailConfig.model_validate(BASE | options)
    assert field in {str(err["loc"][0]) for err in caught.value.errors()}


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_starttls_off_is_accepted_on_loopback_only(host: str) -> None:
    assert EmailConfig.model_validate(BASE | {"host": host, "starttls": "off"}).starttls == "off"


def test_ca_file_must_exist_and_needs_tls(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ca_file"):
        EmailConfig.model_validate(BASE | {"ca_file": str(tmp_path / "missing.pem")})
    pem = tmp_path / "ca.pem"
    pem.write_text("synthetic")
    with pytest.raises(ValidationError, match="ca_file"):
        EmailConfig.model_validate(
            BASE | {"host": "127.0.0.1", "starttls": "off", "ca_file": str(pem)}
        )


# --- recipients ------------------------------------------------------------------------------

ROUTED = BASE | {
    "to": "default@la.example",
    "to_by_kind": {"deletion_return": ["returns@la.example", "returns@la.example"]},
    "by_la": {
        "663": {"to_by_kind": {"cme_referral": "cme@wrexham.example"}, "to": "ews@wrexham.example"},
        "673": {"to_by_kind": {"cme_referral": "inclusion@vog.example"}},
    },
}


@pytest.mark.parametrize(
    ("kind", "recipient", "payload", "expected"),
    [
        pytest.param("cme_referral", "la:663:cme", {}, ["cme@wrexham.example"], id="la-and-kind"),
        pytest.param("deletion_return", "la:663", {}, ["ews@wrexham.example"], id="la-default"),
        pytest.param(
            "deletion_return", "la:673", {}, ["returns@la.example"], id="kind-beats-default"
        ),
        pytest.param("cme_referral", "la:673:cme", {}, ["inclusion@vog.example"], id="la-673"),
        pytest.param(
            "safeguarding_alert", "safeguarding:663", {}, ["ews@wrexham.example"], id="sg-role"
        ),
        pytest.param(
            "absence_return", "la", {"la_code": "663"}, ["ews@wrexham.example"], id="payload-la"
        ),
        pytest.param("cme_referral", "setting:9990001", {}, ["default@la.example"], id="no-la"),
    ],
)
def test_recipients_are_resolved_la_first_then_kind_then_default(
    kind: str, recipient: str, payload: dict[str, Any], expected: list[str],
    make_notification: MakeNotification,
) -> None:  # fmt: skip
    config = EmailConfig.model_validate(ROUTED)
    note = make_notification(NotificationKind(kind), recipient=recipient, payload=payload)
    assert recipients_for(config, note) == expected


def test_a_kind_with_no_mailbox_is_a_config_error(make_notification: MakeNotification) -> None:
    config = EmailConfig.model_validate(
        BASE | {"to": [], "to_by_kind": {"cme_referral": "c@x.example"}}
    )
    with pytest.raises(ConfigError, match="deletion_return"):
        recipients_for(config, make_notification(NotificationKind.DELETION_RETURN))


# --- idempotency -----------------------------------------------------------------------------


def test_message_id_is_deterministic_per_key() -> None:
    first = message_id_for("notification:ntf_1:la-mail")
    assert first == message_id_for("notification:ntf_1:la-mail")
    assert first != message_id_for("notification:ntf_1:other-connection")
    assert first.startswith("<") and first.endswith("@attendance-hub>")
    assert len(first) == len("<@attendance-hub>") + 32


async def test_a_resend_carries_the_same_message_id(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp()
    notifier = make_notifier(server)
    note = make_notification()
    first = await _send(notifier, note)
    second = await _send(notifier, note)
    other = await _send(notifier, note, key="notification:n1:another-connection")
    ids = [r.message["Message-ID"] for r in server.mailbox.received]
    assert ids[0] == ids[1] == first.external_ref == second.external_ref
    assert ids[2] == other.external_ref != ids[0]


# --- delivery --------------------------------------------------------------------------------


async def test_delivers_a_plain_text_message_with_receipt(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp()
    notifier = make_notifier(server, language="both", to=["a@la999.example", "b@la999.example"])
    note = make_notification(NotificationKind.CME_REFERRAL)
    key = "notification:ntf_synthetic_cme_referral:la-mail"
    receipt = await _send(notifier, note, key)

    [got] = server.mailbox.received
    assert got.mail_from == "attendance-hub@school.example"
    assert got.rcpt_tos == ["a@la999.example", "b@la999.example"]
    message = got.message
    assert message["Message-ID"] == message_id_for(key)
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "cy, en"
    assert message["X-Hub-Notification-Kind"] == "cme_referral"
    assert message.get_content_type() == "text/plain"
    subject = str(message["Subject"])
    assert subject.startswith("Atgyfeiriad plentyn sy'n colli addysg / Children missing education")
    assert UPN not in subject and FULL_NAME not in subject
    body = message.get_content()
    assert FULL_NAME in body and "Enw llawn" in body and "Full name" in body
    assert UPN.encode() not in got.raw.split(b"\r\n\r\n", 1)[0]  # headers carry no UPN

    assert receipt.notification_id == note.id
    assert receipt.recipient == "la:999"
    assert receipt.external_ref == message["Message-ID"]
    assert receipt.detail == "250 2.0.0 OK queued as synthetic-1"


async def test_an_id_built_from_a_upn_reaches_no_header(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp()
    note = make_notification(id=f"cme:{UPN}")
    await _send(make_notifier(server), note, key=f"notification:cme:{UPN}:la-mail")
    headers = server.mailbox.received[0].raw.split(b"\r\n\r\n", 1)[0]
    assert UPN.encode() not in headers


async def test_auth_over_loopback_then_delivery(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp(auth=True)
    notifier = make_notifier(server, username=SMTP_USER, password=SMTP_PASSWORD)
    await _send(notifier, make_notification())
    assert server.mailbox.auth_attempts >= 1
    assert len(server.mailbox.received) == 1


async def test_some_recipients_refused_still_delivers_and_says_so(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp()
    server.mailbox.refuse_rcpt["gone@la999.example"] = "550 5.1.1 no such mailbox"
    notifier = make_notifier(server, to=["gone@la999.example", "cme@la999.example"])
    receipt = await _send(notifier, make_notification())
    assert server.mailbox.received[0].rcpt_tos == ["cme@la999.example"]
    assert "refused: gone@la999.example: 550" in receipt.detail


# --- failures, classified from real server replies -------------------------------------------


@pytest.mark.parametrize(
    ("stage", "reply", "error"),
    [
        pytest.param("RCPT", "550 5.1.1 mailbox unavailable", PermanentError, id="rcpt-550"),
        pytest.param("RCPT", "451 4.3.0 try again later", TransientError, id="rcpt-451"),
        pytest.param("DATA", "451 4.3.0 try again later", TransientError, id="data-451"),
        pytest.param("DATA", "552 5.3.4 message too big", PermanentError, id="data-552"),
        pytest.param("DATA", "554 5.7.1 rejected as spam", PermanentError, id="data-554"),
        pytest.param("MAIL", "421 4.7.0 too busy", TransientError, id="mail-421"),
        pytest.param("MAIL", "553 5.7.1 sender not allowed", ConfigError, id="mail-553"),
    ],
)
async def test_server_replies_are_classified(
    stage: str, reply: str, error: type[AdapterError],
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification,
) -> None:  # fmt: skip
    server = start_smtp()
    server.mailbox.refuse[stage] = reply
    with pytest.raises(error, match=reply.split()[0]):
        await _send(make_notifier(server), make_notification())
    assert server.mailbox.received == []


async def test_wrong_password_is_an_auth_error(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp(auth=True)
    notifier = make_notifier(server, username=SMTP_USER, password="wrong-synthetic-password")
    with pytest.raises(AuthError, match="535"):
        await _send(notifier, make_notification())
    assert server.mailbox.received == []


async def test_auth_required_but_not_given_is_an_auth_error(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp(auth=True)
    server.mailbox.refuse["MAIL"] = "530 5.7.0 Authentication required"
    with pytest.raises(AuthError, match="530"):
        await _send(make_notifier(server), make_notification())


async def test_connection_refused_is_transient(
    make_notifier: Any, make_notification: MakeNotification
) -> None:
    closed = SmtpServer(Mailbox(), "127.0.0.1", free_port())
    with pytest.raises(TransientError):
        await _send(make_notifier(closed), make_notification())


async def test_a_server_that_never_answers_times_out_as_transient(
    make_notifier: Any, make_notification: MakeNotification
) -> None:
    writers: list[asyncio.StreamWriter] = []

    def accept_and_say_nothing(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    silent = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        notifier = make_notifier(SmtpServer(Mailbox(), "127.0.0.1", port), timeout_seconds=0.5)
        with pytest.raises(TransientError, match="SMTP"):
            await _send(notifier, make_notification())
    finally:
        for writer in writers:
            writer.close()
        silent.close()
        await silent.wait_closed()


def _refused(*replies: tuple[int, str]) -> aiosmtplib.SMTPRecipientsRefused:
    return aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(code, "no", address) for code, address in replies]
    )


SMTP = aiosmtplib


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        pytest.param(SMTP.SMTPAuthenticationError(535, "bad"), AuthError, id="auth-535"),
        pytest.param(SMTP.SMTPAuthenticationError(454, "later"), TransientError, id="auth-454"),
        pytest.param(SMTP.SMTPConnectResponseError(554, "no"), ConfigError, id="greeting-554"),
        pytest.param(SMTP.SMTPConnectResponseError(421, "busy"), TransientError, id="greeting-421"),
        pytest.param(SMTP.SMTPHeloError(501, "bad helo"), ConfigError, id="helo-501"),
        pytest.param(SMTP.SMTPDataError(550, "no"), PermanentError, id="data-550"),
        pytest.param(SMTP.SMTPDataError(452, "full"), TransientError, id="data-452"),
        pytest.param(SMTP.SMTPSenderRefused(550, "no", "a@b.example"), ConfigError, id="mail-550"),
        pytest.param(_refused((550, "a@b.example")), PermanentError, id="rcpt-all-550"),
        pytest.param(
            _refused((550, "a@b.example"), (450, "c@d.example")),
            TransientError,
            id="rcpt-any-4xx-retries",
        ),
        pytest.param(SMTP.SMTPServerDisconnected("gone"), TransientError, id="disconnected"),
        pytest.param(SMTP.SMTPConnectError("refused"), TransientError, id="connect-error"),
        pytest.param(SMTP.SMTPReadTimeoutError("slow"), TransientError, id="read-timeout"),
        pytest.param(SMTP.SMTPNotSupported("SMTPUTF8"), PermanentError, id="not-supported"),
        pytest.param(
            SMTP.SMTPException("SMTP STARTTLS extension not supported by server."),
            ConfigError,
            id="no-starttls",
        ),
        pytest.param(ConnectionRefusedError(111, "refused"), TransientError, id="os-error"),
    ],
)
def test_classification_table(exc: BaseException, error: type[AdapterError]) -> None:
    classified = classify_smtp_error(exc)
    assert type(classified) is error


# --- STARTTLS --------------------------------------------------------------------------------


async def test_required_starttls_against_a_server_without_it_is_a_config_error(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp()
    notifier = make_notifier(server, starttls="required")
    with pytest.raises(ConfigError, match="STARTTLS"):
        await _send(notifier, make_notification())
    assert server.mailbox.received == []


async def test_opportunistic_without_tls_sends_in_clear_on_loopback(
    start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp()
    await _send(make_notifier(server, starttls="opportunistic"), make_notification())
    assert len(server.mailbox.received) == 1


@pytest.mark.parametrize("mode", ["required", "opportunistic"])
async def test_starttls_with_a_verified_certificate_and_auth(
    mode: str, certificate: Any, start_smtp: Any, make_notifier: Any,
    make_notification: MakeNotification,
) -> None:  # fmt: skip
    server = start_smtp(tls_context=certificate.server_context(), auth=True)
    notifier = make_notifier(
        server, starttls=mode, ca_file=str(certificate.cert),
        username=SMTP_USER, password=SMTP_PASSWORD,
    )  # fmt: skip
    receipt = await _send(notifier, make_notification())
    assert len(server.mailbox.received) == 1
    assert receipt.detail.startswith("250 ")


async def test_an_untrusted_certificate_is_a_config_error(
    certificate: Any, start_smtp: Any, make_notifier: Any, make_notification: MakeNotification
) -> None:
    server = start_smtp(tls_context=certificate.server_context())
    with pytest.raises(ConfigError, match="certificate"):
        await _send(make_notifier(server, starttls="required"), make_notification())
    assert server.mailbox.received == []


# --- hub check -------------------------------------------------------------------------------


async def test_check_logs_in_and_sends_nothing(start_smtp: Any, make_notifier: Any) -> None:
    server = start_smtp(auth=True)
    notifier = make_notifier(server, username=SMTP_USER, password=SMTP_PASSWORD)
    async with asyncio.timeout(30):
        await notifier.check()
    assert server.mailbox.auth_attempts == 1
    assert server.mailbox.received == []


async def test_check_reports_bad_credentials_and_missing_starttls(
    start_smtp: Any, make_notifier: Any
) -> None:
    server = start_smtp(auth=True)
    wrong = make_notifier(server, username=SMTP_USER, password="wrong-synthetic-password")
    async with asyncio.timeout(30):
        with pytest.raises(AuthError, match="535"):
            await wrong.check()
        with pytest.raises(ConfigError, match="STARTTLS"):
            await make_notifier(server, starttls="required").check()


async def test_hub_check_reaches_an_email_connection(start_smtp: Any) -> None:
    server = start_smtp()
    settings = _settings(
        {
            "name": "la-mail", "plugin": "email", "host": server.host, "port": server.port,
            "starttls": "off", "from_address": "hub@school.example", "to": "la@la.example",
        }
    )  # fmt: skip
    lines: list[str] = []
    async with asyncio.timeout(30):
        code = await check_connections(settings, echo=lines.append, host=_core_plugins())
    assert code == 0, lines
    assert "la-mail: ok" in lines
    assert server.mailbox.received == []


# --- registration and the host's connection building -----------------------------------------


def _core_plugins() -> PluginHost:
    host = PluginHost(entry_points=[EntryPoint("core", "hub.notify.plugin", ENTRY_POINT_GROUP)])
    host.load()
    assert not host.refused, host.refused
    return host


def test_the_core_plugin_registers_email_next_to_webhook() -> None:
    host = _core_plugins()
    assert host.notifiers["email"] is EmailNotifier
    assert "webhook" in host.notifiers


def _settings(connection: dict[str, Any]) -> HubSettings:
    return HubSettings.model_validate(
        {"database_url": "sqlite+aiosqlite:///unused.db", "connections": [connection]}
    )


def test_the_documented_example_config_is_valid() -> None:
    doc = hub.notify.email.__doc__ or ""
    example = doc.split("```toml", 1)[1].split("```", 1)[0]
    settings = HubSettings.model_validate(
        {"database_url": "sqlite+aiosqlite:///unused.db", **tomllib.loads(example)}
    )
    destinations = Destinations(settings, _core_plugins(), environ={"HUB_SMTP_PASSWORD": "x"})
    notifier = destinations.get("la-999-mail")
    assert isinstance(notifier, EmailNotifier)
    assert notifier.config.by_la["663"].to_by_kind[NotificationKind.CME_REFERRAL] == [
        "cme@wrexham.gov.uk"
    ]


def test_the_host_builds_email_connections_resolving_the_password_reference() -> None:
    connection = {
        "name": "la-mail", "plugin": "email", "host": "smtp.la.example",
        "from_address": "hub@school.example", "to": "la@la.example",
        "username": SMTP_USER, "password": "env:HUB_TEST_SMTP_PASSWORD",
    }  # fmt: skip
    settings = _settings(connection)
    destinations = Destinations(
        settings, _core_plugins(), environ={"HUB_TEST_SMTP_PASSWORD": SMTP_PASSWORD}
    )
    notifier = destinations.get("la-mail")
    assert isinstance(notifier, EmailNotifier)
    assert notifier.config.password is not None
    assert notifier.config.password.get_secret_value() == SMTP_PASSWORD
    assert SMTP_PASSWORD not in repr(notifier.config)

    inline = _settings(connection | {"password": SMTP_PASSWORD})
    with pytest.raises(ConfigError, match="password"):
        Destinations(inline, _core_plugins(), environ={}).get("la-mail")

    typo = _settings(connection | {"tls": True})
    with pytest.raises(ConfigError, match=r"connections\.la-mail\.tls: unknown key"):
        Destinations(typo, _core_plugins(), environ={"HUB_TEST_SMTP_PASSWORD": "x"}).get("la-mail")
