"""The OpenAPI document agrees with the running application: same routes and methods, a valid
OpenAPI 3.1 document, and every documented request example is valid and accepted."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from openapi_spec_validator import validate

from hub.api import examples
from hub.api.openapi import build_openapi
from hub.api.routes import ROUTES
from hub.store import SettingRepository
from hub_contracts import Setting

from .conftest import SQLITE_ONLY, Api

pytestmark = SQLITE_ONLY

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


async def document(api: Api) -> dict[str, Any]:
    resp = await api.client.get("/v1/openapi.json")
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    return doc


async def test_served_document_is_the_one_built_from_the_route_table(api: Api) -> None:
    assert await document(api) == build_openapi(ROUTES)


async def test_every_v1_route_is_documented_and_every_documented_route_exists(api: Api) -> None:
    doc = await document(api)
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in api.client.app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/v1/")
    }
    documented = {
        (method, path)
        for path, item in doc["paths"].items()
        if path.startswith("/v1/")
        for method in item
        if method in HTTP_METHODS
    }
    assert served == documented
    assert len(served) >= 14


async def test_document_is_valid_openapi_3_1(api: Api) -> None:
    doc = await document(api)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


async def test_every_operation_documents_its_parameters_and_errors(api: Api) -> None:
    doc = await document(api)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, path
            assert "500" in op["responses"], (method, path)
            if op["security"]:
                assert "401" in op["responses"], (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= set(op["responses"]), (method, path)


def _url(path: str, op: dict[str, Any]) -> str:
    for param in op.get("parameters", []):
        if param["in"] == "path":
            value = param["schema"]["examples"][0]
            path = path.replace("{" + param["name"] + "}", value)
    return path


async def test_request_examples_fit_their_schema_and_the_handler_accepts_them(api: Api) -> None:
    doc = await document(api)
    # The placement example names a provider that no example creates.
    async with api.session() as session, session.begin():
        await SettingRepository(session).upsert(
            Setting.model_validate(
                examples.SETTING
                | {"id": examples.PROVIDER_ID, "kind": "eotas_provider", "name": "Provider"}
            )
        )
    headers = await api.as_("admin")
    replayed = []
    # Paths are in route-table order, which creates what later examples refer to.
    for path, item in doc["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            example = content["example"]
            schema = {"$ref": content["schema"]["$ref"], "components": doc["components"]}
            validator = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            errors = [e.message for e in validator.iter_errors(example)]
            assert errors == [], (method, path, errors)
            resp = await api.client.request(
                method.upper(), _url(path, op), json=example, headers=headers
            )
            assert str(resp.status) in op["responses"] and resp.status < 300, (
                method,
                path,
                await resp.text(),
            )
            replayed.append((method, path))
            if path == "/v1/marks":
                assert (await resp.json())["rejected"] == []
    assert ("post", "/v1/marks") in replayed and len(replayed) >= 6
