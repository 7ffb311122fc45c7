"""Tokens and scopes beyond the matrix: expiry to the second on the hub's clock, revocation on
the very next request, only hashes at rest, scopes adding up, and two scope rules the matrix
cannot express (a non-party's "consent" to a deletion; a setting barred by a learner's
`sharing_restrictions` changing that learner)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from hub.plugins import PluginHost
from hub.store import LearnerRepository, TokenRepository
from hub.store.models import ApiTokenRow
from tests.api.conftest import (
    NOW,
    PROVIDER_A,
    SCHOOL_A,
    SCHOOL_B,
    UPN_A,
    UPN_B,
    WEBHOOK_SECRET,
    Api,
    learner,
)

from .conftest import (
    PRU_A,
    PUSH_SECRET_ENV,
    SQLITE_ONLY,
    Clock,
    fingerprint,
    hub_settings,
    running_api,
)
from .test_access_matrix import _seed_matrix_records

pytestmark = SQLITE_ONLY


@pytest.fixture
async def timed(
    database_url: str, plugin_host: PluginHost, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Api]:
    """The API on the settable clock (`clock`), with the synthetic world."""
    monkeypatch.setenv(PUSH_SECRET_ENV, WEBHOOK_SECRET)
    async with running_api(hub_settings(database_url), plugin_host, clock=clock) as api:
        await api.seed()
        yield api


async def test_a_token_expires_at_its_expiry_instant_on_the_hubs_clock(
    timed: Api, clock: Clock
) -> None:
    expires = NOW + dt.timedelta(hours=1)
    token = await timed.token("admin", expires_at=expires)
    headers = {"Authorization": f"Bearer {token}"}

    clock.now = expires - dt.timedelta(seconds=1)
    assert (await timed.client.get("/v1/plugins", headers=headers)).status == 200
    clock.now = expires  # `now < expires_at` is required: the instant itself is too late
    resp = await timed.client.get("/v1/plugins", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_token"
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


async def test_revocation_takes_effect_on_the_next_request_and_only_for_that_token(
    timed: Api,
) -> None:
    kept, revoked = await timed.token("admin", name="kept"), await timed.token("admin")
    for token in (kept, revoked):
        resp = await timed.client.get("/v1/plugins", headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 200
    async with timed.session() as session, session.begin():
        repo = TokenRepository(session)
        info = await repo.verify(revoked, now=NOW)
        assert info is not None
        assert await repo.revoke(info.id, now=NOW)
        assert not await repo.revoke(info.id, now=NOW)  # revoking twice is refused
    statuses = [
        (await timed.client.get("/v1/plugins", headers={"Authorization": f"Bearer {t}"})).status
        for t in (kept, revoked)
    ]
    assert statuses == [200, 401]


async def test_only_a_hash_of_each_token_is_stored(timed: Api) -> None:
    token = await timed.token("admin")
    async with timed.session() as session:
        rows = (await session.execute(select(ApiTokenRow))).scalars().all()
    stored = {row.token_hash for row in rows}
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert all(token not in repr(vars(row)) for row in rows)


async def test_a_token_with_several_scopes_reaches_what_each_scope_reaches(timed: Api) -> None:
    token = await timed.token("la:888", f"setting:{SCHOOL_A.id}")
    headers = {"Authorization": f"Bearer {token}"}
    for upn in (UPN_A, UPN_B):
        assert (await timed.client.get(f"/v1/learners/{upn}/marks", headers=headers)).status == 200
    # ... and nothing else: the provider of LA 999 is not covered.
    resp = await timed.client.put(
        f"/v1/settings/{PROVIDER_A.id}/calendar",
        json={"school_days": ["2025-11-03"]},
        headers=headers,
    )
    assert resp.status == 403


async def test_a_setting_that_is_not_party_to_a_deletion_cannot_consent_to_it(
    timed: Api,
) -> None:
    # Found by this suite: any token could "consent" for a setting it covers to any pending
    # decision whose id it had seen, and read the re-decided outcome about a learner it
    # cannot otherwise see. Only another setting the pupil is registered at may consent.
    decision_id = await _seed_matrix_records(timed.runtime.sessions, timed.runtime.plugins)
    for scope in ("la:888", "la:999"):
        await timed.as_(scope)
    async with timed.session() as session:
        before = await fingerprint(session)
    for scope, setting_id in (
        ("la:888", SCHOOL_B.id),  # another LA's school
        ("la:999", PROVIDER_A.id),  # same LA, but the pupil is not registered there
        ("la:999", PRU_A.id),  # the requesting setting cannot consent to itself
    ):
        resp = await timed.client.post(
            f"/v1/roll-deletions/{decision_id}/consents/{setting_id}",
            headers=await timed.as_(scope),
        )
        assert resp.status == 404, (scope, setting_id, await resp.text())
        assert (await resp.json())["error"]["code"] == "not_found"
    async with timed.session() as session:
        assert await fingerprint(session) == before


async def test_a_setting_barred_by_the_learners_restrictions_cannot_change_the_learner(
    timed: Api,
) -> None:
    # UPN_A is on school A's roll, placed with provider A; the learner's record bars provider
    # A. Provider A's token reaches the learner only through the barred setting.
    async with timed.session() as session, session.begin():
        await LearnerRepository(session).upsert(
            learner(UPN_A, sharing_restrictions=[PROVIDER_A.id])
        )
    lifted = learner(UPN_A, sharing_restrictions=[]).model_dump(mode="json")

    barred = await timed.as_(f"setting:{PROVIDER_A.id}")
    resp = await timed.client.put(f"/v1/learners/{UPN_A}", json=lifted, headers=barred)
    assert resp.status == 403
    async with timed.session() as session:
        stored = await LearnerRepository(session).get(UPN_A)
    assert stored is not None and stored.sharing_restrictions == (PROVIDER_A.id,)

    # The learner's own school may change the record, restrictions included.
    school = await timed.as_(f"setting:{SCHOOL_A.id}")
    resp = await timed.client.put(f"/v1/learners/{UPN_A}", json=lifted, headers=school)
    assert resp.status == 200
