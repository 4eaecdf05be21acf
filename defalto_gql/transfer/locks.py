"""Imports into one module take turns: a PostgreSQL advisory lock per module.

A match rule or duplicate detection finds the records written before a batch;
two imports writing into one module at once would each miss the other's rows
and let duplicates through. Holding this lock for the whole run makes the second
import wait, then see every record of the first. The lock is a session lock on
a connection of its own, outside any transaction, so it neither holds back
vacuum nor ends with a transaction timeout; it works across processes (the CLI,
``serve`` and workers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

# The first key of every import lock ("DGI1"), so that another use of advisory
# locks on the same database meets ours only by choice; the second is the module's.
IMPORT_LOCK = 0x44474931

_LOCK = sa.text("SELECT pg_advisory_lock(:kind, hashtext(:module))")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(:kind, hashtext(:module))")


@asynccontextmanager
async def module_lock(engine: AsyncEngine, module: str) -> AsyncIterator[None]:
    """Hold the import lock of ``module`` while the block runs (waiting for it first)."""
    key = {"kind": IMPORT_LOCK, "module": module}
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            await conn.execute(_LOCK, key)
            yield
            await conn.execute(_UNLOCK, key)
        except BaseException:
            # The lock ends with its session: a connection that may still hold it
            # (an error, a cancelled wait) is closed, never handed back to the pool.
            await conn.invalidate()
            raise
