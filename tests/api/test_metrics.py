"""/metrics: request and mark counters move with traffic; store gauges are read on scrape."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families

from hub.store import DiscrepancyRepository, NotificationRepository
from hub_contracts import Discrepancy, Notification

from .conftest import NOW, SCHOOL_A, SQLITE_ONLY, UPN_A, Api, mark_body

pytestmark = SQLITE_ONLY


async def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = await api.client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_marks_and_requests_are_counted(world: Api) -> None:
    batch = [mark_body(), mark_body(code="K"), mark_body(code="Q")]
    resp = await world.client.post(
        "/v1/marks", json={"marks": batch}, headers=await world.as_("admin")
    )
    assert (await resp.json())["accepted"] == 1
    await world.client.get("/v1/learners/not-a-upn/marks", headers=await world.as_("admin"))
    samples = await scrape(world)
    assert samples[("hub_marks_ingested_total", (("channel", "api"),))] == 1
    rejected = ("hub_marks_rejected_total", (("channel", "api"), ("reason", "code_not_in_force")))
    assert samples[rejected] == 2
    posted = (
        "hub_http_requests_total",
        (("method", "POST"), ("route", "/v1/marks"), ("status", "200")),
    )
    assert samples[posted] == 1
    # Routes are labelled by template: no UPN (or any other path value) becomes a label.
    bad = (
        "hub_http_requests_total",
        (("method", "GET"), ("route", "/v1/learners/{upn}/marks"), ("status", "400")),
    )
    assert samples[bad] == 1


async def test_store_gauges_are_refreshed_on_scrape(world: Api) -> None:
    before = await scrape(world)
    assert before[("hub_discrepancies_open", (("kind", "dual_conflict"),))] == 0
    async with world.session() as session, session.begin():
        await DiscrepancyRepository(session).record(
            Discrepancy.model_validate(
                {
                    "id": "d1",
                    "kind": "dual_conflict",
                    "severity": "warning",
                    "upn": UPN_A,
                    "date": "2025-11-03",
                    "setting_ids": [SCHOOL_A.id],
                    "detail": "synthetic",
                }
            ),
            now=NOW,
        )
        await NotificationRepository(session).add(
            Notification.model_validate(
                {
                    "id": "n1",
                    "kind": "deletion_return",
                    "upn": UPN_A,
                    "recipient": "la",
                    "created_at": NOW,
                    "due_by": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                }
            )
        )
    after = await scrape(world)
    assert after[("hub_discrepancies_open", (("kind", "dual_conflict"),))] == 1
    assert after[("hub_notifications_overdue", (("kind", "deletion_return"),))] == 1
    # The engine's metrics render on the same registry and are refreshed on scrape too.
    assert after[("hub_outbox_depth", (("status", "pending"),))] == 0
