"""Teams: the user each user reports to (their manager) and the office they work from.

Reports-to is a line between people, separate from the role tree: it grants no
rights. It may not loop (nobody ends up reporting to themselves, however many
steps up); a change that would close a loop is refused.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.errors import BadUserInput

OFFICE_LENGTH = 100


async def manager_id(conn: AsyncConnection, email: str) -> str:
    """The id of the active or inactive user ``email``, the manager to be."""
    found = (await conn.exec_driver_sql(
        "SELECT id::text FROM dg_users WHERE email = lower($1)", (email,))).scalar()
    if found is None:
        raise BadUserInput(f"there is no user {email} to report to", field="manager")
    return str(found)


async def check_no_loop(conn: AsyncConnection, user_id: str, manager: str) -> None:
    """Refuse ``user_id`` reporting to ``manager`` when the manager reports up to the user."""
    if manager == user_id:
        raise BadUserInput("a user cannot report to themselves", field="manager")
    loops = (await conn.exec_driver_sql(
        "WITH RECURSIVE up(id) AS (SELECT $1::uuid UNION "
        "SELECT u.manager_id FROM dg_users u JOIN up ON u.id = up.id "
        "WHERE u.manager_id IS NOT NULL) SELECT EXISTS (SELECT 1 FROM up WHERE id = $2::uuid)",
        (manager, user_id))).scalar_one()
    if loops:
        raise BadUserInput("the manager reports (through others) to this user; "
                           "that would make a loop", field="manager")


def clean_office(office: str | None) -> str | None:
    """An office name without stray spaces; empty means none."""
    if office is None or not office.strip():
        return None
    office = office.strip()
    if len(office) > OFFICE_LENGTH:
        raise BadUserInput(f"an office name has at most {OFFICE_LENGTH} characters",
                           field="office")
    return office


async def set_manager(conn: AsyncConnection, user_id: str, email: str | None) -> None:
    """Make ``user_id`` report to the user ``email`` (None: to nobody)."""
    found = None
    if email:
        found = await manager_id(conn, email)
        await check_no_loop(conn, user_id, found)
    await conn.exec_driver_sql("UPDATE dg_users SET manager_id = $1 WHERE id = $2",
                               (found, user_id))
