"""The ``email`` notifier: each notification as a plain-text e-mail over SMTP (aiosmtplib).

The fallback route for local authorities whose system has no API: deletion returns, CME
referrals and the rest go to LA mailboxes (the seeds route CME checklists to addresses such
as ``cme@wrexham.gov.uk``, seed-digest §8.2). Texts come from `hub.notify.templates`, in
English, Welsh or both; each kind shows only the fields its purpose needs.

```toml
[[connections]]
name = "la-999-mail"
plugin = "email"
host = "smtp.la.example"           # the LA's or school's submission server / relay
port = 587
starttls = "required"              # "required" (default) | "opportunistic" | "off"
username = "attendance-hub@school.example"
password = "env:HUB_SMTP_PASSWORD" # a secret reference, never inline
from_address = "attendance-hub@school.example"
to = "attendance@la.example"       # default mailbox (one address or a list)
language = "both"                  # "en" (default) | "cy" | "both": Welsh first, then English;
                                   # Welsh LAs choose "both" (Welsh Language Standards)
[connections.to_by_kind]
cme_referral = "cme@la.example"
[connections.by_la.663]            # per-LA mailboxes, for a hub serving several LAs
to_by_kind = { cme_referral = "cme@wrexham.gov.uk" }
```

Addresses: for a notification of LA ``L`` (from its recipient ``la:L...`` /
``safeguarding:L`` or its payload's ``la_code``) and kind ``K``, the first that is set of
``by_la.L.to_by_kind.K``, ``by_la.L.to``, ``to_by_kind.K``, ``to``. None set: `ConfigError`.

Transport security: ``"required"`` refuses to send unless the server offers STARTTLS and
presents a certificate that verifies (``ca_file`` adds a private CA); ``"opportunistic"``
upgrades when offered (with the same verification) and otherwise sends in clear, but never
sends the password in clear to a remote host; ``"off"`` never upgrades and is accepted only
for ``localhost`` / ``127.0.0.1`` / ``::1`` (a local relay, or a test server). Implicit TLS
(port 465) is not supported.

Idempotency: SMTP has none. The message carries a ``Message-ID`` derived from the delivery's
idempotency key (`message_id_for`), so a resend after a crash (the server accepted the
message, the hub died before recording it) carries the same Message-ID: mail stores and
receiving systems that deduplicate on it keep one copy, and a human reader can see that two
copies are one message. Receivers that do not deduplicate will show both.

Failures: connection refused or lost, timeouts and any 4xx reply → `TransientError` (retried);
535 (and 530, 534, 538, or any 5xx answer to AUTH) → `AuthError`; 5xx to RCPT (every
recipient refused) or to DATA, e.g. 550 no such mailbox, 552 too large → `PermanentError`
(dead letter); 5xx to the greeting, EHLO or MAIL FROM (the server refuses this client or
sender, so every message would fail), no STARTTLS or AUTH where the config needs it, or a
certificate that does not verify → `ConfigError`. When only some recipients are refused, the
message was delivered to the others: the delivery counts, the receipt's detail names the
refused addresses and a warning is logged. The receipt's ``external_ref`` is the Message-ID and
its ``detail`` the server's final reply (e.g. ``250 2.0.0 OK queued as ...``).

`hub check` calls `EmailNotifier.check`: connect, STARTTLS and AUTH as configured, QUIT; no mail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.policy
import email.utils
import hashlib
import ipaddress
import re
import ssl
from collections.abc import Awaitable
from email.message import EmailMessage
from typing import Annotated, Any, Final, Literal, TypeVar

import aiosmtplib
import structlog
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from hub.notify.templates import LanguageChoice, RenderedNotice, check_templates, render_notice
from hub.sdk import (
    AdapterConfig,
    AdapterError,
    AuthError,
    ConfigError,
    Notifier,
    PermanentError,
    TransientError,
)
from hub_contracts import DeliveryReceipt, Notification, NotificationKind

__all__ = [
    "EmailConfig",
    "EmailNotifier",
    "LaMailboxes",
    "classify_smtp_error",
    "message_id_for",
    "recipients_for",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")

_LOOPBACK_NAMES: Final = frozenset({"localhost"})
_HOST: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^[0-9A-Fa-f:]+$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS: Final = re.compile(
    rf"^[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+)*"
    rf"@{_LABEL}(?:\.{_LABEL})*$"
)
_LA_IN_RECIPIENT: Final = re.compile(r"^(?:la|safeguarding):([0-9]{3})(?::|$)")
#: A polite QUIT after a delivery may take this long; the delivery already counts.
_QUIT_SECONDS: Final = 5.0
_MAX_DETAIL_CHARS: Final = 1000


def _address(value: str) -> str:
    # ASCII addresses only: a UTF-8 mailbox would need SMTPUTF8, which LA relays rarely offer.
    if len(value) > 254 or not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an e-mail address like name@example.org")
    return value


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


Address = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_address)]
Addresses = Annotated[list[Address], BeforeValidator(_one_or_many)]
LaCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LaMailboxes(BaseModel):
    """One LA's mailboxes (``[connections.by_la.<la_code>]``); they win over the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: Addresses = Field(default_factory=list, description="This LA's default mailbox(es).")
    to_by_kind: dict[NotificationKind, Addresses] = Field(
        default_factory=dict, description="This LA's mailbox(es) per notification kind."
    )


class EmailConfig(AdapterConfig):
    """`[[connections]] plugin = "email"`: the SMTP server, the sender and the mailboxes."""

    host: str = Field(description="SMTP submission server or relay, e.g. smtp.la.example.")
    port: int = Field(default=587, ge=1, le=65535, description="587 is SMTP submission.")
    starttls: Literal["required", "opportunistic", "off"] = Field(
        default="required",
        description='"off" only for localhost / 127.0.0.1 / ::1 (a local relay or test server).',
    )
    ca_file: FilePath | None = Field(
        default=None, description="PEM file of the CA(s) that sign the server's certificate."
    )
    username: str | None = Field(default=None, min_length=1, description="SMTP AUTH user.")
    password: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="SMTP AUTH password, written as env:VAR or file:PATH in hub.toml.",
    )
    from_address: Address = Field(description="The envelope sender and From: address.")
    timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="Total time for one delivery; keep it below the outbox lease.",
    )
    language: LanguageChoice = Field(
        default="en", description='"en", "cy" or "both" (Welsh first, then English).'
    )
    to: Addresses = Field(default_factory=list, description="Default mailbox(es).")
    to_by_kind: dict[NotificationKind, Addresses] = Field(
        default_factory=dict, description="Mailbox(es) per notification kind."
    )
    by_la: dict[LaCode, LaMailboxes] = Field(
        default_factory=dict,
        validate_default=True,
        description="Per-LA mailboxes by 3-digit LA code; they win over the defaults.",
    )

    @field_validator("host")
    @classmethod
    def _host_only(cls, value: str) -> str:
        if not _HOST.match(value):
            raise ValueError("write a host name or IP address, without scheme or port")
        return value

    @field_validator("starttls")
    @classmethod
    def _clear_text_only_on_loopback(cls, value: str, info: ValidationInfo) -> str:
        host = info.data.get("host")
        if value == "off" and isinstance(host, str) and not _is_loopback(host):
            raise ValueError(
                '"off" sends mail unencrypted and is allowed only for localhost, 127.0.0.1 or '
                '::1 (a local relay or test server); use "required"'
            )
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_needs_tls(cls, value: FilePath | None, info: ValidationInfo) -> FilePath | None:
        if value is not None and info.data.get("starttls") == "off":
            raise ValueError('ca_file has no use with starttls = "off"')
        return value

    @field_validator("password")
    @classmethod
    def _credentials_pair(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if "username" in info.data and (value is None) != (info.data["username"] is None):
            raise ValueError("username and password are set together, or neither")
        return value

    @field_validator("by_la")
    @classmethod
    def _someone_to_write_to(
        cls, value: dict[str, LaMailboxes], info: ValidationInfo
    ) -> dict[str, LaMailboxes]:
        if "to" in info.data and "to_by_kind" in info.data:
            has_default = bool(info.data["to"]) or any(info.data["to_by_kind"].values())
            if not has_default and not any(
                o.to or any(o.to_by_kind.values()) for o in value.values()
            ):
                raise ValueError("no mailbox configured: set to, to_by_kind or by_la")
        return value


def message_id_for(idempotency_key: str) -> str:
    """The Message-ID of a delivery: the same key always gives the same Message-ID."""
    return f"<{hashlib.sha256(idempotency_key.encode('utf-8')).hexdigest()[:32]}@attendance-hub>"


def _la_code(notification: Notification) -> str | None:
    match = _LA_IN_RECIPIENT.match(notification.recipient)
    if match is not None:
        return match.group(1)
    la_code = notification.payload.get("la_code")
    return la_code if isinstance(la_code, str) else None


def recipients_for(config: EmailConfig, notification: Notification) -> list[str]:
    """The mailboxes `notification` goes to (see the module docstring for the order)."""
    kind = notification.kind
    la_code = _la_code(notification)
    choices: list[list[str]] = []
    la = config.by_la.get(la_code) if la_code is not None else None
    if la is not None:
        choices += [la.to_by_kind.get(kind, []), la.to]
    choices += [config.to_by_kind.get(kind, []), config.to]
    for addresses in choices:
        if addresses:
            return list(dict.fromkeys(addresses))
    where = f" of LA {la_code}" if la_code is not None else ""
    raise ConfigError(
        f"no mailbox for {kind.value} notifications{where}: set to_by_kind.{kind.value} or to"
    )


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


def classify_smtp_error(exc: BaseException) -> AdapterError:
    """The SDK error for an SMTP failure (see the module docstring)."""
    cause: BaseException | None = exc
    while cause is not None:  # the TLS handshake's own error may be wrapped
        if isinstance(cause, ssl.SSLCertVerificationError):
            return ConfigError(
                f"the SMTP server's certificate did not verify ({cause.verify_message}); "
                "set ca_file for a private CA"
            )
        cause = cause.__cause__
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        replies = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if any(_is_temporary(r.code) for r in exc.recipients):
            return TransientError(f"the SMTP server deferred the recipients: {replies}")
        return PermanentError(f"the SMTP server refused every recipient: {replies}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reply = f"{exc.code} {exc.message}"
        if _is_temporary(exc.code):
            return TransientError(f"the SMTP server answered {reply}")
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError) or exc.code in (530, 534, 535, 538):
            return AuthError(f"the SMTP server refused the credentials: {reply}")
        if isinstance(exc, aiosmtplib.SMTPSenderRefused):
            return ConfigError(f"the SMTP server refused the sender {exc.sender}: {reply}")
        if isinstance(exc, aiosmtplib.SMTPConnectResponseError | aiosmtplib.SMTPHeloError):
            return ConfigError(f"the SMTP server refused the session: {reply}")
        return PermanentError(f"the SMTP server refused the message: {reply}")
    if isinstance(
        exc,
        aiosmtplib.SMTPTimeoutError
        | aiosmtplib.SMTPConnectError
        | aiosmtplib.SMTPServerDisconnected,
    ):
        return TransientError(f"SMTP connection failed: {exc}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentError(f"the SMTP server cannot take this message: {exc}")
    if isinstance(exc, aiosmtplib.SMTPException):
        # STARTTLS or AUTH required by the config but not offered by the server.
        return ConfigError(f"SMTP session not possible as configured: {exc}")
    if isinstance(exc, OSError):
        return TransientError(f"cannot reach the SMTP server ({type(exc).__name__}: {exc})")
    return PermanentError(f"unexpected SMTP failure: {type(exc).__name__}")


class EmailNotifier(Notifier[EmailConfig]):
    """Deliver notifications as e-mail (see the module docstring)."""

    config_model = EmailConfig

    def __init__(self, config: EmailConfig) -> None:
        super().__init__(config)
        # Read and check every template now (config load), so `send` never reads files.
        check_templates()

    async def check(self) -> None:
        """`hub check`: reach the server, upgrade to TLS and log in as configured, then QUIT.
        Sends no mail. Raises the errors `send` would for the same failures."""
        smtp = self._client()
        await self._guarded(smtp, self._open(smtp))
        await _quit(smtp)

    async def send(self, notification: Notification, idempotency_key: str) -> DeliveryReceipt:
        recipients = recipients_for(self.config, notification)
        notice = render_notice(notification, self.config.language)
        message_id = message_id_for(idempotency_key)
        message = self._message(notification, notice, recipients, message_id)
        smtp = self._client()
        refused, reply = await self._guarded(smtp, self._transmit(smtp, message, recipients))
        await _quit(smtp)
        detail = f"250 {reply}"
        if refused:
            detail += "; refused: " + "; ".join(
                f"{address}: {response.code} {response.message}"
                for address, response in refused.items()
            )
            log.warning(
                "email_recipients_refused",
                notification_id=notification.id,
                refused=len(refused),
                delivered_to=len(recipients) - len(refused),
            )
        log.info(
            "email_delivered",
            notification_id=notification.id,
            kind=notification.kind.value,
            message_id=message_id,
            recipients=len(recipients) - len(refused),
        )
        return DeliveryReceipt(
            notification_id=notification.id,
            recipient=notification.recipient,
            idempotency_key=idempotency_key,
            external_ref=message_id,
            delivered_at=dt.datetime.now(dt.UTC),
            detail=detail[:_MAX_DETAIL_CHARS],
        )

    def _client(self) -> aiosmtplib.SMTP:
        start_tls = {"required": True, "opportunistic": None, "off": False}[self.config.starttls]
        return aiosmtplib.SMTP(
            hostname=self.config.host,
            port=self.config.port,
            timeout=self.config.timeout_seconds,
            start_tls=start_tls,
            validate_certs=True,
            cert_bundle=None if self.config.ca_file is None else str(self.config.ca_file),
        )

    async def _guarded(self, smtp: aiosmtplib.SMTP, work: Awaitable[T]) -> T:
        """Run `work` on `smtp` within the timeout, classifying failures; on any failure the
        connection is dropped without QUIT (it may be unusable, or we were cancelled)."""
        try:
            try:
                async with asyncio.timeout(self.config.timeout_seconds):
                    return await work
            except TimeoutError as exc:
                raise TransientError(
                    f"the SMTP session took longer than {self.config.timeout_seconds:g}s"
                ) from exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise classify_smtp_error(exc) from exc
        except BaseException:
            smtp.close()
            raise

    async def _open(self, smtp: aiosmtplib.SMTP) -> None:
        """Connect (with STARTTLS as configured) and log in if credentials are set."""
        await smtp.connect()
        config = self.config
        if config.username is not None and config.password is not None:
            encrypted = smtp.get_transport_info("sslcontext") is not None
            if not encrypted and not _is_loopback(config.host):
                raise ConfigError(
                    "the SMTP server did not offer STARTTLS and the password is never sent "
                    'in clear to a remote host; use starttls = "required"'
                )
            await smtp.login(config.username, config.password.get_secret_value())

    async def _transmit(
        self, smtp: aiosmtplib.SMTP, message: EmailMessage, recipients: list[str]
    ) -> tuple[dict[str, Any], str]:
        await self._open(smtp)
        refused, reply = await smtp.send_message(
            message, sender=self.config.from_address, recipients=recipients
        )
        return dict(refused), reply

    def _message(
        self,
        notification: Notification,
        notice: RenderedNotice,
        recipients: list[str],
        message_id: str,
    ) -> EmailMessage:
        message = EmailMessage(policy=email.policy.SMTP)
        message["From"] = self.config.from_address
        message["To"] = ", ".join(recipients)
        message["Subject"] = notice.subject
        message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        message["Message-ID"] = message_id
        # RFC 3834: machine-sent; auto-responders must not answer it.
        message["Auto-Submitted"] = "auto-generated"
        # No notification id or idempotency key in the headers: a producer may build ids from
        # a UPN. The Message-ID (a hash of the key) and the body's reference identify it.
        message["X-Hub-Notification-Kind"] = notification.kind.value
        message.set_content(notice.body, subtype="plain", charset="utf-8")
        # After set_content, which replaces every Content-* header.
        message["Content-Language"] = notice.content_language
        return message


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    """Say goodbye; the message is already accepted, so a failure here changes nothing."""
    try:
        async with asyncio.timeout(_QUIT_SECONDS):
            await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()
