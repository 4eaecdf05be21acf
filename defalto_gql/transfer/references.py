"""Reference cells to ids: a record by its label or record number, a user by email or name.

One query per reference field and batch. A text that names no record the
importing user can see, or names several, is a row problem; nothing is guessed.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.metadata.model import FieldDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.filters import live

# The built-in system user owns nothing a person imports.
SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000001"


async def resolve(
    ctx: RecordContext, conn: AsyncConnection, f: FieldDef, texts: set[str]
) -> dict[str, set[str]]:
    """Each text mapped to the ids it names (empty when none)."""
    if not texts:
        return {}
    if f.type_key == "owner":
        return await _users(conn, texts)
    return await _records(ctx, conn, f.targets[0], texts)


async def _records(
    ctx: RecordContext, conn: AsyncConnection, target: str, texts: set[str]
) -> dict[str, set[str]]:
    module = ctx.snapshot.module(target)
    table = ctx.tables.of(target)
    label = table.c[module.field(module.label_field).column]
    names = sorted(texts)
    wanted: sa.ColumnElement[bool] = label.in_(names)
    number = table.c.get("record_number")
    if number is not None:
        wanted = sa.or_(wanted, number.in_(names))
    # Records the user cannot see count as missing: their existence is not revealed.
    visible = ctx.rights.read_filter(target, table)
    query = sa.select(table.c.id, label.label("label"),
                      (number if number is not None else sa.null()).label("number")) \
        .where(wanted, live(table), sa.true() if visible is None else visible)
    found: dict[str, set[str]] = defaultdict(set)
    for row in await conn.execute(query):
        for key in (row.label, row.number):
            if key in texts:
                found[key].add(row.id)
    return {text: found.get(text, set()) for text in texts}


async def _users(conn: AsyncConnection, texts: set[str]) -> dict[str, set[str]]:
    lowered = sorted({t.lower() for t in texts})
    rows = (await conn.exec_driver_sql(
        "SELECT id::text, email, name FROM dg_users WHERE active AND id <> $1 "
        "AND (email = ANY($2) OR name = ANY($3))",
        (SYSTEM_USER_ID, lowered, sorted(texts)),
    )).all()
    found: dict[str, set[str]] = defaultdict(set)
    for user in rows:
        for text in texts:
            if text.lower() == user.email or text == user.name:
                found[text].add(user.id)
    return {text: found.get(text, set()) for text in texts}


def describe_miss(f: FieldDef, text: str, ids: set[str]) -> str | None:
    """Why ``text`` does not name exactly one target, or None when it does."""
    what = "user" if f.type_key == "owner" else (f.targets[0] if f.targets else "record")
    if not ids:
        by = "email or name" if f.type_key == "owner" else "name or record number"
        return f"no {what} has the {by} {text!r}"
    if len(ids) > 1:
        return f"{len(ids)} {what} records are named {text!r}; use the record number"
    return None
