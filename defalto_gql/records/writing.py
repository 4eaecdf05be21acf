"""Writing records: create (one or many), update (one or by filter), delete, restore, destroy.

Each operation runs in one transaction and validates everything before it
writes, so a bad row means nothing is written.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.errors import BadUserInput, Conflict, FieldProblem, Forbidden, NotFound
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.datamodel import Record
from defalto_gql.records.filters import build_filter, live
from defalto_gql.records.sql_errors import translated
from defalto_gql.records.validation import check_references, column_values, raise_problems

logger = logging.getLogger(__name__)


def _stamp(ctx: RecordContext) -> dict[str, Any]:
    return {"updated_at": sa.func.now(), "updated_by": ctx.user_id,
            "version": sa.literal_column("version") + 1}


async def create_many(
    ctx: RecordContext, module_name: str, items: list[dict[str, Any]], *, numbered: bool = True
) -> list[Record]:
    """Create records; if any row is invalid none is written and every problem is reported."""
    module = ctx.snapshot.module(module_name)
    table = ctx.tables.of(module_name)
    ctx.rights.require(module_name, "create")
    if not items:
        return []
    problems: list[FieldProblem] = []
    rows = [
        column_values(module, item, creating=True, row=i if numbered else None,
                      problems=problems, rights=ctx.rights)
        for i, item in enumerate(items)
    ]
    raise_problems(problems)
    columns = sorted({c for row in rows for c in row})
    owner = ctx.user_id
    # Ids are made here, so the rows can come back in any order and still be matched.
    full = [
        {**{c: row.get(c) for c in columns}, "id": str(uuid.uuid4()), "created_by": owner,
         "updated_by": owner, "owner_id": row.get("owner_id", owner)}
        for row in rows
    ]
    async with ctx.engine.begin() as conn:
        await check_references(ctx, conn, module, rows, problems, numbered)
        raise_problems(problems)
        with translated(module, items):
            # executemany: SQLAlchemy compiles the INSERT once per column set (cached)
            # and sends the rows as pages of multi-row VALUES.
            result = await conn.execute(table.insert().returning(table), full)
            by_id = {str(r["id"]): r for r in result.mappings()}
            created = [ctx.to_record(module_name, by_id[row["id"]]) for row in full]
    logger.debug("records created", extra={"module_name": module_name, "count": len(created)})
    return created


async def _changes(
    ctx: RecordContext, conn: AsyncConnection, module: ModuleDef, data: dict[str, Any]
) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    values = column_values(module, data, creating=False, row=None, problems=problems,
                           rights=ctx.rights)
    raise_problems(problems)
    await check_references(ctx, conn, module, [values], problems, numbered=False)
    raise_problems(problems)
    if not values:
        raise BadUserInput("data names no field to change", field="data")
    return values


async def update_one(
    ctx: RecordContext, module_name: str, ident: str, data: dict[str, Any],
    expected_version: int | None = None,
) -> Record:
    """Change one record; with ``expected_version`` a stale version is a CONFLICT."""
    module = ctx.snapshot.module(module_name)
    table = ctx.tables.of(module_name)
    ctx.rights.require(module_name, "edit")
    async with ctx.engine.begin() as conn:
        values = await _changes(ctx, conn, module, data)
        query = table.update().where(table.c.id == ident, live(table),
                                     *_writable(ctx, module_name, table))
        if expected_version is not None:
            query = query.where(table.c.version == expected_version)
        with translated(module, [data]):
            result = await conn.execute(
                query.values(**values, **_stamp(ctx)).returning(table)
            )
        row = result.mappings().first()
        if row is None:
            await _explain_miss(ctx, conn, module, table, ident, expected_version)
        return ctx.to_record(module_name, row)


def _writable(ctx: RecordContext, module: str, table: sa.Table) -> list[Any]:
    condition = ctx.rights.write_filter(module, table)
    return [] if condition is None else [condition]


async def _explain_miss(
    ctx: RecordContext, conn: AsyncConnection, module: ModuleDef, table: sa.Table, ident: str,
    expected_version: int | None,
) -> None:
    """Why an update found no row: missing (or invisible), not writable, or a stale version."""
    visible = ctx.rights.read_filter(module.name, table)
    query = sa.select(table.c.version, table.c.deleted_at).where(
        table.c.id == ident, sa.true() if visible is None else visible)
    found = (await conn.execute(query)).first()
    if found is None or found.deleted_at is not None:
        raise NotFound(f"there is no {module.name} with id {ident}", field="id")
    writable = ctx.rights.write_filter(module.name, table)
    if writable is not None:
        allowed = (await conn.execute(sa.select(table.c.id).where(table.c.id == ident, writable))
                   ).first()
        if allowed is None:
            raise Forbidden(f"you may read but not change {module.name} {ident}", field="id")
    raise Conflict(
        f"{module.name} {ident} is at version {found.version}, not {expected_version}: "
        "someone changed it since you read it",
        field="version",
    )


async def update_many(
    ctx: RecordContext, module_name: str, where: dict[str, Any], data: dict[str, Any]
) -> list[Record]:
    """Apply the same change to every live record matching a filter, in one statement."""
    module = ctx.snapshot.module(module_name)
    table = ctx.tables.of(module_name)
    ctx.rights.require(module_name, "edit")
    async with ctx.engine.begin() as conn:
        values = await _changes(ctx, conn, module, data)
        condition = build_filter(ctx, module, table, where)
        with translated(module, [data]):
            result = await conn.execute(
                table.update().where(live(table), condition,
                                     *_writable(ctx, module_name, table))
                .values(**values, **_stamp(ctx)).returning(table)
            )
        return [ctx.to_record(module_name, r) for r in result.mappings()]


async def set_deleted(
    ctx: RecordContext, module_name: str, ident: str, *, deleted: bool
) -> Record:
    """Soft-delete (``deleted``) or restore one record."""
    module = ctx.snapshot.module(module_name)
    table = ctx.tables.of(module_name)
    ctx.rights.require(module_name, "delete")
    state = live(table) if deleted else table.c.deleted_at.is_not(None)
    async with ctx.engine.begin() as conn:
        result = await conn.execute(
            table.update().where(table.c.id == ident, state, *_writable(ctx, module_name, table))
            .values(deleted_at=sa.func.now() if deleted else None, **_stamp(ctx))
            .returning(table)
        )
        row = result.mappings().first()
    if row is None:
        which = "" if deleted else "deleted "
        raise NotFound(f"there is no {which}{module.name} with id {ident} you may change",
                       field="id")
    return ctx.to_record(module_name, row)


async def destroy(ctx: RecordContext, module_name: str, ident: str) -> str:
    """Remove a record for good, with the comments (polymorphic children) that require it."""
    module = ctx.snapshot.module(module_name)
    table = ctx.tables.of(module_name)
    ctx.rights.require(module_name, "delete")
    async with ctx.engine.begin() as conn:
        writable = (await conn.execute(sa.select(table.c.id).where(
            table.c.id == ident, *_writable(ctx, module_name, table)))).first()
        if writable is None:
            raise NotFound(f"there is no {module.name} with id {ident} you may change",
                           field="id")
        for related in ctx.model.lists_of(module_name):
            ref = related.reference
            if ref is None or not related.polymorphic():
                continue
            child = ctx.tables.of(related.target)
            mine = sa.and_(child.c[ref.column] == ident,
                           child.c[f"{ref.column}_module"] == module_name)
            if ref.required:
                await conn.execute(child.delete().where(mine))
            else:
                await conn.execute(child.update().where(mine).values(
                    {ref.column: None, f"{ref.column}_module": None}))
        result = await conn.execute(table.delete().where(table.c.id == ident)
                                    .returning(table.c.id))
        if result.first() is None:
            raise NotFound(f"there is no {module.name} with id {ident}", field="id")
    return ident


async def link(
    ctx: RecordContext, module_name: str, list_name: str, ident: str, others: list[str],
    *, add: bool,
) -> None:
    """Add or remove many-to-many links from one record to others."""
    related = ctx.related_list(module_name, list_name)
    assert related is not None and related.relation is not None
    link_table = ctx.tables.links[related.relation.name]
    _, target, own, other = related.relation.side(module_name)
    ctx.rights.require(module_name, "edit")
    async with ctx.engine.begin() as conn:
        found = await ctx_live_ids(ctx, conn, module_name, [ident], writable=True)
        if ident not in found:
            raise NotFound(f"there is no {module_name} with id {ident}", field="id")
        if not add:
            # Only links to records this user may read: a link is part of both records,
            # and one hidden from them is neither theirs to change nor to learn about.
            readable = await ctx_live_ids(ctx, conn, target, others, include_deleted=True)
            await conn.execute(link_table.delete().where(
                link_table.c[own] == ident, link_table.c[other].in_(readable)))
            return
        present = await ctx_live_ids(ctx, conn, target, others)
        missing = [o for o in others if o not in present]
        if missing:
            raise BadUserInput(f"there is no {target} with id {missing[0]}", field="ids")
        rows = [{own: ident, other: o} for o in dict.fromkeys(others)]
        insert = pg_insert(link_table).values(rows)
        await conn.execute(insert.on_conflict_do_nothing())


async def ctx_live_ids(
    ctx: RecordContext, conn: AsyncConnection, module_name: str, ids: list[str],
    *, writable: bool = False, include_deleted: bool = False,
) -> set[str]:
    """The ids among ``ids`` of live (or also deleted) records this user may see (or change)."""
    table = ctx.tables.of(module_name)
    rights = ctx.rights
    condition = (rights.write_filter(module_name, table) if writable
                 else rights.read_filter(module_name, table))
    query = sa.select(table.c.id).where(table.c.id.in_(ids),
                                        sa.true() if include_deleted else live(table),
                                        sa.true() if condition is None else condition)
    return set((await conn.execute(query)).scalars())


async def records_for(
    ctx: RecordContext, module_name: str, ids: list[str]
) -> dict[str, Record]:
    """Freshly read records after a write (not through the request's loader cache)."""
    from defalto_gql.records.reading import records_by_id

    return await records_by_id(ctx, module_name, ids)
