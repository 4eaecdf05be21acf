"""Getting a database ready: system tables, shipped modules, and the demo data on request."""

from __future__ import annotations

import logging
import sys

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from defalto_gql.access.users import ensure_admin
from defalto_gql.config import Settings
from defalto_gql.db.migrate import migrate
from defalto_gql.demo_access import create_demo_access
from defalto_gql.metadata.shipped import install_shipped
from defalto_gql.runtime import Runtime

logger = logging.getLogger(__name__)

DEMO_LOCK = 7314003


async def _lookup_indexes(engine: AsyncEngine) -> None:
    from defalto_gql.db.ddl import ensure_lookup_indexes
    from defalto_gql.metadata.loader import load_snapshot

    async with engine.begin() as conn:
        snapshot = await load_snapshot(conn)
        await ensure_lookup_indexes(conn, list(snapshot.modules.values()))


async def prepare_database(engine: AsyncEngine, settings: Settings | None = None) -> None:
    """Migrate the system tables, install what the shipped module files add, and make sure
    there is an administrator (announced once, on standard error, when one is created)."""
    settings = settings or Settings.from_env()
    await migrate(engine)
    await install_shipped(engine)
    await _lookup_indexes(engine)
    generated = await ensure_admin(engine, settings.admin_email, settings.admin_password)
    if generated:
        # Shown once, to whoever started the server; deliberately not logged.
        print(
            f"\nCreated the administrator {settings.admin_email} with the password {generated}\n"
            "Sign in with: mutation { login(email: ..., password: ...) { token } }\n"
            "then send Authorization: Bearer <token>. Change it with DEFALTO_ADMIN_PASSWORD "
            "on a fresh database, or `defalto user create`.\n",
            file=sys.stderr,
        )


async def load_demo_once(engine: AsyncEngine, settings: Settings) -> dict[str, int] | None:
    """Load the demo data set unless the database already holds accounts."""
    from defalto_gql.demo import load_demo

    runtime = Runtime(engine, settings)
    generation = await runtime.refresh()
    table = generation.model.tables.of("Account")
    async with engine.connect() as conn:
        await conn.exec_driver_sql(f"SELECT pg_advisory_lock({DEMO_LOCK})")
        try:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar()
            if count:
                logger.info("demo data not loaded: the database already holds accounts")
                return None
            loaded = await load_demo(runtime.execute, max_aliases=settings.max_aliases)
            async with engine.begin() as tx:
                await create_demo_access(tx)
            logger.info("demo data loaded", extra={"counts": loaded})
            return loaded
        finally:
            await conn.exec_driver_sql(f"SELECT pg_advisory_unlock({DEMO_LOCK})")
