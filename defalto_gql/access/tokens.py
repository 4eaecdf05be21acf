"""Session tokens and API keys: random secrets, stored only as SHA-256 hashes.

A session token (``dgs_…``) comes from ``login`` and expires; an API key
(``dgk_…``) is made for a user, shown once, and lasts until revoked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

PREFIXES = {"session": "dgs_", "api_key": "dgk_"}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    id: str
    secret: str
    expires_at: dt.datetime | None


async def issue(
    conn: AsyncConnection, user_id: str, kind: str, *, ttl: dt.timedelta | None = None,
    name: str | None = None,
) -> Issued:
    secret = PREFIXES[kind] + secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + ttl if ttl else None
    # Tokens that expired or were revoked a while ago are kept no longer (a week, so the
    # recent ones can still be told apart from unknown ones when a client asks why).
    await conn.exec_driver_sql(
        "DELETE FROM dg_tokens WHERE coalesce(revoked_at, expires_at) < now() - interval '7 days'"
    )
    row = (await conn.exec_driver_sql(
        "INSERT INTO dg_tokens (user_id, kind, name, token_hash, expires_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id::text",
        (user_id, kind, name, digest(secret), expires),
    )).scalar_one()
    return Issued(str(row), secret, expires)


async def resolve(conn: AsyncConnection, secret: str) -> Any:
    """The active user behind a live token, or None."""
    return (await conn.exec_driver_sql(
        "SELECT u.id::text AS user_id, u.is_admin, t.id::text AS token_id, t.kind "
        "FROM dg_tokens t JOIN dg_users u ON u.id = t.user_id "
        "WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active "
        "AND (t.expires_at IS NULL OR t.expires_at > now())",
        (digest(secret),),
    )).mappings().first()


async def revoke(conn: AsyncConnection, token_id: str, user_id: str | None = None) -> bool:
    """Revoke a token or key (only the user's own, when ``user_id`` is given)."""
    sql = "UPDATE dg_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"
    args: tuple[Any, ...] = (token_id,)
    if user_id is not None:
        sql += " AND user_id = $2"
        args = (token_id, user_id)
    return bool((await conn.exec_driver_sql(sql, args)).rowcount)
