"""An emulator of One's integration API as this plugin assumes it (README.md): a real aiohttp
server with its own state, API-key auth, paging limits, validation and injectable faults.

One's learner index matches incoming learners by UPN, as B2B:Student does: an unknown UPN is
`unmatched`, a known UPN whose name or date of birth differs is `conflict`, else `matched`.

    python -m hub_one.emulator --port 8082      # API key: $HUB_ONE_EMULATOR_API_KEY or the
                                                # synthetic default below; LA code 999

API (under ``/v1``, header ``X-API-Key``): ``GET ping``; ``GET roll``, ``GET eotas-placements``,
``GET cme-enquiries`` (``?cursor=&limit=``); ``POST returns``, ``POST referrals``,
``POST notices`` (header ``Idempotency-Key``). Control (no auth, never faulted), under
``/_emulator/``: ``POST learners``, ``POST registrations``, ``POST eotas-placements``,
``POST cme-enquiries/{id}/outcome``, ``GET submissions``, plus the fault toolkit's ``faults``
and ``reset`` (which restores the seed).
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.testing.emulator import run_standalone
from hub.testing.faults import CONTROL_PREFIX, FaultPlan, honour_empty_last_page, install_faults
from hub_contracts import UpnError, make_upn, validate_upn

__all__ = [
    "API_PREFIX",
    "DEFAULT_API_KEY",
    "ONE_FAULTS",
    "ONE_STATE",
    "OneSeed",
    "OneState",
    "build_app",
    "create_app",
    "synthetic_seed",
]

API_PREFIX = "/v1"
#: Synthetic, for the emulator only.
DEFAULT_API_KEY = "synthetic-one-emulator-key"
DEFAULT_LA_CODE = "999"

_CURSOR = re.compile(r"^seq-([0-9]{1,12})$")
_COLLECTION_TYPES: Mapping[str, frozenset[str]] = {
    "returns": frozenset({"deletion_return", "absence_return"}),
    "referrals": frozenset({"cme_referral"}),
    "notices": frozenset({"deletion_notice", "consent_request"}),
}
_MULTI_LEARNER_TYPES = frozenset({"absence_return"})
_STREAMS = ("roll", "eotas-placements", "cme-enquiries")


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _normalise_name(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass(frozen=True)
class OneLearner:
    """A learner in One's own index (the LA's person records)."""

    upn: str
    forename: str
    surname: str
    dob: dt.date


@dataclass
class OneSeed:
    """Initial state: One's learner index and the records of its listings (One's wire shape)."""

    learners: list[OneLearner] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    placements: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Submission:
    ack: dict[str, Any]
    collection: str
    idempotency_key: str
    body: dict[str, Any]


class OneState:
    """One's data: learners, versioned listings (each change takes the next sequence number,
    which is what listing cursors count) and the submissions received."""

    def __init__(
        self, la_code: str, seed: OneSeed | None, clock: Callable[[], dt.datetime]
    ) -> None:
        self.la_code = la_code
        self._seed = seed or OneSeed()
        self._clock = clock
        self.clear()

    def clear(self) -> None:
        """Back to the seed."""
        self.learners: dict[str, OneLearner] = {}
        self.streams: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {s: {} for s in _STREAMS}
        # Idempotency keys are scoped per collection (returns, referrals, notices).
        self.submissions: dict[tuple[str, str], _Submission] = {}
        self._seq = 0
        self._acks = 0
        self.add_learners(self._seed.learners)
        for record in self._seed.registrations:
            self.upsert("roll", record["registration_id"], record)
        for record in self._seed.placements:
            self.upsert("eotas-placements", record["placement_id"], record)

    def add_learners(self, learners: Iterable[OneLearner]) -> None:
        for learner in learners:
            self.learners[learner.upn] = learner

    def upsert(self, stream: str, record_id: str, record: Mapping[str, Any]) -> int:
        self._seq += 1
        self.streams[stream][record_id] = (self._seq, dict(record))
        return self._seq

    def listing(
        self, stream: str, after: int, limit: int
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """Records changed after sequence `after`, oldest change first; the last sequence
        returned (or `after`); whether more follow."""
        changed = sorted(
            (seq, record) for seq, record in self.streams[stream].values() if seq > after
        )
        page = changed[:limit]
        last = page[-1][0] if page else after
        return [record for _, record in page], last, len(changed) > limit

    def match(self, learner: Mapping[str, Any]) -> dict[str, Any]:
        upn = str(learner["upn"])
        known = self.learners.get(upn)
        if known is None:
            return {"upn": upn, "outcome": "unmatched", "conflicting_fields": []}
        conflicting = []
        name = learner.get("name")
        if isinstance(name, str) and _normalise_name(name) != _normalise_name(
            f"{known.forename} {known.surname}"
        ):
            conflicting.append("name")
        dob = learner.get("dob")
        if isinstance(dob, str) and dob != known.dob.isoformat():
            conflicting.append("dob")
        outcome = "conflict" if conflicting else "matched"
        return {"upn": upn, "outcome": outcome, "conflicting_fields": conflicting}

    def receive(self, collection: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """File a submission and return One's acknowledgement."""
        self._acks += 1
        ack = {
            "ack_id": f"ONE-ACK-{self._acks:06d}",
            "type": body["type"],
            "received_at": self._clock().isoformat(),
            "matches": [self.match(learner) for learner in body["learners"]],
        }
        self.submissions[collection, key] = _Submission(ack, collection, key, body)
        if body["type"] == "cme_referral":
            # The LA's CME officer opens an enquiry for every referral received.
            enquiry_id = f"CME-{self._acks:06d}"
            self.upsert(
                "cme-enquiries",
                enquiry_id,
                {
                    "enquiry_id": enquiry_id,
                    "referral_ack_id": ack["ack_id"],
                    "upn": body["learners"][0]["upn"],
                    "status": "open",
                    "outcome": None,
                    "outcome_date": None,
                    "located_base_id": None,
                    "updated_at": ack["received_at"],
                },
            )
        return ack

    def record_cme_outcome(self, enquiry_id: str, outcome: Mapping[str, Any]) -> dict[str, Any]:
        _, current = self.streams["cme-enquiries"][enquiry_id]
        updated = {
            **current,
            "status": outcome.get("status", "closed"),
            "outcome": outcome.get("outcome"),
            "outcome_date": outcome.get("outcome_date"),
            "located_base_id": outcome.get("located_base_id"),
            "updated_at": self._clock().isoformat(),
        }
        self.upsert("cme-enquiries", enquiry_id, updated)
        return updated


ONE_STATE = web.AppKey("one_state", OneState)
ONE_FAULTS = web.AppKey("one_faults", FaultPlan)
_API_KEY = web.AppKey("one_api_key", str)
_MAX_PAGE = web.AppKey("one_max_page_size", int)


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
async def _require_api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    given = request.headers.get("X-API-Key", "")
    if not hmac.compare_digest(given.encode(), request.app[_API_KEY].encode()):
        return _error(401, "InvalidApiKey", "a valid X-API-Key header is required")
    return await handler(request)


async def _ping(request: web.Request) -> web.Response:
    state = request.app[ONE_STATE]
    return web.json_response({"system": "one", "la_code": state.la_code, "api_version": "1"})


def _listing_handler(stream: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[ONE_STATE]
        after = 0
        cursor = request.query.get("cursor")
        if cursor is not None:
            match = _CURSOR.match(cursor)
            if match is None:
                return _error(400, "BadCursor", "cursor is not one this server issued")
            after = int(match.group(1))
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return _error(400, "BadLimit", "limit is not an integer")
        if limit < 1:
            return _error(400, "BadLimit", "limit must be at least 1")
        limit = min(limit, request.app[_MAX_PAGE])
        items, last, has_more = state.listing(stream, after, limit)
        if not has_more and honour_empty_last_page(request):
            has_more = True
        return web.json_response({"items": items, "cursor": f"seq-{last}", "has_more": has_more})

    return handler


def _submission_problems(collection: str, body: Any, la_code: str) -> str | None:
    """What makes a submission invalid (field names only, never values), or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    if body.get("type") not in _COLLECTION_TYPES[collection]:
        return f"type must be one of {sorted(_COLLECTION_TYPES[collection])}"
    if body.get("la_code") != la_code:
        return "la_code is not this LA's"
    if not isinstance(body.get("hub_notification_id"), str):
        return "hub_notification_id is required"
    if not isinstance(body.get("details"), dict):
        return "details must be an object"
    learners = body.get("learners")
    if not isinstance(learners, list):
        return "learners must be a list"
    if body["type"] not in _MULTI_LEARNER_TYPES and len(learners) != 1:
        return f"a {body['type']} names exactly one learner"
    for index, learner in enumerate(learners):
        if not isinstance(learner, dict) or not isinstance(learner.get("upn"), str):
            return f"learners[{index}].upn is required"
        try:
            validate_upn(learner["upn"])
        except UpnError:
            return f"learners[{index}].upn is not a valid UPN"
        dob = learner.get("dob")
        if dob is not None:
            try:
                dt.date.fromisoformat(str(dob))
            except ValueError:
                return f"learners[{index}].dob is not a date"
    return None


def _submission_handler(collection: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[ONE_STATE]
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 200:
            return _error(400, "IdempotencyKeyRequired", "send an Idempotency-Key header")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "BadJson", "the body is not JSON")
        problem = _submission_problems(collection, body, state.la_code)
        if problem is not None:
            return _error(422, "InvalidSubmission", problem)
        previous = state.submissions.get((collection, key))
        if previous is not None:
            if previous.body["type"] != body["type"]:
                return _error(409, "IdempotencyKeyReused", "key already used for another type")
            return web.json_response({**previous.ack, "duplicate": True}, status=200)
        return web.json_response(state.receive(collection, key, body), status=201)

    return handler


# --- control routes ----------------------------------------------------------------------------


async def _control_learners(request: web.Request) -> web.Response:
    body = await request.json()
    learners = [
        OneLearner(
            upn=validate_upn(item["upn"]),
            forename=item["forename"],
            surname=item["surname"],
            dob=dt.date.fromisoformat(item["dob"]),
        )
        for item in body["learners"]
    ]
    request.app[ONE_STATE].add_learners(learners)
    return web.json_response({"learners": len(request.app[ONE_STATE].learners)})


def _control_upsert(stream: str, list_key: str, id_key: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        state = request.app[ONE_STATE]
        seqs = [state.upsert(stream, str(item[id_key]), item) for item in body[list_key]]
        return web.json_response({"upserted": len(seqs)})

    return handler


async def _control_cme_outcome(request: web.Request) -> web.Response:
    state = request.app[ONE_STATE]
    enquiry_id = request.match_info["enquiry_id"]
    if enquiry_id not in state.streams["cme-enquiries"]:
        return _error(404, "NotFound", "no such CME enquiry")
    return web.json_response(state.record_cme_outcome(enquiry_id, await request.json()))


async def _control_submissions(request: web.Request) -> web.Response:
    items = [
        {"idempotency_key": s.idempotency_key, "collection": s.collection, **s.ack}
        for s in request.app[ONE_STATE].submissions.values()
    ]
    return web.json_response({"items": items})


def create_app(
    *,
    api_key: str = DEFAULT_API_KEY,
    la_code: str = DEFAULT_LA_CODE,
    max_page_size: int = 100,
    seed: OneSeed | None = None,
    clock: Callable[[], dt.datetime] = _now,
) -> web.Application:
    """A One emulator for one LA. `app[ONE_STATE]` and `app[ONE_FAULTS]` are its state and
    fault plan, for in-process tests; the control routes do the same over HTTP."""
    app = web.Application()
    state = OneState(la_code, seed, clock)
    app[ONE_STATE] = state
    app[_API_KEY] = api_key
    app[_MAX_PAGE] = max_page_size
    install_faults(app, ONE_FAULTS, on_reset=state.clear)
    app.middlewares.append(_require_api_key)
    app.middlewares.append(_control_input_errors)
    app.router.add_get(f"{API_PREFIX}/ping", _ping)
    for stream in _STREAMS:
        app.router.add_get(f"{API_PREFIX}/{stream}", _listing_handler(stream))
    for collection in _COLLECTION_TYPES:
        app.router.add_post(f"{API_PREFIX}/{collection}", _submission_handler(collection))
    app.router.add_post(CONTROL_PREFIX + "learners", _control_learners)
    app.router.add_post(
        CONTROL_PREFIX + "registrations",
        _control_upsert("roll", "registrations", "registration_id"),
    )
    app.router.add_post(
        CONTROL_PREFIX + "eotas-placements",
        _control_upsert("eotas-placements", "placements", "placement_id"),
    )
    app.router.add_post(CONTROL_PREFIX + "cme-enquiries/{enquiry_id}/outcome", _control_cme_outcome)
    app.router.add_get(CONTROL_PREFIX + "submissions", _control_submissions)
    return app


def synthetic_seed() -> OneSeed:
    """Obviously synthetic learners (LA 999) for the demo and standalone runs: one on a single
    registration, one dual-registered at a school and a PRU, one with an EOTAS placement."""
    ada, bryn, cai = (make_upn(f"99900012500{n}") for n in (1, 2, 3))
    return OneSeed(
        learners=[
            OneLearner(ada, "Ada", "Synthetic", dt.date(2013, 9, 1)),
            OneLearner(bryn, "Bryn", "Example", dt.date(2012, 1, 15)),
            OneLearner(cai, "Cai", "Placeholder", dt.date(2011, 5, 30)),
        ],
        registrations=[
            {
                "registration_id": "REG-1",
                "upn": ada,
                "base_id": "9992001",
                "enrolment_status": "C",
                "start_date": "2024-09-02",
                "end_date": None,
                "removal_ground": None,
            },
            {
                "registration_id": "REG-2",
                "upn": bryn,
                "base_id": "9992001",
                "enrolment_status": "M",
                "start_date": "2024-09-02",
                "end_date": None,
                "removal_ground": None,
            },
            {
                "registration_id": "REG-3",
                "upn": bryn,
                "base_id": "9991100",
                "enrolment_status": "S",
                "start_date": "2025-01-06",
                "end_date": None,
                "removal_ground": None,
            },
            {
                "registration_id": "REG-4",
                "upn": cai,
                "base_id": "9992002",
                "enrolment_status": "C",
                "start_date": "2023-09-04",
                "end_date": None,
                "removal_ground": None,
            },
        ],
        placements=[
            {
                "placement_id": "PLC-1",
                "upn": cai,
                "school_base_id": "9992002",
                "provider_base_id": "EOTAS-999-01",
                "sessions": ["MON-AM", "WED-AM", "WED-PM"],
                "start_date": "2025-01-06",
                "end_date": None,
                "arranged_by": "school",
            }
        ],
    )


def build_app() -> web.Application:
    """The standalone emulator: synthetic seed, API key from the environment or the default."""
    return create_app(
        api_key=os.environ.get("HUB_ONE_EMULATOR_API_KEY", DEFAULT_API_KEY),
        seed=synthetic_seed(),
    )


if __name__ == "__main__":
    run_standalone(build_app, description="One (LA system) emulator for attendance-hub")
