"""Changing a field's type: a dry run that reports what converts, then the conversion.

Each stored value goes through the same path as imported text: shown as text
by the old type, parsed and validated by the new one. A value that fails is
reported with its record id; the conversion refuses to run while any fail,
unless told to clear them. All of it happens in the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.db.ddl import DIALECT, drop_lookup_index, lookup_index, quote
from defalto_gql.errors import BadUserInput
from defalto_gql.metadata.admin import _check_values, bump_version
from defalto_gql.metadata.changes import field_def, field_row, module_row
from defalto_gql.metadata.fieldtypes import FIELD_TYPES
from defalto_gql.metadata.model import FieldDef

logger = logging.getLogger(__name__)

TEXTUAL = {"text", "longtext", "email", "phone", "url"}
NUMERIC = {"integer", "decimal", "percent", "rating"}
TEMPORAL = {"date", "datetime", "time"}
ALLOWED: dict[str, set[str]] = {
    **{t: TEXTUAL | NUMERIC | TEMPORAL | {"picklist", "multipicklist", "boolean"}
       for t in TEXTUAL},
    **{t: TEXTUAL | NUMERIC for t in NUMERIC},
    "date": TEXTUAL | {"datetime"},
    "datetime": TEXTUAL | {"date"},
    "time": TEXTUAL,
    "boolean": TEXTUAL,
    "picklist": TEXTUAL | {"multipicklist"},
    "multipicklist": TEXTUAL,
    "json": {"text", "longtext"},
}
SHOWN_FAILURES = 50


@dataclass
class ConversionReport:
    """How many stored values convert, and which fail and why."""

    field: str
    from_type: str
    to_type: str
    total: int = 0
    convertible: int = 0
    failures: list[tuple[str, str, str]] = dc_field(default_factory=list)  # (id, value, reason)
    failing: int = 0
    applied: bool = False
    picklist_values: list[str] = dc_field(default_factory=list)


def as_text(type_key: str, value: Any) -> str:
    """A stored value written the way its text parser reads it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if type_key == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def convert_value(old: FieldDef, new: FieldDef, value: Any) -> Any:
    """One value in the new type; ValueError says why it does not convert."""
    if old.type_key == "datetime" and new.type_key == "date":
        return value.date()
    if old.type_key == "picklist" and new.type_key == "multipicklist":
        return new.type.validate(new, [value])
    parsed = new.type.parse_text(new, as_text(old.type_key, value))
    if new.type_key in ("decimal", "percent") and isinstance(parsed, int):
        parsed = Decimal(parsed)
    return new.type.validate(new, parsed)


async def _values(conn: AsyncConnection, table: str, column: str) -> list[tuple[str, Any]]:
    rows = await conn.execute(sa.text(
        f"SELECT id::text, {quote(column)} FROM {quote(table)} WHERE {quote(column)} IS NOT NULL"
    ))
    return [(r[0], r[1]) for r in rows]


def _target(old: FieldDef, to_type: str, values: list[str] | None,
            stored: list[tuple[str, Any]]) -> FieldDef:
    picklist: tuple[str, ...] = ()
    if to_type in ("picklist", "multipicklist"):
        if values:
            picklist = tuple(values)
        elif old.type_key == "picklist":
            picklist = old.picklist
        else:
            found = {as_text(old.type_key, v).strip() for _, v in stored}
            picklist = tuple(sorted(v for v in found if v))
        if picklist:
            _check_values(list(picklist))
    options = {k: v for k, v in old.options.items() if k in ("min", "max")}
    return FieldDef(id=old.id, module=old.module, name=old.name, label=old.label,
                    type_key=to_type, column=old.column, options=options, picklist=picklist)


async def convert_field(
    conn: AsyncConnection, module: str, name: str, to_type: str, *,
    values: list[str] | None = None, dry_run: bool = True, clear_failures: bool = False,
) -> ConversionReport:
    """Report (``dry_run``) or carry out converting a field to ``to_type``."""
    mod = await module_row(conn, module)
    row = await field_row(conn, mod, name)
    old = field_def(mod, row)
    picklist = [v for (v,) in await conn.exec_driver_sql(
        "SELECT value FROM dg_picklist_values WHERE field_id = $1 ORDER BY position", (old.id,))]
    old = dataclasses.replace(old, picklist=tuple(picklist))
    if to_type not in FIELD_TYPES or to_type not in ALLOWED.get(old.type_key, set()):
        raise BadUserInput(f"a {old.type_key} field cannot become {to_type!r}", field="type")

    stored = await _values(conn, mod["table_name"], old.column)
    new = _target(old, to_type, values, stored)
    report = ConversionReport(name, old.type_key, to_type, total=len(stored),
                              picklist_values=list(new.picklist))
    converted: list[dict[str, Any]] = []
    for ident, value in stored:
        try:
            converted.append({"i": ident, "v": convert_value(old, new, value)})
        except ValueError as exc:
            report.failing += 1
            if len(report.failures) < SHOWN_FAILURES:
                report.failures.append((ident, as_text(old.type_key, value), str(exc)))
    report.convertible = len(converted)
    if dry_run:
        return report
    if report.failing and not clear_failures:
        raise BadUserInput(
            f"{report.failing} of {report.total} values do not convert (first: "
            f"{report.failures[0][1]!r}, {report.failures[0][2]}); fix them, or convert with "
            "clearFailures to empty them", field="type",
        )
    await _apply(conn, mod, row, new, converted)
    report.applied = True
    logger.info("field converted", extra={"module_name": module, "field": name, "to": to_type,
                                          "values": report.convertible})
    return report


async def _apply(conn: AsyncConnection, mod: Any, row: Any, new: FieldDef,
                 converted: list[dict[str, Any]]) -> None:
    table, column = mod["table_name"], row["column_name"]
    sql_type = new.type.sql_type(new)
    # A lower(column) lookup index would not survive a change to a type without lower().
    await drop_lookup_index(conn, table, column)
    await conn.exec_driver_sql(
        f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} TYPE "
        f"{sql_type.compile(dialect=DIALECT)} USING NULL"
    )
    if new.type_key == "email" or (new.type_key == "text" and mod["label_field"] == new.name):
        await lookup_index(conn, table, column)
    if converted:
        target = sa.table(table, sa.column("id"), sa.column(column, sql_type))
        update = target.update().where(target.c.id == sa.cast(sa.bindparam("i"), sa.Uuid))
        await conn.execute(update.values({column: sa.bindparam("v", type_=sql_type)}), converted)
    await conn.exec_driver_sql("DELETE FROM dg_picklist_values WHERE field_id = $1", (row["id"],))
    for position, value in enumerate(new.picklist):
        await conn.exec_driver_sql(
            "INSERT INTO dg_picklist_values (field_id, value, position) VALUES ($1, $2, $3)",
            (row["id"], value, position),
        )
    await conn.exec_driver_sql(
        "UPDATE dg_fields SET type = $1, options = $2::jsonb WHERE id = $3",
        (new.type_key, json.dumps(new.options), row["id"]),
    )
    await bump_version(conn)
