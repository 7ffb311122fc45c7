"""Data protection (issue 10, item 5): `sharing_restrictions` are honoured for every destination
except a safeguarding alert, which records the override and its basis; each destination gets
only what its purpose needs.

The world: a learner dual-registered at school A (main) and a PRU (subsidiary) of LA 999, whose
record says the PRU must not receive their data. Notifications are raised by the hub's own
rules through the API, or submitted through the production sink, and delivered by the real
outbox dispatcher to recording destinations:

- `partner-feed`: notices addressed to settings (``setting:<id>``);
- `la-feed`: the LA's system, serving both settings;
- `pru-inbox`: a notifier serving only the PRU; `pru-mis`: the PRU's MIS (write-backs).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hub.engine.dispatcher import AUDIT_WITHHOLD
from hub.engine.routing import enqueue_write_marks
from hub.engine.sharing import OVERRIDE_BASIS
from hub.store import (
    DeadLetterRepository,
    LearnerRepository,
)
from hub_contracts import (
    AttendanceMark,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from tests.api.conftest import MONDAY, NOW, SCHOOL_A, learner, mark_body

from .conftest import (
    ADDRESS,
    DATE_OF_BIRTH,
    NAMES,
    PRU_A,
    SQLITE_ONLY,
    UPN_BARRED,
    UPN_OPEN,
    Hub,
    RecordingNotifier,
    RegisterWriter,
)

pytestmark = SQLITE_ONLY

#: What a dual_absence_notice may carry: the session, who recorded which absence, and why the
#: partner is told. Never the learner's name, address or date of birth (docs/security.md).
DUAL_ABSENCE_NOTICE_KEYS = {"date", "session", "absent_at", "code", "detail", "citation"}


async def _absent_at_school_a(hub: Hub, upn: str) -> None:
    """School A records an unauthorised absence; the PRU, which meets that day, has no mark."""
    resp = await hub.api.client.post(
        "/v1/marks",
        json={"marks": [mark_body(upn, SCHOOL_A.id, code="N")]},
        headers=await hub.api.as_(f"setting:{SCHOOL_A.id}"),
    )
    assert resp.status == 200
    assert (await resp.json())["accepted"] == 1


def _sent(kind: NotificationKind) -> list[Notification]:
    return [n for n, _ in RecordingNotifier.sent if n.kind is kind]


async def test_a_dual_absence_notice_to_a_barred_setting_is_withheld_and_audited(
    hub: Hub,
) -> None:
    await _absent_at_school_a(hub, UPN_BARRED)
    notice = await hub.notification(NotificationKind.DUAL_ABSENCE_NOTICE, UPN_BARRED)
    assert notice.recipient == f"setting:{PRU_A.id}"

    await hub.dispatch()

    assert _sent(NotificationKind.DUAL_ABSENCE_NOTICE) == []
    assert (await hub.notification(notice.kind, UPN_BARRED)).status is NotificationStatus.DEAD
    async with hub.api.session() as session:
        [letter] = await DeadLetterRepository(session).list()
    assert letter.reason.startswith("withheld:") and PRU_A.id in letter.reason
    [withheld] = await hub.ledger(AUDIT_WITHHOLD)
    assert withheld["kind"] == "dual_absence_notice"
    assert withheld["restricted_settings"] == [PRU_A.id]
    assert withheld["what"]["notification_id"] == notice.id


async def test_the_same_notice_for_an_unrestricted_learner_is_delivered(hub: Hub) -> None:
    await _absent_at_school_a(hub, UPN_OPEN)
    await hub.dispatch()
    [sent] = _sent(NotificationKind.DUAL_ABSENCE_NOTICE)
    assert sent.upn == UPN_OPEN
    assert await hub.ledger(AUDIT_WITHHOLD) == []


async def test_a_dual_absence_notice_carries_no_name_address_or_date_of_birth(hub: Hub) -> None:
    await _absent_at_school_a(hub, UPN_OPEN)
    await hub.dispatch()
    [sent] = _sent(NotificationKind.DUAL_ABSENCE_NOTICE)
    assert set(sent.payload) <= DUAL_ABSENCE_NOTICE_KEYS, sorted(sent.payload)
    wire = json.dumps(sent.model_dump(mode="json"))
    for personal in (ADDRESS, *NAMES.values(), DATE_OF_BIRTH.isoformat()):
        assert personal not in wire


async def test_a_safeguarding_alert_overrides_the_restriction_and_says_why(hub: Hub) -> None:
    alert = Notification(
        id="ntf-safeguarding-pru",
        kind=NotificationKind.SAFEGUARDING_ALERT,
        upn=UPN_BARRED,
        recipient=f"setting:{PRU_A.id}",
        due_by=NOW + dt.timedelta(hours=24),
        created_at=NOW,
        payload={"reason": "dual_unaccounted", "date": MONDAY.isoformat(), "session": "AM"},
    )
    await hub.submit(alert)
    await hub.dispatch()

    assert [n.id for n in _sent(NotificationKind.SAFEGUARDING_ALERT)] == [alert.id]
    [share] = [d for d in await hub.ledger("share") if d["what"]["notification_id"] == alert.id]
    override = share["sharing_restriction_override"]
    assert override == {"restricted_settings": [PRU_A.id], "basis": OVERRIDE_BASIS}
    assert "Sch 1 para 18" in override["basis"]
    assert share["lawful_basis"]["special_category"]


async def test_a_connection_serving_only_a_barred_setting_receives_nothing(hub: Hub) -> None:
    # The notice is addressed to the LA; it is routed to the LA's system (which serves both
    # settings: delivered) and to the PRU's own inbox (serves only the barred PRU: withheld).
    await hub.submit(
        Notification(
            id="ntf-deletion-notice",
            kind=NotificationKind.DELETION_NOTICE,
            upn=UPN_BARRED,
            recipient="la:999",
            created_at=NOW,
            payload={"setting_id": SCHOOL_A.id, "ground": "wales-2010:8(1)(j)"},
        )
    )
    await hub.dispatch()

    assert len(_sent(NotificationKind.DELETION_NOTICE)) == 1
    [withheld] = await hub.ledger(AUDIT_WITHHOLD)
    assert withheld["to"] == "pru-inbox"
    assert withheld["restricted_settings"] == [PRU_A.id]


@pytest.mark.parametrize(("upn", "written"), [(UPN_BARRED, 0), (UPN_OPEN, 1)])
async def test_a_write_back_into_a_barred_register_is_withheld(
    hub: Hub, upn: str, written: int
) -> None:
    mark = AttendanceMark.model_validate(mark_body(upn, PRU_A.id, code="D"))
    async with hub.api.session() as session, session.begin():
        await enqueue_write_marks(session, "pru-mis", [mark], now=NOW, ref="finding-1")
    await hub.dispatch()
    assert len(RegisterWriter.written) == written
    assert len(await hub.ledger(AUDIT_WITHHOLD)) == 1 - written


async def test_a_restriction_added_after_enqueueing_still_holds(hub: Hub) -> None:
    await _absent_at_school_a(hub, UPN_OPEN)  # enqueued while the learner had no restriction
    async with hub.api.session() as session, session.begin():
        await LearnerRepository(session).upsert(
            learner(UPN_OPEN, **NAMES, address=ADDRESS, sharing_restrictions=[PRU_A.id])
        )
    await hub.dispatch()
    assert _sent(NotificationKind.DUAL_ABSENCE_NOTICE) == []
    assert len(await hub.ledger(AUDIT_WITHHOLD)) == 1


async def test_a_barred_setting_reads_only_what_concerns_itself(hub: Hub) -> None:
    await _absent_at_school_a(hub, UPN_BARRED)
    await _absent_at_school_a(hub, UPN_OPEN)
    await hub.submit(
        Notification(
            id="ntf-safeguarding-pru",
            kind=NotificationKind.SAFEGUARDING_ALERT,
            upn=UPN_BARRED,
            recipient=f"setting:{PRU_A.id}",
            created_at=NOW,
            payload={"reason": "synthetic"},
        )
    )
    pru = await hub.api.as_(f"setting:{PRU_A.id}")
    school = await hub.api.as_(f"setting:{SCHOOL_A.id}")

    async def ids(path: str, headers: dict[str, str], upn: str) -> set[str]:
        resp = await hub.api.client.get(path, params={"upn": upn}, headers=headers)
        assert resp.status == 200
        return {item["id"] for item in (await resp.json())["items"]}

    # The PRU sees the safeguarding alert addressed to it, nothing school A raised about the
    # barred learner; school A sees everything about its pupil.
    assert await ids("/v1/notifications", pru, UPN_BARRED) == {"ntf-safeguarding-pru"}
    assert len(await ids("/v1/notifications", school, UPN_BARRED)) == 2
    assert await ids("/v1/discrepancies", pru, UPN_BARRED) == set()
    assert await ids("/v1/discrepancies", school, UPN_BARRED)
    # The unrestricted learner's notice is the PRU's to see.
    assert len(await ids("/v1/notifications", pru, UPN_OPEN)) == 1
    resp = await hub.api.client.get(f"/v1/learners/{UPN_BARRED}/marks", headers=pru)
    assert [c["setting_id"] for c in (await resp.json())["marks"]] == []
