"""An emulator of the minimal CPOMS incident API this plugin assumes (README.md): a real
aiohttp server with its own state, bearer-token auth, paging, validation and injectable faults.

    python -m hub_cpoms.emulator --port 8084   # token: $HUB_CPOMS_EMULATOR_TOKEN or the
                                               # synthetic default below

API (under ``/api``, ``Authorization: Bearer <token>``, bodies in ``{"data": ...}``):
``GET school``; ``GET categories?page=`` (paged); ``GET students?upn=``;
``GET incidents?external_ref=``; ``POST incidents``; ``GET incidents/{id}``. Control (no auth,
never faulted), under ``/_emulator/``: ``POST students``, ``POST incidents/{id}/acknowledge``
(an alerted member of staff acknowledges), ``POST incidents/{id}/close``, ``GET incidents``,
plus the fault toolkit's ``faults`` and ``reset``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.testing.emulator import run_standalone
from hub.testing.faults import CONTROL_PREFIX, FaultPlan, install_faults
from hub_contracts import make_upn

__all__ = [
    "API_PREFIX",
    "CPOMS_FAULTS",
    "CPOMS_STATE",
    "DEFAULT_CATEGORIES",
    "DEFAULT_TOKEN",
    "CpomsState",
    "StudentRecord",
    "build_app",
    "create_app",
    "synthetic_students",
]

API_PREFIX = "/api"
#: Synthetic, for the emulator only.
DEFAULT_TOKEN = "synthetic-cpoms-emulator-token"
#: A school's incident categories (each school sets up its own in CPOMS).
DEFAULT_CATEGORIES = (
    "Attendance",
    "Bullying",
    "Child Protection",
    "Children Missing Education",
    "Domestic Abuse",
    "Looked After Children",
    "Medical",
    "Neglect",
    "Online Safety",
    "Parental Concern",
    "Peer on Peer Abuse",
    "Self Harm",
)
CATEGORIES_PER_PAGE = 5


def _errors(status: int, *errors: tuple[str, str]) -> web.Response:
    body = {"errors": [{"field": f, "code": c} for f, c in errors]}
    return web.json_response(body, status=status)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class StudentRecord:
    """A student CPOMS holds (brought in by its MIS sync)."""

    id: int
    upn: str
    forename: str
    surname: str
    dob: dt.date

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "upn": self.upn,
            "forename": self.forename,
            "surname": self.surname,
            "dob": self.dob.isoformat(),
        }


@dataclass
class CpomsState:
    category_names: tuple[str, ...]
    seed_students: tuple[StudentRecord, ...] = ()
    clock: Callable[[], dt.datetime] = _now
    students: dict[int, StudentRecord] = field(default_factory=dict)
    incidents: dict[int, dict[str, Any]] = field(default_factory=dict)
    _next_incident: int = 1000

    def __post_init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.students = {s.id: s for s in self.seed_students}
        self.incidents = {}
        self._next_incident = 1000

    @property
    def categories(self) -> list[dict[str, Any]]:
        return [{"id": 10 + n, "name": name} for n, name in enumerate(self.category_names)]

    def by_upn(self, upn: str) -> list[StudentRecord]:
        return [s for s in self.students.values() if s.upn == upn]

    def by_external_ref(self, external_ref: str) -> list[dict[str, Any]]:
        return [i for i in self.incidents.values() if i["external_ref"] == external_ref]

    def log(self, data: dict[str, Any]) -> dict[str, Any]:
        self._next_incident += 1
        incident = {
            "id": self._next_incident,
            "student_id": data["student_id"],
            "incident_date": data["incident_date"],
            "description": data["description"],
            "category_ids": data["category_ids"],
            "urgent": bool(data.get("urgent", False)),
            "alert_groups": data.get("alert_groups", []),
            "external_ref": data.get("external_ref"),
            "status": "open",
            "actions": [],
            "created_at": self.clock().isoformat(),
        }
        self.incidents[incident["id"]] = incident
        return incident

    def act(self, incident_id: int, action: str, by: str) -> dict[str, Any]:
        incident = self.incidents[incident_id]
        incident["actions"].append({"type": action, "by": by, "at": self.clock().isoformat()})
        if action == "closed":
            incident["status"] = "closed"
        return incident


CPOMS_STATE = web.AppKey("cpoms_state", CpomsState)
CPOMS_FAULTS = web.AppKey("cpoms_faults", FaultPlan)
_TOKEN = web.AppKey("cpoms_token", str)


@web.middleware
async def _control_input_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A malformed body sent to a control endpoint is the caller's mistake: 400, not 500."""
    if not request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except (KeyError, TypeError, ValueError) as exc:
        return _errors(400, ("control", type(exc).__name__))


@web.middleware
async def _require_bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), request.app[_TOKEN].encode()
    ):
        return _errors(401, ("authorization", "invalid_token"))
    return await handler(request)


async def _school(request: web.Request) -> web.Response:
    return web.json_response({"data": {"id": 4242, "name": "Synthetic Academy (emulator)"}})


async def _categories(request: web.Request) -> web.Response:
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        return _errors(400, ("page", "not_an_integer"))
    if page < 1:
        return _errors(400, ("page", "out_of_range"))
    everything = request.app[CPOMS_STATE].categories
    pages = max(1, -(-len(everything) // CATEGORIES_PER_PAGE))
    chunk = everything[(page - 1) * CATEGORIES_PER_PAGE : page * CATEGORIES_PER_PAGE]
    return web.json_response({"data": chunk, "meta": {"page": page, "pages": pages}})


async def _students(request: web.Request) -> web.Response:
    upn = request.query.get("upn")
    if not upn:
        return _errors(400, ("upn", "required"))
    found = request.app[CPOMS_STATE].by_upn(upn)
    return web.json_response({"data": [s.as_json() for s in found]})


async def _search_incidents(request: web.Request) -> web.Response:
    external_ref = request.query.get("external_ref")
    if not external_ref:
        return _errors(400, ("external_ref", "required"))
    found = request.app[CPOMS_STATE].by_external_ref(external_ref)
    return web.json_response({"data": found, "meta": {"page": 1, "pages": 1}})


def _invalid(data: Any, state: CpomsState) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        return [("data", "required")]
    problems = []
    if not isinstance(data.get("student_id"), int) or data["student_id"] not in state.students:
        problems.append(("student_id", "not_found"))
    try:
        dt.date.fromisoformat(str(data.get("incident_date")))
    except ValueError:
        problems.append(("incident_date", "invalid"))
    description = data.get("description")
    if not isinstance(description, str) or not 1 <= len(description) <= 4000:
        problems.append(("description", "length"))
    known = {c["id"] for c in state.categories}
    ids = data.get("category_ids")
    if not isinstance(ids, list) or not ids or any(i not in known for i in ids):
        problems.append(("category_ids", "invalid"))
    ref = data.get("external_ref")
    if ref is not None and (not isinstance(ref, str) or not 1 <= len(ref) <= 200):
        problems.append(("external_ref", "length"))
    elif isinstance(ref, str) and state.by_external_ref(ref):
        problems.append(("external_ref", "taken"))
    return problems


async def _log_incident(request: web.Request) -> web.Response:
    state = request.app[CPOMS_STATE]
    try:
        body = await request.json()
    except ValueError:
        return _errors(400, ("body", "not_json"))
    data = body.get("data") if isinstance(body, dict) else None
    problems = _invalid(data, state)
    if problems:
        return _errors(422, *problems)
    assert isinstance(data, dict)
    return web.json_response({"data": state.log(data)}, status=201)


async def _get_incident(request: web.Request) -> web.Response:
    try:
        incident_id = int(request.match_info["incident_id"])
    except ValueError:
        return _errors(404, ("id", "not_found"))
    incident = request.app[CPOMS_STATE].incidents.get(incident_id)
    if incident is None:
        return _errors(404, ("id", "not_found"))
    return web.json_response({"data": incident})


# --- control routes ----------------------------------------------------------------------------


async def _control_students(request: web.Request) -> web.Response:
    body = await request.json()
    state = request.app[CPOMS_STATE]
    for item in body["students"]:
        student = StudentRecord(
            int(item["id"]),
            item["upn"],
            item["forename"],
            item["surname"],
            dt.date.fromisoformat(item["dob"]),
        )
        state.students[student.id] = student
    return web.json_response({"students": len(state.students)})


def _control_action(action: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[CPOMS_STATE]
        try:
            incident_id = int(request.match_info["incident_id"])
        except ValueError:
            incident_id = -1
        if incident_id not in state.incidents:
            return _errors(404, ("id", "not_found"))
        body = await request.json() if request.can_read_body else {}
        by = body.get("by") if isinstance(body, dict) else None
        incident = state.act(incident_id, action, by or "Designated Safeguarding Lead")
        return web.json_response({"data": incident})

    return handler


async def _control_incidents(request: web.Request) -> web.Response:
    return web.json_response({"data": list(request.app[CPOMS_STATE].incidents.values())})


def create_app(
    *,
    token: str = DEFAULT_TOKEN,
    categories: tuple[str, ...] = DEFAULT_CATEGORIES,
    students: Iterable[StudentRecord] = (),
    clock: Callable[[], dt.datetime] = _now,
) -> web.Application:
    """A CPOMS emulator for one school. `app[CPOMS_STATE]` and `app[CPOMS_FAULTS]` are its
    state and fault plan, for in-process tests."""
    app = web.Application()
    state = CpomsState(category_names=categories, seed_students=tuple(students), clock=clock)
    app[CPOMS_STATE] = state
    app[_TOKEN] = token
    install_faults(app, CPOMS_FAULTS, on_reset=state.clear)
    app.middlewares.append(_require_bearer)
    app.middlewares.append(_control_input_errors)
    app.router.add_get(f"{API_PREFIX}/school", _school)
    app.router.add_get(f"{API_PREFIX}/categories", _categories)
    app.router.add_get(f"{API_PREFIX}/students", _students)
    app.router.add_get(f"{API_PREFIX}/incidents", _search_incidents)
    app.router.add_post(f"{API_PREFIX}/incidents", _log_incident)
    app.router.add_get(f"{API_PREFIX}/incidents/{{incident_id}}", _get_incident)
    app.router.add_post(CONTROL_PREFIX + "students", _control_students)
    app.router.add_post(
        CONTROL_PREFIX + "incidents/{incident_id}/acknowledge", _control_action("acknowledged")
    )
    app.router.add_post(CONTROL_PREFIX + "incidents/{incident_id}/close", _control_action("closed"))
    app.router.add_get(CONTROL_PREFIX + "incidents", _control_incidents)
    return app


def synthetic_students() -> tuple[StudentRecord, ...]:
    """Obviously synthetic students (LA 999) for the demo and standalone runs."""
    return (
        StudentRecord(501, make_upn("999000130001"), "Ada", "Synthetic", dt.date(2013, 9, 1)),
        StudentRecord(502, make_upn("999000130002"), "Bryn", "Example", dt.date(2012, 1, 15)),
    )


def build_app() -> web.Application:
    """The standalone emulator: synthetic students, token from the environment or default."""
    return create_app(
        token=os.environ.get("HUB_CPOMS_EMULATOR_TOKEN", DEFAULT_TOKEN),
        students=synthetic_students(),
    )


if __name__ == "__main__":
    run_standalone(build_app, description="CPOMS emulator for attendance-hub")
