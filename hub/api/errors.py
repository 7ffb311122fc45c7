"""API errors: one JSON shape, `{"error": {"code", "message", "field"}}`, for every failure.

Handlers raise `ApiError`; the error middleware (`hub.api.middleware`) turns it, aiohttp's own
HTTP exceptions (unknown route, wrong method, body too large) and anything unexpected into that
shape. Messages never carry request payloads, tokens or pupil data.

| status | code                       | when                                                    |
|--------|----------------------------|---------------------------------------------------------|
| 400    | `malformed_json`           | the body is not JSON (or not UTF-8, or empty)           |
| 400    | `json_too_deep`            | the body nests deeper than `MAX_JSON_DEPTH`             |
| 400    | `invalid_parameter`        | a path or query parameter is invalid or unknown         |
| 400    | `invalid_webhook`          | the adapter could not read a signed webhook body        |
| 401    | `missing_token`            | no `Authorization: Bearer` header                       |
| 401    | `invalid_token`            | unknown, expired or revoked token                       |
| 401    | `invalid_signature`        | a webhook's signature does not verify                   |
| 403    | `forbidden`                | the token's scope does not cover the target             |
| 404    | `not_found`                | no such route, resource, or not visible to the token    |
| 404    | `webhooks_not_supported`   | the connection's adapter does not receive webhooks      |
| 405    | `method_not_allowed`       | the path exists, the method does not (`Allow` header)   |
| 413    | `payload_too_large`        | body over `api.max_body_bytes`                          |
| 422    | `validation_error`         | the JSON body does not fit the request schema           |
| 500    | `internal_error`           | a bug; details are logged, never returned               |
| 503    | `connection_unavailable`   | a webhook's connection is misconfigured or unreachable  |
| 503    | `database_unavailable`     | the database is down, restarting or dropped the link    |
| 503    | `database_busy`            | SQLite: another writer held the lock past busy_timeout  |
| 503    | `database_full`            | the disk (or SQLite `max_page_count`) is full           |

The three `database_*` answers carry `Retry-After`: nothing was written (the transaction
rolled back), so the client may simply send the request again.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from hub_contracts import describe_validation_error

#: The www-authenticate challenge sent with every bearer 401 (RFC 6750 §3).
BEARER_CHALLENGE = 'Bearer realm="attendance-hub"'


class ApiError(Exception):
    """A request failed for a reason the client can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, self.field, self.headers)


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body = {"error": {"code": code, "message": message, "field": field}}
    return web.json_response(body, status=status, headers=headers)


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def unauthorized(code: str, message: str) -> ApiError:
    challenge = BEARER_CHALLENGE
    if code == "invalid_token":
        challenge += ', error="invalid_token"'
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def validation_failed(
    exc: ValidationError, *, status: int, code: str, prefix: str = ""
) -> ApiError:
    """The first problem names the field (dotted wire path); the count says if there are more."""
    problems = describe_validation_error(exc, prefix)
    first = problems[0]
    message = first.message
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return ApiError(status, code, message, field=first.field or None)


#: Seconds a client is asked to wait after a `database_*` 503.
DATABASE_RETRY_AFTER = 5


def database_failure(exc: BaseException) -> ApiError | None:
    """A 503 for a database that is down, locked or full; None for any other exception.

    The driver's message is only classified, never returned (it could quote a statement).
    """
    if isinstance(exc, DBAPIError):
        text = str(exc.orig).lower()
        if "locked" in text or "busy" in text:
            return _database(
                "database_busy", "the database is locked by another writer; retry shortly"
            )
        if "full" in text:
            return _database("database_full", "the database is full; nothing was written")
        if not isinstance(exc, OperationalError | InterfaceError) and not (
            exc.connection_invalidated
        ):
            return None
    elif not isinstance(exc, DisconnectionError | ConnectionError) and not (
        type(exc).__module__.startswith("asyncpg")
    ):
        return None
    return _database("database_unavailable", "the database is unavailable; retry shortly")


def _database(code: str, message: str) -> ApiError:
    return ApiError(503, code, message, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


#: aiohttp's own HTTP exceptions, by status, mapped onto our codes.
HTTP_EXCEPTION_CODES: Mapping[int, tuple[str, str]] = {
    404: ("not_found", "no such route"),
    405: ("method_not_allowed", "this path does not support the method"),
    413: ("payload_too_large", "the request body is too large"),
}
