"""Reading records: top-level lists, pages of related records per parent, records by id."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from defalto_gql.errors import BadUserInput
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.datamodel import Record, RelatedList
from defalto_gql.records.filters import build_filter, live
from defalto_gql.records.ordering import SortKey, keyset, make_cursor, read_cursor, sort_keys


@dataclass(frozen=True)
class ListArgs:
    """The arguments of any list: filter, order, and one page window."""

    filter: dict[str, Any] | None = None
    order_by: list[dict[str, str]] = field(default_factory=list)
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    include_deleted: bool = False

    def key(self) -> str:
        """A hashable form, so equal arguments share one dataloader."""
        return json.dumps(
            [self.filter, self.order_by, self.first, self.after, self.last, self.before,
             self.include_deleted], sort_keys=True, default=str,
        )


@dataclass
class Page:
    """One page of a list, in list order, with what Relay's PageInfo needs.

    Cursors are made only for the rows whose cursor a query asks for.
    """

    records: list[Record]
    rows: list[Any]
    keys: list[SortKey]
    has_next: bool
    has_previous: bool
    total: int | None = None

    def cursor(self, index: int) -> str:
        return make_cursor(self.keys, self.rows[index])


def _window(ctx: RecordContext, args: ListArgs) -> tuple[int, bool]:
    """The page size and direction; forward unless ``last`` is given."""
    if args.first is not None and args.last is not None:
        raise BadUserInput("give either first or last, not both", field="last")
    size = args.last if args.last is not None else args.first
    name = "last" if args.last is not None else "first"
    if size is None:
        size = ctx.default_page_size
    if size < 0:
        raise BadUserInput(f"{name} cannot be negative", field=name)
    if size > ctx.max_page_size:
        raise BadUserInput(f"{name} can be at most {ctx.max_page_size}", field=name)
    return size, args.last is None


def _conditions(
    ctx: RecordContext, module: ModuleDef, table: sa.Table, args: ListArgs, keys: list[SortKey]
) -> tuple[list[Any], list[Any]]:
    """(base conditions, cursor conditions) for a list on ``table``."""
    base = [build_filter(ctx, module, table, args.filter)]
    if not args.include_deleted:
        base.append(live(table))
    visible = ctx.rights.read_filter(module.name, table)
    if visible is not None:
        base.append(visible)
    window = []
    if args.after:
        window.append(keyset(keys, read_cursor(keys, args.after, "after"), forward=True))
    if args.before:
        window.append(keyset(keys, read_cursor(keys, args.before, "before"), forward=False))
    return base, window


def _page(
    ctx: RecordContext, module: str, rows: list[Any], keys: list[SortKey], size: int,
    forward: bool, args: ListArgs,
) -> Page:
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    return Page(
        records=[ctx.to_record(module, row) for row in rows],
        rows=rows,
        keys=keys,
        has_next=more if forward else bool(args.before),
        has_previous=more if not forward else bool(args.after),
    )


async def list_records(
    ctx: RecordContext, module_name: str, args: ListArgs, *, with_total: bool = False
) -> Page:
    """One page of a module's records, and its total count when asked for."""
    module = ctx.snapshot.module(module_name)
    table = ctx.tables.of(module_name)
    ctx.rights.require(module_name, "view")
    keys = sort_keys(module, table, args.order_by, ctx.rights.hidden(module_name))
    size, forward = _window(ctx, args)
    base, window = _conditions(ctx, module, table, args, keys)
    query = (
        sa.select(table)
        .where(*base, *window)
        .order_by(*(k.order(reverse=not forward) for k in keys))
        .limit(size + 1)
    )
    async with ctx.engine.connect() as conn:
        rows = list((await conn.execute(query)).mappings())
        page = _page(ctx, module_name, rows, keys, size, forward, args)
        if with_total:
            count = sa.select(sa.func.count()).select_from(table).where(*base)
            page.total = int((await conn.execute(count)).scalar_one())
    return page


def _parent_column(
    ctx: RecordContext, related: RelatedList, child: sa.Table
) -> tuple[Any, Any]:
    """(the column holding the parent id, the FROM clause) for a related list."""
    if related.reference is not None:
        return child.c[related.reference.column], child
    assert related.relation is not None
    link = ctx.tables.links[related.relation.name]
    _, _, own, other = related.relation.side(related.owner)
    return link.c[own], child.join(link, link.c[other] == child.c.id)


async def related_pages(
    ctx: RecordContext, related: RelatedList, parent_ids: list[str], args: ListArgs,
    *, with_total: bool = False,
) -> dict[str, Page]:
    """A page of related records for each parent, in one statement (plus one for totals)."""
    module = ctx.snapshot.module(related.target)
    child = ctx.tables.of(related.target)
    ctx.rights.require(related.target, "view")
    if related.reference is not None:
        # The reverse of a reference tells each record's value of it: hidden, so is this.
        ctx.rights.check_readable(related.target, related.reference.name)
    keys = sort_keys(module, child, args.order_by, ctx.rights.hidden(related.target))
    size, forward = _window(ctx, args)
    base, window = _conditions(ctx, module, child, args, keys)
    parent, source = _parent_column(ctx, related, child)
    base.append(parent.in_(parent_ids))
    if related.polymorphic():
        assert related.reference is not None
        base.append(child.c[f"{related.reference.column}_module"] == related.owner)

    rank = sa.func.row_number().over(
        partition_by=parent, order_by=[k.order(reverse=not forward) for k in keys]
    )
    inner = (
        sa.select(child, parent.label("_parent"), rank.label("_rank"))
        .select_from(source)
        .where(*base, *window)
        .subquery()
    )
    # inner.c["_parent"], not inner.c._parent: the attribute is the collection's own
    # parent (every column), which silently ordered the rows by id first.
    query = sa.select(inner).where(inner.c["_rank"] <= size + 1).order_by(
        inner.c["_parent"], inner.c["_rank"]
    )
    grouped: dict[str, list[Any]] = defaultdict(list)
    async with ctx.engine.connect() as conn:
        for row in (await conn.execute(query)).mappings():
            grouped[row["_parent"]].append(row)
        totals: dict[str, int] = {}
        if with_total:
            count = sa.select(parent, sa.func.count()).select_from(source).where(*base)
            totals = {p: n for p, n in await conn.execute(count.group_by(parent))}
    pages = {}
    for pid in parent_ids:
        page = _page(ctx, related.target, grouped.get(pid, []), keys, size, forward, args)
        page.total = totals.get(pid, 0) if with_total else None
        pages[pid] = page
    return pages


async def records_by_id(
    ctx: RecordContext, module_name: str, ids: list[str], *, include_deleted: bool = False
) -> dict[str, Record]:
    """Live records of one module by id; missing and deleted ones are simply absent."""
    table = ctx.tables.of(module_name)
    query = sa.select(table).where(table.c.id.in_(ids))
    if not include_deleted:
        query = query.where(live(table))
    visible = ctx.rights.read_filter(module_name, table)
    if visible is not None:
        query = query.where(visible)
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(query)).mappings()
        return {row["id"]: ctx.to_record(module_name, row) for row in rows}


async def module_of(ctx: RecordContext, ident: str) -> str | None:
    """Which module a live record id belongs to (ids are unique across modules)."""
    parts = []
    for name, table in ctx.tables.modules.items():
        visible = ctx.rights.read_filter(name, table)
        parts.append(
            sa.select(sa.literal(name).label("module")).select_from(table)
            .where(table.c.id == ident, live(table), sa.true() if visible is None else visible)
        )
    if not parts:
        return None
    async with ctx.engine.connect() as conn:
        found = (await conn.execute(sa.union_all(*parts).limit(1))).scalar()
    return None if found is None else str(found)
