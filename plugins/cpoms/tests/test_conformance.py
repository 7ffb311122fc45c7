"""The hub's adapter conformance suite, run against the CPOMS adapter and its emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from aiohttp import web

from hub.sdk import Capability
from hub.testing.conformance import AdapterConformance
from hub_contracts import make_upn
from hub_cpoms import plugin
from hub_cpoms.adapter import CpomsAdapter
from hub_cpoms.emulator import CPOMS_STATE, StudentRecord, create_app

TOKEN = "synthetic-conformance-cpoms-token"


class TestCpomsConformance(AdapterConformance):
    adapter_class = CpomsAdapter
    sensitive_fields = plugin.SENSITIVE_FIELDS

    def emulator_app(self) -> web.Application:
        # CPOMS logs incidents only against students it holds: the kit's sample alert is
        # about this synthetic one.
        student = StudentRecord(
            901, make_upn("999999926001"), "Zephyrine", "Quillfeather", dt.date(2014, 2, 3)
        )
        return create_app(token=TOKEN, students=[student])

    def connection_config(self, base_url: str) -> Mapping[str, object]:
        return {"base_url": f"{base_url}/api", "api_token": TOKEN}

    def side_effect_count(self, app: web.Application, capability: Capability) -> int:
        return len(app[CPOMS_STATE].incidents)

    def sensitive_values(self, app: web.Application) -> Iterable[str]:
        for student in app[CPOMS_STATE].students.values():
            yield student.forename
            yield student.surname
