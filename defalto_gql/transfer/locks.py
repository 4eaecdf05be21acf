"""Imports into one module take turns: a PostgreSQL advisory lock per module.

A match rule or duplicate detection finds the records written before a batch;
two imports writing into one module at once would each miss the other's rows
and let duplicates through. Holding this lock for the whole run makes the second
import wait, then see every record of the first. The lock is a session lock on
a connection of its own, outside any transaction, so it neither holds back
vacuum nor ends with a transaction timeout; it works across processes (the CLI,
``serve`` and workers).

An import that creates reference targets in another module takes that module's
lock too, on the same session (``ImportLock.also``). Two imports each creating
targets in the other's module would otherwise wait for each other for ever;
with both locks on one session each, PostgreSQL sees the cycle and fails one
wait (``LockCycle``), and that import carries on without those targets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# The first key of every import lock ("DGI1"), so that another use of advisory
# locks on the same database meets ours only by choice; the second is the module's.
IMPORT_LOCK = 0x44474931

_LOCK = sa.text("SELECT pg_advisory_lock(:kind, hashtext(:module))")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(:kind, hashtext(:module))")
_DEADLOCK = "40P01"


class LockCycle(Exception):
    """Another import holds the module's lock and waits for one this import holds."""

    def __init__(self, module: str) -> None:
        super().__init__(module)
        self.message = (f"an import into {module} is running and waiting for this one; "
                        "import these rows again when it has finished")


class ImportLock:
    """The import lock of one module, held on a session that may take others."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _take(self, module: str) -> dict[str, Any]:
        key = {"kind": IMPORT_LOCK, "module": module}
        await self._conn.execute(_LOCK, key)
        return key

    @asynccontextmanager
    async def also(self, module: str) -> AsyncIterator[None]:
        """Hold ``module``'s lock as well while the block runs; LockCycle on a cycle."""
        try:
            key = await self._take(module)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == _DEADLOCK:
                raise LockCycle(module) from None
            raise
        yield
        await self._conn.execute(_UNLOCK, key)


@asynccontextmanager
async def module_lock(engine: AsyncEngine, module: str) -> AsyncIterator[ImportLock]:
    """Hold the import lock of ``module`` while the block runs (waiting for it first)."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        lock = ImportLock(conn)
        try:
            key = await lock._take(module)
            yield lock
            await conn.execute(_UNLOCK, key)
        except BaseException:
            # The lock ends with its session: a connection that may still hold it
            # (an error, a cancelled wait) is closed, never handed back to the pool.
            await conn.invalidate()
            raise
