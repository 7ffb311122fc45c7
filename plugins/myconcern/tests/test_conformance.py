"""The hub's adapter conformance suite, run against the MyConcern adapter and its emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from aiohttp import web

from hub.sdk import Capability
from hub.testing.conformance import AdapterConformance
from hub_contracts import make_upn
from hub_myconcern import plugin
from hub_myconcern.adapter import MyConcernAdapter
from hub_myconcern.emulator import MYCONCERN_STATE, Pupil, create_app

TOKEN = "synthetic-conformance-myconcern-token"


class TestMyConcernConformance(AdapterConformance):
    adapter_class = MyConcernAdapter
    sensitive_fields = plugin.SENSITIVE_FIELDS

    def emulator_app(self) -> web.Application:
        # The kit's sample alert is about this synthetic pupil.
        pupil = Pupil(make_upn("999999926001"), "Zephyrine Quillfeather", dt.date(2014, 2, 3))
        return create_app(token=TOKEN, pupils=[pupil])

    def connection_config(self, base_url: str) -> Mapping[str, object]:
        return {"base_url": f"{base_url}/api/v1", "api_token": TOKEN}

    def side_effect_count(self, app: web.Application, capability: Capability) -> int:
        return len(app[MYCONCERN_STATE].concerns)

    def sensitive_values(self, app: web.Application) -> Iterable[str]:
        for pupil in app[MYCONCERN_STATE].pupils.values():
            yield from pupil.full_name.split()
