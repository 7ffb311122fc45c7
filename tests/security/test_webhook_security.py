"""Webhooks: a signature is required and checked in constant time; a replay changes nothing.

`POST /v1/webhooks/{connection}` takes no bearer token: the connection's adapter verifies the
vendor's HMAC over the raw body (`hub.sdk.verify_hmac_sha256`, `hmac.compare_digest`).
"""

from __future__ import annotations

import ast
import hmac
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from hub.plugins import PluginHost
from hub.sdk import Capability, sign_hmac_sha256, verify_hmac_sha256
from hub.store import MarkKey, MarkRepository, QuarantineRepository
from hub_contracts import Session
from tests.api.conftest import MONDAY, NOW, SCHOOL_A, UPN_A, WEBHOOK_SECRET, Api, mark_body

from .conftest import SQLITE_ONLY, Webhook, fingerprint

PATH = "/v1/webhooks/push-vendor"


def _push(code: str = "/", minutes: int = 0) -> Webhook:
    recorded = NOW.replace(minute=minutes)
    return Webhook.of(marks=[mark_body(UPN_A, SCHOOL_A.id, code=code, recorded_at=recorded)])


def _signed_with(secret: str, body: bytes) -> str:
    return "sha256=" + sign_hmac_sha256(secret.encode(), body)


@SQLITE_ONLY
@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="unsigned"),
        pytest.param("", id="empty"),
        pytest.param("sha256=", id="prefix-only"),
        pytest.param("sha256=" + "0" * 64, id="zeros"),
        pytest.param(lambda body: _signed_with("another-secret", body), id="wrong-secret"),
        pytest.param(lambda body: _signed_with(WEBHOOK_SECRET, body + b" "), id="other-body"),
        pytest.param(lambda body: _signed_with(WEBHOOK_SECRET, body)[:-2], id="truncated"),
        pytest.param("sha256=ÿ" * 8, id="not-ascii"),
    ],
)
async def test_an_unsigned_or_badly_signed_push_is_401_and_writes_nothing(
    world: Api, signature: str | Callable[[bytes], str] | None
) -> None:
    push = _push()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        value = signature(push.body) if callable(signature) else signature
        headers["X-Push-Signature"] = value.encode("utf-8").decode("latin-1")
    async with world.session() as session:
        before = await fingerprint(session)

    resp = await world.client.post(PATH, data=push.body, headers=headers)

    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_signature"
    async with world.session() as session:
        assert await fingerprint(session) == before


@SQLITE_ONLY
async def test_a_bearer_token_is_no_substitute_for_a_signature(world: Api) -> None:
    push = _push()
    headers = {"Content-Type": "application/json", **await world.as_("admin")}
    resp = await world.client.post(PATH, data=push.body, headers=headers)
    assert resp.status == 401


@SQLITE_ONLY
async def test_a_correctly_signed_push_is_ingested(world: Api) -> None:
    push = _push()
    resp = await world.client.post(PATH, data=push.body, headers=push.headers())
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["accepted"] == 1


@SQLITE_ONLY
async def test_the_signature_is_compared_with_hmac_compare_digest(
    world: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    push = _push()
    bad = {**push.headers(), "X-Push-Signature": "sha256=" + "a" * 64}
    assert (await world.client.post(PATH, data=push.body, headers=bad)).status == 401
    assert (await world.client.post(PATH, data=push.body, headers=push.headers())).status == 200
    assert len(calls) == 2, "each verification must go through hmac.compare_digest"


def test_the_sdk_verifier_uses_compare_digest_and_no_equality_test() -> None:
    source = textwrap.dedent(inspect.getsource(verify_hmac_sha256))
    assert "hmac.compare_digest" in source
    assert not _equality_tests_on_secrets(ast.parse(source))


def _webhook_adapters() -> list[type[Any]]:
    host = PluginHost()
    host.load()
    return [
        cls
        for cls in host.adapters.values()
        if Capability.RECEIVE_WEBHOOK in cls.manifest.capabilities
    ]


@pytest.mark.parametrize("adapter_cls", _webhook_adapters(), ids=lambda cls: cls.manifest.name)
def test_every_installed_webhook_adapter_verifies_in_constant_time(adapter_cls: type[Any]) -> None:
    """Source inspection of each installed plugin's `handle_webhook`: it calls the SDK verifier
    (or `hmac.compare_digest`) and never compares a signature, digest or secret with ==."""
    source = textwrap.dedent(inspect.getsource(adapter_cls.handle_webhook))
    tree = ast.parse(source)
    called = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert called & {"verify_hmac_sha256", "compare_digest"}, adapter_cls.manifest.name
    assert not _equality_tests_on_secrets(tree), adapter_cls.manifest.name


def test_at_least_one_installed_plugin_receives_webhooks() -> None:
    # Guards the parametrized test above against passing vacuously.
    assert _webhook_adapters()


def _equality_tests_on_secrets(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
        ):
            text = ast.unparse(node).lower()
            if any(word in text for word in ("signature", "digest", "secret", "hmac")):
                found.append(ast.unparse(node))
    return found


@SQLITE_ONLY
async def test_a_replayed_push_is_ingested_once(world: Api) -> None:
    push = _push()
    first = await world.client.post(PATH, data=push.body, headers=push.headers(delivery="d-7"))
    assert first.status == 200
    assert world.rules.calls and len(world.rules.calls) == 1
    async with world.session() as session:
        before = await fingerprint(session)

    again = await world.client.post(PATH, data=push.body, headers=push.headers(delivery="d-7"))

    assert again.status == 200
    async with world.session() as session:
        assert await fingerprint(session) == before, "a replay changed stored state"
    assert len(world.rules.calls) == 1, "the rules ran again for a replay"


@SQLITE_ONLY
async def test_a_late_replay_of_an_older_push_does_not_undo_a_newer_one(world: Api) -> None:
    older, newer = _push("/", minutes=0), _push("N", minutes=30)
    for push in (older, newer):
        resp = await world.client.post(PATH, data=push.body, headers=push.headers())
        assert resp.status == 200
    async with world.session() as session:
        before = await fingerprint(session)

    resp = await world.client.post(PATH, data=older.body, headers=older.headers())

    assert resp.status == 200
    async with world.session() as session:
        assert await fingerprint(session) == before
        current = await MarkRepository(session).current(
            MarkKey(UPN_A, SCHOOL_A.id, MONDAY, Session.AM)
        )
        assert await QuarantineRepository(session).count() == 0
    assert current is not None and current.code == "N"


def test_signing_and_verifying_agree() -> None:
    body = b'{"synthetic": true}'
    signature = sign_hmac_sha256(b"k", body)
    assert verify_hmac_sha256(b"k", body, signature)
    assert verify_hmac_sha256(b"k", body, f"SHA256={signature.upper()}")
    assert not verify_hmac_sha256(b"", body, signature)
