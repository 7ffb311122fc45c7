"""For operators (admin tokens): the plugin inventory and each connection's sync state.

Connection state comes from the store, so it is the same whichever `hub run` process is
asked: health and lag as the engine records them (`hub.engine.health.connection_states`),
each stream's cursor and the sync lease. Whether a cursor is stored is shown, never its value
(opaque vendor state); plugin options and secrets stay inside the hub.
"""

from __future__ import annotations

from aiohttp import web

from hub.api.context import Call
from hub.api.routing import json_reply
from hub.api.schemas import (
    ConnectionList,
    ConnectionState,
    LeaseState,
    PluginEntry,
    PluginList,
    StreamState,
)
from hub.engine.health import connection_states
from hub.store import CursorRepository


async def list_plugins(call: Call) -> web.StreamResponse:
    inventory = call.state.runtime.plugins.inventory()
    return json_reply(PluginList(items=[PluginEntry(**info.as_dict()) for info in inventory]))


async def list_connections(call: Call) -> web.StreamResponse:
    state = call.state
    items: list[ConnectionState] = []
    async with state.session() as session:
        found = await connection_states(
            session, state.runtime.settings, plugins=state.runtime.plugins, now=state.now()
        )
        cursors = CursorRepository(session)
        for entry in found:
            lease = await cursors.lease(entry["name"])
            streams = [
                StreamState(
                    stream=s["stream"],
                    cursor_present=s["cursor"] is not None,
                    updated_at=s["updated_at"],
                )
                for s in entry["streams"]
            ]
            fields = {k: v for k, v in entry.items() if k in ConnectionState.model_fields}
            fields["streams"] = streams
            fields["lease"] = (
                None
                if lease is None
                else LeaseState(
                    owner=lease.owner, lease_until=lease.lease_until, acquired_at=lease.acquired_at
                )
            )
            items.append(ConnectionState.model_validate(fields))
    return json_reply(ConnectionList(items=items))
