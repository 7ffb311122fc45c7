"""The route table: every endpoint of the hub, once. The router and `/v1/openapi.json` are
both built from it, and a test checks that they agree.

To add an endpoint: write `async def handler(call: Call) -> web.StreamResponse` in a module of
`hub.api.handlers`, then add a `Route` here with its method, path, access, parameter and body
models (plus a `body_example`, replayed by the API tests), and its replies. Errors the
declaration implies (400/401/403/413/422/500) are documented automatically; list any others
(usually 403 for scope, 404) in `errors`.
"""

from __future__ import annotations

from typing import Final

from hub.api import examples
from hub.api.handlers import deletions, findings, marks, operations, reference, system, webhooks
from hub.api.routing import Access, Reply, Route
from hub.api.schemas import (
    AbsenceReturnQuery,
    AttendanceQuery,
    AttendanceReply,
    CalendarUpdate,
    ConnectionList,
    ConnectionPath,
    ConsentPath,
    DateRangeQuery,
    DiscrepancyList,
    DiscrepancyQuery,
    HealthReply,
    IdReply,
    LearnerMarksReply,
    LearnerPath,
    MarksBatch,
    MarksReply,
    NotificationList,
    NotificationQuery,
    PluginList,
    ReadyReply,
    SettingPath,
    WebhookReply,
)
from hub_contracts import (
    EotasPlacement,
    Learner,
    Notification,
    Registration,
    RollDeletionDecision,
    RollDeletionRequest,
    SchoolCalendar,
    Setting,
)

_OPS = ("operations",)
_REF = ("reference data",)
_REG = ("register",)
_FIND = ("findings",)

ROUTES: Final[tuple[Route, ...]] = (
    # --- open -----------------------------------------------------------------------------
    Route(
        "GET",
        "/healthz",
        system.healthz,
        "Liveness: the process is up",
        Access.PUBLIC,
        {200: Reply("Up", HealthReply)},
        tags=_OPS,
    ),
    Route(
        "GET",
        "/readyz",
        system.readyz,
        "Readiness: the database is reachable and migrated",
        Access.PUBLIC,
        {200: Reply("Ready", ReadyReply), 503: Reply("Not ready, with the reason", ReadyReply)},
        tags=_OPS,
    ),
    Route(
        "GET",
        "/metrics",
        system.metrics,
        "Prometheus metrics",
        Access.PUBLIC,
        {200: Reply("Prometheus text format", content={"text/plain": {"type": "string"}})},
        tags=_OPS,
    ),
    Route(
        "GET",
        "/v1/openapi.json",
        system.openapi,
        "This document",
        Access.PUBLIC,
        {200: Reply("OpenAPI 3.1", content={"application/json": {"type": "object"}})},
        tags=_OPS,
    ),
    # --- reference data -------------------------------------------------------------------
    Route(
        "PUT",
        "/v1/settings/{id}",
        reference.put_setting,
        "Create or replace a setting (admin, or the setting's LA)",
        Access.TOKEN,
        {200: Reply("The stored setting", Setting)},
        path_model=SettingPath,
        body_model=Setting,
        body_example=examples.SETTING,
        errors=frozenset({403}),
        tags=_REF,
    ),
    Route(
        "PUT",
        "/v1/settings/{id}/calendar",
        reference.put_calendar,
        "Replace a setting's school days",
        Access.TOKEN,
        {200: Reply("The stored calendar", SchoolCalendar)},
        path_model=SettingPath,
        body_model=CalendarUpdate,
        body_example=examples.CALENDAR,
        errors=frozenset({403, 404}),
        tags=_REF,
    ),
    Route(
        "PUT",
        "/v1/learners/{upn}",
        reference.put_learner,
        "Create or replace a learner",
        Access.TOKEN,
        {200: Reply("The stored learner", Learner)},
        path_model=LearnerPath,
        body_model=Learner,
        body_example=examples.LEARNER,
        errors=frozenset({403}),
        tags=_REF,
    ),
    Route(
        "POST",
        "/v1/registrations",
        reference.post_registration,
        "Record a registration (idempotent on upn, setting_id, start_date)",
        Access.TOKEN,
        {201: Reply("Stored", IdReply)},
        body_model=Registration,
        body_example=examples.REGISTRATION,
        errors=frozenset({403}),
        tags=_REF,
    ),
    Route(
        "POST",
        "/v1/eotas-placements",
        reference.post_placement,
        "Record an EOTAS placement (idempotent on upn, school_id, provider_id, start_date)",
        Access.TOKEN,
        {201: Reply("Stored", IdReply)},
        body_model=EotasPlacement,
        body_example=examples.PLACEMENT,
        errors=frozenset({403}),
        tags=_REF,
    ),
    # --- the register -----------------------------------------------------------------------
    Route(
        "POST",
        "/v1/marks",
        marks.post_marks,
        "Post attendance marks; each is accepted or rejected on its own",
        Access.TOKEN,
        {200: Reply("Accepted count and per-mark rejections; rules have run", MarksReply)},
        body_model=MarksBatch,
        body_example=examples.MARKS,
        tags=_REG,
        description=(
            "Marks are validated one by one (UPN, registration or EOTAS placement on the date, "
            "code in force for the setting and date). Rejected marks are quarantined raw and "
            "listed by index; a mark for a setting outside the token's scope is rejected with "
            "code `forbidden`. The rules for the accepted marks have run when this returns."
        ),
    ),
    Route(
        "GET",
        "/v1/learners/{upn}/marks",
        marks.get_learner_marks,
        "A learner's current marks per setting and session, with every entry received",
        Access.TOKEN,
        {200: Reply("The register cells in the date range", LearnerMarksReply)},
        path_model=LearnerPath,
        query_model=DateRangeQuery,
        errors=frozenset({404}),
        tags=_REG,
    ),
    Route(
        "GET",
        "/v1/learners/{upn}/attendance",
        marks.get_attendance,
        "A learner's attendance figures",
        Access.TOKEN,
        {200: Reply("Counts by category, percentage and persistent absence", AttendanceReply)},
        path_model=LearnerPath,
        query_model=AttendanceQuery,
        errors=frozenset({404}),
        tags=_REG,
    ),
    # --- findings ---------------------------------------------------------------------------
    Route(
        "GET",
        "/v1/discrepancies",
        findings.list_discrepancies,
        "Discrepancies, filtered only by the parameters given",
        Access.TOKEN,
        {200: Reply("The discrepancies the token reaches", DiscrepancyList)},
        query_model=DiscrepancyQuery,
        tags=_FIND,
    ),
    Route(
        "GET",
        "/v1/notifications",
        findings.list_notifications,
        "Notifications, filtered only by the parameters given",
        Access.TOKEN,
        {200: Reply("The notifications the token reaches", NotificationList)},
        query_model=NotificationQuery,
        tags=_FIND,
    ),
    # --- deletions and returns -------------------------------------------------------------
    Route(
        "POST",
        "/v1/roll-deletions",
        deletions.post_roll_deletion,
        "Ask to delete a pupil from a setting's roll: allowed, refused or pending, with reasons",
        Access.TOKEN,
        {200: Reply("The decision, each reason with its rule and citation", RollDeletionDecision)},
        body_model=RollDeletionRequest,
        body_example=examples.ROLL_DELETION,
        errors=frozenset({403}),
        tags=_FIND,
        description=(
            "Checks the ground's preconditions against the hub's data and the evidence. "
            "`allowed` means the registration was ended at `effective_date` and the deletion "
            "return (where the law requires one) was created with its due date; `pending` "
            "waits for consents or the LA; `dry_run` decides without any side effect."
        ),
    ),
    Route(
        "POST",
        "/v1/roll-deletions/{id}/consents/{setting_id}",
        deletions.post_consent,
        "Record a proprietor's consent to a pending dual-registered deletion and decide again",
        Access.TOKEN,
        {200: Reply("The new decision", RollDeletionDecision)},
        path_model=ConsentPath,
        errors=frozenset({403, 404}),
        tags=_FIND,
    ),
    Route(
        "POST",
        "/v1/returns/absence",
        deletions.post_absence_return,
        "Build the periodic reg 12(1) absence return for an LA now",
        Access.TOKEN,
        {200: Reply("The absence return notification", Notification)},
        query_model=AbsenceReturnQuery,
        errors=frozenset({403}),
        tags=_FIND,
    ),
    # --- operations -------------------------------------------------------------------------
    Route(
        "GET",
        "/v1/plugins",
        operations.list_plugins,
        "Installed plugins: loaded, refused or blocked, with what they register",
        Access.ADMIN,
        {200: Reply("The plugin inventory", PluginList)},
        tags=_OPS,
    ),
    Route(
        "GET",
        "/v1/connections",
        operations.list_connections,
        "Configured connections and their sync state per stream",
        Access.ADMIN,
        {200: Reply("Every configured connection", ConnectionList)},
        tags=_OPS,
    ),
    Route(
        "POST",
        "/v1/webhooks/{connection}",
        webhooks.receive_webhook,
        "Vendor push, signature-checked by the connection's adapter",
        Access.SIGNED,
        {200: Reply("What was ingested", WebhookReply)},
        path_model=ConnectionPath,
        raw_body=True,
        errors=frozenset({404, 503}),
        tags=_OPS,
        description=(
            "No bearer token: the adapter verifies the vendor's signature over the raw body "
            "(401 `invalid_signature` otherwise). Records are ingested like a sync page in one "
            "transaction; a redelivered push changes nothing (ingest skips unchanged records)."
        ),
    ),
)
