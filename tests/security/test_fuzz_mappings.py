"""Bad input from vendors, property-based: every adapter's mapping (plugins/*/hub_*/mapping.py).

Inbound: arbitrary vendor JSON, shaped like each vendor record (its field names, each value
either plausible for its type or arbitrary JSON, or missing), goes through the plugin's own
validation and then its mapping function. The outcome is a contract model (or the mapping's
documented non-contract result, or None for a record skipped on purpose) or a
`ContractViolation` / `ValueError`: never another exception, which would crash a sync page
instead of quarantining it.

Outbound: a notification with an arbitrary payload goes through each body builder; the
outcome is a JSON-able body or an SDK error (`AdapterError`) / `ValueError`.

The budget is fixed: `EXAMPLES` per mapping, derandomised.
"""

from __future__ import annotations

import datetime as dt
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel

from hub.sdk import AdapterError, ContractViolation
from hub_contracts import ContractModel, Notification, NotificationKind, make_upn
from hub_cpoms import mapping as cpoms
from hub_myconcern import mapping as myconcern
from hub_one import mapping as one
from hub_sims import mapping as sims

EXAMPLES = 50


def _mostly(
    usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], *, one_in: int = 20
) -> st.SearchStrategy[Any]:
    """`usual`, but `rare` about once in `one_in` draws (`one_of` alone is not uniform)."""
    return st.integers(0, one_in - 1).flatmap(lambda n: rare if n == one_in // 2 else usual)


UPN = make_upn("999000120001")

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
DATES = _mostly(
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)).map(str),
    st.sampled_from(["2025-02-30", "", "03/11/2025", "2025-11-03T09:00:00", "0001-01-01"]),
    one_in=4,
)
DATETIMES = _mostly(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        max_value=dt.datetime(9999, 12, 31),
        timezones=_mostly(
            st.just(dt.UTC),
            st.sampled_from(
                [dt.timezone(dt.timedelta(hours=23)), dt.timezone(dt.timedelta(hours=-23)), None]
            ),
        ),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+23:00",  # valid ISO 8601, before year 1 in UTC
            "9999-12-31T23:59:59-23:00",  # ... and after year 9999
            "2025-11-03T09:00:00",
            "yesterday",
            "",
        ]
    ),
    one_in=4,
)
STRINGS = st.one_of(
    st.text(max_size=20),
    st.sampled_from([UPN, UPN.lower(), "A00000000000", "9990001", "C", "M", "S", "G", "/", "N"]),
    st.sampled_from(["AM", "PM", "MON-AM", "TUE-PM", "XX-AM", "open", "closed", "matched"]),
    st.sampled_from(["acknowledged", "located", "school", "la", "one"]),
)


def _plausible(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of roughly the field's type, so mapping code past validation is reached."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(_plausible(a) for a in args))
    if origin is typing.Annotated:
        return _plausible(args[0])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(_plausible(args[0]) if args else ANY_JSON, max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), ANY_JSON, max_size=3)
    if annotation is type(None):
        return st.none()
    if annotation is AwareDatetime:
        return DATETIMES
    if isinstance(annotation, type):
        if issubclass(annotation, bool):
            return st.booleans()
        if issubclass(annotation, int):
            return st.integers(min_value=-5, max_value=10**6)
        if issubclass(annotation, dt.datetime):
            return DATETIMES
        if issubclass(annotation, dt.date):
            return DATES
        if issubclass(annotation, BaseModel):
            return vendor_record(annotation)
        if issubclass(annotation, Enum):
            return st.sampled_from([m.value for m in annotation]) | STRINGS
        if issubclass(annotation, str):
            return STRINGS
    return ANY_JSON


#: Field-name hints, so that most records get past validation and reach the mapping itself.
NAME_HINTS: dict[str, st.SearchStrategy[Any]] = {
    "upn": _mostly(st.just(UPN), st.sampled_from([UPN.lower(), "A00000000000", ""])),
    "session": st.sampled_from(["AM", "PM", "XX"]),
    "mark": st.sampled_from(["/", "N", "-", "Q"]),
    "status": st.sampled_from(["C", "M", "S", "G", "P", "open", "closed", "located", "new"]),
    "base_id": st.sampled_from(["9990001", "9990002", "x"]),
    "sessions": st.lists(st.sampled_from(["MON-AM", "TUE-PM", "XX-AM", "MON"]), max_size=3),
}


def _field_values(name: str, annotation: Any) -> st.SearchStrategy[Any]:
    hinted = None
    if annotation is str or annotation == str | None:
        hinted = next((v for k, v in NAME_HINTS.items() if k in name.lower()), None)
    plausible = _plausible(annotation)
    if hinted is not None:
        plausible = _mostly(hinted, plausible)
    return _mostly(plausible, ANY_JSON)


def vendor_record(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with `model`'s wire field names: required ones mostly present, every value
    mostly plausible for its type, sometimes arbitrary; plus unknown keys now and then."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        values = _field_values(key, info.annotation)
        (required if info.is_required() else optional)[key] = values
    record = st.fixed_dictionaries(required, optional=optional)
    dropped = (
        _mostly(st.just(set()), st.sets(st.sampled_from(sorted(required)), min_size=1, max_size=1))
        if required
        else st.just(set())
    )
    extra = st.dictionaries(st.text(max_size=8), ANY_JSON, max_size=2)
    return st.tuples(record, dropped, extra).map(
        lambda t: {**t[2], **{k: v for k, v in t[0].items() if k not in t[1]}}
    )


def _notification(kind: NotificationKind, payload: dict[str, Any], upn: str | None) -> Notification:
    return Notification(
        id="ntf_fuzz",
        kind=kind,
        upn=upn,
        recipient="la:999",
        created_at=dt.datetime(2025, 11, 3, tzinfo=dt.UTC),
        payload=payload,
    )


PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        key: st.one_of(STRINGS, DATES, ANY_JSON)
        for key in (
            "upn",
            "full_name",
            "given_name",
            "family_name",
            "date_of_birth",
            "date",
            "as_of",
            "session",
            "code",
            "category",
            "setting_id",
            "ground",
            "requested",
            "run_first_day",
            "urgency",
            "entries",
        )
    }
    | {
        "school_days_absent": st.one_of(st.integers(0, 200), ANY_JSON),
        "looked_after": st.one_of(st.booleans(), ANY_JSON),
        "child_protection_plan": st.one_of(st.booleans(), ANY_JSON),
        "urgent": st.one_of(st.booleans(), ANY_JSON),
        "entries": st.lists(
            st.one_of(st.fixed_dictionaries({"upn": STRINGS}), ANY_JSON), max_size=3
        ),
    },
)
NOTIFICATIONS = st.builds(
    _notification,
    st.sampled_from(list(NotificationKind)),
    PAYLOADS,
    st.sampled_from([UPN, None]),
)

SIMS_CODES = sims.CodeList(
    sims.SimsCodeDto.model_validate(
        {"Attendance_Code_ID": i, "SIMS_Display_Code": c, "Statutory_Return_Code": c}
    )
    for i, c in enumerate(["/", "\\", "N", "L", "D"])
)


def _sims(dto_type: type[sims._Dto], mapper: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda data: mapper(sims.parse_dtos(dto_type, [data])[0])


def _validated(
    validate: Callable[..., Any], model: type[BaseModel], mapper: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    return lambda data: mapper(validate(model, data, f"fuzzed {model.__name__}"))


@dataclass(frozen=True)
class Inbound:
    model: type[BaseModel]
    run: Callable[[Any], Any]
    #: What a successful mapping returns besides contract models (None: skipped on purpose).
    also: tuple[type, ...] = ()


INBOUND: dict[str, Inbound] = {
    "sims.to_learner": Inbound(sims.SimsLearnerDto, _sims(sims.SimsLearnerDto, sims.to_learner)),
    "sims.to_registration": Inbound(
        sims.SimsEnrolmentDto,
        _sims(sims.SimsEnrolmentDto, lambda dto: sims.to_registration(dto, "9990001")),
        (type(None),),
    ),
    "sims.to_mark": Inbound(
        sims.SimsMarkDto,
        _sims(sims.SimsMarkDto, lambda dto: sims.to_mark(dto, "9990001", SIMS_CODES)),
        (type(None),),
    ),
    "one.registration_from_one": Inbound(
        one.OneRegistration,
        _validated(one.validate_dto, one.OneRegistration, one.registration_from_one),
        (type(None),),
    ),
    "one.placement_from_one": Inbound(
        one.OnePlacement, _validated(one.validate_dto, one.OnePlacement, one.placement_from_one)
    ),
    "one.cme_outcome_from_one": Inbound(
        one.OneCmeEnquiry,
        _validated(one.validate_dto, one.OneCmeEnquiry, one.cme_outcome_from_one),
        (one.CmeEnquiryOutcome,),
    ),
    "one.receipt_from_ack": Inbound(
        one.SubmissionAck,
        _validated(
            one.validate_dto,
            one.SubmissionAck,
            lambda ack: one.receipt_from_ack(
                _notification(NotificationKind.CME_REFERRAL, {}, UPN), "key", ack
            ),
        ),
    ),
    "cpoms.receipt_from_incident": Inbound(
        cpoms.Incident,
        _validated(
            cpoms.validate_dto,
            cpoms.Incident,
            lambda incident: (
                cpoms.hub_status(incident),
                cpoms.receipt_from_incident(
                    _notification(NotificationKind.SAFEGUARDING_ALERT, {}, UPN), "key", incident
                ),
            )[1],
        ),
    ),
    "myconcern.receipt_from_concern": Inbound(
        myconcern.Concern,
        _validated(
            myconcern.validate_dto,
            myconcern.Concern,
            lambda concern: (
                myconcern.receipt_from_concern(
                    _notification(NotificationKind.SAFEGUARDING_ALERT, {}, UPN), "key", concern
                ),
                myconcern.hub_status(concern),
            )[0],
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(INBOUND))
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
@given(data=st.data())
def test_vendor_json_maps_to_a_contract_or_a_contract_violation(
    name: str, data: st.DataObject
) -> None:
    case = INBOUND[name]
    record = data.draw(_mostly(vendor_record(case.model), ANY_JSON), label="vendor record")
    try:
        result = case.run(record)
    except (ContractViolation, ValueError):
        return
    assert isinstance(result, (ContractModel, *case.also)), type(result)


OUTBOUND: dict[str, Callable[[Notification], Any]] = {
    "one.submission_body": lambda n: (
        one.submission_body(n, "999") if n.kind in one.SUBMISSION_ROUTES else {}
    ),
    "cpoms.incident_body": lambda n: cpoms.incident_body(n, "ref", 1, [1, 2]),
    "cpoms.category_names": lambda n: cpoms.category_names(
        n, cpoms.DEFAULT_CATEGORIES, cpoms.DEFAULT_FLAG_CATEGORIES
    ),
    "myconcern.concern_body": lambda n: myconcern.concern_body(
        n, "ref", myconcern.DEFAULT_CATEGORIES
    ),
}


@pytest.mark.parametrize("name", sorted(OUTBOUND))
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
@given(notification=NOTIFICATIONS)
def test_any_notification_payload_builds_a_body_or_an_sdk_error(
    name: str, notification: Notification
) -> None:
    try:
        body = OUTBOUND[name](notification)
    except (AdapterError, ValueError):
        return
    json.dumps(body)  # what goes on the wire must be JSON


def test_every_plugin_mapping_module_is_fuzzed() -> None:
    # A plugin with a mapping module and no row above fails here.
    root = Path(__file__).resolve().parents[2]
    plugins = {
        path.parent.name.removeprefix("hub_") for path in root.glob("plugins/*/hub_*/mapping.py")
    }
    fuzzed = {name.split(".")[0] for name in (*INBOUND, *OUTBOUND)}
    assert plugins and plugins == fuzzed
