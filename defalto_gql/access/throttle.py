"""Login throttling per account and per client address, shared by every instance."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.errors import TooManyRequests

WINDOW_MINUTES = 15


async def check(conn: AsyncConnection, email: str, address: str, per_account: int,
                per_address: int) -> None:
    """Refuse a login while too many recent attempts failed for this email or address."""
    row = (await conn.exec_driver_sql(
        "SELECT count(*) FILTER (WHERE lower(email) = lower($1)) AS account, "
        "count(*) FILTER (WHERE address = $2) AS address, "
        "coalesce(extract(epoch FROM min(at) + make_interval(mins => $3) - now()), 0) AS wait "
        "FROM dg_login_attempts WHERE NOT succeeded "
        "AND at > now() - make_interval(mins => $3) AND (lower(email) = lower($1) OR address = $2)",
        (email, address, WINDOW_MINUTES),
    )).mappings().one()
    if row["account"] >= per_account or row["address"] >= per_address:
        which = "this account" if row["account"] >= per_account else "your address"
        raise TooManyRequests(
            f"too many failed sign-ins for {which}; try again later",
            retry_after=max(1, int(row["wait"])),
        )


async def record(conn: AsyncConnection, email: str, address: str, succeeded: bool) -> None:
    await conn.exec_driver_sql(
        "INSERT INTO dg_login_attempts (email, address, succeeded) VALUES ($1, $2, $3)",
        (email[:254], address[:64], succeeded),
    )
    # Attempts older than the window count for nothing: they are dropped as new ones come.
    await conn.exec_driver_sql(
        "DELETE FROM dg_login_attempts WHERE at < now() - make_interval(mins => $1)",
        (WINDOW_MINUTES,),
    )
    if succeeded:
        # A success clears the account's failures, so a typo yesterday does not count.
        await conn.exec_driver_sql(
            "DELETE FROM dg_login_attempts WHERE lower(email) = lower($1) AND NOT succeeded",
            (email,),
        )
