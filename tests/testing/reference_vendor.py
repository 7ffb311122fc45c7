"""A tiny vendor for the conformance kit's own tests: an emulator, a well-behaved adapter, and
adapters that each break one rule of the plugin contract (one per check of the kit).

The "roster" API: ``GET /api/learners?since=N`` pages learners in change order (``seq``), four
a page, ``next`` while more remain and ``as_of`` the newest change; ``POST /api/marks`` and
``POST /api/concerns`` honour ``Idempotency-Key``; ``GET /api/concerns/{id}`` reads a status.
Every ``/api`` request needs ``X-Api-Key``. All data is synthetic.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import structlog
from aiohttp import web
from pydantic import AnyHttpUrl, SecretStr

from hub.sdk import (
    Adapter,
    AdapterConfig,
    AdapterManifest,
    AuthError,
    Capability,
    ContractViolation,
    HttpResponse,
    Page,
    PermanentError,
    RecordOutcome,
    TransientError,
    WebhookRecord,
    WriteResult,
    verify_hmac_sha256,
)
from hub.testing.faults import FaultPlan, honour_empty_last_page, install_faults
from hub_contracts import (
    AttendanceMark,
    DeliveryReceipt,
    Learner,
    Notification,
    Session,
    make_upn,
)

log = structlog.get_logger(__name__)

API_KEY = "reference-api-key-0001"
WEBHOOK_SECRET = "reference-webhook-secret-0001"
PAGE_SIZE = 4
LEARNERS = 10


@dataclass
class RosterState:
    learners: list[dict[str, Any]] = field(default_factory=list)
    concerns: dict[str, str] = field(default_factory=dict)  # idempotency key -> concern id
    mark_keys: set[str] = field(default_factory=set)
    mark_writes: int = 0

    def seed(self, count: int = LEARNERS) -> None:
        for n in range(1, count + 1):
            self.learners.append(
                {
                    "seq": n,
                    "upn": make_upn(f"99999993{n:04d}"),
                    "given": f"Kitforename{n:02d}",
                    "family": f"Kitsurname{n:02d}",
                    "dob": "2016-03-01",
                }
            )


ROSTER = web.AppKey("roster", RosterState)
ROSTER_FAULTS = web.AppKey("roster_faults", FaultPlan)


@web.middleware
async def require_key(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/api/") and request.headers.get("X-Api-Key") != API_KEY:
        return web.json_response({"error": "bad key"}, status=401)
    return await handler(request)  # type: ignore[no-any-return]


async def list_learners(request: web.Request) -> web.Response:
    state = request.app[ROSTER]
    since = int(request.query.get("since", "0"))
    rows = [row for row in state.learners if row["seq"] > since]
    chunk = rows[:PAGE_SIZE]
    more = len(rows) > PAGE_SIZE
    if not more and chunk and honour_empty_last_page(request):
        more = True
    as_of = max((row["seq"] for row in state.learners), default=0)
    body = {"items": chunk, "next": chunk[-1]["seq"] if more else None, "as_of": as_of}
    return web.json_response(body)


async def write_marks(request: web.Request) -> web.Response:
    state = request.app[ROSTER]
    payload = await request.json()
    key = request.headers.get("Idempotency-Key", "")
    if key not in state.mark_keys:
        state.mark_keys.add(key)
        state.mark_writes += 1
    return web.json_response({"results": [{"ok": True} for _ in payload["marks"]]})


async def raise_concern(request: web.Request) -> web.Response:
    state = request.app[ROSTER]
    key = request.headers.get("Idempotency-Key", "")
    concern_id = state.concerns.setdefault(key, f"C-{len(state.concerns) + 1}")
    return web.json_response({"id": concern_id})


async def concern_status(request: web.Request) -> web.Response:
    state = request.app[ROSTER]
    if request.match_info["id"] not in state.concerns.values():
        return web.json_response({"error": "no such concern"}, status=404)
    return web.json_response({"status": "acknowledged"})


def build_roster_app() -> web.Application:
    app = web.Application(middlewares=[require_key])
    app[ROSTER] = RosterState()
    install_faults(app, ROSTER_FAULTS)
    app.router.add_get("/api/learners", list_learners)
    app.router.add_post("/api/marks", write_marks)
    app.router.add_post("/api/concerns", raise_concern)
    app.router.add_get("/api/concerns/{id}", concern_status)
    return app


# --- the well-behaved adapter -------------------------------------------------------------


class RosterConfig(AdapterConfig):
    base_url: AnyHttpUrl
    api_key: SecretStr
    webhook_secret: SecretStr


CAPABILITIES = frozenset(
    {
        Capability.READ_LEARNERS,
        Capability.WRITE_MARKS,
        Capability.RAISE_CONCERN,
        Capability.READ_CONCERN_STATUS,
        Capability.RECEIVE_WEBHOOK,
    }
)


class RosterAdapter(Adapter[RosterConfig]):
    manifest: ClassVar[AdapterManifest] = AdapterManifest(
        name="roster",
        display_name="Roster (kit self-test)",
        capabilities=CAPABILITIES,
        config_model=RosterConfig,
    )

    @property
    def base(self) -> str:
        return str(self.config.base_url).rstrip("/")

    def classify(self, response: HttpResponse) -> None:
        response.raise_for_status()

    def parse(self, response: HttpResponse) -> dict[str, Any]:
        body = response.json()
        if not isinstance(body, dict):
            raise ContractViolation("not an object")
        return body

    async def call(
        self, method: str, path: str, *, key: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = {"X-Api-Key": self.config.api_key.get_secret_value()}
        if key is not None:
            headers["Idempotency-Key"] = key
        response = await self.http.request(method, self.base + path, headers=headers, **kwargs)
        self.classify(response)
        return self.parse(response)

    async def check(self) -> None:
        await self.call("GET", "/api/learners", params={"since": 10**9})

    def learner(self, item: Mapping[str, Any]) -> Learner:
        return Learner(
            upn=item["upn"],
            given_name=item["given"],
            family_name=item["family"],
            date_of_birth=dt.date.fromisoformat(item["dob"]),
        )

    def next_since(self, since: int, items: Sequence[Mapping[str, Any]]) -> int:
        return int(items[-1]["seq"]) if items else since

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        since = int(json.loads(cursor)["since"]) if cursor else 0
        body = await self.call("GET", "/api/learners", params={"since": since})
        items = body.get("items")
        if not isinstance(items, list):
            raise ContractViolation("no items")
        try:
            records = [self.learner(item) for item in items]
        except (KeyError, TypeError, ValueError):
            raise ContractViolation("a roster learner does not fit the contract") from None
        following = json.dumps({"since": self.next_since(since, items)})
        return Page(records, following, has_more=body.get("next") is not None)

    async def write_marks(
        self, batch: Sequence[AttendanceMark], idempotency_key: str
    ) -> WriteResult:
        marks = [m.model_dump(mode="json") for m in batch]
        body = await self.call("POST", "/api/marks", key=idempotency_key, json={"marks": marks})
        results = body.get("results", [])
        return WriteResult([RecordOutcome(i, bool(r.get("ok"))) for i, r in enumerate(results)])

    async def raise_concern(self, alert: Notification, idempotency_key: str) -> DeliveryReceipt:
        body = await self.call(
            "POST", "/api/concerns", key=idempotency_key, json={"kind": alert.kind.value}
        )
        return DeliveryReceipt(
            notification_id=alert.id,
            recipient="roster",
            idempotency_key=idempotency_key,
            external_ref=str(body["id"]),
            delivered_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        )

    async def concern_status(self, external_ref: str) -> str:
        body = await self.call("GET", f"/api/concerns/{external_ref}")
        return str(body["status"])

    async def handle_webhook(self, headers: Mapping[str, str], body: bytes) -> Page[WebhookRecord]:
        secret = self.config.webhook_secret.get_secret_value().encode()
        if not verify_hmac_sha256(secret, body, headers.get("x-signature")):
            raise AuthError("bad signature")
        return Page([self.learner(item) for item in json.loads(body)["items"]])


def sample_marks() -> list[AttendanceMark]:
    return [
        AttendanceMark(
            upn=make_upn(f"99999993{n:04d}"),
            setting_id="6799998",
            date=dt.date(2026, 1, 5),
            session=Session.AM,
            code="/",
            source="hub",
            recorded_at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
        )
        for n in (1, 2)
    ]


# --- adapters that each break one rule -----------------------------------------------------


def _manifest(name: str, **changes: Any) -> AdapterManifest:
    fields: dict[str, Any] = {
        "name": name,
        "display_name": f"bad adapter: {name}",
        "capabilities": CAPABILITIES,
        "config_model": RosterConfig,
        **changes,
    }
    return AdapterManifest(**fields)


class UndeclaredMethod(RosterAdapter):
    """Declares read_roll without implementing it."""

    manifest = _manifest("undeclared", capabilities=CAPABILITIES | {Capability.READ_ROLL})


class PlainSecretConfig(AdapterConfig):
    base_url: AnyHttpUrl
    api_key: str
    webhook_secret: SecretStr


class PlainSecret(RosterAdapter):
    """Keeps its API key in a plain str field."""

    manifest = _manifest("plainsecret", config_model=PlainSecretConfig)


class BrokenCheck(RosterAdapter):
    manifest = _manifest("brokencheck")

    async def check(self) -> None:
        raise PermanentError("check is broken")


class CheckWithoutVendor(RosterAdapter):
    """check() never asks the vendor, so rejected credentials go unnoticed."""

    manifest = _manifest("lazycheck")

    async def check(self) -> None:
        return None


class InvalidRecords(RosterAdapter):
    manifest = _manifest("invalid")

    def learner(self, item: Mapping[str, Any]) -> Learner:
        return Learner.model_construct(
            upn="NOT-A-UPN",
            given_name=item["given"],
            family_name=item["family"],
            date_of_birth=dt.date(2016, 3, 1),
        )


class DuplicateKeys(RosterAdapter):
    manifest = _manifest("duplicates")

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        page = await super().read_learners(cursor)
        return Page([*page.records, *page.records], page.next_cursor, page.has_more)


class NoFinalCursor(RosterAdapter):
    manifest = _manifest("nocursor")

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        page = await super().read_learners(cursor)
        return page if page.has_more else Page(page.records, None, False)


class RewindingCursor(RosterAdapter):
    """Ends every run with a cursor pointing back to the start."""

    manifest = _manifest("rewinding")

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        page = await super().read_learners(cursor)
        return page if page.has_more else Page(page.records, json.dumps({"since": 0}), False)


class InMemoryPaging(RosterAdapter):
    """Keeps the paging position in memory; the cursor jumps to the high-water mark at once."""

    manifest = _manifest("inmemory")

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        since = getattr(self, "_position", None)
        if since is None:
            since = int(json.loads(cursor)["since"]) if cursor else 0
        body = await self.call("GET", "/api/learners", params={"since": since})
        items = body["items"]
        self._position = self.next_since(since, items)
        more = body.get("next") is not None
        # The cursor names the high-water mark (and the page, so it changes every page).
        following = json.dumps({"since": body["as_of"], "page": self._position})
        if not more:
            del self._position
        return Page([self.learner(i) for i in items], following, more)


class SwallowsCancellation(RosterAdapter):
    manifest = _manifest("swallowscancel")

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        try:
            return await super().read_learners(cursor)
        except asyncio.CancelledError:
            return Page([], cursor, has_more=False)


class RateLimitAsTransient(RosterAdapter):
    """Drops the Retry-After hint."""

    manifest = _manifest("noretryafter")

    def classify(self, response: HttpResponse) -> None:
        if response.status == 429:
            raise TransientError("throttled")
        response.raise_for_status()


class AuthAsTransient(RosterAdapter):
    manifest = _manifest("authtransient")

    def classify(self, response: HttpResponse) -> None:
        if response.status == 401:
            raise TransientError("unauthorised, will retry")
        response.raise_for_status()


class ServerErrorAsPermanent(RosterAdapter):
    manifest = _manifest("servererrorpermanent")

    def classify(self, response: HttpResponse) -> None:
        if response.status >= 500:
            raise PermanentError("server error")
        response.raise_for_status()


class CrashesOnBadJson(RosterAdapter):
    """Parses bodies with json.loads and lets its exception escape."""

    manifest = _manifest("crashesonjson")

    def parse(self, response: HttpResponse) -> dict[str, Any]:
        return dict(json.loads(response.body))


class SwallowsErrors(RosterAdapter):
    """Turns any failure into an empty last page: a silently short read."""

    manifest = _manifest("swallowserrors")

    async def read_learners(self, cursor: str | None) -> Page[Learner]:
        try:
            return await super().read_learners(cursor)
        except (TransientError, ContractViolation):
            return Page([], cursor or json.dumps({"since": 0}), has_more=False)


class BreaksOnEmptyPage(RosterAdapter):
    """Takes the next cursor from the last record, which an empty page does not have."""

    manifest = _manifest("emptypage")

    def next_since(self, since: int, items: Sequence[Mapping[str, Any]]) -> int:
        return int(items[-1]["seq"])


class IgnoresIdempotencyKey(RosterAdapter):
    manifest = _manifest("ignoreskey")

    async def call(
        self, method: str, path: str, *, key: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return await super().call(method, path, key=str(uuid.uuid4()) if key else None, **kwargs)


class UnverifiedWebhook(RosterAdapter):
    manifest = _manifest("unverified")

    async def handle_webhook(self, headers: Mapping[str, str], body: bytes) -> Page[WebhookRecord]:
        return Page([self.learner(item) for item in json.loads(body)["items"]])


class LogsSecret(RosterAdapter):
    manifest = _manifest("logssecret")

    async def check(self) -> None:
        log.info("checking", header=self.config.api_key.get_secret_value())
        await super().check()


class LogsNames(RosterAdapter):
    manifest = _manifest("logsnames")

    def learner(self, item: Mapping[str, Any]) -> Learner:
        log.debug("learner_mapped", who=f"{item['given']} {item['family']}")
        return super().learner(item)


class UpnInErrors(RosterAdapter):
    manifest = _manifest("upninerrors")

    async def write_marks(
        self, batch: Sequence[AttendanceMark], idempotency_key: str
    ) -> WriteResult:
        try:
            return await super().write_marks(batch, idempotency_key)
        except TransientError as exc:
            raise TransientError(f"could not write the mark of {batch[0].upn}") from exc
