"""Bad input, property-based: every API body, mutated (issue 10, item 3).

Each route that takes a JSON body is fed its documented example (`Route.body_example`) after
one to three mutations: a value replaced by arbitrary JSON, a wrong type, a huge or hostile
string or deep nesting; a field dropped; an unknown field added; or the whole document replaced.
The budget is fixed (`EXAMPLES` per body, derandomised, no example database), so a run is
repeatable and bounded.

Properties: never a 5xx; every 4xx has the one error shape; a 422 on a JSON object names the
field (and, after a single mutation, the field that was mutated); `POST /v1/marks` accounts for
every mark (accepted + rejected), every rejected mark is quarantined, and every rejection of a
mark that is a JSON object names its field. Oversized and deeply nested bodies are refused
before they are parsed (413 / 400).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.api import examples
from hub.api.jsonbody import MAX_JSON_DEPTH
from hub.api.routes import ROUTES
from hub.api.routing import Route
from hub.store import LearnerRepository, QuarantineRepository, RegistrationRepository
from hub_contracts import Registration
from tests.api.conftest import MAX_BODY, SCHOOL_A, UPN_A, Api, learner, mark_body

from .conftest import SQLITE_ONLY, Webhook

pytestmark = SQLITE_ONLY

#: Examples per body route: a fixed budget, derandomised. `HUB_FUZZ_EXAMPLES=2000` digs deeper
#: by hand; `make test` always runs the default.
EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # One app and database serve all of a test's examples (the fixture is function-scoped).
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

BODY_ROUTES = [r for r in ROUTES if r.body_model is not None]

Path = tuple[str | int, ...]

HOSTILE_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\u202e\u0645\u0631\u062d\u0628\u0627",
        "Ysgol 𝕳𝖚𝖇 👩‍👩‍👧",
        "\ud800",  # a lone surrogate: valid JSON escape, not encodable as UTF-8
        "'; DROP TABLE learners; --",
        "../../etc/passwd",
        "%s%n{0}${jndi:ldap://x}",
        "9" * 400,
        "x" * 20_000,
        "2025-02-30",
        "0001-01-01T00:00:00+01:00",  # valid ISO 8601, before year 1 in UTC
        "9999-12-31T23:59:59-01:00",
        "1e309",
        "A00000000000",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    HOSTILE_STRINGS,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"d": value}
    return value


VALUES = st.one_of(JSON, HOSTILE_STRINGS, st.integers(20, 80).map(_nested))


def _paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every path into `value` (dict keys and list indexes), containers included."""
    found: list[Path] = []
    if isinstance(value, dict):
        items: Sequence[tuple[str | int, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return found
    for key, child in items:
        path = (*prefix, key)
        found.append(path)
        found.extend(_paths(child, path))
    return found


def _mutations(example: Any) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    paths = _paths(example)
    dict_paths: list[Path] = [()] + [p for p in paths if isinstance(_get(example, p), dict)]
    one = st.one_of(
        st.tuples(st.just("replace"), st.sampled_from(paths), VALUES),
        st.tuples(st.just("drop"), st.sampled_from([p for p in paths if isinstance(p[-1], str)])),
        st.tuples(
            st.just("add"), st.sampled_from(dict_paths), st.text(min_size=1, max_size=20), VALUES
        ),
        st.tuples(st.just("whole"), JSON),
    )
    return st.lists(one, min_size=1, max_size=3)


def _get(value: Any, path: Path) -> Any:
    for key in path:
        value = value[key]
    return value


def _apply(example: Any, mutations: list[tuple[Any, ...]]) -> Any:
    body = copy.deepcopy(example)
    for mutation in mutations:
        kind = mutation[0]
        if kind == "whole":
            body = mutation[1]
            continue
        path: Path = mutation[1]
        try:
            parent = _get(body, path[:-1]) if kind != "add" else _get(body, path)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced the path
        if kind == "replace" and isinstance(parent, dict | list):
            try:
                parent[path[-1]] = mutation[2]  # type: ignore[index]
            except (IndexError, TypeError):
                continue
        elif kind == "drop" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif kind == "add" and isinstance(parent, dict):
            parent[mutation[2]] = mutation[3]
    return body


def _mutated_field(mutations: list[tuple[Any, ...]]) -> str | None:
    """The top-level field a single mutation changed (what a 422 must name), if any."""
    if len(mutations) != 1 or mutations[0][0] == "whole":
        return None
    kind, path = mutations[0][0], mutations[0][1]
    if path:
        return str(path[0])
    return str(mutations[0][2]) if kind == "add" else None


def _encode(body: Any) -> bytes:
    # ensure_ascii: lone surrogates travel as \\ud800 escapes, as a hostile client would send.
    return json.dumps(body).encode("ascii")


def _request_path(route: Route) -> str:
    example = route.body_example
    return route.path.replace("{id}", str(example.get("id", "9990001"))).replace(
        "{upn}", str(example.get("upn", ""))
    )


async def _check_error_shape(resp: Any) -> dict[str, Any]:
    assert resp.content_type == "application/json", resp.content_type
    body = await resp.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


@pytest.fixture
async def examples_world(world: Api) -> Api:
    """The synthetic world plus the OpenAPI examples' learner, so every example is valid."""
    async with world.session() as session, session.begin():
        await LearnerRepository(session).upsert(
            learner(examples.UPN, address="1 Example Street, Synthetic Town")
        )
        await RegistrationRepository(session).add(
            Registration.model_validate(examples.REGISTRATION)
        )
    return world


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_each_unmutated_example_is_accepted(examples_world: Api, route: Route) -> None:
    # The fuzzing below starts from these bodies: a 4xx after one mutation is then the
    # mutation's doing, and must name the mutated field.
    resp = await examples_world.client.request(
        route.method,
        _request_path(route),
        json=route.body_example,
        headers=await examples_world.as_("admin"),
    )
    assert resp.status < 300, await resp.text()
    if route.path == "/v1/marks":
        assert (await resp.json())["rejected"] == []


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
@FUZZ
@given(data=st.data())
async def test_mutated_bodies_never_cause_a_server_error(
    examples_world: Api, route: Route, data: st.DataObject
) -> None:
    world = examples_world
    # One app and database for all the examples of a route: state left by one example (a
    # learner renamed, a mark stored) is part of what the next one meets.
    example = route.body_example
    mutations = data.draw(_mutations(example), label="mutations")
    body = _apply(example, mutations)
    headers = {**await world.as_("admin"), "Content-Type": "application/json"}
    async with world.session() as session:
        quarantined = await QuarantineRepository(session).count()

    resp = await world.client.request(
        route.method, _request_path(route), data=_encode(body), headers=headers
    )

    assert resp.status < 500, (resp.status, await resp.text(), mutations)
    if resp.status >= 400:
        error = await _check_error_shape(resp)
        if resp.status == 422 and isinstance(body, dict):
            assert error["field"], (error, mutations)
            target = _mutated_field(mutations)
            if target is not None:
                named = error["field"]
                assert named == target or named.startswith(f"{target}."), (error, mutations)
        return
    if route.path == "/v1/marks":
        reply = await resp.json()
        marks = body["marks"]
        assert reply["accepted"] + len(reply["rejected"]) == len(marks)
        for rejection in reply["rejected"]:
            if isinstance(marks[rejection["index"]], dict):
                assert rejection["error"]["field"], (rejection, mutations)
        async with world.session() as session:
            now_quarantined = await QuarantineRepository(session).count()
        assert now_quarantined == quarantined + len(reply["rejected"]), "rejects not quarantined"


async def test_a_date_time_out_of_range_in_utc_is_a_rejection_naming_the_field(
    world: Api,
) -> None:
    # Found by schemathesis: converting 0001-01-01T00:00+01:00 to UTC overflowed, and the
    # OverflowError escaped validation as a 500. It is now a per-mark rejection.
    mark = mark_body(UPN_A, SCHOOL_A.id)
    mark["recorded_at"] = "0001-01-01T00:00:00+01:00"
    resp = await world.client.post(
        "/v1/marks", json={"marks": [mark]}, headers=await world.as_("admin")
    )
    assert resp.status == 200
    [rejection] = (await resp.json())["rejected"]
    assert rejection["error"]["field"] == "recorded_at"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_dates_at_the_ends_of_the_calendar_are_refused_naming_the_field(
    world: Api, day: str
) -> None:
    # Found by schemathesis: deciding a deletion or building a return dated 0001-01-01 or
    # 9999-12-31 overflowed the date arithmetic of the rules (a 500).
    headers = await world.as_("admin")
    deletion = {
        "upn": UPN_A,
        "setting_id": SCHOOL_A.id,
        "ground": "wales-2010:8(1)(j)",
        "effective_date": day,
        "evidence": {},
        "dry_run": False,
    }
    resp = await world.client.post("/v1/roll-deletions", json=deletion, headers=headers)
    assert resp.status == 422
    assert (await _check_error_shape(resp))["field"] == "effective_date"

    resp = await world.client.post(
        "/v1/returns/absence", params={"la_code": "999", "as_of": day}, headers=headers
    )
    assert resp.status == 400
    assert (await _check_error_shape(resp))["field"] == "as_of"


def _records(example: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Records shaped like `example`, mutated, or anything at all."""
    return st.one_of(_mutations(example).map(lambda m: _apply(example, m)), JSON)


#: What the fake vendor of the API tests accepts: lists of learners, registrations, marks.
#: Its own parsing is a test double's; the real adapters' parsing is fuzzed in
#: test_fuzz_mappings.py. This reaches what the hub does with whatever an adapter returns.
PUSHES = st.fixed_dictionaries(
    {},
    optional={
        "learners": st.lists(_records(examples.LEARNER), max_size=3),
        "registrations": st.lists(_records(examples.REGISTRATION), max_size=3),
        "marks": st.lists(_records(examples.MARKS["marks"][0]), max_size=4),
    },
)


@FUZZ
@given(push=PUSHES)
async def test_signed_webhook_pushes_never_cause_a_server_error(
    world: Api, push: dict[str, Any]
) -> None:
    body = _encode(push)  # signed, so it passes the signature and reaches ingest
    resp = await world.client.post(
        "/v1/webhooks/push-vendor", data=body, headers=Webhook(body).headers()
    )
    assert resp.status in (200, 400, 413), (resp.status, await resp.text())
    if resp.status != 200:
        code = (await _check_error_shape(resp))["code"]
        assert code == ("invalid_webhook" if resp.status == 400 else "payload_too_large")


# --- refused early ---------------------------------------------------------------------------


async def test_an_oversized_body_is_refused_by_its_content_length_before_it_is_read(
    world: Api,
) -> None:
    """The server answers 413 as soon as it has the headers: the body is never sent."""
    server = world.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(
            b"POST /v1/marks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {10**9}\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    assert b" 413 " in status_line


async def test_an_oversized_chunked_body_is_refused(world: Api) -> None:
    async def chunks() -> Any:
        for _ in range(MAX_BODY // 1024 + 2):
            yield b" " * 1024

    resp = await world.client.post("/v1/marks", data=chunks(), headers={**await world.as_("admin")})
    assert resp.status == 413
    assert (await _check_error_shape(resp))["code"] == "payload_too_large"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 60_000])
async def test_deeply_nested_bodies_are_refused(world: Api, depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    if len(body) > MAX_BODY:
        body = b"[" * (MAX_BODY // 2 - 1) + b"]" * (MAX_BODY // 2 - 1)
    resp = await world.client.post(
        "/v1/marks",
        data=body,
        headers={**await world.as_("admin"), "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert (await _check_error_shape(resp))["code"] == "json_too_deep"
