"""Installing and updating the standard modules shipped as files in ``metadata/``.

The files go through ``admin``, the same code path administrators use. The
install is idempotent: on every start, modules, fields and relations that a
file names but the database lacks are created; nothing else is touched, so
custom fields, administrator changes and data stay as they are. A shipped
field an administrator deleted stays deleted.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from defalto_gql.db.migrate import shipped_dir
from defalto_gql.errors import BadUserInput
from defalto_gql.metadata import admin

logger = logging.getLogger(__name__)

INSTALL_LOCK = 7314002


def read_definitions(folder: Path | None = None) -> list[dict[str, Any]]:
    """Every module file, in name order."""
    folder = folder or shipped_dir("metadata")
    return [tomllib.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.toml"))]


async def _names(conn: AsyncConnection, sql: str, *args: Any) -> set[str]:
    return {row[0] for row in await conn.exec_driver_sql(sql, args)}


async def install_shipped(engine: AsyncEngine, folder: Path | None = None) -> int:
    """Create whatever the shipped files define and the database lacks; returns the count."""
    definitions = read_definitions(folder)
    created = 0
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({INSTALL_LOCK})")
        modules = await _names(conn, "SELECT name FROM dg_modules")
        for spec in definitions:
            if spec["module"]["name"] not in modules:
                await admin.create_module(conn, spec["module"], shipped=True)
                created += 1
        for spec in definitions:
            created += await _install_fields(conn, spec)
        relations = await _names(conn, "SELECT name FROM dg_relations")
        for spec in definitions:
            for relation in spec.get("relations", []):
                if relation["name"] not in relations:
                    await admin.create_relation(conn, relation, shipped=True)
                    created += 1
    if created:
        logger.info("shipped metadata installed", extra={"created_count": created})
    return created


async def _install_fields(conn: AsyncConnection, spec: dict[str, Any]) -> int:
    module = spec["module"]["name"]
    # Deleted fields count as present: an administrator's deletion is kept.
    existing = await _names(
        conn,
        "SELECT f.name FROM dg_fields f JOIN dg_modules m ON m.id = f.module_id "
        "WHERE m.name = $1",
        module,
    )
    created = 0
    for position, field in enumerate(spec.get("fields", []), start=1):
        if field["name"] in existing:
            continue
        try:
            async with conn.begin_nested():
                await admin.create_field(conn, module, {"position": position, **field},
                                         shipped=True)
            created += 1
        except BadUserInput as clash:
            # A custom field took this name first: it keeps it, and the shipped field
            # waits until an administrator renames the custom one (checked every start).
            logger.warning("shipped field %s.%s not installed: %s", module, field["name"],
                           clash.message)
    return created
