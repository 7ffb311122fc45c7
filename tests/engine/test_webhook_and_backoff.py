"""The built-in webhook notifier over real HTTP, its registration, and the backoff arithmetic."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub.engine.backoff import Backoff
from hub.engine.destinations import Destinations
from hub.engine.http import ConnectionHttpClient
from hub.notify.webhook import WebhookConfig, WebhookNotifier
from hub.plugins import PluginHost
from hub.sdk import (
    AuthError,
    ConfigError,
    ContractViolation,
    PermanentError,
    RateLimited,
    TransientError,
    sign_hmac_sha256,
)


async def _notifier_for(
    handler: Any,
) -> tuple[WebhookNotifier, web.AppRunner, aiohttp.ClientSession]:
    app = web.Application()
    app.router.add_route("*", "/hook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    session = aiohttp.ClientSession()
    config = WebhookConfig(url=url, secret="synthetic-secret")  # type: ignore[arg-type]
    http = ConnectionHttpClient(session, connection_name="hook", allowed_hosts=(), base_url=url)
    return WebhookNotifier(config, http=http), runner, session


async def test_posts_signed_json_with_the_idempotency_key(kit: Any) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.json_response({"id": 4711}, status=202)

    notifier, runner, session = await _notifier_for(handler)
    notification = kit.notification(1)
    try:
        receipt = await notifier.send(notification, "key-1")
    finally:
        await session.close()
        await runner.cleanup()

    ((headers, body),) = received
    assert headers["Idempotency-Key"] == "key-1"
    assert headers["X-Hub-Signature-256"] == "sha256=" + sign_hmac_sha256(b"synthetic-secret", body)
    assert headers["X-Hub-Notification-Kind"] == "deletion_return"
    assert json.loads(body) == notification.model_dump(mode="json")
    assert (receipt.idempotency_key, receipt.external_ref, receipt.detail) == (
        "key-1",
        "4711",
        "HTTP 202",
    )
    assert receipt.notification_id == notification.id


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        pytest.param(503, {}, TransientError, id="503"),
        pytest.param(429, {"Retry-After": "7"}, RateLimited, id="429"),
        pytest.param(401, {}, AuthError, id="401"),
        pytest.param(400, {}, PermanentError, id="400"),
        pytest.param(302, {"Location": "http://127.0.0.1:9/"}, PermanentError, id="redirect"),
    ],
)
async def test_failures_are_classified(
    kit: Any, status: int, headers: dict[str, str], error: type[Exception]
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers=headers, text="synthetic")

    notifier, runner, session = await _notifier_for(handler)
    try:
        with pytest.raises(error) as raised:
            await notifier.send(kit.notification(1), "key-1")
    finally:
        await session.close()
        await runner.cleanup()
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after == 7


async def test_an_answer_without_an_id_is_still_delivered(kit: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=204)

    notifier, runner, session = await _notifier_for(handler)
    try:
        receipt = await notifier.send(kit.notification(1), "key-1")
    finally:
        await session.close()
        await runner.cleanup()
    assert receipt.external_ref is None


async def test_without_the_core_http_client_send_is_a_config_error(kit: Any) -> None:
    config = WebhookConfig(url="http://127.0.0.1:9/hook", secret="s")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        await WebhookNotifier(config).send(kit.notification(1), "key-1")


def test_the_installed_core_plugin_registers_the_webhook_notifier() -> None:
    host = PluginHost()  # the real entry points of the installed distributions
    host.load()
    assert host.notifiers["webhook"] is WebhookNotifier
    (core,) = [info for info in host.inventory() if info.name == "core"]
    assert (core.status, core.notifiers, core.distribution) == (
        "loaded",
        ("webhook", "email"),
        "attendance-hub",
    )
    assert "secret" in host.sensitive_fields()


async def test_notifier_connections_resolve_secret_references_and_refuse_inline_ones(
    kit: Any, plugins_with: Any
) -> None:
    plugins = plugins_with()
    good = kit.settings("sqlite+aiosqlite:///unused.db", webhook_url="http://127.0.0.1:9/hook")
    destinations = Destinations(good, plugins, environ=kit.ENVIRON)
    notifier = destinations.get("la-hook")
    assert isinstance(notifier, WebhookNotifier)
    assert notifier.config.secret.get_secret_value() == kit.SECRET
    await destinations.close()

    inline = kit.settings(
        "sqlite+aiosqlite:///unused.db",
        connections=[{"name": "x", "plugin": "webhook", "url": "http://a.example/", "secret": "s"}],
    )
    with pytest.raises(ConfigError, match="secret: a secret must be a reference"):
        Destinations(inline, plugins, environ={}).get("x")
    missing_url = kit.settings(
        "sqlite+aiosqlite:///unused.db",
        connections=[{"name": "x", "plugin": "webhook", "secret": "env:X"}],
    )
    with pytest.raises(ConfigError, match=r"connections\.x\.url"):
        Destinations(missing_url, plugins, environ={"X": "s"}).get("x")


@pytest.mark.parametrize(
    ("failures", "low", "high"),
    [
        pytest.param(1, 2.0, 4.0, id="first: initial plus jitter"),
        pytest.param(2, 4.0, 6.0, id="second: doubled"),
        pytest.param(4, 16.0, 18.0, id="fourth"),
        pytest.param(30, 60.0, 60.0, id="capped at the maximum"),
    ],
)
def test_backoff_is_exponential_with_jitter_and_capped(
    failures: int, low: float, high: float
) -> None:
    backoff = Backoff(initial=2.0, maximum=60.0)
    delays = [backoff.delay(failures, TransientError("x")) for _ in range(50)]
    assert all(low <= d <= high for d in delays), delays


def test_backoff_uses_retry_after_as_given_even_above_the_cap() -> None:
    backoff = Backoff(initial=2.0, maximum=60.0)
    assert backoff.delay(1, RateLimited(7)) == 7
    assert backoff.delay(9, RateLimited(600)) == 600
    assert 2.0 <= backoff.delay(1, RateLimited(None)) <= 4.0


async def test_a_2xx_claiming_json_that_is_not_json_is_a_garbled_reply(kit: Any) -> None:
    # Found by the crash soak: a 200 "application/json" error page is not proof of delivery.
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=200, body=b"<html>cut sho", content_type="application/json")

    notifier, runner, session = await _notifier_for(handler)
    try:
        with pytest.raises(ContractViolation, match="claims to be JSON"):
            await notifier.send(kit.notification(1), "key-1")
    finally:
        await session.close()
        await runner.cleanup()


async def test_a_plain_text_ok_is_still_a_delivery(kit: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=200, text="OK")

    notifier, runner, session = await _notifier_for(handler)
    try:
        receipt = await notifier.send(kit.notification(1), "key-1")
    finally:
        await session.close()
        await runner.cleanup()
    assert receipt.external_ref is None
