"""Rows that would give a unique field a value another record or row already has.

A unique field (``unique`` in its definition) is backed by a unique index over
the live records. One clashing row would fail the whole batch's statement, so
the rows about to be written are checked first: against the live records
(visible or not: the index sees them all, and the row names only its own value)
and against the other rows of the batch, in the file's order (the earlier row
keeps the value). A dry run writes nothing, so it also remembers the values of
the rows it would have written; that memory grows with the file, for the unique
fields only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.filters import live
from defalto_gql.transfer.options import Row


class UniqueValues:
    """Refuses the rows that would clash on a unique field, naming the value."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run
        # A dry run's values by field: the line of the row that would have written each,
        # and the record it would have written it to.
        self.written: dict[str, dict[Any, tuple[int, str]]] = {}

    async def refuse(self, ctx: RecordContext, module: ModuleDef, rows: list[Row],
                     columns: dict[str, str]) -> None:
        """Fail each row whose value of a unique field is taken; ``columns`` names the cells."""
        fields = [f for f in module.fields if f.unique]
        if not fields or not rows:
            return
        async with ctx.engine.connect() as conn:
            for f in fields:
                taken = await _held(ctx, conn, module, f, rows)
                self._check(f, rows, taken, columns.get(f.name, f.name), module.name)

    def _check(self, f: FieldDef, rows: list[Row], taken: dict[Any, set[str]], column: str,
               module: str) -> None:
        seen = self.written.get(f.name, {}) if self.dry_run else {}
        here: dict[Any, tuple[int, str]] = {}
        for row in rows:
            value = _value(f, row)
            if value is None or row.problems:
                continue
            shown = " ".join(map(str, value)) if len(value) > 1 else repr(value[0])
            holders = taken.get(value, set()) - {row.existing}
            # An earlier row giving the value to the record this row updates is no clash.
            earlier = here.get(value) or seen.get(value)
            if holders:
                row.fail(column, f"another {module} already has {f.label} {shown}; "
                                 f"{f.label} is unique")
            elif earlier is not None and earlier[1] != row.existing:
                row.fail(column, f"line {earlier[0]} of this file has the same {f.label} "
                                 f"{shown}; {f.label} is unique")
            else:
                here.setdefault(value, (row.line, row.existing or row.ident))

    def defer(self, module: ModuleDef, ready: list[Row], waiting: list[Row]) -> None:
        """Make wait the ready rows giving a unique value an earlier waiting row gives.

        A row waits a round for an earlier one it resembles or whose record it updates
        too; the rows after it must not take its unique value meanwhile.
        """
        for f in module.fields:
            if not f.unique or not waiting:
                continue
            first: dict[Any, int] = {}
            for row in waiting:
                value = _given(f, row)
                if value is not None:
                    first.setdefault(value, row.line)
            for row in ready:
                value = _given(f, row)
                if value is not None and first.get(value, row.line) < row.line:
                    row.waits = True

    def remember(self, module: ModuleDef, rows: list[Row]) -> None:
        """A dry run: the values of the rows it would have written, for the rows after."""
        for f in module.fields:
            if f.unique:
                seen = self.written.setdefault(f.name, {})
                for row in rows:
                    value = _value(f, row)
                    if value is not None:
                        seen.setdefault(value, (row.line, row.existing or row.ident))


def _value(f: FieldDef, row: Row) -> tuple[Any, ...] | None:
    """The row's value of ``f`` as its columns hold it; None when a column is empty.

    A unique index over several columns (a currency's amount and code) lets rows
    with an empty column be, as PostgreSQL compares NULL with nothing.
    """
    found = tuple(row.stored.get(c) for c in f.type.column_names(f))
    return None if any(v is None for v in found) else found


def _given(f: FieldDef, row: Row) -> tuple[Any, ...] | None:
    """The row's value of ``f`` before validation (a waiting row has not been validated)."""
    if row.problems or row.data.get(f.name) is None:
        return None
    try:
        columns = f.type.write(f, row.data[f.name])
    except (ValueError, TypeError):
        return None
    found = tuple(columns.get(c) for c in f.type.column_names(f))
    return None if any(v is None for v in found) else found


async def _held(ctx: RecordContext, conn: AsyncConnection, module: ModuleDef, f: FieldDef,
                rows: Iterable[Row]) -> dict[Any, set[str]]:
    """The ids of the live records holding each of the rows' values of ``f``."""
    values = {v for row in rows if (v := _value(f, row)) is not None}
    if not values:
        return {}
    table = ctx.tables.of(module.name)
    key = sa.tuple_(*(table.c[c] for c in f.type.column_names(f)))
    found: dict[Any, set[str]] = {}
    query = sa.select(table.c.id, *(table.c[c] for c in f.type.column_names(f))).where(
        live(table), key.in_(sorted(values, key=repr)))
    for ident, *value in (await conn.execute(query)).all():
        found.setdefault(tuple(value), set()).add(str(ident))
    return found
