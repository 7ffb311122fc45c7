"""Render docs/api.md from the OpenAPI document (`python -m hub.api.reference`, `make docs`).

The document itself is built from the route table (`hub.api.routes`), so the reference, the
router and `/v1/openapi.json` cannot drift apart; a test fails when docs/api.md is stale.
"""

from __future__ import annotations

import sys
from typing import Any

from hub.api.openapi import build_openapi
from hub.api.routes import ROUTES


def _ref(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "type" in schema:
        return f"`{schema['type']}`"
    return "—"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render() -> str:
    doc = build_openapi(ROUTES)
    lines = [
        "# HTTP API v1 reference",
        "",
        "Generated from the OpenAPI document (`GET /v1/openapi.json`, built from the route table "
        "in `hub/api/routes.py`) by `python -m hub.api.reference`; do not edit by hand.",
        "",
        "Every `/v1` call except webhooks needs `Authorization: Bearer <token>`; a token's scopes "
        "(`admin`, `la:<code>`, `setting:<id>`) decide what it reaches. Errors are JSON "
        '`{"error": {"code", "message", "field"}}`.',
        "",
        "| method | path | what | access |",
        "|---|---|---|---|",
    ]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            access = "token" if op.get("security") else "open"
            if path.startswith("/v1/webhooks/"):
                access = "vendor signature"
            lines.append(
                f"| {method.upper()} | `{path}` | {_cell(op.get('summary', ''))} | {access} |"
            )
    for path, item in doc["paths"].items():
        for method, op in item.items():
            lines += ["", f"## {method.upper()} `{path}`", "", _cell(op.get("summary", ""))]
            if op.get("description"):
                lines += ["", _cell(op["description"])]
            params = op.get("parameters", [])
            if params:
                lines += [
                    "",
                    "| parameter | in | required | type | meaning |",
                    "|---|---|---|---|---|",
                ]
                for p in params:
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
                        f"{_ref(p.get('schema', {}))} | {_cell(p.get('description', ''))} |"
                    )
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                lines += ["", f"Body: {_ref(body['schema'])} (JSON)."]
            lines += ["", "| status | meaning | body |", "|---|---|---|"]
            for status, resp in op["responses"].items():
                schema = resp.get("content", {}).get("application/json", {}).get("schema", {})
                lines.append(
                    f"| {status} | {_cell(resp.get('description', ''))} | {_ref(schema)} |"
                )
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
