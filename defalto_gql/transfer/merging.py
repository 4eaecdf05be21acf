"""Merging a duplicate row into the record it duplicates, the way a CRM user expects.

The rule: the record keeps every value it has. A field the record leaves empty
is filled from the row; a field where both have a value and the values differ
is a conflict, listed in the report and left as the record has it. Texts that
differ only in case or surrounding spaces are the same value. An empty cell
never clears anything. A multi-picklist is one value for this rule: a record
with some choices keeps them, and a row with others is a conflict.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.metadata.model import ModuleDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.filters import live
from defalto_gql.transfer.options import Row


async def read_current(ctx: RecordContext, conn: AsyncConnection, module: ModuleDef,
                       rows: list[Row]) -> None:
    """Set ``current`` (column values) on the rows that duplicate a record: one query."""
    wanted = [row for row in rows if row.existing is not None and not row.problems]
    ids = sorted({row.existing for row in wanted if row.existing is not None})
    if not ids:
        return
    table = ctx.tables.of(module.name)
    names = {name for row in wanted for name in row.data}
    columns = sorted({c for name in names for c in module.field(name).type.column_names(
        module.field(name))})
    visible = ctx.rights.read_filter(module.name, table)
    query = sa.select(table.c.id, *(table.c[c] for c in columns)).where(
        table.c.id.in_(ids), live(table), sa.true() if visible is None else visible)
    found = {r.id: dict(r._mapping) for r in await conn.execute(query)}
    for row in wanted:
        row.current = found.get(row.existing) if row.existing is not None else None


def merge(module: ModuleDef, row: Row) -> tuple[dict[str, Any], list[str], list[str]]:
    """The values to write (the fields to fill), the fields filled, the fields in conflict."""
    current = row.current or {}
    fill: dict[str, Any] = {}
    conflicts: list[str] = []
    for name, value in row.data.items():
        f = module.field(name)
        try:
            incoming = f.type.write(f, value)
        except ValueError:
            # Invalid: validation reports it when the value is written.
            fill[name] = value
            continue
        kept = {column: current.get(column) for column in incoming}
        if all(_empty(v) for v in kept.values()):
            fill[name] = value
        elif any(not _same(kept[c], v) for c, v in incoming.items()):
            conflicts.append(name)
    return fill, sorted(fill), conflicts


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, str) and isinstance(new, str):
        return old.strip().casefold() == new.strip().casefold()
    return bool(old == new)
