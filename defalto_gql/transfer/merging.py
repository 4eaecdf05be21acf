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


class DryRecords:
    """What a dry run's writes would leave behind, so a later merge sees it as the real run does.

    A real run merges a row into the record as it is then: created by an earlier
    row of the file, or filled by an earlier merge. A dry run writes nothing, so
    it keeps the column values it would have written: whole records for the rows
    it would create (named ``line N``), and the filled columns of the existing
    records it would merge into. Kept for a dry merge only; it grows with the file.
    """

    def __init__(self) -> None:
        self.made: dict[str, dict[str, Any]] = {}
        self.filled: dict[str, dict[str, Any]] = {}

    def created(self, rows: list[Row]) -> None:
        for row in rows:
            self.made[row.ident] = dict(row.stored)

    def merged(self, rows: list[Row]) -> None:
        for row in rows:
            if row.existing is not None:
                known = self.made.get(row.existing)
                target = known if known is not None else self.filled.setdefault(
                    row.existing, {})
                target.update(row.stored)

    def in_database(self, rows: list[Row]) -> list[Row]:
        """The rows whose duplicate is a record the database holds."""
        return [row for row in rows if row.existing not in self.made]

    def apply(self, rows: list[Row]) -> None:
        """Set ``current`` as the dry run's writes would have left it."""
        for row in rows:
            if row.existing is None or row.problems:
                continue
            if row.existing in self.made:
                row.current = dict(self.made[row.existing])
            elif row.existing in self.filled:
                row.current = {**(row.current or {}), **self.filled[row.existing]}


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
