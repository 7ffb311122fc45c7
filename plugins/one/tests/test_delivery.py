"""Returns, referrals and notices delivered to the One emulator: acknowledgement ids,
idempotency by key, and One's UPN matching surfaced in the receipt."""

from __future__ import annotations

from typing import Any

import pytest

from hub.sdk import PermanentError
from hub_contracts import NotificationKind

K = NotificationKind


async def test_deletion_return_is_acknowledged_and_matched(rig: Any) -> None:
    note = rig.notification(
        K.DELETION_RETURN, ground="wales-2010:8(1)(d)", address="1 Synthetic St"
    )
    receipt = await rig.adapter.send_return(note, "deletion_return:key-1")

    assert receipt.external_ref is not None
    assert receipt.external_ref.startswith("ONE-ACK-")
    assert receipt.notification_id == note.id
    assert receipt.idempotency_key == "deletion_return:key-1"
    assert receipt.recipient == note.recipient
    assert receipt.detail == "match=matched"
    (filed,) = rig.state.submissions.values()
    assert filed.collection == "returns"
    assert filed.body["type"] == "deletion_return"
    # The learner's identity travels once, in `learners`; the rest of the payload as details.
    assert filed.body["learners"] == [{"upn": rig.known_upn, "name": "Ada Synthetic", "dob": None}]
    assert filed.body["details"] == {"ground": "wales-2010:8(1)(d)", "address": "1 Synthetic St"}


async def test_the_same_key_twice_files_one_return_with_one_ack(rig: Any) -> None:
    note = rig.notification(K.DELETION_RETURN)
    first = await rig.adapter.send_return(note, "same-key")
    second = await rig.adapter.send_return(note, "same-key")

    assert len(rig.state.submissions) == 1
    assert second.external_ref == first.external_ref
    assert second == first


async def test_different_keys_file_different_returns(rig: Any) -> None:
    first = await rig.adapter.send_return(rig.notification(K.DELETION_RETURN), "key-a")
    second = await rig.adapter.send_return(rig.notification(K.DELETION_RETURN), "key-b")
    assert first.external_ref != second.external_ref
    assert len(rig.state.submissions) == 2


async def test_a_key_reused_for_another_kind_is_refused(rig: Any) -> None:
    await rig.adapter.send_return(rig.notification(K.DELETION_RETURN), "reused")
    with pytest.raises(PermanentError, match="IdempotencyKeyReused"):
        await rig.adapter.send_return(rig.notification(K.ABSENCE_RETURN, None), "reused")
    assert len(rig.state.submissions) == 1


async def test_unknown_upn_is_unmatched(rig: Any) -> None:
    note = rig.notification(K.DELETION_RETURN, rig.unknown_upn, full_name="Nobody Known")
    receipt = await rig.adapter.send_return(note, "k-unmatched")
    assert receipt.detail == "match=unmatched"


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        pytest.param(
            {"full_name": "Ada Different"}, "match=conflict; conflict_fields=name", id="name"
        ),
        pytest.param(
            {"date_of_birth": "2013-09-02"}, "match=conflict; conflict_fields=dob", id="dob"
        ),
        pytest.param(
            {
                "given_name": "ADA",
                "family_name": "synthetic",
                "full_name": None,
                "date_of_birth": "2013-09-01",
            },
            "match=matched",
            id="case-insensitive-name-and-same-dob",
        ),
        pytest.param(
            {"full_name": "Someone Else", "date_of_birth": "2001-01-01"},
            "match=conflict; conflict_fields=dob,name",
            id="both",
        ),
    ],
)
async def test_known_upn_with_other_details_is_a_conflict(
    rig: Any, payload: dict[str, Any], detail: str
) -> None:
    note = rig.notification(K.CME_REFERRAL, **payload)
    receipt = await rig.adapter.send_notification(note, "k-conflict")
    assert receipt.detail == detail


async def test_absence_return_lists_many_learners_and_counts_the_matches(rig: Any) -> None:
    entries = [
        {"upn": rig.known_upn, "full_name": "Ada Synthetic", "reasons": ["irregular_attendance"]},
        {"upn": rig.dual_upn, "full_name": "Bryn Other", "reasons": ["irregular_attendance"]},
        {"upn": rig.unknown_upn, "full_name": "Nobody", "reasons": ["irregular_attendance"]},
    ]
    note = rig.notification(K.ABSENCE_RETURN, None, entries=entries, period_end="2025-01-17")
    receipt = await rig.adapter.send_return(note, "absence-return-1")

    assert receipt.detail == (
        f"match=conflict; matched=1; unmatched=1; conflict=1; "
        f"unmatched_upns={rig.unknown_upn}; conflict_upns={rig.dual_upn}"
    )
    (filed,) = rig.state.submissions.values()
    assert [learner["upn"] for learner in filed.body["learners"]] == [
        rig.known_upn, rig.dual_upn, rig.unknown_upn,
    ]  # fmt: skip


async def test_a_nil_absence_return_is_delivered(rig: Any) -> None:
    note = rig.notification(K.ABSENCE_RETURN, None, entries=[])
    receipt = await rig.adapter.send_return(note, "nil-return")
    assert receipt.detail == "match=none"


@pytest.mark.parametrize(
    ("kind", "collection"),
    [
        (K.CME_REFERRAL, "referrals"),
        (K.DELETION_NOTICE, "notices"),
        (K.CONSENT_REQUEST, "notices"),
    ],
)
async def test_notifications_go_to_their_collection(
    rig: Any, kind: NotificationKind, collection: str
) -> None:
    receipt = await rig.adapter.send_notification(rig.notification(kind), f"key-{kind}")
    assert receipt.external_ref is not None
    (filed,) = rig.state.submissions.values()
    assert (filed.collection, filed.body["type"]) == (collection, kind.value)


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("send_return", K.CME_REFERRAL),
        ("send_notification", K.DELETION_RETURN),
        ("send_notification", K.SAFEGUARDING_ALERT),
        ("send_notification", K.DUAL_ABSENCE_NOTICE),
    ],
)
async def test_kinds_one_does_not_take_are_refused_before_sending(
    rig: Any, method: str, kind: NotificationKind
) -> None:
    with pytest.raises(PermanentError, match="takes"):
        await getattr(rig.adapter, method)(rig.notification(kind), "k")
    assert rig.state.submissions == {}


async def test_a_submission_one_rejects_is_permanent(rig: Any) -> None:
    # An adapter configured for another LA: One refuses the submission (422), never retried.
    adapter = rig.adapter_with(la_code="998")
    with pytest.raises(PermanentError, match="422"):
        await adapter.send_return(rig.notification(K.DELETION_RETURN), "k")
    assert rig.state.submissions == {}


async def test_a_multi_learner_entry_without_upn_is_refused(rig: Any) -> None:
    note = rig.notification(K.ABSENCE_RETURN, None, entries=[{"full_name": "No Upn"}])
    with pytest.raises(PermanentError, match=r"entries\[0\] has no upn"):
        await rig.adapter.send_return(note, "k")
