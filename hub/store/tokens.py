"""API tokens. Only a SHA-256 of each token is stored; the plaintext is shown once at creation.

A token is 32 random bytes (``secrets.token_urlsafe``) behind a ``hub_`` prefix, so it is easy
to recognise in a leaked log or a secret scanner. Lookup is by the hash, so the database never
compares plaintext and a stolen table grants nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ._sql import aware, table

TOKEN_PREFIX = "hub_"
_TOKEN_BYTES = 32
_TOKENS = table("api_tokens")


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        name: str,
        scopes: Iterable[str],
        *,
        now: dt.datetime,
        expires_at: dt.datetime | None = None,
    ) -> tuple[str, TokenInfo]:
        """Mint a token; returns the plaintext (never stored, show it once) and its record."""
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
        stmt = insert(_TOKENS).values(
            name=name,
            token_hash=hash_token(plaintext),
            scopes=list(dict.fromkeys(scopes)),
            created_at=aware(now),
            expires_at=None if expires_at is None else aware(expires_at, "expires_at"),
        )
        row = (await self._session.execute(stmt.returning(*_TOKENS.c))).one()
        return plaintext, _info(row)

    async def verify(self, plaintext: str, *, now: dt.datetime) -> TokenInfo | None:
        """The token's record if it exists, is not revoked and has not expired; else ``None``."""
        if not plaintext.startswith(TOKEN_PREFIX):
            return None
        query = select(_TOKENS).where(_TOKENS.c.token_hash == hash_token(plaintext))
        row = (await self._session.execute(query)).first()
        if row is None:
            return None
        info = _info(row)
        return info if info.active(aware(now)) else None

    async def revoke(self, token_id: int, *, now: dt.datetime) -> bool:
        """Revoke a token; ``False`` if there is no such token or it was already revoked."""
        t = _TOKENS.c
        stmt = (
            update(_TOKENS)
            .where(t.id == token_id, t.revoked_at.is_(None))
            .values(revoked_at=aware(now))
            .returning(t.id)
        )
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, token_id: int) -> TokenInfo | None:
        row = (await self._session.execute(select(_TOKENS).where(_TOKENS.c.id == token_id))).first()
        return None if row is None else _info(row)

    async def list(self) -> list[TokenInfo]:
        return [_info(row) for row in await self._session.execute(select(_TOKENS).order_by("id"))]


def _info(row: Row[Any]) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
