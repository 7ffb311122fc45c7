"""API tokens: only a hash is stored; expired and revoked tokens do not verify."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store import TOKEN_PREFIX, TokenRepository
from hub.store.models import ApiTokenRow

NOW = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)


async def test_plaintext_is_returned_once_and_only_its_hash_is_stored(
    session: AsyncSession,
) -> None:
    tokens = TokenRepository(session)

    plaintext, info = await tokens.create("la-999 returns", ["la:999", "la:999"], now=NOW)

    assert plaintext.startswith(TOKEN_PREFIX) and len(plaintext) > 40
    assert (info.name, info.scopes, info.created_at) == ("la-999 returns", ("la:999",), NOW)
    row = (await session.execute(select(ApiTokenRow.__table__))).one()
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert all(plaintext not in str(value) for value in row)
    assert await tokens.verify(plaintext, now=NOW) == info


async def test_unknown_or_malformed_tokens_do_not_verify(session: AsyncSession) -> None:
    tokens = TokenRepository(session)
    plaintext, _ = await tokens.create("admin", ["admin"], now=NOW)

    assert await tokens.verify(plaintext + "x", now=NOW) is None
    assert await tokens.verify(plaintext.removeprefix(TOKEN_PREFIX), now=NOW) is None
    assert await tokens.verify("", now=NOW) is None


async def test_expired_token_is_rejected(session: AsyncSession) -> None:
    tokens = TokenRepository(session)
    expires = NOW + dt.timedelta(days=30)
    plaintext, info = await tokens.create(
        "setting", ["setting:9990001"], now=NOW, expires_at=expires
    )

    assert await tokens.verify(plaintext, now=expires - dt.timedelta(seconds=1)) == info
    assert await tokens.verify(plaintext, now=expires) is None


async def test_revoked_token_is_rejected(session: AsyncSession) -> None:
    tokens = TokenRepository(session)
    plaintext, info = await tokens.create("admin", ["admin"], now=NOW)
    other, _ = await tokens.create("other", ["admin"], now=NOW)

    assert await tokens.revoke(info.id, now=NOW)
    assert not await tokens.revoke(info.id, now=NOW)

    assert await tokens.verify(plaintext, now=NOW) is None
    assert await tokens.verify(other, now=NOW) is not None
    revoked = await tokens.get(info.id)
    assert revoked is not None and revoked.revoked_at == NOW
    assert [t.name for t in await tokens.list()] == ["admin", "other"]
