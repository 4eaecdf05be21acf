"""Changing a picklist's values: add, rename, reorder, remove.

Values are data: renaming one rewrites the records holding it, and removing
one says what happens to those records (replaced, or cleared) and how many
there are, before or while doing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.db.ddl import quote
from defalto_gql.errors import BadUserInput
from defalto_gql.metadata.admin import _check_values, bump_version
from defalto_gql.metadata.changes import field_row, module_row


@dataclass(frozen=True)
class PicklistRemoval:
    """What removing a value did (or, in a dry run, would do) to the records holding it."""

    value: str
    records: int
    action: str
    applied: bool


async def _field(conn: AsyncConnection, module: str, field: str) -> tuple[Any, Any, list[str]]:
    mod = await module_row(conn, module)
    row = await field_row(conn, mod, field)
    if row["type"] not in ("picklist", "multipicklist"):
        raise BadUserInput(f"{field} is not a picklist", field="field")
    values = [v for (v,) in await conn.exec_driver_sql(
        "SELECT value FROM dg_picklist_values WHERE field_id = $1 ORDER BY position, id",
        (row["id"],),
    )]
    return mod, row, values


async def _store(conn: AsyncConnection, field_id: int, values: list[str]) -> None:
    _check_values(values)
    await conn.exec_driver_sql("DELETE FROM dg_picklist_values WHERE field_id = $1", (field_id,))
    for position, value in enumerate(values):
        await conn.exec_driver_sql(
            "INSERT INTO dg_picklist_values (field_id, value, position) VALUES ($1, $2, $3)",
            (field_id, value, position),
        )
    await bump_version(conn)


async def add_values(conn: AsyncConnection, module: str, field: str, new: list[str]) -> None:
    _, row, values = await _field(conn, module, field)
    present = [v for v in new if v in values]
    if present:
        raise BadUserInput(f"{present[0]!r} is already a value of {field}", field="values")
    await _store(conn, row["id"], values + new)


async def reorder_values(conn: AsyncConnection, module: str, field: str, order: list[str]
                         ) -> None:
    _, row, values = await _field(conn, module, field)
    if sorted(order) != sorted(values):
        raise BadUserInput("list every current value exactly once, in the new order",
                           field="values")
    await _store(conn, row["id"], order)


async def rename_value(conn: AsyncConnection, module: str, field: str, old: str, new: str
                       ) -> int:
    """Rename a value and every record's copy of it; returns how many records changed."""
    mod, row, values = await _field(conn, module, field)
    if old not in values:
        raise BadUserInput(f"{old!r} is not a value of {field}", field="value")
    if new in values:
        raise BadUserInput(f"{new!r} is already a value of {field}", field="newValue")
    await _store(conn, row["id"], [new if v == old else v for v in values])
    table, column = quote(mod["table_name"]), quote(row["column_name"])
    if row["type"] == "picklist":
        sql = f"UPDATE {table} SET {column} = $2 WHERE {column} = $1"
    else:
        sql = f"UPDATE {table} SET {column} = array_replace({column}, $1, $2) " \
              f"WHERE $1 = ANY({column})"
    result = await conn.exec_driver_sql(sql, (old, new))
    return int(result.rowcount)


async def remove_value(
    conn: AsyncConnection, module: str, field: str, value: str,
    replacement: str | None = None, dry_run: bool = False,
) -> PicklistRemoval:
    """Remove a value; records holding it get ``replacement``, or lose the value."""
    mod, row, values = await _field(conn, module, field)
    if value not in values:
        raise BadUserInput(f"{value!r} is not a value of {field}", field="value")
    if replacement is not None and (replacement not in values or replacement == value):
        raise BadUserInput(f"{replacement!r} is not another value of {field}",
                           field="replacement")
    table, column = quote(mod["table_name"]), quote(row["column_name"])
    multi = row["type"] == "multipicklist"
    holding = f"$1 = ANY({column})" if multi else f"{column} = $1"
    count = int((await conn.exec_driver_sql(
        f"SELECT count(*) FROM {table} WHERE {holding}", (value,)
    )).scalar_one())
    if replacement is None and row["required"] and not multi and count:
        raise BadUserInput(f"{field} is required and {count} records hold {value!r}: "
                           "give a replacement", field="replacement")
    action = f"replaced by {replacement!r}" if replacement else (
        "the value is taken out of the list" if multi else "the field is cleared")
    if not dry_run:
        await _rewrite(conn, table, column, multi, value, replacement)
        await _store(conn, row["id"], [v for v in values if v != value])
    return PicklistRemoval(value, count, action, not dry_run)


async def _rewrite(conn: AsyncConnection, table: str, column: str, multi: bool, value: str,
                   replacement: str | None) -> None:
    if not multi:
        await conn.exec_driver_sql(
            f"UPDATE {table} SET {column} = $2 WHERE {column} = $1", (value, replacement)
        )
    elif replacement is None:
        await conn.exec_driver_sql(
            f"UPDATE {table} SET {column} = array_remove({column}, $1) "
            f"WHERE $1 = ANY({column})", (value,),
        )
    else:
        # The replacement may already be in the list: replace, then drop duplicates.
        await conn.exec_driver_sql(
            f"UPDATE {table} SET {column} = ARRAY(SELECT DISTINCT unnest(array_replace("
            f"{column}, $1, $2))) WHERE $1 = ANY({column})", (value, replacement),
        )
