"""Import mappings saved under a name, for one module (or for users), shared by everyone
who may import into it, so the same kind of file imports the same way each time.

Whoever saved a name (or an administrator) replaces or deletes it; others save theirs
under another name.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.errors import BadUserInput, Forbidden, NotFound
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.transfer.job_options import check_rules, check_user_rules, no_nul


def mapping_name(name: str) -> str:
    """A saved mapping's name, trimmed: 1 to 100 printable characters."""
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise BadUserInput("a mapping's name is 1 to 100 printable characters", field="name")
    return name


async def save_mapping(conn: AsyncConnection, module: ModuleDef | str, name: str, rules: Any,
                       user_id: str, is_admin: bool) -> Any:
    """Save rules under a name; only whoever saved a name (or an administrator) replaces it."""
    name = mapping_name(name)
    no_nul(rules, "rules")
    if isinstance(module, str):
        checked = json.dumps(check_user_rules(rules))
    else:
        checked = json.dumps(check_rules(module, rules))
        module = module.name
    # One statement checks the owner and writes, so two users saving a new name at once
    # cannot both succeed: the second waits for the first's row and then finds it not theirs.
    row = (await conn.exec_driver_sql(
        "INSERT INTO dg_import_mappings (module, name, rules, created_by) "
        "VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT (module, name) DO UPDATE "
        "SET rules = EXCLUDED.rules, updated_at = now() "
        "WHERE dg_import_mappings.created_by = EXCLUDED.created_by OR $5 "
        "RETURNING id::text AS id, module, name, rules, created_at, updated_at",
        (module, name, checked, user_id, is_admin))).mappings().one_or_none()
    if row is None:
        raise Forbidden(f"the mapping {name!r} was saved by someone else; save yours under "
                        "another name", field="name")
    return row


async def list_mappings(conn: AsyncConnection, modules: list[str]) -> list[Any]:
    rows = await conn.exec_driver_sql(
        "SELECT id::text AS id, module, name, rules, created_at, updated_at "
        "FROM dg_import_mappings WHERE module = ANY($1) ORDER BY module, name", (modules,))
    return list(rows.mappings())


async def mapping_rules(conn: AsyncConnection, module: str, name: str) -> dict[str, Any]:
    name = name.strip()
    rules = (await conn.exec_driver_sql(
        "SELECT rules FROM dg_import_mappings WHERE module = $1 AND name = $2",
        (module, name))).scalar()
    if rules is None:
        raise NotFound(f"there is no saved {module} mapping named {name!r}", field="mappingName")
    return json.loads(rules) if isinstance(rules, str) else dict(rules)


async def delete_mapping(conn: AsyncConnection, module: str, name: str, user_id: str,
                         is_admin: bool) -> None:
    name = name.strip()
    owner = (await conn.exec_driver_sql(
        "SELECT created_by::text FROM dg_import_mappings WHERE module = $1 AND name = $2",
        (module, name))).scalar()
    if owner is None:
        raise NotFound(f"there is no saved {module} mapping named {name!r}", field="name")
    if owner != user_id and not is_admin:
        raise Forbidden("only whoever saved a mapping, or an administrator, deletes it",
                        field="name")
    await conn.exec_driver_sql(
        "DELETE FROM dg_import_mappings WHERE module = $1 AND name = $2", (module, name))
