"""Finding the records an imported row duplicates, by the values of chosen match fields.

Values compare exactly, except emails and record numbers, which compare ignoring
case (``MM@T.TEST`` is ``mm@t.test``). The record number is read for matching
only: a row whose record number names no record is a row problem, since the
number cannot be given to a new record.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.filters import live
from defalto_gql.transfer.mapping import MappingError, normalise

if TYPE_CHECKING:
    from defalto_gql.transfer.options import Row


def match_fields(module: ModuleDef, names: tuple[str, ...], plan: list[FieldDef | None],
                 verb: str = "match on", read_only: frozenset[str] = frozenset()
                 ) -> list[FieldDef]:
    """The fields named (by name or label); each must be imported and one column.

    ``read_only`` names the fields whose columns were left out as read-only for the user.
    """
    found = []
    by_name = {normalise(f.name): f for f in module.fields}
    by_name.update({normalise(f.label): f for f in module.fields if normalise(f.label)
                    not in by_name})
    mapped = {f.name for f in plan if f is not None}
    for name in names:
        f = by_name.get(normalise(name))
        if f is None:
            raise MappingError(f"cannot {verb} {name!r}: {module.name} has no such field")
        if len(f.type.column_names(f)) != 1 or f.type_key in ("multipicklist", "json"):
            raise MappingError(f"cannot {verb} {f.name}: its values are not single values")
        if f.name not in mapped and f.name in read_only:
            other = (" (the record number is read for matching: match on recordNumber)"
                     if module.record_prefix else "")
            raise MappingError(f"cannot {verb} {f.name}: it is read-only for you, so its "
                               f"column is left out{other}")
        if f.name not in mapped:
            raise MappingError(f"cannot {verb} {f.name}: no column of the file fills it")
        found.append(f)
    return found


# Field types whose values match ignoring case.
FOLDED = ("email", "autonumber")


def match_key(match: list[FieldDef], values: dict[str, Any]) -> tuple[Any, ...] | None:
    """A row's values of the match fields, emails and numbers in lower case; None if one lacks."""
    key = []
    for f in match:
        value = values.get(f.name)
        if value is None:
            return None
        key.append(value.lower() if f.type_key in FOLDED and isinstance(value, str) else value)
    return tuple(key)


async def find_existing(
    ctx: RecordContext, conn: AsyncConnection, module: ModuleDef, match: list[FieldDef],
    batch: list[Row], columns_of: dict[str, str] | None = None,
) -> None:
    """Set ``existing`` on rows whose key a live, visible record has; several is a problem.

    ``columns_of`` names the column of each field, for the problem of a record
    number naming no record.
    """
    keys = {row.key for row in batch if row.key is not None and None not in row.key}
    if not keys:
        return
    table = ctx.tables.of(module.name)
    columns = [sa.func.lower(table.c[f.column]) if f.type_key in FOLDED else table.c[f.column]
               for f in match]
    wanted = sa.tuple_(*columns).in_(sorted(keys, key=repr))
    visible = ctx.rights.read_filter(module.name, table)
    # The record number (where the module numbers its records) goes into the report.
    number = table.c.get("record_number")
    numbers = number if number is not None else sa.null()
    query = sa.select(table.c.id, numbers, *columns).where(
        wanted, live(table), sa.true() if visible is None else visible)
    ids: dict[tuple[Any, ...], list[tuple[str, str | None]]] = defaultdict(list)
    for found_row in await conn.execute(query):
        ids[tuple(found_row[2:])].append((found_row[0], found_row[1]))
    names = ", ".join(f.name for f in match)
    numbered = next((f for f in match if f.type_key == "autonumber"), None)
    for row in batch:
        found = ids.get(row.key) if row.key is not None else None
        if not found and numbered is not None and row.key is not None:
            column = (columns_of or {}).get(numbered.name, numbered.name)
            row.fail(column, _no_number(module, match, row.lookups.get(numbered.name)))
        if not found:
            continue
        if len(found) > 1:
            row.fail(None, f"{len(found)} existing records have the same {names}; "
                           "match on fields that identify one record")
        else:
            row.existing, row.number = found[0]


def _no_number(module: ModuleDef, match: list[FieldDef], number: str | None) -> str:
    others = " and the other match values" if len(match) > 1 else ""
    return (f"no {module.name} has the record number {number!r}{others}; a record number "
            "is given by the system, so it cannot make a new record")
