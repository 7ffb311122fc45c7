"""What the rules produced: discrepancies and notifications, filtered by the query and scope.

Both lists filter only by the parameters given (without `status`, every status) and then
keep what the token reaches:

- a discrepancy when one of its `setting_ids` is reachable;
- a notification about a learner when the learner is on the roll of a reachable setting, or
  when it is addressed to a reachable setting (`recipient` `setting:<id>`); one about no single
  learner (the periodic absence return) when its payload's `la_code` is the token's LA.
"""

from __future__ import annotations

from aiohttp import web

from hub.api.access import reach, roll_settings_of, within
from hub.api.context import Call
from hub.api.routing import json_reply
from hub.api.schemas import DiscrepancyList, DiscrepancyQuery, NotificationList, NotificationQuery
from hub.store import DiscrepancyRepository, NotificationRepository
from hub_contracts import Notification


async def list_discrepancies(call: Call) -> web.StreamResponse:
    q = call.query_as(DiscrepancyQuery)
    async with call.state.session() as session:
        reach_ = await reach(session, call.caller)
        found = await DiscrepancyRepository(session).find(
            upn=q.upn, setting_id=q.setting_id, kind=q.kind, status=q.status
        )
    return json_reply(DiscrepancyList(items=[d for d in found if within(reach_, d.setting_ids)]))


async def list_notifications(call: Call) -> web.StreamResponse:
    q = call.query_as(NotificationQuery)
    principal = call.caller
    async with call.state.session() as session:
        reach_ = await reach(session, principal)
        found = await NotificationRepository(session).find(
            upn=q.upn, kind=q.kind, recipient=q.recipient, status=q.status
        )
        if reach_ is not None:
            rolls = await roll_settings_of(session, {n.upn for n in found if n.upn})
            las = principal.la_codes
            found = [n for n in found if _reaches(n, reach_, rolls.get(n.upn or "", set()), las)]
    return json_reply(NotificationList(items=found))


def _reaches(
    notification: Notification, reach_: frozenset[str], roll: set[str], la_codes: frozenset[str]
) -> bool:
    if notification.upn is not None and within(reach_, roll):
        return True
    kind, _, target = notification.recipient.partition(":")
    if kind == "setting" and target in reach_:
        return True
    la_code = notification.payload.get("la_code")
    return notification.upn is None and isinstance(la_code, str) and la_code in la_codes
