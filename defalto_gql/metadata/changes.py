"""Changing, deleting, restoring and purging modules, fields and relations.

Like ``admin``, every function runs inside the caller's transaction and bumps
the metadata version. Deleting hides a definition from the API but keeps its
column or table and data; restoring brings both back; purging drops the data
for good and keeps only the metadata row, so the name of a purged column or
table is never handed out again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access.users import bump_access
from defalto_gql.db.ddl import quote
from defalto_gql.errors import BadUserInput, NotFound
from defalto_gql.metadata.admin import (
    _check_name,
    _one,
    _taken_names,
    bump_version,
    rows_of,
)
from defalto_gql.metadata.model import FieldDef
from defalto_gql.metadata.naming import module_clash

logger = logging.getLogger(__name__)

FIELD_CHANGES = ("name", "label", "helpText", "required", "default", "block", "position",
                 "maxLength", "min", "max", "reverse", "unique")
MODULE_CHANGES = ("label", "pluralLabel", "description", "labelField")


async def module_row(conn: AsyncConnection, name: str, *, deleted: bool = False) -> Any:
    state = "deleted_at IS NOT NULL AND purged_at IS NULL" if deleted else "deleted_at IS NULL"
    row = await _one(conn, f"SELECT * FROM dg_modules WHERE name = $1 AND {state}", name)
    if row is None:
        which = "deleted " if deleted else ""
        raise NotFound(f"there is no {which}module {name!r}", field="module")
    return row


async def field_row(conn: AsyncConnection, module: Any, name: str, *, deleted: bool = False
                    ) -> Any:
    state = "deleted_at IS NOT NULL AND purged_at IS NULL" if deleted else "deleted_at IS NULL"
    row = await _one(
        conn, f"SELECT * FROM dg_fields WHERE module_id = $1 AND name = $2 AND {state} "
              "ORDER BY id DESC LIMIT 1", module["id"], name,
    )
    if row is None:
        which = "deleted " if deleted else ""
        raise NotFound(f"module {module['name']} has no {which}field {name!r}", field="field")
    return row


def field_def(module: Any, row: Any) -> FieldDef:
    return FieldDef(
        id=row["id"], module=module["name"], name=row["name"], label=row["label"],
        type_key=row["type"], column=row["column_name"], required=row["required"],
        unique=row["is_unique"], options=dict(row["options"] or {}),
    )


# -- modules ---------------------------------------------------------------------


async def update_module(conn: AsyncConnection, name: str, changes: dict[str, Any]) -> None:
    """Change a module's labels, description or label field (its API names stay)."""
    row = await module_row(conn, name)
    given = {k: v for k, v in changes.items() if k in MODULE_CHANGES and v is not None}
    if "labelField" in given:
        await field_row(conn, row, given["labelField"])
    columns = {"label": "label", "pluralLabel": "plural_label", "description": "description",
               "labelField": "label_field"}
    for key, value in given.items():
        if key in ("label", "pluralLabel") and not str(value).strip():
            raise BadUserInput(f"{key} cannot be empty", field=key)
        await conn.exec_driver_sql(
            f"UPDATE dg_modules SET {columns[key]} = $1 WHERE id = $2", (value, row["id"])
        )
    await bump_version(conn)


async def delete_module(conn: AsyncConnection, name: str) -> None:
    """Hide a module and everything pointing at it from the API; its table and data stay."""
    row = await module_row(conn, name)
    users = await conn.exec_driver_sql(
        "SELECT m.name, f.name FROM dg_fields f JOIN dg_modules m ON m.id = f.module_id "
        "WHERE f.deleted_at IS NULL AND m.deleted_at IS NULL AND m.id <> $1 "
        "AND f.type = 'reference' AND f.options->'targets' ? $2",
        (row["id"], name),
    )
    found = [f"{m}.{f}" for m, f in [tuple(r) for r in users]]
    if found:
        raise BadUserInput(
            f"fields of other modules point at {name}: {', '.join(found)}; delete or change "
            "them first", field="module",
        )
    await conn.exec_driver_sql("UPDATE dg_modules SET deleted_at = now() WHERE id = $1",
                               (row["id"],))
    await bump_version(conn)
    logger.info("module deleted", extra={"module_name": name})


async def restore_module(conn: AsyncConnection, name: str) -> None:
    row = await module_row(conn, name, deleted=True)
    others = await rows_of(conn, "SELECT name, plural FROM dg_modules WHERE deleted_at IS NULL")
    clash = module_clash(row["name"], row["plural"], others)
    if clash:
        raise BadUserInput(f"cannot restore {name}: it clashes with {clash}", field="module")
    await conn.exec_driver_sql("UPDATE dg_modules SET deleted_at = NULL WHERE id = $1",
                               (row["id"],))
    await bump_version(conn)
    logger.info("module restored", extra={"module_name": name})


async def purge_module(conn: AsyncConnection, name: str) -> None:
    """Drop a deleted module's table and data for good."""
    row = await module_row(conn, name, deleted=True)
    relations = await conn.exec_driver_sql(
        "SELECT id, table_name FROM dg_relations WHERE purged_at IS NULL AND "
        "$1 IN (left_module_id, right_module_id)", (row["id"],),
    )
    for relation_id, table in [tuple(r) for r in relations]:
        await conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(table)}")
        await conn.exec_driver_sql(
            "UPDATE dg_relations SET deleted_at = coalesce(deleted_at, now()), purged_at = now() "
            "WHERE id = $1", (relation_id,),
        )
    await conn.exec_driver_sql(f"DROP TABLE {quote(row['table_name'])} CASCADE")
    sequence = quote(row["table_name"] + "_number_seq")
    await conn.exec_driver_sql(f"DROP SEQUENCE IF EXISTS {sequence}")
    await conn.exec_driver_sql("UPDATE dg_modules SET purged_at = now() WHERE id = $1",
                               (row["id"],))
    await bump_version(conn)
    logger.info("module purged", extra={"module_name": name})


# -- fields ----------------------------------------------------------------------


async def update_field(
    conn: AsyncConnection, module: str, name: str, changes: dict[str, Any]
) -> str:
    """Rename or relabel a field, or change its settings; values always stay. Returns its name."""
    mod = await module_row(conn, module)
    row = await field_row(conn, mod, name)
    given = {k: v for k, v in changes.items() if k in FIELD_CHANGES and v is not None}
    new_name = given.get("name", name)
    if new_name != name:
        taken = await _taken_names(conn, mod["id"])
        taken = {k: v for k, v in taken.items() if v != f"the field {name!r}"
                 and not v.startswith(f"the field {name!r} ")}
        _check_name(new_name, taken)
        if mod["label_field"] == name:
            await conn.exec_driver_sql("UPDATE dg_modules SET label_field = $1 WHERE id = $2",
                                       (new_name, mod["id"]))
        # Field access follows the field: a hidden field stays hidden under its new name.
        moved = await conn.exec_driver_sql(
            "UPDATE dg_profile_fields SET field = $1 WHERE module = $2 AND field = $3",
            (new_name, module, name))
        if moved.rowcount:
            await bump_access(conn)
    options = dict(row["options"] or {})
    for key in ("maxLength", "min", "max", "reverse"):
        if key in given:
            options[key] = given[key]
    if "maxLength" in given:
        await _change_length(conn, mod, row, int(given["maxLength"]))
    if "unique" in given and bool(given["unique"]) != row["is_unique"]:
        await _change_unique(conn, mod, row, bool(given["unique"]))
    await conn.exec_driver_sql(
        "UPDATE dg_fields SET name = $1, label = $2, help_text = $3, required = $4, "
        "default_value = $5::jsonb, position = $6, options = $7::jsonb, is_unique = $8 "
        "WHERE id = $9",
        (new_name, given.get("label", row["label"]), given.get("helpText", row["help_text"]),
         bool(given.get("required", row["required"])),
         json.dumps(given.get("default", row["default_value"])),
         int(given.get("position", row["position"])), json.dumps(options),
         bool(given.get("unique", row["is_unique"])), row["id"]),
    )
    if "block" in given:
        block = await _one(conn, "SELECT id FROM dg_blocks WHERE module_id = $1 AND name = $2",
                           mod["id"], given["block"])
        if block is None:
            raise BadUserInput(f"module {module} has no block {given['block']!r}", field="block")
        await conn.exec_driver_sql("UPDATE dg_fields SET block_id = $1 WHERE id = $2",
                                   (block["id"], row["id"]))
    await bump_version(conn)
    logger.info("field changed", extra={"module_name": module, "field": name, "now": new_name})
    return str(new_name)


async def _change_length(conn: AsyncConnection, mod: Any, row: Any, length: int) -> None:
    if row["type"] not in ("text", "email", "phone", "url") or not 1 <= length <= 10485760:
        raise BadUserInput("maxLength applies to text fields, from 1 up", field="maxLength")
    column = quote(row["column_name"])
    longest = (await conn.exec_driver_sql(
        f"SELECT coalesce(max(length({column})), 0) FROM {quote(mod['table_name'])}"
    )).scalar_one()
    if longest > length:
        raise BadUserInput(f"a stored value is {longest} characters long; maxLength must be "
                           f"at least that", field="maxLength")
    await conn.exec_driver_sql(
        f"ALTER TABLE {quote(mod['table_name'])} ALTER COLUMN {column} TYPE varchar({length})"
    )


async def _change_unique(conn: AsyncConnection, mod: Any, row: Any, unique: bool) -> None:
    table, column = mod["table_name"], row["column_name"]
    index = quote(f"{table}_{column}"[:56] + "_unique")
    if not unique:
        await conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
        return
    duplicates = (await conn.exec_driver_sql(
        f"SELECT count(*) FROM (SELECT {quote(column)} FROM {quote(table)} WHERE deleted_at IS "
        f"NULL AND {quote(column)} IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d"
    )).scalar_one()
    if duplicates:
        raise BadUserInput(f"{duplicates} values are held by more than one record; the field "
                           "cannot be unique until they differ", field="unique")
    await conn.exec_driver_sql(f"CREATE UNIQUE INDEX {index} ON {quote(table)} "
                               f"({quote(column)}) WHERE deleted_at IS NULL")


async def delete_field(conn: AsyncConnection, module: str, name: str) -> None:
    """Hide a field from the API at once; its column and values stay until a purge."""
    mod = await module_row(conn, module)
    row = await field_row(conn, mod, name)
    if mod["label_field"] == name:
        raise BadUserInput(f"{name} is the label field of {module}; choose another label "
                           "field first", field="field")
    await conn.exec_driver_sql("UPDATE dg_fields SET deleted_at = now() WHERE id = $1",
                               (row["id"],))
    await bump_version(conn)
    logger.info("field deleted", extra={"module_name": module, "field": name})


async def restore_field(conn: AsyncConnection, module: str, name: str) -> None:
    """Bring a deleted field back with every value it had."""
    mod = await module_row(conn, module)
    row = await field_row(conn, mod, name, deleted=True)
    _check_name(name, await _taken_names(conn, mod["id"]))
    await conn.exec_driver_sql("UPDATE dg_fields SET deleted_at = NULL WHERE id = $1",
                               (row["id"],))
    await bump_version(conn)
    logger.info("field restored", extra={"module_name": module, "field": name})


async def purge_field(conn: AsyncConnection, module: str, name: str) -> None:
    """Drop a deleted field's column(s) for good; the column name stays taken."""
    mod = await module_row(conn, module)
    row = await field_row(conn, mod, name, deleted=True)
    for column in field_def(mod, row).type.column_names(field_def(mod, row)):
        await conn.exec_driver_sql(
            f"ALTER TABLE {quote(mod['table_name'])} DROP COLUMN IF EXISTS {quote(column)}"
        )
    await conn.exec_driver_sql("UPDATE dg_fields SET purged_at = now() WHERE id = $1",
                               (row["id"],))
    await bump_version(conn)
    logger.info("field purged", extra={"module_name": module, "field": name})


# -- relations -------------------------------------------------------------------


async def set_relation_deleted(conn: AsyncConnection, name: str, deleted: bool) -> None:
    """Hide (or bring back) a many-to-many relation; its links stay."""
    state = "deleted_at IS NULL" if deleted else "deleted_at IS NOT NULL AND purged_at IS NULL"
    row = await _one(conn, f"SELECT * FROM dg_relations WHERE name = $1 AND {state}", name)
    if row is None:
        raise NotFound(f"there is no {'' if deleted else 'deleted '}relation {name!r}",
                       field="name")
    if not deleted:
        for module_id, own in ((row["left_module_id"], row["left_name"]),
                               (row["right_module_id"], row["right_name"])):
            _check_name(own, await _taken_names(conn, module_id), "name")
    await conn.exec_driver_sql(
        f"UPDATE dg_relations SET deleted_at = {'now()' if deleted else 'NULL'} WHERE id = $1",
        (row["id"],),
    )
    await bump_version(conn)
