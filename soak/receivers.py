"""What each receiver applied, counted at the receiver itself.

Every emulator already de-duplicates in its own way (One and SIMS by Idempotency-Key, MyConcern
and CPOMS by external reference). The soak does not trust that: an innermost middleware watches
each creating request and counts an *application* whenever the receiver's state grew, keyed by
the idempotency key or external reference the hub sent. A key applied twice, or a key the hub
never recorded as delivered, is a duplicate."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from hub.sdk import verify_hmac_sha256
from hub.testing.faults import FaultPlan, install_faults

WEBHOOK_SECRET = "synthetic-soak-webhook-secret"
HOOK_FAULTS = web.AppKey("soak_hook_faults", FaultPlan)


@dataclass
class Applied:
    """Applications per key at one receiver."""

    name: str
    per_key: Counter[str] = field(default_factory=Counter)
    requests: int = 0

    @property
    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.per_key.items() if n > 1}


KeyOf = Callable[[web.Request, bytes], str]


def header_key(request: web.Request, body: bytes) -> str:
    return request.headers.get("Idempotency-Key", "")


def json_key(*path: str) -> KeyOf:
    def key(request: web.Request, body: bytes) -> str:
        try:
            value: Any = json.loads(body)
            for part in path:
                value = value[part]
        except (ValueError, KeyError, TypeError):
            return ""
        return str(value)

    return key


def recorder(
    applied: Applied, *, method: str, path_suffix: str, size: Callable[[], int], key: KeyOf
) -> Middleware:
    """Count an application when a `method` request to a path ending in `path_suffix` made
    `size()` grow."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != method or not request.path.endswith(path_suffix):
            return await handler(request)
        body = await request.read()
        applied.requests += 1
        before = size()
        try:
            return await handler(request)
        finally:
            if size() > before:
                applied.per_key[key(request, body)] += size() - before

    return record


@dataclass
class WebhookReceiver:
    """The LA's own endpoint for dual_absence_notice: verifies the signature, applies each
    idempotency key once and answers repeats as before."""

    applied: Applied = field(default_factory=lambda: Applied("webhook"))
    receipts: dict[str, str] = field(default_factory=dict)
    bad_signatures: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.applied.requests += 1
        if not verify_hmac_sha256(
            WEBHOOK_SECRET.encode(), body, request.headers.get("X-Hub-Signature-256")
        ):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return web.json_response({"error": "no Idempotency-Key"}, status=400)
        if key in self.receipts:
            return web.json_response({"id": self.receipts[key], "repeat": True})
        self.receipts[key] = f"hook-{len(self.receipts) + 1}"
        self.applied.per_key[key] += 1
        return web.json_response({"id": self.receipts[key]}, status=201)


def webhook_app(receiver: WebhookReceiver) -> web.Application:
    app = web.Application()
    install_faults(app, HOOK_FAULTS)
    app.router.add_post("/hook", receiver.handle)
    return app
