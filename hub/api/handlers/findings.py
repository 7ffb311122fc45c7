"""What the rules produced: discrepancies and notifications, filtered by the query and scope.

Both lists filter only by the parameters given (without `status`, every status) and then
keep what the token reaches:

- a discrepancy when one of its `setting_ids` is reachable;
- a notification about a learner when the learner is on the roll of a reachable setting, or
  when it is addressed to a reachable setting (`recipient` `setting:<id>`); one about no single
  learner (the periodic absence return) when its payload's `la_code` is the token's LA.

A token that reaches a learner only through settings the learner's `sharing_restrictions`
name (`hub.api.access.barred_view`) sees only what concerns its own settings: discrepancies
that involve no other setting, notifications its own settings raised, and safeguarding alerts
addressed to it (the one kind that overrides a restriction). Everything else about the learner
comes from other settings, and the restriction says it must not reach this one.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.access import Reach, barred_view, reach, roll_settings_of, within
from hub.api.context import Call
from hub.api.routing import json_reply
from hub.api.schemas import DiscrepancyList, DiscrepancyQuery, NotificationList, NotificationQuery
from hub.store import DiscrepancyRepository, LearnerRepository, NotificationRepository
from hub_contracts import Discrepancy, Notification, NotificationKind


async def list_discrepancies(call: Call) -> web.StreamResponse:
    q = call.query_as(DiscrepancyQuery)
    async with call.state.session() as session:
        reach_ = await reach(session, call.caller)
        found = await DiscrepancyRepository(session).find(
            upn=q.upn, setting_id=q.setting_id, kind=q.kind, status=q.status
        )
        found = [d for d in found if within(reach_, d.setting_ids)]
        barred = await _restrictions(session, reach_, (d.upn for d in found))
    items = [d for d in found if _shows_discrepancy(d, reach_, barred.get(d.upn, ()))]
    return json_reply(DiscrepancyList(items=items))


async def list_notifications(call: Call) -> web.StreamResponse:
    q = call.query_as(NotificationQuery)
    principal = call.caller
    async with call.state.session() as session:
        reach_ = await reach(session, principal)
        found = await NotificationRepository(session).find(
            upn=q.upn, kind=q.kind, recipient=q.recipient, status=q.status
        )
        if reach_ is not None:
            upns = {n.upn for n in found if n.upn}
            rolls = await roll_settings_of(session, upns)
            barred = await _restrictions(session, reach_, upns)
            las = principal.la_codes
            found = [
                n
                for n in found
                if _reaches(
                    n, reach_, rolls.get(n.upn or "", set()), las, barred.get(n.upn or "", ())
                )
            ]
    return json_reply(NotificationList(items=found))


async def _restrictions(
    session: AsyncSession, reach_: Reach, upns: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Each learner's `sharing_restrictions` (only needed below admin)."""
    if reach_ is None:
        return {}
    learners = await LearnerRepository(session).get_many(set(upns))
    return {upn: learner.sharing_restrictions for upn, learner in learners.items()}


def _shows_discrepancy(d: Discrepancy, reach_: Reach, restrictions: Iterable[str]) -> bool:
    if not barred_view(reach_, d.setting_ids, restrictions):
        return True
    return reach_ is not None and set(d.setting_ids) <= reach_


def _reaches(
    notification: Notification,
    reach_: frozenset[str],
    roll: set[str],
    la_codes: frozenset[str],
    restrictions: Iterable[str],
) -> bool:
    kind, _, target = notification.recipient.partition(":")
    addressed = kind == "setting" and target in reach_
    if notification.upn is not None and (addressed or within(reach_, roll)):
        through = roll | ({target} if addressed else set())
        if not barred_view(reach_, through, restrictions):
            return True
        if addressed and notification.kind is NotificationKind.SAFEGUARDING_ALERT:
            return True
        origin = notification.payload.get("setting_id")
        if origin is None:
            origin = notification.payload.get("requesting_setting_id")
        return isinstance(origin, str) and origin in reach_
    la_code = notification.payload.get("la_code")
    return notification.upn is None and isinstance(la_code, str) and la_code in la_codes
