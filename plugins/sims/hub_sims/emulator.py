"""A SIMS partner API emulator: a real aiohttp server with its own state, auth, paging and faults.

What it models (README.md says which parts are public SIMS facts and which are assumed):

- ``POST /connect/token``: OAuth2 client credentials (form fields or HTTP Basic); a wrong client
  secret is ``400 {"error": "invalid_client"}`` (IdentityServer style); tokens live
  `token_ttl` seconds;
- every ``/ssli01/...`` request needs ``Authorization: Bearer`` **and**
  ``Ocp-Apim-Subscription-Key`` (Azure API Management answers 401 without it);
- listings under ``/ssli01/{Learner|Attendance}/V3/Schools/{school}/...`` return at most
  `page_size` (1,000) records, ordered by ``(LastUpdated, id)``, with an ``@odata.nextLink``
  carrying an opaque ``$skiptoken`` while more remain, and ``@sims.asOf``, the change clock at
  query time; ``modifiedSince`` returns records changed strictly after it;
- session attendance needs ``startDate`` and ``endDate`` at most 90 days apart (inclusive);
  more is ``400 DateRangeTooLarge``;
- ``AttendanceCodes`` lists the school's codes with ``Statutory_Return_Code``;
- ``POST .../SessionAttendances`` validates each record, commits the valid ones and says why the
  others were rejected; an ``Idempotency-Key`` header makes a replay return the first answer
  without writing again (the same key with another body is ``422``).

Test hooks: `EmulatorState` seed helpers, ``/_emulator/faults`` and ``/_emulator/reset``
(`hub.testing.faults`), ``POST /_emulator/seed`` and ``GET /_emulator/state`` for standalone
use: ``python -m hub_sims.emulator --port 8081``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from hub.testing.emulator import run_standalone
from hub.testing.faults import FaultPlan, honour_empty_last_page, install_faults

from .emulator_state import (
    PAGE_SIZE,
    EmulatorState,
    SimsCode,
    SimsEnrolment,
    SimsLearner,
    SimsMark,
    Written,
    seed_synthetic_school,
    utc_text,
)

__all__ = [
    "API_PREFIX",
    "FAULTS",
    "MAX_DAYS_PER_QUERY",
    "PAGE_SIZE",
    "STATE",
    "EmulatorState",
    "SimsCode",
    "SimsEnrolment",
    "SimsLearner",
    "SimsMark",
    "build_app",
    "seed_synthetic_school",
]

API_PREFIX = "/ssli01"
MAX_DAYS_PER_QUERY = 90
MAX_WRITE_BATCH = 1000

FAULTS = web.AppKey("sims_faults", FaultPlan)

STATE = web.AppKey("sims_state", EmulatorState)


# --- paging ------------------------------------------------------------------------------------


def _encode_skiptoken(after: tuple[str, int]) -> str:
    raw = json.dumps({"after": list(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_skiptoken(token: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        after = json.loads(raw)["after"]
        return str(after[0]), int(after[1])
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        raise _bad_request("InvalidSkipToken", "the $skiptoken is not valid") from exc


def _bad_request(code: str, message: str, status: int = 400) -> web.HTTPException:
    body = json.dumps({"error": {"code": code, "message": message}})
    error = web.HTTPException(text=body, content_type="application/json")
    error.set_status(status)
    return error


def _modified_since(request: web.Request) -> dt.datetime | None:
    raw = request.query.get("modifiedSince")
    if not raw:
        return None
    try:
        since = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _bad_request("InvalidModifiedSince", "modifiedSince is not an ISO 8601 time") from exc
    if since.tzinfo is None:
        raise _bad_request("InvalidModifiedSince", "modifiedSince needs a UTC offset")
    return since


Row = tuple[dt.datetime, int, Any]


def _page(
    request: web.Request,
    rows: Sequence[Row],
    *,
    presorted: bool = False,
) -> web.Response:
    """One page of `rows` (change time, id, record with ``as_json``) after the skiptoken, with a
    nextLink. `presorted` rows are already ordered by (change time, id): the page is then found
    by bisection, and only its own records are turned into JSON."""
    state = request.app[STATE]
    as_of = state.as_of
    since = _modified_since(request)
    after: tuple[str, int] | None = None
    if "$skiptoken" in request.query:
        after = _decode_skiptoken(request.query["$skiptoken"])
    top = state.page_size
    if "$top" in request.query:
        try:
            top = max(1, min(int(request.query["$top"]), state.page_size))
        except ValueError as exc:
            raise _bad_request("InvalidTop", "$top is not a number") from exc
    ordered = rows if presorted else sorted(rows, key=_order)
    # Records changed strictly after `modifiedSince`, then strictly after the skiptoken's cut.
    start = 0
    if since is not None:
        start = bisect.bisect_right(ordered, (since, _MAX_ID), key=_order)
    if after is not None:
        cut = (dt.datetime.fromisoformat(after[0]), after[1])
        start = max(start, bisect.bisect_right(ordered, cut, key=_order))
    chunk = ordered[start : start + top]
    body: dict[str, Any] = {
        "value": [row[2].as_json() for row in chunk],
        "@sims.asOf": utc_text(as_of),
    }
    last = (chunk[-1][0].isoformat(), chunk[-1][1]) if chunk else after
    more = len(ordered) > start + top
    if not more and chunk and honour_empty_last_page(request):
        more = True  # a continuation link to a page with nothing on it
    if more and last is not None:
        query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = _encode_skiptoken(last)
        body["@odata.nextLink"] = str(request.url.with_query(query))
    return web.json_response(body)


_MAX_ID = 2**63


def _order(row: Row) -> tuple[dt.datetime, int]:
    return row[0], row[1]


# --- handlers ----------------------------------------------------------------------------------


async def token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        except (ValueError, binascii.Error):
            client_id = client_secret = None
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    if client_id != state.client_id or client_secret != state.client_secret:
        return web.json_response({"error": "invalid_client"}, status=400)
    return web.json_response(
        {
            "access_token": state.issue_token(),
            "token_type": "Bearer",
            "expires_in": int(state.token_ttl),
            "scope": "partner partner-read partner-write",
        }
    )


@web.middleware
async def api_gateway(request: web.Request, handler: Any) -> web.StreamResponse:
    """Azure API Management in front of the API: subscription key, then bearer token."""
    if not request.path.startswith(API_PREFIX + "/"):
        return await handler(request)  # type: ignore[no-any-return]
    state = request.app[STATE]
    state.requests += 1
    if request.headers.get("Ocp-Apim-Subscription-Key") != state.subscription_key:
        return web.json_response(
            {
                "statusCode": 401,
                "message": "Access denied due to invalid subscription key. Make sure to "
                "provide a valid key for an active subscription.",
            },
            status=401,
        )
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not state.token_valid(auth[7:]):
        return web.json_response(
            {"error": {"code": "InvalidToken", "message": "the token is missing or expired"}},
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if request.match_info.get("school") not in (None, state.school_id):
        return web.json_response(
            {"error": {"code": "SchoolNotFound", "message": "no such school for this client"}},
            status=404,
        )
    return await handler(request)  # type: ignore[no-any-return]


async def learners(request: web.Request) -> web.Response:
    rows = [(ln.last_updated, ln.person_id, ln) for ln in request.app[STATE].learners.values()]
    return _page(request, rows)


async def enrolments(request: web.Request) -> web.Response:
    rows = [(e.last_updated, e.enrolment_id, e) for e in request.app[STATE].enrolments.values()]
    return _page(request, rows)


def _date_param(request: web.Request, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(request.query[name])
    except KeyError as exc:
        raise _bad_request("MissingParameter", f"{name} is required") from exc
    except ValueError as exc:
        raise _bad_request("InvalidDate", f"{name} is not a date (YYYY-MM-DD)") from exc


async def session_attendances(request: web.Request) -> web.Response:
    start, end = _date_param(request, "startDate"), _date_param(request, "endDate")
    if end < start:
        raise _bad_request("InvalidDateRange", "endDate is before startDate")
    if (end - start).days + 1 > MAX_DAYS_PER_QUERY:
        raise _bad_request(
            "DateRangeTooLarge", f"the maximum date range is {MAX_DAYS_PER_QUERY} days"
        )
    return _page(request, request.app[STATE].marks_between(start, end), presorted=True)


async def attendance_codes(request: web.Request) -> web.Response:
    codes = [code.as_json() for code in request.app[STATE].codes.values()]
    return web.json_response({"value": codes})


async def write_session_attendances(request: web.Request) -> web.Response:
    state = request.app[STATE]
    raw = await request.read()
    key = request.headers.get("Idempotency-Key")
    body_hash = hashlib.sha256(raw).hexdigest()
    if key is not None and key in state.writes:
        earlier = state.writes[key]
        if earlier.body_hash != body_hash:
            raise _bad_request(
                "IdempotencyKeyReused", "this Idempotency-Key was used for another request", 422
            )
        return web.json_response(earlier.response, headers={"Idempotent-Replayed": "true"})
    try:
        payload = json.loads(raw)
        records = payload["SessionAttendances"]
        if not isinstance(records, list):
            raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad_request("InvalidBody", 'expected {"SessionAttendances": [...]}') from exc
    if len(records) > MAX_WRITE_BATCH:
        raise _bad_request("BatchTooLarge", f"at most {MAX_WRITE_BATCH} records a request")
    results = []
    for index, record in enumerate(records):
        results.append({"index": index, **state.validate_and_apply(record)})
    response = {"results": results}
    state.applied_writes += 1
    if key is not None:
        state.writes[key] = Written(body_hash, response)
    return web.json_response(response)


# --- control (tests and hub demo) ----------------------------------------------------------


async def seed(request: web.Request) -> web.Response:
    """``POST /_emulator/seed``: ``{"learners": [...], "enrolments": [...], "marks": [...]}``
    with the fields of the `EmulatorState.add_*` helpers (dates as ISO strings)."""
    state = request.app[STATE]
    spec = await request.json()
    try:
        for item in spec.get("learners", []):
            state.add_learner(
                item["upn"],
                item["forename"],
                item["surname"],
                dt.date.fromisoformat(item["date_of_birth"]),
                address=item.get("address"),
                in_care=bool(item.get("in_care", False)),
                child_protection_plan=bool(item.get("child_protection_plan", False)),
            )
        for item in spec.get("enrolments", []):
            state.add_enrolment(
                item["upn"],
                dt.date.fromisoformat(item["entry_date"]),
                enrol_status=item.get("enrol_status", "C"),
                leaving_date=dt.date.fromisoformat(item["leaving_date"])
                if item.get("leaving_date")
                else None,
                deletion_ground=item.get("deletion_ground"),
            )
        for item in spec.get("marks", []):
            state.add_mark(
                item["upn"],
                dt.date.fromisoformat(item["date"]),
                item["session"],
                item["code"],
                mins_late=item.get("mins_late"),
            )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise _bad_request("InvalidSeed", f"bad seed data: {type(exc).__name__}") from exc
    return web.json_response(_summary(state))


def _summary(state: EmulatorState) -> dict[str, Any]:
    return {
        "school_id": state.school_id,
        "learners": len(state.learners),
        "enrolments": len(state.enrolments),
        "marks": len(state.marks),
        "applied_writes": state.applied_writes,
        "requests": state.requests,
    }


async def describe(request: web.Request) -> web.Response:
    """``GET /_emulator/state``: counts, and with ``?marks=1`` every current mark."""
    state = request.app[STATE]
    body = _summary(state)
    if request.query.get("marks"):
        body["marks_list"] = [m.as_json() for m in state.marks.values()]
    return web.json_response(body)


def build_app(
    state: EmulatorState | None = None, *, page_size: int | None = None
) -> web.Application:
    """The emulator application; `state` defaults to an empty school with synthetic
    credentials (`DEFAULT_*`)."""
    state = state if state is not None else EmulatorState()
    if page_size is not None:
        state.page_size = page_size
    app = web.Application(middlewares=[api_gateway])
    app[STATE] = state
    install_faults(app, FAULTS, on_reset=state.clear)
    app.router.add_post("/connect/token", token)
    app.router.add_get(API_PREFIX + "/Learner/V3/Schools/{school}/Learners", learners)
    app.router.add_get(API_PREFIX + "/Learner/V3/Schools/{school}/Enrolments", enrolments)
    attendance = API_PREFIX + "/Attendance/V3/Schools/{school}"
    app.router.add_get(attendance + "/SessionAttendances", session_attendances)
    app.router.add_post(attendance + "/SessionAttendances", write_session_attendances)
    app.router.add_get(attendance + "/AttendanceCodes", attendance_codes)
    app.router.add_post("/_emulator/seed", seed)
    app.router.add_get("/_emulator/state", describe)
    return app


if __name__ == "__main__":
    run_standalone(build_app, description="SIMS partner API emulator (synthetic data only)")
