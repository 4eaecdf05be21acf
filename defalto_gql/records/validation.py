"""Turning API input into column values, collecting every problem with its row and field."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.errors import BadUserInput, FieldProblem
from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records.context import RecordContext


def input_name(f: FieldDef) -> str:
    """The name a field has in input types: a single-target reference is ``<name>Id``."""
    kind = f.type
    if isinstance(kind, ReferenceType) and not kind.is_polymorphic(f):
        return f"{f.name}Id"
    return f.name


def column_values(
    module: ModuleDef, data: dict[str, Any], *, creating: bool, row: int | None,
    problems: list[FieldProblem], rights: AccessPolicy | None = None,
) -> dict[str, Any]:
    """Column values for one input record (keyed by field name); problems are appended.

    Writing a field the user may not see or change is FORBIDDEN, raised at once.
    """
    values: dict[str, Any] = {}
    for name, value in data.items():
        f = module.fields_by_name.get(name)
        if f is None or not f.writable:
            problems.append(FieldProblem(name, "is not a field one can set", row))
            continue
        if rights is not None:
            rights.check_writable(module.name, name, input_name(f))
        # A record always has an owner: it may change hands, never be left without one.
        if _blank(value) and (f.required or f.column == "owner_id"):
            problems.append(FieldProblem(input_name(f), "is required", row))
            continue
        try:
            values.update(f.type.write(f, value))
        except ValueError as exc:
            problems.append(FieldProblem(input_name(f), str(exc), row))
    if creating:
        for f in module.fields:
            if f.builtin or f.name in data:
                continue
            if f.default is not None:
                try:
                    # Stored as JSON: dates, times and amounts come back as text.
                    values.update(f.type.write(f, f.type.from_json(f, f.default)))
                except ValueError as exc:
                    problems.append(FieldProblem(f.name, f"default value: {exc}", row))
            elif f.required:
                problems.append(FieldProblem(input_name(f), "is required", row))
    return values


def _blank(value: Any) -> bool:
    """No value: null, or text that is empty or only spaces (never stored for a required field)."""
    return value is None or (isinstance(value, str) and not value.strip())


async def check_references(
    ctx: RecordContext, conn: AsyncConnection, module: ModuleDef,
    rows: list[dict[str, Any]], problems: list[FieldProblem], numbered: bool,
) -> None:
    """Every referenced record must exist and be live: one query per target module."""
    wanted: dict[str, set[str]] = defaultdict(set)
    uses: list[tuple[int, FieldDef, str, str]] = []
    for index, values in enumerate(rows):
        for f in module.fields:
            if f.type_key != "reference" or values.get(f.column) is None:
                continue
            kind = f.type
            assert isinstance(kind, ReferenceType)
            target = values[kind.module_column(f)] if kind.is_polymorphic(f) else f.targets[0]
            if target not in ctx.snapshot.modules:
                problems.append(FieldProblem(input_name(f), f"there is no module {target!r}",
                                             index if numbered else None))
                continue
            wanted[target].add(values[f.column])
            uses.append((index, f, target, values[f.column]))
    await _check_owners(conn, rows, problems, numbered)
    found: dict[str, set[str]] = {}
    for target, ids in wanted.items():
        table = ctx.tables.of(target)
        # A record the user cannot see counts as missing: its existence is not revealed.
        visible = ctx.rights.read_filter(target, table)
        query = sa.select(table.c.id).where(table.c.id.in_(ids), table.c.deleted_at.is_(None),
                                            sa.true() if visible is None else visible)
        found[target] = set((await conn.execute(query)).scalars())
    for index, f, target, ident in uses:
        if ident not in found[target]:
            problems.append(FieldProblem(input_name(f), f"there is no {target} with id {ident}",
                                         index if numbered else None))


def raise_problems(problems: list[FieldProblem]) -> None:
    if problems:
        raise BadUserInput.from_problems(problems)


async def _check_owners(
    conn: AsyncConnection, rows: list[dict[str, Any]], problems: list[FieldProblem],
    numbered: bool,
) -> None:
    """A record is owned by an existing user or group, never by an id that means nothing."""
    owners = {row["owner_id"] for row in rows if row.get("owner_id") is not None}
    if not owners:
        return
    known = {str(i) for (i,) in await conn.execute(sa.text(
        "SELECT id FROM dg_users WHERE id = ANY(CAST(:ids AS uuid[])) UNION "
        "SELECT id FROM dg_groups WHERE id = ANY(CAST(:ids AS uuid[]))"
    ), {"ids": sorted(owners)})}
    for index, row in enumerate(rows):
        owner = row.get("owner_id")
        if owner is not None and owner not in known:
            problems.append(FieldProblem("ownerId", f"there is no user or group with id {owner}",
                                         index if numbered else None))
