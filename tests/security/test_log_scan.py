"""Logs carry no UPN, name, address, date of birth or secret (issue 10, item 5; DESIGN §6).

A representative run is logged through `hub.logging.configure_logging` (DEBUG, JSON) into a
buffer: reference data and marks posted (with rejects whose values are pupil data), the hub's
own rules raising notices, a roll deletion, webhooks signed badly and well, bad and revoked
tokens, deliveries (one withheld by a sharing restriction), and a retention purge. Then every
synthetic identifier and secret used is looked for in the output. On both backends: each
driver logs in its own way.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from hub.logging import configure_logging
from hub.retention import purge
from hub.store import TokenRepository
from tests.api.conftest import MONDAY, SCHOOL_A, WEBHOOK_SECRET, learner, mark_body

from .conftest import (
    ADDRESS,
    DATE_OF_BIRTH,
    NAMES,
    PRU_A,
    UPN_BARRED,
    UPN_OPEN,
    Hub,
    Webhook,
)


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    """The hub's logging, configured as `hub run` does, into a buffer; restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    buffer = io.StringIO()
    configure_logging("DEBUG", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)


async def test_a_representative_run_logs_no_pupil_data_or_secrets(
    hub: Hub, log_buffer: io.StringIO
) -> None:
    api, client = hub.api, hub.api.client
    admin = await api.as_("admin")
    school = await api.as_(f"setting:{SCHOOL_A.id}")
    secrets_used = [WEBHOOK_SECRET, *api.tokens.values()]

    # Reference data with pupil data in it, and a body refused for it.
    body = learner(UPN_OPEN, **NAMES, address=ADDRESS, date_of_birth=DATE_OF_BIRTH)
    resp = await client.put(
        f"/v1/learners/{UPN_OPEN}", json=body.model_dump(mode="json"), headers=admin
    )
    assert resp.status == 200
    wrong = {**body.model_dump(mode="json"), "date_of_birth": ADDRESS}
    assert (await client.put(f"/v1/learners/{UPN_OPEN}", json=wrong, headers=admin)).status == 422

    # Marks: accepted ones raising real notices, and rejects carrying pupil data as values.
    rejects = [
        mark_body(UPN_OPEN, SCHOOL_A.id, source=NAMES["family_name"], code="Q"),
        {**mark_body(UPN_OPEN, SCHOOL_A.id), "upn": NAMES["given_name"]},
        mark_body(UPN_BARRED, "8880001", source_ref=ADDRESS),
    ]
    for upn in (UPN_OPEN, UPN_BARRED):
        marks = [mark_body(upn, SCHOOL_A.id, code="N"), *rejects]
        resp = await client.post("/v1/marks", json={"marks": marks}, headers=school)
        assert resp.status == 200
    for path in (f"/v1/learners/{UPN_BARRED}/marks", f"/v1/learners/{UPN_OPEN}/attendance"):
        assert (await client.get(path, headers=admin)).status == 200

    # A roll deletion decided and carried out (a notice goes to the LA).
    deletion = {
        "upn": UPN_OPEN,
        "setting_id": PRU_A.id,
        "ground": "wales-2010:8(1)(j)",
        "effective_date": MONDAY.isoformat(),
        "evidence": {"date_of_death_notified": MONDAY.isoformat(), "note": ADDRESS},
        "dry_run": False,
    }
    assert (await client.post("/v1/roll-deletions", json=deletion, headers=admin)).status == 200

    # Webhooks: badly signed, then well signed and replayed.
    push = Webhook.of(
        learners=[body.model_dump(mode="json")], marks=[mark_body(UPN_OPEN, SCHOOL_A.id)]
    )
    path = "/v1/webhooks/push-vendor"
    bad = {**push.headers(), "X-Push-Signature": "sha256=" + "0" * 64}
    assert (await client.post(path, data=push.body, headers=bad)).status == 401
    for _ in range(2):
        assert (await client.post(path, data=push.body, headers=push.headers())).status == 200

    # Tokens that do not work: garbage, and one revoked after use.
    revoked = await api.token("admin", name="soon-revoked")
    secrets_used.append(revoked)
    now = dt.datetime.now(dt.UTC)
    async with api.session() as session, session.begin():
        repo = TokenRepository(session)
        info = await repo.verify(revoked, now=now)
        assert info is not None
        await repo.revoke(info.id, now=now)
    for token in (revoked, "hub_" + "x" * 43, f"Bearer {UPN_OPEN}"):
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get(f"/v1/learners/{UPN_OPEN}/marks", headers=headers)).status == 401

    # Deliveries (the barred learner's notice to the PRU is withheld), then a purge.
    await hub.dispatch()
    async with api.session() as session, session.begin():
        await purge(session, before=dt.date.today(), now=dt.datetime.now(dt.UTC))

    output = log_buffer.getvalue()
    events = {json.loads(line)["event"] for line in output.splitlines()}
    # The run really logged what it did (else the scan below would prove nothing).
    assert {
        "api_request",
        "marks_posted",
        "marks_rejected",
        "webhook_signature_refused",
        "webhook_received",
        "delivered",
        "delivery_withheld",
        "purge_done",
    } <= events, sorted(events)
    needles = [UPN_OPEN, UPN_BARRED, *NAMES.values(), ADDRESS, DATE_OF_BIRTH.isoformat()]
    for needle in [*needles, *secrets_used]:
        assert needle not in output, f"found in the log: {needle[:6]}…"
