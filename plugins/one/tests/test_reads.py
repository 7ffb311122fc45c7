"""The LA's view read from the One emulator: roll, placements and CME enquiry outcomes, paged
and incremental."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub.sdk import ConfigError, ContractViolation, PermanentError
from hub_contracts import (
    EotasPlacement,
    NotificationKind,
    PlacementArranger,
    Registration,
    RegistrationStatus,
    ScheduledSession,
    Session,
)
from hub_one.mapping import CmeEnquiryOutcome


async def read_all(
    read: Any, cursor: str | None = None, *, max_pages: int = 20
) -> tuple[list[Any], str | None, int]:
    """Every page from `cursor` on, as the core would read them; bounded."""
    records: list[Any] = []
    for pages in range(1, max_pages + 1):
        page = await read(cursor)
        records.extend(page.records)
        cursor = page.next_cursor
        if not page.has_more:
            return records, cursor, pages
    raise AssertionError(f"still has_more after {max_pages} pages")


async def test_check_succeeds_for_the_right_la(rig: Any) -> None:
    await rig.adapter.check()


async def test_check_refuses_another_las_one(rig: Any) -> None:
    with pytest.raises(ConfigError, match="la_code is 998"):
        await rig.adapter_with(la_code="998").check()


async def test_roll_is_paged_and_maps_enrolment_statuses(rig: Any) -> None:
    first = await rig.adapter.read_roll(None)
    assert first.has_more
    assert len(first.records) == 2  # page_size 2

    records, cursor, pages = await read_all(rig.adapter.read_roll)
    assert pages == 3  # five records, two a page
    assert cursor is not None
    statuses = {(r.upn, r.setting_id): r.status for r in records}
    assert statuses == {
        (rig.known_upn, "9992001"): RegistrationStatus.SINGLE,
        (rig.dual_upn, "9992001"): RegistrationStatus.MAIN,
        (rig.dual_upn, "9991100"): RegistrationStatus.SUBSIDIARY,
        (rig.unknown_upn, "9992002"): RegistrationStatus.SINGLE,
    }  # the guest enrolment (G) is not on an admission register
    assert all(isinstance(r, Registration) for r in records)


async def test_a_second_read_from_the_saved_cursor_returns_nothing_new(rig: Any) -> None:
    _, cursor, _ = await read_all(rig.adapter.read_roll)
    again = await rig.adapter.read_roll(cursor)
    assert list(again.records) == []
    assert not again.has_more
    assert again.next_cursor == cursor


async def test_changes_after_the_cursor_are_read_incrementally(rig: Any) -> None:
    _, cursor, _ = await read_all(rig.adapter.read_roll)
    # One records the dual registration's end (the PRU placement is over).
    rig.state.upsert(
        "roll",
        "R3",
        {
            "registration_id": "R3",
            "upn": rig.dual_upn,
            "base_id": "9991100",
            "enrolment_status": "S",
            "start_date": "2024-09-02",
            "end_date": "2025-02-14",
            "removal_ground": "wales-2010:8(1)(c)",
        },
    )
    records, _, _ = await read_all(rig.adapter.read_roll, cursor)
    assert records == [
        Registration(
            upn=rig.dual_upn,
            setting_id="9991100",
            status=RegistrationStatus.SUBSIDIARY,
            start_date=dt.date(2024, 9, 2),
            end_date=dt.date(2025, 2, 14),
            deletion_ground="wales-2010:8(1)(c)",
        )
    ]


async def test_placements_map_one_timetable_slots(rig: Any) -> None:
    page = await rig.adapter.read_placements(None)
    assert page.records == (
        EotasPlacement(
            upn=rig.known_upn,
            school_id="9992001",
            provider_id="EOTAS-999-01",
            sessions=(
                ScheduledSession(weekday=0, session=Session.AM),
                ScheduledSession(weekday=2, session=Session.AM),
                ScheduledSession(weekday=2, session=Session.PM),
            ),
            start_date=dt.date(2025, 1, 6),
            arranged_by=PlacementArranger.LA,
        ),
    )
    assert not page.has_more


async def test_cme_referral_opens_an_enquiry_whose_outcome_is_read_back(rig: Any) -> None:
    receipt = await rig.adapter.send_notification(
        rig.notification(NotificationKind.CME_REFERRAL), "cme:1"
    )
    opened, cursor, _ = await read_all(rig.adapter.read_cme_outcomes)
    assert len(opened) == 1
    enquiry = opened[0]
    assert isinstance(enquiry, CmeEnquiryOutcome)
    assert (enquiry.referral_ack_id, enquiry.upn, enquiry.status) == (
        receipt.external_ref, rig.known_upn, "open",
    )  # fmt: skip

    # The LA's CME officer locates the child at another school.
    async with rig.session.post(
        f"{rig.base_url}/_emulator/cme-enquiries/{enquiry.enquiry_id}/outcome",
        json={"status": "located", "outcome": "found_at_school", "outcome_date": "2025-02-03",
              "located_base_id": "9992002"},
    ) as resp:  # fmt: skip
        assert resp.status == 200

    updated, _, _ = await read_all(rig.adapter.read_cme_outcomes, cursor)
    assert [(u.enquiry_id, u.status, u.outcome, u.located_setting_id) for u in updated] == [
        (enquiry.enquiry_id, "located", "found_at_school", "9992002")
    ]
    assert updated[0].outcome_date == dt.date(2025, 2, 3)
    assert updated[0].updated_at.tzinfo is not None


async def test_an_unknown_cursor_is_refused_not_reread(rig: Any) -> None:
    with pytest.raises(PermanentError, match="BadCursor"):
        await rig.adapter.read_roll("not-a-cursor")


async def test_a_future_cursor_yields_nothing(rig: Any) -> None:
    page = await rig.adapter.read_roll("seq-999999")
    assert list(page.records) == []
    assert not page.has_more


async def test_a_record_that_does_not_fit_the_contract_is_a_contract_violation(rig: Any) -> None:
    rig.state.upsert(
        "roll",
        "BAD",
        {
            "registration_id": "BAD",
            "upn": "A123",  # not a UPN
            "base_id": "9992001",
            "enrolment_status": "C",
            "start_date": "2024-09-02",
        },
    )
    with pytest.raises(ContractViolation, match="One registration BAD") as caught:
        await read_all(rig.adapter.read_roll, "seq-5")
    assert "A123" not in str(caught.value)  # messages name the field, never the value


async def test_an_unknown_enrolment_status_is_a_contract_violation(rig: Any) -> None:
    rig.state.upsert(
        "roll",
        "ODD",
        {
            "registration_id": "ODD",
            "upn": rig.known_upn,
            "base_id": "9992001",
            "enrolment_status": "Z",
            "start_date": "2024-09-02",
        },
    )
    with pytest.raises(ContractViolation, match="enrolment_status"):
        await read_all(rig.adapter.read_roll, "seq-5")
