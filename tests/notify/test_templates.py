"""The English and Welsh notices: complete, minimal, and with subjects that name no learner."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest

import hub.notify.templates as templates
from hub.notify.templates import (
    KIND_FIELDS,
    LANGUAGES,
    TemplateError,
    check_templates,
    render_notice,
)
from hub_contracts import Notification, NotificationKind
from tests.notify.synthetic import ADDRESS, FULL_NAME, SAMPLE_PAYLOADS, UPN

MakeNotification = Callable[..., Notification]
KINDS = list(NotificationKind)
PLACEHOLDER = re.compile(r"\$\{?[A-Za-z_]")


def test_every_kind_has_fields_and_every_template_checks() -> None:
    assert set(KIND_FIELDS) == set(NotificationKind)
    check_templates()


@pytest.mark.parametrize("language", ["en", "cy", "both"])
@pytest.mark.parametrize("kind", KINDS, ids=[k.value for k in KINDS])
def test_every_kind_renders_without_leftover_placeholders(
    kind: NotificationKind, language: Any, make_notification: MakeNotification
) -> None:
    notice = render_notice(make_notification(kind), language)
    assert notice.subject
    assert not PLACEHOLDER.search(notice.body), notice.body
    assert not PLACEHOLDER.search(notice.subject)
    assert "ntf_synthetic_" in notice.body  # the reference in the footer
    if kind is not NotificationKind.ABSENCE_RETURN:
        assert UPN in notice.body


@pytest.mark.parametrize("language", ["en", "cy", "both"])
@pytest.mark.parametrize("kind", KINDS, ids=[k.value for k in KINDS])
def test_subjects_name_the_kind_setting_and_id_never_the_learner(
    kind: NotificationKind, language: Any, make_notification: MakeNotification
) -> None:
    notice = render_notice(make_notification(kind), language)
    assert UPN not in notice.subject
    assert "Learner" not in notice.subject
    assert f"ntf_synthetic_{kind.value}" in notice.subject
    expected_ref = "LA 999" if kind is NotificationKind.ABSENCE_RETURN else "999"
    assert expected_ref in notice.subject


def test_an_id_built_from_the_upn_is_replaced_in_the_subject(
    make_notification: MakeNotification,
) -> None:
    notice = render_notice(make_notification(id=f"cme:{UPN}:2025-01-06"), "en")
    assert UPN not in notice.subject
    assert "ref-" in notice.subject


def test_both_puts_welsh_first_then_english(make_notification: MakeNotification) -> None:
    notice = render_notice(make_notification(NotificationKind.DELETION_RETURN), "both")
    assert notice.content_language == "cy, en"
    assert notice.subject.startswith("Ffurflen ddileu / Deletion return")
    welsh = notice.body.index("Rheoliadau Addysg (Cofrestru Disgyblion) (Cymru) 2010")
    english = notice.body.index("The Education (Pupil Registration) (Wales) Regulations 2010")
    assert welsh < english


@pytest.mark.parametrize(
    ("kind", "language", "must_contain"),
    [
        pytest.param(
            NotificationKind.DELETION_RETURN, "en", ["regulation 12(3)", "ten", "school days"],
            id="deletion_return-wales-reg-12(3)-10-school-days",
        ),
        pytest.param(
            NotificationKind.DELETION_RETURN, "cy", ["rheoliad 12(3)", "10 diwrnod ysgol"],
            id="deletion_return-cy-rheoliad-12(3)",
        ),
        pytest.param(
            NotificationKind.CME_REFERRAL, "en", ["regulation 12(1)(b)", "tenth school day"],
            id="cme_referral-wales-reg-12(1)(b)",
        ),
        pytest.param(
            NotificationKind.CME_REFERRAL, "cy", ["rheoliad 12(1)(b)", "degfed diwrnod ysgol"],
            id="cme_referral-cy-rheoliad-12(1)(b)",
        ),
        pytest.param(
            NotificationKind.SAFEGUARDING_ALERT, "en", ["within 24 hours"],
            id="safeguarding_alert-24-hours",
        ),
        pytest.param(
            NotificationKind.SAFEGUARDING_ALERT, "cy", ["o fewn 24 awr"],
            id="safeguarding_alert-cy-24-awr",
        ),
        pytest.param(
            NotificationKind.ABSENCE_RETURN, "en", ["regulation 12(1)", "regulation 12(2)"],
            id="absence_return-wales-reg-12(1)",
        ),
        pytest.param(
            NotificationKind.CONSENT_REQUEST, "en", ["regulation 8(1)(c)", "regulation\n9(1)(c)"],
            id="consent_request-wales-8(1)(c)-england-9(1)(c)",
        ),
        pytest.param(
            NotificationKind.DUAL_ABSENCE_NOTICE, "en", ["Welsh Government guidance"],
            id="dual_absence_notice-wg-attendance-codes-guidance",
        ),
        pytest.param(
            NotificationKind.DELETION_NOTICE, "en", ["not a statutory deletion return"],
            id="deletion_notice-good-practice-not-statutory",
        ),
    ],
)  # fmt: skip
def test_each_notice_names_the_rule_behind_it(
    kind: NotificationKind,
    language: Any,
    must_contain: list[str],
    make_notification: MakeNotification,
) -> None:
    body = render_notice(make_notification(kind), language).body
    for text in must_contain:
        assert text in body


def test_due_date_is_shown_in_uk_time(make_notification: MakeNotification) -> None:
    # T0 + 14 days = 2025-01-20 09:00 UTC, which is 09:00 in London in January.
    body = render_notice(make_notification(NotificationKind.CME_REFERRAL), "en").body
    assert "Due by: 2025-01-20 09:00 (UK time)" in body


# --- data minimisation (legal-rules.md §6) ---------------------------------------------------


@pytest.mark.parametrize("language", ["en", "cy"])
@pytest.mark.parametrize(
    ("kind", "shown", "not_shown"),
    [
        pytest.param(
            NotificationKind.DELETION_RETURN, [FULL_NAME, ADDRESS], [],
            id="deletion_return-wales-reg-12(3)-full-name-and-address",
        ),
        pytest.param(
            NotificationKind.CME_REFERRAL, [FULL_NAME, ADDRESS], [],
            id="cme_referral-name-and-address-to-locate-the-child",
        ),
        pytest.param(
            NotificationKind.DUAL_ABSENCE_NOTICE, [UPN, "2025-01-06", "O", "9991100"],
            [ADDRESS, "free text in English"],
            id="dual_absence_notice-upn-session-code-no-address",
        ),
        pytest.param(
            NotificationKind.SAFEGUARDING_ALERT, [UPN, FULL_NAME, "2025-01-06", "N"],
            [ADDRESS, "sw@council.example"],
            id="safeguarding_alert-no-address-no-social-worker-address",
        ),
        pytest.param(
            NotificationKind.DELETION_NOTICE, [UPN, FULL_NAME],
            [ADDRESS, "sw@council.example"],
            id="deletion_notice-no-address",
        ),
        pytest.param(
            NotificationKind.ABSENCE_RETURN, [FULL_NAME, ADDRESS, "Test Learner Two"],
            ["legal-rules.md"],
            id="absence_return-wales-reg-12(1)-name-address-cause",
        ),
    ],
)  # fmt: skip
def test_each_kind_shows_only_what_its_purpose_needs(
    kind: NotificationKind,
    shown: list[str],
    not_shown: list[str],
    language: Any,
    make_notification: MakeNotification,
) -> None:
    body = render_notice(make_notification(kind), language).body
    for text in shown:
        assert text in body
    for text in not_shown:
        assert text not in body


def test_a_payload_field_outside_the_kinds_list_is_never_read(
    make_notification: MakeNotification,
) -> None:
    payload = SAMPLE_PAYLOADS[NotificationKind.DUAL_ABSENCE_NOTICE] | {
        "setting_name": "SECRET-SETTING-NAME",
        "parents": [{"full_name": "SECRET-PARENT"}],
    }
    body = render_notice(
        make_notification(NotificationKind.DUAL_ABSENCE_NOTICE, payload=payload), "en"
    ).body
    assert "SECRET" not in body


def test_england_deletion_return_lists_parents_and_destination(
    make_notification: MakeNotification,
) -> None:
    payload = SAMPLE_PAYLOADS[NotificationKind.DELETION_RETURN] | {
        "ground": "england-2024:9(1)(f)",
        "regulation": "School Attendance (Pupil Registration) (England) Regulations 2024 reg 13(4)",
        "parents": [
            {"full_name": "Test Parent", "address": "1 Synthetic Street", "phone": "01000 000000"}
        ],
        "destination": {"new_address": "3 Synthetic Road"},
    }
    note = make_notification(NotificationKind.DELETION_RETURN, payload=payload)
    labels: list[tuple[Any, str]] = [("en", "Emergency telephone"), ("cy", "Ffôn mewn argyfwng")]
    for language, parent_label in labels:
        body = render_notice(note, language).body
        assert "regulation 13(4)" in body or "rheoliad 13(4)" in body
        assert f"{parent_label}: 01000 000000" in body
        assert "3 Synthetic Road" in body
        assert "Admitted to" not in body  # optional lines without a value are dropped


def test_a_wales_deletion_return_ignores_a_parents_list(
    make_notification: MakeNotification,
) -> None:
    payload = SAMPLE_PAYLOADS[NotificationKind.DELETION_RETURN] | {
        "parents": [{"full_name": "Test Parent", "address": "x", "phone": "01000 000000"}]
    }
    note = make_notification(NotificationKind.DELETION_RETURN, payload=payload)
    assert "Test Parent" not in render_notice(note, "both").body


def test_missing_required_values_say_so_and_optional_lines_go(
    make_notification: MakeNotification,
) -> None:
    payload = {"setting_id": "9990001", "ground": "wales-2010:8(1)(h)"}  # Wrexham-style referral
    en = render_notice(make_notification(payload=payload), "en").body
    cy = render_notice(make_notification(payload=payload), "cy").body
    assert "Full name: (not recorded)" in en
    assert "Enw llawn: (heb ei gofnodi)" in cy
    assert "continuous school days" not in en
    assert "ground wales-2010:8(1)(h)" in en


def test_an_estimated_due_date_is_flagged(make_notification: MakeNotification) -> None:
    payload = SAMPLE_PAYLOADS[NotificationKind.DELETION_RETURN] | {"due_by_is_estimate": True}
    note = make_notification(NotificationKind.DELETION_RETURN, payload=payload)
    assert "This due date is an estimate" in render_notice(note, "en").body
    assert "Amcangyfrif yw'r dyddiad hwn" in render_notice(note, "cy").body


def test_welsh_labels_translate_coded_values(make_notification: MakeNotification) -> None:
    alert = render_notice(make_notification(NotificationKind.SAFEGUARDING_ALERT), "cy").body
    assert "Sesiwn: bore" in alert
    assert "plentyn sy'n derbyn gofal" in alert
    ret = render_notice(make_notification(NotificationKind.ABSENCE_RETURN), "cy").body
    assert "nid yw'n mynychu'n rheolaidd" in ret
    assert "Nifer y dysgwyr a restrir: 2" in ret


def test_every_welsh_file_carries_the_translation_review_note() -> None:
    folder = resources.files(templates.__name__).joinpath("cy")
    files = [f for f in folder.iterdir() if f.name.endswith((".txt", ".toml"))]
    assert len(files) >= len(NotificationKind) + 2
    for file in files:
        head = file.read_text(encoding="utf-8").splitlines()[:2]
        assert any("Welsh-language officer" in line for line in head), file.name


def test_both_languages_have_the_same_files() -> None:
    names = {
        language: sorted(
            f.name for f in resources.files(templates.__name__).joinpath(language).iterdir()
        )
        for language in LANGUAGES
    }
    assert names["en"] == names["cy"]


# --- the template checker refuses what would break the guarantees ----------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("Subject: Return for ${full_name}\n\nbody", "subject", id="name-in-subject"),
        pytest.param("Subject: Return for $upn\n\nbody", "subject", id="upn-in-subject"),
        pytest.param("no subject line\n", "Subject", id="no-subject"),
        pytest.param("Subject: Return\n\n${address}\n", "not allowed", id="field-not-for-kind"),
        pytest.param("Subject: Return\n\n${broken\n", "malformed", id="malformed"),
    ],
)
def test_the_checker_refuses_bad_templates(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem):
        templates._parse(text, "test.txt", allowed=frozenset({"upn", "full_name"}), subject=True)
