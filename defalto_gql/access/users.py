"""Users: creating them, the first administrator, and signing in."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from defalto_gql.access import teams, throttle, tokens
from defalto_gql.access.passwords import hash_password, verify_password
from defalto_gql.errors import BadUserInput, ConfigurationError, Conflict, Unauthenticated

logger = logging.getLogger(__name__)

SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000001"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def bump_access(conn: AsyncConnection) -> None:
    """Rights changed: every instance drops the policies it computed (delivered at commit)."""
    await conn.exec_driver_sql("UPDATE dg_access_version SET version = version + 1 WHERE id = 1")
    await conn.exec_driver_sql("NOTIFY defalto_access")


async def create_user(
    conn: AsyncConnection, *, email: str, name: str, password: str | None,
    is_admin: bool = False, role: str | None = None, time_zone: str = "UTC",
    locale: str = "en", manager: str | None = None, office: str | None = None,
) -> str:
    """A new user; ``role`` is a role name, ``manager`` the email of the user they report
    to. Returns the user's id."""
    if not EMAIL.match(email):
        raise BadUserInput(f"{email!r} is not an email address", field="email")
    if time_zone not in available_timezones():
        raise BadUserInput(f"{time_zone!r} is not an IANA time zone", field="timeZone")
    role_id = None
    if role is not None:
        role_id = (await conn.exec_driver_sql("SELECT id::text FROM dg_roles WHERE name = $1",
                                              (role,))).scalar()
        if role_id is None:
            raise BadUserInput(f"there is no role {role!r}", field="role")
    manager_id = await teams.manager_id(conn, manager) if manager else None
    office = teams.clean_office(office)
    hashed = hash_password(password) if password is not None else None
    try:
        async with conn.begin_nested():
            created = (await conn.exec_driver_sql(
                "INSERT INTO dg_users (email, name, password_hash, is_admin, role_id, "
                "time_zone, locale, manager_id, office) "
                "VALUES (lower($1), $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id::text",
                (email, name, hashed, is_admin, role_id, time_zone, locale, manager_id,
                 office),
            )).scalar_one()
    except IntegrityError:
        raise Conflict(f"a user with email {email} exists already", field="email") from None
    await bump_access(conn)
    logger.info("user created", extra={"user_id": created, "admin": is_admin})
    return str(created)


async def ensure_admin(engine: AsyncEngine, email: str, password: str | None) -> str | None:
    """Create the first administrator if there is none; returns a generated password, once."""
    async with engine.begin() as conn:
        await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7314005)")
        exists = (await conn.exec_driver_sql(
            "SELECT count(*) FROM dg_users WHERE is_admin AND id <> $1", (SYSTEM_USER_ID,)
        )).scalar_one()
        if exists:
            return None
        generated = None if password else secrets.token_urlsafe(12)
        try:
            await create_user(conn, email=email, name="Administrator",
                              password=password or generated, is_admin=True)
        except BadUserInput as problem:
            setting = "DEFALTO_ADMIN_PASSWORD" if problem.field == "password" else \
                "DEFALTO_ADMIN_EMAIL"
            raise ConfigurationError(f"{setting}: {problem.message}") from None
        return generated


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: dt.datetime | None
    user_id: str


async def login(
    engine: AsyncEngine, email: str, password: str, address: str, *, ttl: dt.timedelta,
    per_account: int, per_address: int,
) -> Session:
    """Check a password and issue a session token; failures are counted and throttled.

    The attempt is recorded in a transaction of its own, committed before a failure is
    reported: raised inside the caller's transaction, the failure would be rolled back
    with it and never count towards the throttle.
    """
    async with engine.begin() as conn:
        await throttle.check(conn, email, address, per_account, per_address)
        user = (await conn.exec_driver_sql(
            "SELECT id::text, password_hash, active FROM dg_users WHERE email = lower($1)",
            (email,),
        )).mappings().first()
        stored = user["password_hash"] if user else None
        # argon2 is slow on purpose; checked in a worker thread, other requests go on.
        verified = await asyncio.to_thread(verify_password, stored, password)
        accepted = verified and user is not None and user["active"]
        await throttle.record(conn, email, address, succeeded=accepted)
        issued = None
        if accepted and user is not None:
            issued = await tokens.issue(conn, user["id"], "session", ttl=ttl)
    if issued is None or user is None:
        logger.info("sign-in failed", extra={"address": address})
        raise Unauthenticated("wrong email or password")
    logger.info("sign-in succeeded", extra={"user_id": user["id"], "address": address})
    return Session(issued.secret, issued.expires_at, user["id"])


async def user_row(conn: AsyncConnection, user_id: str) -> Any:
    return (await conn.exec_driver_sql(
        "SELECT u.id::text, u.email, u.name, u.is_admin, u.active, u.time_zone, u.locale, "
        "r.name AS role, m.email AS manager, u.office FROM dg_users u "
        "LEFT JOIN dg_roles r ON r.id = u.role_id LEFT JOIN dg_users m ON m.id = u.manager_id "
        "WHERE u.id = $1", (user_id,),
    )).mappings().first()


async def change_password(
    conn: AsyncConnection, user_id: str, current: str, new: str, keep_token: str | None
) -> None:
    """A user's own new password, given the current one; their other sessions end."""
    stored = (await conn.exec_driver_sql(
        "SELECT password_hash FROM dg_users WHERE id = $1", (user_id,))).scalar()
    if not await asyncio.to_thread(verify_password, stored, current):
        raise Unauthenticated("the current password is wrong")
    hashed = await asyncio.to_thread(hash_password, new)
    await conn.exec_driver_sql("UPDATE dg_users SET password_hash = $1 WHERE id = $2",
                               (hashed, user_id))
    await conn.exec_driver_sql(
        "UPDATE dg_tokens SET revoked_at = now() WHERE user_id = $1 AND kind = 'session' "
        "AND revoked_at IS NULL AND id IS DISTINCT FROM $2::uuid", (user_id, keep_token))
    logger.info("password changed", extra={"user_id": user_id})
