"""Applying the Alembic migrations of the system tables."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from defalto_gql.errors import ConfigurationError

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def shipped_dir(name: str) -> Path:
    """Find ``migrations`` or ``metadata``: beside the package (a checkout) or in it (a wheel)."""
    for candidate in (PACKAGE_DIR.parent / name, PACKAGE_DIR / "_shipped" / name):
        if candidate.is_dir():
            return candidate
    raise ConfigurationError(f"cannot find the shipped {name}/ folder near {PACKAGE_DIR}")


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the system tables up to the newest revision, in one transaction."""
    async with engine.begin() as conn:
        # Two instances starting at once must not migrate side by side.
        await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7314001)")
        await conn.run_sync(_upgrade)
    logger.info("system tables migrated")
