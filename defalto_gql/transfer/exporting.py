"""Exporting a filtered list of records as CSV, page by page, as the user sees it.

Rows come through ``records.reading.list_records`` in keyset pages, so the
user's row filter applies and memory stays flat; hidden fields are left out.
Cells are written so that our own import reads them back exactly:

- references as the target's label (its name); where the target module numbers
  its records and another record you can see has the same label (ignoring case),
  or the label has the form of a record number of that module (an account named
  ``ACC-1001``, which the import would read as that number), the label followed
  by the record number, ``Lopez (CON-1042)`` (the number alone for an empty label).
  A person still reads the name, and the import finds that
  very record, or rejects the cell where the number now names a record with
  another label (as in another database) rather than link the wrong one; a
  target whose label field is hidden from you as its record number alone;
- a reference that may point at several modules (a comment's ``relatedTo``) as
  the module's name, a colon and the target as above, ``Account: Acme``;
- owners as the user's email, or the group's name for a record a group owns; a
  record the system user owns (the demo data) exports an empty owner, since an
  import gives no record to the system user: a
  create then gives the record to the importer, an update leaves its owner alone;
- currency as ``1200.50 USD``; dates and times in ISO form;
- multi-picklists as ``a;b``, a value holding ``;``, a quote or a line break quoted
  the CSV way;
- text that a spreadsheet would run as a formula gets one leading apostrophe
  (``csvfiles.protect``).

The filter comes as JSON (the CLI's ``--filter``, ``startExport``'s argument) and
goes through the list query's own ``filter`` input type (``typed_filter``), so an
export refuses what the list query refuses, with the same message.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import IO, Any

import sqlalchemy as sa
import strawberry
from graphql import GraphQLError
from graphql.pyutils import print_path_list
from graphql.utilities import coerce_input_value, validate_input_value

from defalto_gql.errors import BadUserInput, DefaltoError, Forbidden
from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.filters import live
from defalto_gql.records.reading import ListArgs, list_records
from defalto_gql.transfer import csvfiles
from defalto_gql.transfer.job_options import no_nul
from defalto_gql.transfer.references import SYSTEM_USER_ID, is_record_number, points_anywhere

PAGE = 500
# The built-in columns an export leaves out unless asked for by name.
SKIPPED_BUILTINS = {"id", "createdById", "updatedById", "deletedAt", "version"}


def export_fields(ctx: RecordContext, module: ModuleDef, names: list[str] | None
                  ) -> list[FieldDef]:
    """The fields to export: those named, or every field the user may see."""
    hidden = ctx.rights.hidden(module.name)
    if not names:
        return [f for f in module.fields
                if f.name not in hidden and f.name not in SKIPPED_BUILTINS]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise BadUserInput(f"fields names each field once, not {', '.join(twice)} twice",
                           field="fields")
    chosen = []
    for name in names:
        f = module.fields_by_name.get(name)
        if f is None:
            raise BadUserInput(f"{module.name} has no field {name!r}", field="fields")
        if name in hidden:
            raise Forbidden(f"{module.name}.{name} is hidden from you", field=name)
        chosen.append(f)
    return chosen


def typed_filter(schema: strawberry.Schema, module: ModuleDef, where: Any
                 ) -> dict[str, Any] | None:
    """A filter given as JSON, as the module's list query takes its ``filter`` argument.

    The list query's input type checks it and its scalars parse the values (a date
    and time needs its offset, a decimal is exact), so an export refuses what the
    list query refuses, with graphql-core's message; BadUserInput on ``filter``.
    """
    if where is None:
        return None
    no_nul(where, "filter")
    # graphql-core's schema, which strawberry keeps as _schema, holds the input types.
    query = schema._schema.query_type
    assert query is not None
    argument = query.fields[module.api_list].args["filter"]
    problems: list[str] = []

    def refused(error: GraphQLError, path: list[str | int]) -> None:
        # Worded as graphql-core words a variable it refuses: "... at .metAt.gt: ..."
        problems.append(f"filter has invalid value{print_path_list(path)}: {error.message}")

    try:
        validate_input_value(where, argument.type, refused)
    except RecursionError:
        problems.append("filter values are nested too deeply")
    if problems:
        raise BadUserInput(problems[0], field="filter")
    found: dict[str, Any] = _plain(coerce_input_value(where, argument.type))
    return found


def _plain(value: Any) -> Any:
    """Coerced input as the list query's resolver passes it on: enums by their value."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value.value if isinstance(value, enum.Enum) else value


async def check_filter(ctx: RecordContext, module: ModuleDef, where: Any) -> None:
    """Run an export's filter (from ``typed_filter``) once, for one row, before any file.

    A filter that cannot run fails with the list query's error, on ``filter``.
    """
    from sqlalchemy.exc import DBAPIError

    try:
        await list_records(ctx, module.name, ListArgs(filter=where, first=1))
    except BadUserInput as exc:
        raise BadUserInput(exc.message, field="filter") from None
    except DefaltoError:
        raise
    except (DBAPIError, AttributeError, TypeError, ValueError, KeyError, IndexError):
        # The filter's shape was wrong in a way the list query's own checks let through.
        raise BadUserInput("the filter does not fit the module's fields: write it as the "
                           f"{module.plural} list query's filter argument, in JSON",
                           field="filter") from None


async def export_rows(
    ctx: RecordContext, module_name: str, *, where: dict[str, Any] | None = None,
    fields: list[str] | None = None,
) -> AsyncIterator[list[str]]:
    """The header, then one list of cells per record, in record id order."""
    ctx.rights.require(module_name, "export")
    module = ctx.snapshot.module(module_name)
    chosen = export_fields(ctx, module, fields)
    # Labels are an administrator's text: protected like values (the import unprotects).
    yield [csvfiles.protect(f.label) for f in chosen]
    after = None
    while True:
        page = await list_records(ctx, module_name, ListArgs(filter=where, first=PAGE,
                                                               after=after))
        labels = await _labels(ctx, chosen, page.records)
        for record in page.records:
            yield [cell(f, record.get(f.name), labels) for f in chosen]
        if not page.has_next or not page.records:
            return
        after = page.cursor(len(page.records) - 1)


async def export_text(ctx: RecordContext, module_name: str, out: IO[str], *,
                      where: dict[str, Any] | None = None, fields: list[str] | None = None,
                      bom: bool = False) -> int:
    """Write the CSV to ``out``; returns how many records it holds."""
    if bom:
        out.write("\ufeff")
    count, writer = -1, None
    async for cells in export_rows(ctx, module_name, where=where, fields=fields):
        if writer is None:
            writer = csvfiles.writer(out, cells)
        else:
            writer.writerow(cells)
        count += 1
    return count


async def _labels(ctx: RecordContext, fields: list[FieldDef], records: list[Any]
                  ) -> dict[str, str]:
    """Display text per referenced id: target labels, and user emails for owners."""
    wanted: dict[str, set[str]] = {}
    for f in fields:
        if f.type_key not in ("reference", "owner"):
            continue
        values = [r[f.name] for r in records if r.get(f.name) is not None]
        if f.type_key == "owner":
            wanted.setdefault("", set()).update(values)
        elif points_anywhere(f):
            # {"module": ..., "id": ...}; a module since deleted has no labels to give.
            for value in values:
                if value["module"] in ctx.snapshot.modules:
                    wanted.setdefault(value["module"], set()).add(value["id"])
        else:
            wanted.setdefault(f.targets[0], set()).update(values)
    found: dict[str, str] = {}
    async with ctx.engine.connect() as conn:
        for target, ids in wanted.items():
            if ids:
                found.update(await _target_labels(ctx, conn, target, sorted(ids)))
    return found


async def _target_labels(ctx: RecordContext, conn: Any, target: str, ids: list[str]
                         ) -> dict[str, str]:
    if not target:
        # Owners: a user by email, a group (which may own records too) by name.
        rows = await conn.exec_driver_sql(
            "SELECT id::text, email FROM dg_users WHERE id::text = ANY($1) "
            "UNION ALL SELECT id::text, name FROM dg_groups WHERE id::text = ANY($1)", (ids,))
        return {ident: text for ident, text in rows}
    module = ctx.snapshot.module(target)
    table = ctx.tables.of(target)
    label = table.c[module.field(module.label_field).column]
    visible = ctx.rights.read_filter(target, table)
    seen = sa.and_(live(table), sa.true() if visible is None else visible)
    number = table.c.get("record_number")
    numbers = number if number is not None else sa.null()
    if module.label_field in ctx.rights.hidden(target):
        # A hidden label is not shown; the record number (which the import reads) is.
        if number is None:
            return {}
        return dict((await conn.execute(sa.select(table.c.id, number)
                                        .where(table.c.id.in_(ids), seen))).all())
    rows = (await conn.execute(sa.select(table.c.id, label, numbers)
                               .where(table.c.id.in_(ids), seen))).all()
    if number is None:
        # Without record numbers a shared label is all there is; the import rejects it.
        return {ident: text for ident, text, _ in rows if text is not None}
    folded = sa.func.lower(label)
    shared = set((await conn.execute(
        sa.select(folded).where(folded.in_({t.lower() for _, t, _ in rows if t}), seen)
        .group_by(folded).having(sa.func.count() > 1))).scalars())
    return {ident: _cited(text, num, shared, module.record_prefix)
            for ident, text, num in rows}


def _cited(label: str | None, number: str, shared: set[str], prefix: str | None) -> str:
    """The label, with the record number after it where the label alone could name another.

    That is a label another visible record shares (ignoring case), and a label in
    the form of one of the module's record numbers (``ACC-1001``), which the
    import reads as that number.
    """
    if not label:
        return number
    if label.lower() in shared or is_record_number(prefix, label):
        return f"{label} ({number})"
    return label


def cell(f: FieldDef, value: Any, labels: dict[str, str]) -> str:
    """One value as CSV text that ``parse_text`` (and the importer) read back exactly."""
    if value is None:
        return ""
    if f.type_key == "owner" and value == SYSTEM_USER_ID and f.writable:
        # The import refuses the system user as an owner; an empty cell instead gives
        # a new record the importer and leaves an updated record's owner alone.
        return ""
    if f.type_key in ("reference", "owner") and isinstance(value, str):
        # A target the user cannot see (or a deleted one) exports empty.
        return csvfiles.protect(labels.get(value, ""))
    if points_anywhere(f):
        label = labels.get(value["id"])
        return csvfiles.protect(f"{value['module']}: {label}") if label else ""
    if f.type_key == "multipicklist":
        return csvfiles.protect(_joined(value))
    if isinstance(value, dict) and "amount" in value:
        return csvfiles.protect(f"{_number(value['amount'])} {value['currency']}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int):
        # A number is no formula: -5 stays a number a spreadsheet can add up.
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if f.type_key == "json":
        return csvfiles.protect(json.dumps(value, ensure_ascii=False))
    return csvfiles.protect(str(value))


def _number(value: Decimal) -> str:
    # Plain notation: "1E+3" would not read back through the thousands rule.
    return f"{value:f}"


def _joined(values: list[str]) -> str:
    # The csv module quotes a value holding a character of the line terminator, so
    # CRLF (then cut off) quotes values with line breaks: "" would leave them bare.
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow(values)
    return out.getvalue().removesuffix("\r\n")
