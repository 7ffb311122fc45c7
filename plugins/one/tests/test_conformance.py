"""The hub's adapter conformance suite, run against the One adapter and its emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from aiohttp import web

from hub.sdk import Capability
from hub.testing.conformance import AdapterConformance
from hub_contracts import make_upn
from hub_one import plugin
from hub_one.adapter import OneAdapter
from hub_one.emulator import ONE_STATE, OneLearner, OneSeed, create_app

API_KEY = "synthetic-conformance-one-key"
#: Distinctive synthetic names, so the log-hygiene check can look for them.
NAMES = [("Zephyrine", "Quillfeather"), ("Octavius", "Brambleworth"), ("Marigold", "Thistlewood")]

_COLLECTIONS: Mapping[Capability, frozenset[str]] = {
    Capability.SEND_RETURN: frozenset({"returns"}),
    Capability.SEND_NOTIFICATION: frozenset({"referrals", "notices"}),
}


def _seed() -> OneSeed:
    learners = [
        OneLearner(
            make_upn(f"9990001280{n:02d}"),
            NAMES[n % 3][0],
            NAMES[n % 3][1],
            dt.date(2013, 1, 1 + n),
        )
        for n in range(8)
    ]
    registrations = [
        {
            "registration_id": f"R{n}",
            "upn": learner.upn,
            "base_id": "9992001" if n % 2 else "9992002",
            "enrolment_status": "CMS"[n % 3],
            "start_date": "2024-09-02",
            "end_date": None,
            "removal_ground": None,
        }
        for n, learner in enumerate(learners)
    ]
    placements = [
        {
            "placement_id": f"P{n}",
            "upn": learner.upn,
            "school_base_id": "9992001",
            "provider_base_id": "EOTAS-999-01",
            "sessions": ["MON-AM", "TUE-PM"],
            "start_date": f"2025-01-{6 + n:02d}",
            "end_date": None,
            "arranged_by": "school",
        }
        for n, learner in enumerate(learners[:7])
    ]
    return OneSeed(learners=learners, registrations=registrations, placements=placements)


class TestOneConformance(AdapterConformance):
    adapter_class = OneAdapter
    sensitive_fields = plugin.SENSITIVE_FIELDS

    def emulator_app(self) -> web.Application:
        return create_app(api_key=API_KEY, la_code="999", max_page_size=3, seed=_seed())

    def connection_config(self, base_url: str) -> Mapping[str, object]:
        return {"base_url": f"{base_url}/v1", "api_key": API_KEY, "la_code": "999", "page_size": 3}

    def side_effect_count(self, app: web.Application, capability: Capability) -> int:
        submissions = app[ONE_STATE].submissions.values()
        return sum(s.collection in _COLLECTIONS[capability] for s in submissions)

    def sensitive_values(self, app: web.Application) -> Iterable[str]:
        for learner in app[ONE_STATE].learners.values():
            yield learner.forename
            yield learner.surname
