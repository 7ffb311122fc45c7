"""Plain-text notices in English and Welsh, one template per notification kind.

Layout: ``<language>/<kind>.txt`` (``en``, ``cy``), optional jurisdiction variants
``<language>/<kind>.<variant>.txt`` (a deletion return under the England regulations lists
parents, so it has its own text), item templates for lists ``<stem>.<list>.txt``,
``<language>/_footer.txt`` appended to every notice, and ``<language>/labels.toml`` for the
words a value is shown as (sessions, reasons, safeguarding categories).

Template syntax, deliberately tiny (`string.Template`, no logic):

- ``## ...`` lines are comments (the Welsh files carry their translation-review note there);
- the first other line is ``Subject: <title>``; it may not contain placeholders, so a subject
  can never carry a learner's name or UPN (subjects leak into logs, previews and journals);
- ``${field}`` is replaced by a value; a missing value shows as "(not recorded)";
- a line starting with ``?`` is optional: it is dropped when any of its fields is empty.

Data minimisation (legal-rules.md §6): each kind declares the payload fields its purpose needs
(`KIND_FIELDS`); only those are ever read from the payload, and a template using any other
field fails `check_templates()`. Extra payload keys (a social worker's address, flags, free
text in English) are therefore never mailed.
"""

from __future__ import annotations

import hashlib
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

from hub_contracts import Notification, NotificationKind

__all__ = [
    "KIND_FIELDS",
    "LANGUAGES",
    "Language",
    "LanguageChoice",
    "RenderedNotice",
    "TemplateError",
    "check_templates",
    "render_notice",
]

Language = Literal["en", "cy"]
LanguageChoice = Literal["en", "cy", "both"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)

_LONDON: Final = ZoneInfo("Europe/London")
_FOOTER: Final = "_footer"
#: Fields every template may use; they come from the notification, not its payload.
_COMMON: Final = frozenset({"notification_id", "upn", "due_by", "due_by_note"})
#: Fields shown through `labels.toml` (section named after the field) rather than as given.
_LABELLED: Final = {"session": "session", "reasons": "reason", "concern": "concern"}
_SAFE_REF: Final = re.compile(r"[^A-Za-z0-9:_.-]")


class TemplateError(ValueError):
    """A template or label file is missing or malformed (a bug in the hub, found by tests)."""


@dataclass(frozen=True)
class KindFields:
    """What a kind's notice may show: scalar payload fields and list fields with item fields."""

    fields: tuple[str, ...]
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# Each kind's purpose decides its fields (legal-rules.md §6, share only what the purpose needs).
KIND_FIELDS: Final[Mapping[NotificationKind, KindFields]] = {
    # Wales reg 12(3): "full name and address"; England 2024 reg 13(4)(a)-(e): also each parent
    # the pupil normally lives with (name, address, an emergency telephone number).
    NotificationKind.DELETION_RETURN: KindFields(
        fields=(
            "full_name", "address", "setting_id", "setting_name", "ground", "ground_title",
            "deletion_date", "regulation", "admitted_elsewhere_setting_id",
            "destination_start_date", "new_address", "new_address_from",
        ),
        lists={"parents": ("full_name", "address", "phone")},
    ),
    # Good practice / LA policy: the LA (or social worker) needs to know who left and why, not
    # where they live.
    NotificationKind.DELETION_NOTICE: KindFields(
        fields=(
            "full_name", "setting_id", "setting_name", "ground", "ground_title",
            "deletion_date", "policy",
        ),
    ),
    # The other school identifies the learner by UPN in its own register.
    NotificationKind.CONSENT_REQUEST: KindFields(
        fields=(
            "full_name", "requesting_setting_id", "requesting_setting_name",
            "consenting_setting_id", "ground", "ground_title", "effective_date",
        ),
    ),
    # The LA must find the child: name and address are the point of the referral.
    NotificationKind.CME_REFERRAL: KindFields(
        fields=(
            "full_name", "address", "setting_id", "run_first_day", "school_days_absent",
            "as_of", "ground",
        ),
    ),
    # Wales reg 12(1): name and address of each pupil, and the cause of absence if known.
    NotificationKind.ABSENCE_RETURN: KindFields(
        fields=("la_code", "period_start", "period_end", "count"),
        lists={
            "entries": (
                "upn", "full_name", "address", "setting_id", "reasons", "attendance_pct",
                "possible_sessions", "run_first_day", "run_school_days", "cause",
            )
        },
    ),
    # The safeguarding lead needs who, where, when and why it is urgent; no address.
    NotificationKind.SAFEGUARDING_ALERT: KindFields(
        fields=(
            "full_name", "setting_id", "date", "session", "code", "concern",
            "run_first_day", "school_days_absent",
        ),
    ),
    # The partner setting records the same absence: who, which session, which code.
    NotificationKind.DUAL_ABSENCE_NOTICE: KindFields(
        fields=("full_name", "absent_at", "date", "session", "code"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str
    #: The Content-Language header value, e.g. "cy, en".
    content_language: str


@dataclass(frozen=True)
class _Template:
    subject: str
    lines: tuple[str, ...]
    #: The fields the template uses.
    names: frozenset[str]


# --- loading and checking --------------------------------------------------------------------


def _read(language: Language, name: str) -> str | None:
    resource = resources.files(__name__).joinpath(language, name)
    if not resource.is_file():
        return None
    return resource.read_text(encoding="utf-8")


def _parse(text: str, where: str, *, allowed: frozenset[str], subject: bool) -> _Template:
    lines = [line.rstrip() for line in text.splitlines() if not line.startswith("##")]
    title = ""
    if subject:
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines or not lines[0].startswith("Subject: "):
            raise TemplateError(f"{where}: the first line must be 'Subject: <title>'")
        title = lines.pop(0).removeprefix("Subject: ").strip()
        if "$" in title or not title:
            raise TemplateError(f"{where}: the subject must be plain text, without placeholders")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    names: set[str] = set()
    for line in lines:
        template = string.Template(line)
        if not template.is_valid():
            raise TemplateError(f"{where}: malformed placeholder in {line!r}")
        names.update(template.get_identifiers())
    unknown = names - allowed
    if unknown:
        raise TemplateError(f"{where}: fields not allowed for this notice: {sorted(unknown)}")
    return _Template(title, tuple(lines), frozenset(names))


@cache
def _template(language: Language, stem: str, allowed: frozenset[str], subject: bool) -> _Template:
    text = _read(language, f"{stem}.txt")
    if text is None:
        raise TemplateError(f"no template {language}/{stem}.txt")
    return _parse(text, f"{language}/{stem}.txt", allowed=allowed, subject=subject)


@cache
def _labels(language: Language) -> Mapping[str, Mapping[str, str]]:
    text = _read(language, "labels.toml")
    if text is None:
        raise TemplateError(f"no label file {language}/labels.toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{language}/labels.toml: {exc}") from exc
    for section in ("text", "session", "reason", "concern"):
        values = data.get(section)
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise TemplateError(f"{language}/labels.toml: [{section}] must map names to text")
    for key in ("not_recorded", "none", "yes", "no", "due_by_estimate", "other_language_below"):
        if key not in data["text"]:
            raise TemplateError(f"{language}/labels.toml: [text] lacks {key!r}")
    return data


def _variant(kind: NotificationKind, payload: Mapping[str, Any]) -> str | None:
    ground = payload.get("ground")
    if kind is NotificationKind.DELETION_RETURN and isinstance(ground, str):
        return "england" if ground.startswith("england-") else None
    return None


def _allowed(spec: KindFields) -> frozenset[str]:
    return _COMMON | frozenset(spec.fields) | frozenset(spec.lists)


def _stems(kind: NotificationKind) -> list[str]:
    stems = [kind.value]
    if kind is NotificationKind.DELETION_RETURN:
        stems.append(f"{kind.value}.england")
    return stems


def check_templates() -> None:
    """Load and check every template and label file in every language (at start-up, so that
    sending never reads files on the event loop). Raises `TemplateError`."""
    for language in LANGUAGES:
        _labels(language)
        _template(language, _FOOTER, _COMMON, False)
        for kind in NotificationKind:
            spec = KIND_FIELDS[kind]
            for stem in _stems(kind):
                template = _template(language, stem, _allowed(spec), True)
                for name, item_fields in spec.lists.items():
                    if name in template.names:
                        _template(language, f"{stem}.{name}", frozenset(item_fields), False)


# --- rendering -------------------------------------------------------------------------------


def _text(value: object, name: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    """One value as a single line of text; "" for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return labels["text"]["yes" if value else "no"]
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list):
        parts = [_text(item, name, labels) for item in value]
        return "; ".join(part for part in parts if part)
    if not isinstance(value, str | int):
        return ""
    # One line per value: an address's line breaks become commas.
    lines = [part.strip(" ,") for part in str(value).replace("\r", "\n").split("\n")]
    text = re.sub(r"\s+", " ", ", ".join(part for part in lines if part))
    section = _LABELLED.get(name)
    if section is not None:
        return labels[section].get(text, text)
    return text


def _render_lines(
    template: _Template, values: Mapping[str, str], labels: Mapping[str, Mapping[str, str]]
) -> list[str]:
    missing = labels["text"]["not_recorded"]
    out: list[str] = []
    for line in template.lines:
        optional = line.startswith("?")
        if optional:
            line = line[1:]
            line = line[1:] if line.startswith(" ") else line
        tmpl = string.Template(line)
        names = tmpl.get_identifiers()
        if optional and any(not values.get(name) for name in names):
            continue
        out.append(tmpl.substitute({name: values.get(name) or missing for name in names}))
    return out


def _lookup(payload: Mapping[str, Any], name: str) -> object:
    if name in payload:
        return payload[name]
    # England deletion returns keep the reg 8 destination particulars in a nested object.
    destination = payload.get("destination")
    if isinstance(destination, dict):
        return destination.get(name)
    return None


def _due_by(notification: Notification) -> str:
    if notification.due_by is None:
        return ""
    return notification.due_by.astimezone(_LONDON).strftime("%Y-%m-%d %H:%M")


def _render_one(notification: Notification, language: Language) -> tuple[str, str]:
    kind = notification.kind
    spec = KIND_FIELDS[kind]
    payload: Mapping[str, Any] = notification.payload
    labels = _labels(language)
    variant = _variant(kind, payload)
    stem = kind.value if variant is None else f"{kind.value}.{variant}"
    template = _template(language, stem, _allowed(spec), True)

    values: dict[str, str] = {
        name: _text(_lookup(payload, name), name, labels) for name in spec.fields
    }
    if "concern" in spec.fields:
        # Why a safeguarding alert was raised: a rule's category or a discrepancy kind.
        values["concern"] = _text(
            payload.get("category") or payload.get("reason"), "concern", labels
        )
    upn = notification.upn or payload.get("upn")
    values.update(
        notification_id=notification.id,
        upn=_text(upn, "upn", labels),
        due_by=_due_by(notification),
        due_by_note=labels["text"]["due_by_estimate"]
        if payload.get("due_by_is_estimate") is True
        else "",
    )
    for name, item_fields in spec.lists.items():
        if name not in template.names:
            continue  # e.g. parents: listed by the England deletion return only
        items = payload.get(name)
        rows = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
        if "count" in spec.fields:
            values["count"] = str(len(rows))
        if not rows:
            values[name] = labels["text"]["none"]
            continue
        item_template = _template(language, f"{stem}.{name}", frozenset(item_fields), False)
        blocks = [
            "\n".join(
                _render_lines(
                    item_template, {f: _text(row.get(f), f, labels) for f in item_fields}, labels
                )
            )
            for row in rows
        ]
        values[name] = "\n\n".join(blocks)
    body = _render_lines(template, values, labels)
    footer = _render_lines(_template(language, _FOOTER, _COMMON, False), values, labels)
    return template.subject, "\n".join([*body, "", *footer])


def _subject_ref(notification: Notification) -> str:
    """Which setting (or LA) the notice is about, for the subject: an id, never a person."""
    payload = notification.payload
    for key in ("setting_id", "requesting_setting_id", "absent_at"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return _SAFE_REF.sub("", value)[:40]
    la_code = payload.get("la_code")
    if isinstance(la_code, str) and la_code.strip():
        return "LA " + _SAFE_REF.sub("", la_code)[:10]
    return _SAFE_REF.sub("", notification.recipient)[:40]


def _subject(notification: Notification, title: str) -> str:
    ref = _subject_ref(notification)
    ident = _SAFE_REF.sub("", notification.id)
    personal = [
        p for p in (notification.upn, notification.payload.get("upn")) if isinstance(p, str) and p
    ]
    name = notification.payload.get("full_name")
    if isinstance(name, str) and name.strip():
        personal.append(name.strip())
    if any(p in ident or p in ref for p in personal):
        # An id built from a UPN (a producer's choice) must not reach the subject line.
        ident = "ref-" + _hash(notification.id)
        ref = "" if any(p in ref for p in personal) else ref
    parts = [title, ref, ident] if ref else [title, ident]
    return " - ".join(parts)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def render_notice(notification: Notification, language: LanguageChoice) -> RenderedNotice:
    """The subject and plain-text body of `notification` in `language`.

    ``"both"`` puts the Welsh text first, then the English one, in one message (the Welsh
    Language Standards expect Welsh not to be treated less favourably than English).
    """
    if language == "both":
        cy_title, cy_body = _render_one(notification, "cy")
        en_title, en_body = _render_one(notification, "en")
        bridge = _labels("cy")["text"]["other_language_below"]
        body = "\n".join([bridge, "", cy_body, "", "=" * 60, "", en_body])
        return RenderedNotice(_subject(notification, f"{cy_title} / {en_title}"), body, "cy, en")
    title, body = _render_one(notification, language)
    return RenderedNotice(_subject(notification, title), body, language)
