"""Reading request bodies as JSON: size-capped, strictly parsed, depth-limited.

The size cap is enforced twice: by `Content-Length` before a byte is read (middleware), and by
aiohttp's `client_max_size` while reading (chunked bodies). Parsing refuses NaN/Infinity, bad
UTF-8 and nesting deeper than `MAX_JSON_DEPTH`; no contract nests more than a few levels, so a
deep document is either a mistake or an attempt to exhaust the parser.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from aiohttp import web

from hub.api.errors import ApiError

MAX_JSON_DEPTH = 32


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """The parsed document, or `ApiError` 400 (`malformed_json` / `json_too_deep`)."""
    if not raw.strip():
        raise ApiError(400, "malformed_json", "the request body is empty; send a JSON document")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", "the request body is not UTF-8") from exc
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise _too_deep() from exc
    except json.JSONDecodeError as exc:
        # The position, never the text: the body may hold pupil data.
        raise ApiError(
            400,
            "malformed_json",
            f"the request body is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})",
        ) from exc
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc}") from exc
    if json_depth(value) > MAX_JSON_DEPTH:
        raise _too_deep()
    return value


def json_depth(value: Any) -> int:
    """Nesting depth of containers (a scalar is 0, `[]` is 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


async def read_body(request: web.Request) -> bytes:
    """The raw body; aiohttp raises 413 past `client_max_size` (turned into JSON upstream)."""
    return await request.read()


def _too_deep() -> ApiError:
    return ApiError(
        400, "json_too_deep", f"the request body nests deeper than {MAX_JSON_DEPTH} levels"
    )
