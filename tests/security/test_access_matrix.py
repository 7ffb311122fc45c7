"""The access-control matrix: every endpoint of `hub.api.routes.ROUTES` × every kind of caller,
as ONE table-driven test (issue 10, item 4).

Callers: `admin`; `la:999` (the target's LA) and `la:888` (another LA); `setting:9990001` (the
target setting) and `setting:8880001` (another setting); no token; an expired, a revoked and
a garbage token. Every request aims at something of LA 999: school A, learner A, a finding
about them, a pending deletion that needs school A's consent.

Outcomes: ALLOW (2xx and the target is in the answer), DENY (403 `forbidden`), HIDE (404: a
read must not reveal that the learner exists), FILTER (2xx, but the target is left out of a
list, or the mark is rejected as `forbidden` and quarantined), UNAUTH (401). A refused request
(DENY, HIDE, UNAUTH, FILTER) must leave every table as it was, bar the quarantine row a
FILTERed mark leaves.

`test_the_matrix_covers_every_route` fails when a route is added without a row here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.api.routes import ROUTES
from hub.api.routing import Access
from hub.deletions import request_deletion
from hub.notifications import OutboxSink
from hub.plugins import PluginHost
from hub.runtime import HubRuntime
from hub.settings import HubSettings
from hub.store import (
    CalendarRepository,
    DiscrepancyRepository,
    LearnerRepository,
    NotificationRepository,
    RegistrationRepository,
    SettingRepository,
    TokenRepository,
    create_engine,
    session_factory,
)
from hub_contracts import (
    Discrepancy,
    Notification,
    Registration,
    RollDeletionRequest,
    SchoolCalendar,
    make_upn,
)
from tests.api.conftest import (
    MONDAY,
    NOW,
    PROVIDER_A,
    SCHOOL_A,
    SCHOOL_B,
    UPN_A,
    WEBHOOK_SECRET,
    Api,
    learner,
    mark_body,
)

from .conftest import PRU_A, PUSH_SECRET_ENV, fingerprint, hub_settings, running_api


class Outcome(Enum):
    ALLOW = "allow"
    DENY = "deny"
    HIDE = "hide"
    FILTER = "filter"
    UNAUTH = "unauth"


ALLOW, DENY, HIDE, FILTER, UNAUTH = Outcome

#: The callers, in the order of each row's expectations.
GOOD_SCOPES = ("admin", "la_own", "la_other", "setting_own", "setting_other")
BAD_TOKENS = ("no_token", "expired", "revoked", "garbage")
SCOPE_OF = {
    "admin": "admin",
    "la_own": "la:999",
    "la_other": "la:888",
    "setting_own": f"setting:{SCHOOL_A.id}",
    "setting_other": f"setting:{SCHOOL_B.id}",
}

# A dual-registered learner (main at school A, subsidiary at a PRU of LA 999) whose deletion
# from the PRU waits for school A's consent (Wales reg 8(1)(c)).
UPN_DUAL = make_upn("999000120009")
DISCREPANCY_ID = "matrix-discrepancy-a"
NOTIFICATION_ID = "matrix-notification-a"
SCHOOL_DAYS = tuple(MONDAY + dt.timedelta(days=d) for d in range(-21, 22) if d % 7 < 5)


# --- what each row sends and how it recognises its target -------------------------------------


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    json: Any = None
    #: Given the reply's JSON, is the target in it (for ALLOW / FILTER)?
    found: Callable[[Any], bool] | None = None
    #: Expected outcome for each of GOOD_SCOPES.
    expect: Mapping[str, Outcome] = field(default_factory=dict)


def _all(outcome: Outcome) -> dict[str, Outcome]:
    return dict.fromkeys(GOOD_SCOPES, outcome)


def _scoped(la_own: Outcome, setting_own: Outcome, other: Outcome) -> dict[str, Outcome]:
    """admin always allowed; the other LA and the other setting get `other`."""
    return {
        "admin": ALLOW,
        "la_own": la_own,
        "la_other": other,
        "setting_own": setting_own,
        "setting_other": other,
    }


def _has_id(wanted: str) -> Callable[[Any], bool]:
    return lambda body: any(item.get("id") == wanted for item in body["items"])


def _accepted(body: Any) -> bool:
    if body["accepted"] == 1:
        return True
    assert [r["error"]["code"] for r in body["rejected"]] == ["forbidden"], body
    return False


def _mark_json() -> dict[str, Any]:
    return {"marks": [mark_body(UPN_A, SCHOOL_A.id)]}


def _consent_path(decision_id: str) -> str:
    return f"/v1/roll-deletions/{decision_id}/consents/{SCHOOL_A.id}"


#: (method, path template) -> how to probe it. `{decision}` is filled in per test.
MATRIX: dict[tuple[str, str], Probe] = {
    ("GET", "/healthz"): Probe("GET", "/healthz", expect=_all(ALLOW)),
    ("GET", "/readyz"): Probe("GET", "/readyz", expect=_all(ALLOW)),
    ("GET", "/metrics"): Probe("GET", "/metrics", expect=_all(ALLOW)),
    ("GET", "/v1/openapi.json"): Probe("GET", "/v1/openapi.json", expect=_all(ALLOW)),
    ("PUT", "/v1/settings/{id}"): Probe(
        "PUT",
        f"/v1/settings/{SCHOOL_A.id}",
        SCHOOL_A.model_dump(mode="json"),
        expect=_scoped(la_own=ALLOW, setting_own=DENY, other=DENY),
    ),
    ("PUT", "/v1/settings/{id}/calendar"): Probe(
        "PUT",
        f"/v1/settings/{SCHOOL_A.id}/calendar",
        {"school_days": [MONDAY.isoformat()]},
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=DENY),
    ),
    ("PUT", "/v1/learners/{upn}"): Probe(
        "PUT",
        f"/v1/learners/{UPN_A}",
        learner(UPN_A, given_name="Renamed").model_dump(mode="json"),
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=DENY),
    ),
    ("POST", "/v1/registrations"): Probe(
        "POST",
        "/v1/registrations",
        {"upn": UPN_A, "setting_id": SCHOOL_A.id, "status": "single", "start_date": "2025-11-10"},
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=DENY),
    ),
    ("POST", "/v1/eotas-placements"): Probe(
        "POST",
        "/v1/eotas-placements",
        {
            "upn": UPN_A,
            "school_id": SCHOOL_A.id,
            "provider_id": PROVIDER_A.id,
            "sessions": [{"weekday": 1, "session": "AM"}],
            "start_date": "2025-11-10",
        },
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=DENY),
    ),
    ("POST", "/v1/marks"): Probe(
        "POST",
        "/v1/marks",
        _mark_json(),
        found=_accepted,
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=FILTER),
    ),
    ("GET", "/v1/learners/{upn}/marks"): Probe(
        "GET",
        f"/v1/learners/{UPN_A}/marks",
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=HIDE),
    ),
    ("GET", "/v1/learners/{upn}/attendance"): Probe(
        "GET",
        f"/v1/learners/{UPN_A}/attendance",
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=HIDE),
    ),
    ("GET", "/v1/discrepancies"): Probe(
        "GET",
        "/v1/discrepancies",
        found=_has_id(DISCREPANCY_ID),
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=FILTER),
    ),
    ("GET", "/v1/notifications"): Probe(
        "GET",
        "/v1/notifications",
        found=_has_id(NOTIFICATION_ID),
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=FILTER),
    ),
    ("POST", "/v1/roll-deletions"): Probe(
        "POST",
        "/v1/roll-deletions",
        {
            "upn": UPN_A,
            "setting_id": SCHOOL_A.id,
            "ground": "wales-2010:8(1)(j)",
            "effective_date": "2025-11-05",
            "evidence": {"date_of_death_notified": "2025-11-04"},
            "dry_run": True,
        },
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=DENY),
    ),
    ("POST", "/v1/roll-deletions/{id}/consents/{setting_id}"): Probe(
        "POST",
        _consent_path("{decision}"),
        expect=_scoped(la_own=ALLOW, setting_own=ALLOW, other=DENY),
    ),
    ("POST", "/v1/returns/absence"): Probe(
        "POST",
        "/v1/returns/absence?la_code=999&as_of=2025-11-07",
        expect=_scoped(la_own=ALLOW, setting_own=DENY, other=DENY),
    ),
    ("GET", "/v1/plugins"): Probe(
        "GET", "/v1/plugins", expect=_scoped(la_own=DENY, setting_own=DENY, other=DENY)
    ),
    ("GET", "/v1/connections"): Probe(
        "GET", "/v1/connections", expect=_scoped(la_own=DENY, setting_own=DENY, other=DENY)
    ),
    # Webhooks authenticate by the vendor's signature, never by a bearer token: every caller
    # here sends none, so every caller is refused (signatures: test_webhook_security.py).
    ("POST", "/v1/webhooks/{connection}"): Probe(
        "POST",
        "/v1/webhooks/push-vendor",
        {"marks": [mark_body(UPN_A, SCHOOL_A.id)]},
        expect=_all(UNAUTH),
    ),
}


def _expected(route_key: tuple[str, str], caller: str) -> Outcome:
    probe = MATRIX[route_key]
    access = next(r.access for r in ROUTES if (r.method, r.path) == route_key)
    if caller in BAD_TOKENS:
        return ALLOW if access is Access.PUBLIC else UNAUTH
    return probe.expect[caller]


ROWS = [
    pytest.param(key, caller, id=f"{key[0]} {key[1]} as {caller}")
    for key in MATRIX
    for caller in (*GOOD_SCOPES, *BAD_TOKENS)
]


def test_the_matrix_covers_every_route() -> None:
    declared = {(r.method, r.path) for r in ROUTES}
    assert set(MATRIX) == declared, (
        f"routes without a row: {sorted(declared - set(MATRIX))}; "
        f"rows without a route: {sorted(set(MATRIX) - declared)}"
    )
    for key, probe in MATRIX.items():
        assert set(probe.expect) == set(GOOD_SCOPES), key


# --- the world every row starts from ---------------------------------------------------------


async def _seed(database_url: str) -> str:
    """Seed the API tests' world plus a finding, a notification and a pending deletion;
    returns the pending decision's id."""
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    plugins = PluginHost(entry_points=[])
    runtime = HubRuntime(
        settings=HubSettings(database_url=database_url),
        engine=engine,
        sessions=sessions,
        plugins=plugins,
    )
    try:
        await Api(client=None, runtime=runtime, rules=None, metrics=None).seed()  # type: ignore[arg-type]
        return await _seed_matrix_records(sessions, plugins)
    finally:
        await engine.dispose()


async def _seed_matrix_records(
    sessions: async_sessionmaker[AsyncSession], plugins: PluginHost
) -> str:
    async with sessions() as session, session.begin():
        await SettingRepository(session).upsert(PRU_A)
        await LearnerRepository(session).upsert(
            learner(UPN_DUAL, address="9 Heol Ffug, Synthetic Town")
        )
        regs = RegistrationRepository(session)
        for setting_id, status in ((SCHOOL_A.id, "main"), (PRU_A.id, "subsidiary")):
            await regs.add(
                Registration.model_validate(
                    {
                        "upn": UPN_DUAL,
                        "setting_id": setting_id,
                        "status": status,
                        "start_date": "2025-09-01",
                    }
                )
            )
        for setting in (SCHOOL_A, PRU_A):
            await CalendarRepository(session).replace(
                SchoolCalendar(setting_id=setting.id, school_days=SCHOOL_DAYS)
            )
        await DiscrepancyRepository(session).record(
            Discrepancy.model_validate(
                {
                    "id": DISCREPANCY_ID,
                    "kind": "dual_missing_mark",
                    "severity": "warning",
                    "upn": UPN_A,
                    "date": MONDAY,
                    "session": "AM",
                    "setting_ids": [SCHOOL_A.id],
                    "detail": "synthetic finding for the access matrix",
                }
            ),
            now=NOW,
        )
        await NotificationRepository(session).add(
            Notification(
                id=NOTIFICATION_ID,
                kind="cme_referral",  # type: ignore[arg-type]
                upn=UPN_A,
                recipient="la:999:cme",
                created_at=NOW,
                payload={"setting_id": SCHOOL_A.id, "note": "synthetic"},
            )
        )
        settings = HubSettings()
        decision = await request_deletion(
            session,
            RollDeletionRequest(
                upn=UPN_DUAL,
                setting_id=PRU_A.id,
                ground="wales-2010:8(1)(c)",
                effective_date=MONDAY,
                evidence={"ceased_to_attend": True, "will_not_attend_again": True},
            ),
            settings=settings.deletions,
            sink=OutboxSink(settings, plugins),
            actor="matrix-setup",
            now=NOW,
        )
    assert decision.decision == "pending", decision.reasons
    return decision.id


async def _headers(api: Api, caller: str) -> dict[str, str]:
    if caller in SCOPE_OF:
        return await api.as_(SCOPE_OF[caller])
    if caller == "no_token":
        return {}
    if caller == "garbage":
        return {"Authorization": f"Bearer hub_{secrets.token_urlsafe(32)}"}
    now = dt.datetime.now(dt.UTC)
    if caller == "expired":
        token = await api.token("admin", expires_at=now - dt.timedelta(seconds=1))
    else:
        token = await api.token("admin")
        async with api.session() as session, session.begin():
            repo = TokenRepository(session)
            info = await repo.verify(token, now=now)
            assert info is not None
            assert await repo.revoke(info.id, now=now)
    return {"Authorization": f"Bearer {token}"}


async def _outcome(resp: ClientResponse, probe: Probe) -> Outcome:
    body: Any = await resp.json() if resp.content_type == "application/json" else {}
    if resp.status == 401:
        assert body["error"]["code"] in ("missing_token", "invalid_token", "invalid_signature")
        return UNAUTH
    if resp.status == 403:
        assert body["error"]["code"] == "forbidden"
        return DENY
    if resp.status == 404:
        assert body["error"]["code"] == "not_found"
        return HIDE
    assert 200 <= resp.status < 300, (resp.status, body)
    if probe.found is not None and not probe.found(body):
        return FILTER
    return ALLOW


@pytest.fixture(scope="module")
def seeded_template(
    _sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """The matrix world, seeded once; each row runs on its own copy."""
    path = tmp_path_factory.mktemp("matrix-template") / "hub.db"
    shutil.copyfile(_sqlite_template, path)
    found: list[str] = []

    async def seed() -> None:
        found.append(await _seed(f"sqlite+aiosqlite:///{path}"))

    # A private loop in a worker thread, as tests/conftest.py does for its templates.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, seed()).result()
    return path, found[0]


@pytest.fixture
async def matrix(
    seeded_template: tuple[Path, str],
    tmp_path: Path,
    plugin_host: PluginHost,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Api, str]]:
    template, decision_id = seeded_template
    shutil.copyfile(template, tmp_path / "hub.db")
    monkeypatch.setenv(PUSH_SECRET_ENV, WEBHOOK_SECRET)
    settings = hub_settings(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    async with running_api(settings, plugin_host) as api:
        yield api, decision_id


@pytest.mark.parametrize(("route_key", "caller"), ROWS)
async def test_access_matrix(
    matrix: tuple[Api, str], route_key: tuple[str, str], caller: str
) -> None:
    api, decision_id = matrix
    probe = MATRIX[route_key]
    headers = await _headers(api, caller)
    async with api.session() as session:
        before = await fingerprint(session)

    path = probe.path.replace("{decision}", decision_id)
    resp = await api.client.request(probe.method, path, json=probe.json, headers=headers)
    got = await _outcome(resp, probe)

    assert got is _expected(route_key, caller)
    if got is not ALLOW:
        async with api.session() as session:
            after = await fingerprint(session, skip=["quarantine"] if got is FILTER else ())
        assert after == {k: v for k, v in before.items() if k in after}, "a refusal wrote"
