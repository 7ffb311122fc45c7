"""Real SMTP servers on loopback (aiosmtpd) and synthetic notifications for the e-mail tests.

Everything is synthetic: LA 999, "Test Learner" names, addresses under ``.example``.
Servers are reached through fixtures; the synthetic notifications live in `synthetic.py`.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from hub.notify.email import EmailConfig, EmailNotifier
from hub_contracts import Notification
from tests.notify.smtp_servers import Certificate, Mailbox, SmtpServer, free_port
from tests.notify.synthetic import notification

# --- servers ---------------------------------------------------------------------------------


StartServer = Callable[..., SmtpServer]


@pytest.fixture
def start_smtp() -> Iterator[StartServer]:
    """`start_smtp(mailbox=None, tls_context=None, auth=False)`: a real aiosmtpd server on
    127.0.0.1 (in its own thread, as aiosmtpd runs), stopped after the test."""
    controllers: list[Controller] = []

    def start(
        mailbox: Mailbox | None = None,
        *,
        tls_context: ssl.SSLContext | None = None,
        auth: bool = False,
    ) -> SmtpServer:
        box = mailbox or Mailbox()
        kwargs: dict[str, Any] = {}
        if tls_context is not None:
            kwargs["tls_context"] = tls_context
        if auth:
            # AUTH offered, on loopback also without TLS; "auth_required" without TLS would
            # make aiosmtpd warn (an error here), so "530 authentication required" is a reply
            # the Mailbox gives at MAIL instead (`refuse`).
            kwargs["authenticator"] = box.authenticate
            kwargs["auth_require_tls"] = tls_context is not None
        port = free_port()
        controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=10.0, **kwargs)
        controller.start()
        controllers.append(controller)
        return SmtpServer(box, "127.0.0.1", port)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made with the openssl command (the venv has no
    `cryptography` package)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed: cannot make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=attendance-hub test SMTP server",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return Certificate(cert, key)


# --- notifier and notifications ---------------------------------------------------------------


MakeNotifier = Callable[..., EmailNotifier]


@pytest.fixture
def make_notifier() -> MakeNotifier:
    """`make_notifier(server, **config)`: an EmailNotifier for `server` (plain SMTP unless
    `starttls` is given), sending to cme@la999.example by default."""

    def make(server: SmtpServer, **overrides: Any) -> EmailNotifier:
        options: dict[str, Any] = {
            "host": server.host,
            "port": server.port,
            "starttls": "off",
            "from_address": "attendance-hub@school.example",
            "to": "attendance@la999.example",
            "timeout_seconds": 10.0,
        } | overrides
        return EmailNotifier(EmailConfig.model_validate(options))

    return make


@pytest.fixture
def make_notification() -> Callable[..., Notification]:
    return notification
