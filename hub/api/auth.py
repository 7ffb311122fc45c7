"""Bearer tokens → `Principal`: who is calling and which scopes the token carries.

Tokens are verified against their stored SHA-256 (`TokenRepository.verify`): unknown, expired
and revoked tokens are all 401 with a `WWW-Authenticate: Bearer` challenge. The result is
cached on the request only, so revoking a token takes effect on the very next request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.api.errors import unauthorized
from hub.scopes import Scope, ScopeError, parse_scope
from hub.store import TokenRepository
from hub_contracts import Setting

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Principal:
    """An authenticated token. A token may carry several scopes; they add up."""

    token_id: int
    name: str
    scopes: tuple[Scope, ...]

    @property
    def is_admin(self) -> bool:
        return any(scope.kind == "admin" for scope in self.scopes)

    @property
    def la_codes(self) -> frozenset[str]:
        return frozenset(s.value for s in self.scopes if s.kind == "la" and s.value)

    @property
    def setting_ids(self) -> frozenset[str]:
        return frozenset(s.value for s in self.scopes if s.kind == "setting" and s.value)

    def covers(self, setting: Setting) -> bool:
        """May this token act for `setting`: admin, its LA's token, or its own token."""
        return self.is_admin or setting.la_code in self.la_codes or setting.id in self.setting_ids


_PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("hub_principal", Principal)


async def authenticate(
    request: web.Request,
    sessions: async_sessionmaker[AsyncSession],
    now: Callable[[], dt.datetime],
) -> Principal:
    """The request's principal, verified once per request; `ApiError` 401 otherwise."""
    if _PRINCIPAL in request:
        return request[_PRINCIPAL]
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.strip().partition(" ")
    if not header or scheme.lower() != "bearer" or not credentials.strip():
        raise unauthorized("missing_token", "send `Authorization: Bearer <token>`")
    async with sessions() as session:
        info = await TokenRepository(session).verify(credentials.strip(), now=now())
    if info is None:
        raise unauthorized("invalid_token", "the token is unknown, expired or revoked")
    scopes: list[Scope] = []
    for text in info.scopes:
        try:
            scopes.append(parse_scope(text))
        except ScopeError:
            # Stored by an older or hand-edited row: ignored rather than guessed at.
            log.warning("token_scope_ignored", token_id=info.id, reason="unparseable scope")
    principal = Principal(token_id=info.id, name=info.name, scopes=tuple(scopes))
    request[_PRINCIPAL] = principal
    return principal
