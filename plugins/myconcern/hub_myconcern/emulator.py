"""An emulator of the minimal MyConcern concern API this plugin assumes (README.md): a real
aiohttp server with its own state, bearer-token auth, validation, paging and injectable faults.

    python -m hub_myconcern.emulator --port 8083   # token: $HUB_MYCONCERN_EMULATOR_TOKEN or
                                                   # the synthetic default below

API (under ``/api/v1``, ``Authorization: Bearer <token>``): ``GET whoami``;
``GET concerns?external_reference=`` (search) or ``?page=&per_page=`` (listing);
``POST concerns``; ``GET concerns/{id}``. Control (no auth, never faulted), under
``/_emulator/``: ``POST pupils``, ``POST concerns/{id}/acknowledge`` (the designated
safeguarding lead picks the concern up), ``POST concerns/{id}/close``, ``GET concerns``, plus
the fault toolkit's ``faults`` and ``reset``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.testing.emulator import run_standalone
from hub.testing.faults import CONTROL_PREFIX, FaultPlan, install_faults
from hub_contracts import UpnError, make_upn, validate_upn

__all__ = [
    "API_PREFIX",
    "DEFAULT_CATEGORIES",
    "DEFAULT_TOKEN",
    "MYCONCERN_FAULTS",
    "MYCONCERN_STATE",
    "MyConcernState",
    "Pupil",
    "build_app",
    "create_app",
    "synthetic_pupils",
]

API_PREFIX = "/api/v1"
#: Synthetic, for the emulator only.
DEFAULT_TOKEN = "synthetic-myconcern-emulator-token"
#: A school's configured concern categories (each school edits its own list in MyConcern).
DEFAULT_CATEGORIES = (
    "Attendance",
    "Children Missing Education",
    "Neglect",
    "Online Safety",
    "Other",
)
_URGENCIES = frozenset({"standard", "high", "immediate"})
_MAX_PER_PAGE = 50


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Pupil:
    """A pupil MyConcern knows (synchronised from the school's MIS)."""

    upn: str
    full_name: str
    date_of_birth: dt.date


@dataclass
class MyConcernState:
    categories: tuple[str, ...]
    seed_pupils: tuple[Pupil, ...] = ()
    clock: Callable[[], dt.datetime] = _now
    pupils: dict[str, Pupil] = field(default_factory=dict)
    concerns: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.pupils = {pupil.upn: pupil for pupil in self.seed_pupils}
        self.concerns = {}

    def add_pupils(self, pupils: Iterable[Pupil]) -> None:
        for pupil in pupils:
            self.pupils[pupil.upn] = pupil

    def subject_match(self, subject: dict[str, Any]) -> str:
        pupil = self.pupils.get(subject["upn"])
        if pupil is None:
            return "unmatched"
        name, dob = subject.get("full_name"), subject.get("date_of_birth")
        if isinstance(name, str) and name.casefold().split() != pupil.full_name.casefold().split():
            return "mismatch"
        if isinstance(dob, str) and dob != pupil.date_of_birth.isoformat():
            return "mismatch"
        return "matched"

    def by_reference(self, reference: str) -> dict[str, Any] | None:
        return next(
            (c for c in self.concerns.values() if c["external_reference"] == reference), None
        )

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        concern_id = str(uuid.uuid4())
        concern = {
            "id": concern_id,
            "external_reference": body["external_reference"],
            "category": body["category"],
            "urgency": body["urgency"],
            "subject": body["subject"],
            "subject_match": self.subject_match(body["subject"]),
            "summary": body["summary"],
            "source": body.get("source"),
            "status": "awaiting_review",
            "created_at": self.clock().isoformat(),
            "reviewed_by": None,
            "reviewed_at": None,
        }
        self.concerns[concern_id] = concern
        return concern

    def set_status(self, concern_id: str, status: str, by: str | None) -> dict[str, Any]:
        concern = self.concerns[concern_id]
        concern["status"] = status
        if status == "under_review":
            concern["reviewed_by"] = by or "Designated Safeguarding Lead"
            concern["reviewed_at"] = self.clock().isoformat()
        return concern


MYCONCERN_STATE = web.AppKey("myconcern_state", MyConcernState)
MYCONCERN_FAULTS = web.AppKey("myconcern_faults", FaultPlan)
_TOKEN = web.AppKey("myconcern_token", str)
_SCOPES: web.AppKey[tuple[str, ...]] = web.AppKey("myconcern_scopes")


@web.middleware
async def _control_input_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A malformed body sent to a control endpoint is the caller's mistake: 400, not 500."""
    if not request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except (KeyError, TypeError, ValueError) as exc:
        return _error(400, "BadControlRequest", f"{type(exc).__name__}: {exc}")


@web.middleware
async def _require_bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), request.app[_TOKEN].encode()
    ):
        return web.json_response(
            {"error": {"code": "Unauthenticated", "message": "a valid bearer token is required"}},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="myconcern"'},
        )
    return await handler(request)


async def _whoami(request: web.Request) -> web.Response:
    scopes: tuple[str, ...] = request.app[_SCOPES]
    return web.json_response(
        {
            "organisation": {"id": "ORG-SYNTHETIC", "name": "Synthetic School (emulator)"},
            "scopes": list(scopes),
        }
    )


def _problem(body: Any, categories: tuple[str, ...]) -> tuple[str, str] | None:
    """(error code, message naming the field) for an invalid concern, or None."""
    if not isinstance(body, dict):
        return "InvalidConcern", "the body must be a JSON object"
    reference = body.get("external_reference")
    if not isinstance(reference, str) or not 1 <= len(reference) <= 200:
        return "InvalidConcern", "external_reference: 1 to 200 characters"
    if body.get("category") not in categories:
        return "UnknownCategory", "category: not one of this school's categories"
    if body.get("urgency") not in _URGENCIES:
        return "InvalidConcern", f"urgency: one of {sorted(_URGENCIES)}"
    summary = body.get("summary")
    if not isinstance(summary, str) or not 1 <= len(summary) <= 2000:
        return "InvalidConcern", "summary: 1 to 2000 characters"
    subject = body.get("subject")
    if not isinstance(subject, dict) or not isinstance(subject.get("upn"), str):
        return "InvalidConcern", "subject.upn is required"
    try:
        validate_upn(subject["upn"])
    except UpnError:
        return "InvalidConcern", "subject.upn is not a valid UPN"
    dob = subject.get("date_of_birth")
    if dob is not None:
        try:
            dt.date.fromisoformat(str(dob))
        except ValueError:
            return "InvalidConcern", "subject.date_of_birth is not a date"
    return None


async def _list_concerns(request: web.Request) -> web.Response:
    state = request.app[MYCONCERN_STATE]
    reference = request.query.get("external_reference")
    if reference is not None:
        found = state.by_reference(reference)
        return web.json_response({"concerns": [found] if found else []})
    try:
        page = int(request.query.get("page", "1"))
        per_page = min(int(request.query.get("per_page", "25")), _MAX_PER_PAGE)
    except ValueError:
        return _error(400, "BadPaging", "page and per_page are integers")
    if page < 1 or per_page < 1:
        return _error(400, "BadPaging", "page and per_page start at 1")
    everything = sorted(state.concerns.values(), key=lambda c: (c["created_at"], c["id"]))
    chunk = everything[(page - 1) * per_page : page * per_page]
    total_pages = max(1, -(-len(everything) // per_page))
    return web.json_response({"concerns": chunk, "page": page, "total_pages": total_pages})


async def _create_concern(request: web.Request) -> web.Response:
    state = request.app[MYCONCERN_STATE]
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "BadJson", "the body is not JSON")
    problem = _problem(body, state.categories)
    if problem is not None:
        return _error(422, *problem)
    existing = state.by_reference(body["external_reference"])
    if existing is not None:
        return web.json_response(
            {
                "error": {
                    "code": "DuplicateExternalReference",
                    "message": "a concern with this external_reference exists",
                    "existing_id": existing["id"],
                }
            },
            status=409,
        )
    return web.json_response({"concern": state.create(body)}, status=201)


async def _get_concern(request: web.Request) -> web.Response:
    concern = request.app[MYCONCERN_STATE].concerns.get(request.match_info["concern_id"])
    if concern is None:
        return _error(404, "NotFound", "no such concern")
    return web.json_response({"concern": concern})


# --- control routes ----------------------------------------------------------------------------


async def _control_pupils(request: web.Request) -> web.Response:
    body = await request.json()
    state = request.app[MYCONCERN_STATE]
    state.add_pupils(
        Pupil(validate_upn(p["upn"]), p["full_name"], dt.date.fromisoformat(p["date_of_birth"]))
        for p in body["pupils"]
    )
    return web.json_response({"pupils": len(state.pupils)})


def _control_status(status: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[MYCONCERN_STATE]
        concern_id = request.match_info["concern_id"]
        if concern_id not in state.concerns:
            return _error(404, "NotFound", "no such concern")
        body = await request.json() if request.can_read_body else {}
        by = body.get("by") if isinstance(body, dict) else None
        return web.json_response({"concern": state.set_status(concern_id, status, by)})

    return handler


async def _control_concerns(request: web.Request) -> web.Response:
    return web.json_response({"concerns": list(request.app[MYCONCERN_STATE].concerns.values())})


def create_app(
    *,
    token: str = DEFAULT_TOKEN,
    categories: tuple[str, ...] = DEFAULT_CATEGORIES,
    pupils: Iterable[Pupil] = (),
    scopes: tuple[str, ...] = ("concerns:read", "concerns:write"),
    clock: Callable[[], dt.datetime] = _now,
) -> web.Application:
    """A MyConcern emulator for one school. `app[MYCONCERN_STATE]` and `app[MYCONCERN_FAULTS]`
    are its state and fault plan, for in-process tests."""
    app = web.Application()
    state = MyConcernState(categories=categories, seed_pupils=tuple(pupils), clock=clock)
    app[MYCONCERN_STATE] = state
    app[_TOKEN] = token
    app[_SCOPES] = scopes
    install_faults(app, MYCONCERN_FAULTS, on_reset=state.clear)
    app.middlewares.append(_require_bearer)
    app.middlewares.append(_control_input_errors)
    app.router.add_get(f"{API_PREFIX}/whoami", _whoami)
    app.router.add_get(f"{API_PREFIX}/concerns", _list_concerns)
    app.router.add_post(f"{API_PREFIX}/concerns", _create_concern)
    app.router.add_get(f"{API_PREFIX}/concerns/{{concern_id}}", _get_concern)
    app.router.add_post(CONTROL_PREFIX + "pupils", _control_pupils)
    app.router.add_post(
        CONTROL_PREFIX + "concerns/{concern_id}/acknowledge", _control_status("under_review")
    )
    app.router.add_post(CONTROL_PREFIX + "concerns/{concern_id}/close", _control_status("closed"))
    app.router.add_get(CONTROL_PREFIX + "concerns", _control_concerns)
    return app


def synthetic_pupils() -> tuple[Pupil, ...]:
    """Obviously synthetic pupils (LA 999) for the demo and standalone runs."""
    return (
        Pupil(make_upn("999000127001"), "Ada Synthetic", dt.date(2013, 9, 1)),
        Pupil(make_upn("999000127002"), "Bryn Example", dt.date(2012, 1, 15)),
    )


def build_app() -> web.Application:
    """The standalone emulator: synthetic pupils, token from the environment or the default."""
    return create_app(
        token=os.environ.get("HUB_MYCONCERN_EMULATOR_TOKEN", DEFAULT_TOKEN),
        pupils=synthetic_pupils(),
    )


if __name__ == "__main__":
    run_standalone(build_app, description="MyConcern emulator for attendance-hub")
