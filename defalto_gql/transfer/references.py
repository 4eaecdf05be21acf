"""Reference cells to ids: a record by its label or record number, a user by email or name.

One query per reference field and batch. A text that names no record the
importing user can see, or names several, is a row problem; nothing is guessed.

Labels and record numbers compare ignoring case (``acc-1042``, ``dup co``); when
several labels differ only in case, the one written exactly wins. A cell
``Label (NUMBER)``, as an export writes a label several records share, names
the record with that number if its label is still that label. A cell in the
form of a record number never creates a target (see ``cites_record``).

A field pointing at several modules (a comment's ``relatedTo``) needs the module
too: ``Account: Acme`` (the module's name or label, then the record as above),
or a record number alone, whose prefix names the module (``ACC-1042``). Such a
field resolves to ``(module, id)`` pairs.

Where the target's label field is hidden from the user, its records are named
by record number only (and exports write the number): matching on the label
would tell the user which values it holds.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import ANY_MODULE, FieldDef, ModuleDef, Snapshot
from defalto_gql.records.context import RecordContext
from defalto_gql.records.filters import live
from defalto_gql.transfer.mapping import normalise

# The built-in system user owns nothing a person imports.
SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000001"
# A label with the record number after it, as exports write a shared label: "Lopez (CON-7)".
_CITED = re.compile(r"(.+) \(([^()\s]+)\)", re.DOTALL)


async def resolve(
    ctx: RecordContext, conn: AsyncConnection, f: FieldDef, texts: set[str]
) -> dict[str, set[Any]]:
    """Each text mapped to the ids it names (empty when none).

    The ids are ``(module, id)`` pairs for a field pointing at several modules.
    """
    if not texts:
        return {}
    if f.type_key == "owner":
        return await _users(conn, texts)
    if points_anywhere(f):
        return await _anywhere(ctx, conn, f, texts)
    return await _records(ctx, conn, f.targets[0], texts)


def points_anywhere(f: FieldDef) -> bool:
    """Whether ``f`` is a reference to several modules, whose cells name the module too."""
    return isinstance(f.type, ReferenceType) and f.type.is_polymorphic(f)


async def _anywhere(
    ctx: RecordContext, conn: AsyncConnection, f: FieldDef, texts: set[str]
) -> dict[str, set[Any]]:
    """Cells of a field pointing at several modules, one query per module they name."""
    found: dict[str, set[Any]] = {text: set() for text in texts}
    aimed: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for text in texts:
        target = aim(ctx.snapshot, f, text)
        if target is not None:
            aimed[target[0].name][target[1]].append(text)
    for module, cells in aimed.items():
        named = await _records(ctx, conn, module, set(cells))
        for inner, texts_naming in cells.items():
            for text in texts_naming:
                found[text] = {(module, ident) for ident in named[inner]}
    return found


def aim(snapshot: Snapshot, f: FieldDef, text: str) -> tuple[ModuleDef, str] | None:
    """The module a cell of a field pointing at several modules names, and the rest.

    ``Account: Acme`` names the module by name or label (ignoring case, spaces
    and punctuation); a record number alone (or ``Label (NUMBER)``) by its prefix.
    """
    allowed = [m for m in snapshot.modules.values()
               if ANY_MODULE in f.targets or m.name in f.targets]
    head, colon, rest = text.partition(":")
    if colon and rest.strip():
        for m in allowed:
            if normalise(head) in (normalise(m.name), normalise(m.label)):
                return m, rest.strip()
    for m in allowed:
        if cites_record(m.record_prefix, text):
            return m, text
    return None


async def _records(
    ctx: RecordContext, conn: AsyncConnection, target: str, texts: set[str]
) -> dict[str, set[str]]:
    module = ctx.snapshot.module(target)
    table = ctx.tables.of(target)
    label: sa.ColumnElement[Any] = table.c[module.field(module.label_field).column]
    number = table.c.get("record_number")
    cited = {text: cited_number(module.record_prefix, text) for text in texts}
    folded = sorted({t.lower() for t in texts}
                    | {c[0].lower() for c in cited.values() if c is not None})
    # A label hidden from the user would reveal its values by what it matches:
    # such records are found by their record number only.
    by_label = module.label_field not in ctx.rights.hidden(target)
    if not by_label:
        label = sa.null()
    # Case is ignored in SQL and settled below, where an exact-case label wins.
    wanted: sa.ColumnElement[bool] = sa.func.lower(label).in_(folded) if by_label \
        else sa.false()
    if number is not None:
        wanted = sa.or_(wanted, sa.func.lower(number).in_(folded))
    # Records the user cannot see count as missing: their existence is not revealed.
    visible = ctx.rights.read_filter(target, table)
    query = sa.select(table.c.id, label.label("label"),
                      (number if number is not None else sa.null()).label("number")) \
        .where(wanted, live(table), sa.true() if visible is None else visible)
    rows = [(row.id, row.label, row.number) for row in await conn.execute(query)]
    return {text: _named(text, cited[text], rows) for text in texts}


def _named(text: str, cited: tuple[str, str] | None,
           rows: list[tuple[str, str | None, str | None]]) -> set[str]:
    """The ids ``text`` names: by record number or label, ignoring case, exact case first."""
    folded = text.lower()
    numbered = {ident for ident, _, number in rows if number and number.lower() == folded}
    exact = {ident for ident, label, _ in rows if label == text}
    alike = {ident for ident, label, _ in rows if label and label.lower() == folded}
    found = numbered | (exact or alike)
    if found or cited is None:
        return found
    # "Lopez (CON-1042)": the record with that number, if it still has that label.
    number, name = cited[0].lower(), cited[1].lower()
    return {ident for ident, label, num in rows
            if num and num.lower() == number and (label or "").lower() == name}


def cited_number(prefix: str | None, text: str) -> tuple[str, str] | None:
    """The record number and label of a ``Label (NUMBER)`` cell, as exports write them.

    Only a number of the target's own prefix counts, so a name that merely ends
    in parentheses (``Acme (UK)``) is read as a name.
    """
    found = _CITED.fullmatch(text)
    if found is None or not is_record_number(prefix, found[2]):
        return None
    return found[2], found[1]


def is_record_number(prefix: str | None, text: str) -> bool:
    """Whether ``text`` has the form of a record number of the prefix (``acc-1044``)."""
    if not prefix:
        return False
    return re.fullmatch(rf"{re.escape(prefix)}-\d+", text.strip(), re.IGNORECASE) is not None


def cites_record(prefix: str | None, text: str) -> bool:
    """Whether a cell names a record by number (alone or cited), so it never creates one."""
    return is_record_number(prefix, text) or cited_number(prefix, text) is not None


async def _users(conn: AsyncConnection, texts: set[str]) -> dict[str, set[str]]:
    """Owners: active users by email (ignoring case) or name, and groups by name."""
    lowered = sorted({t.lower() for t in texts})
    rows = (await conn.exec_driver_sql(
        "SELECT id::text, email, name FROM dg_users WHERE active AND id <> $1 "
        "AND (email = ANY($2) OR name = ANY($3)) "
        "UNION ALL SELECT id::text, NULL, name FROM dg_groups WHERE name = ANY($3)",
        (SYSTEM_USER_ID, lowered, sorted(texts)),
    )).all()
    found: dict[str, set[str]] = defaultdict(set)
    for user in rows:
        for text in texts:
            if text.lower() == user.email or text == user.name:
                found[text].add(user.id)
    return {text: found.get(text, set()) for text in texts}


async def inactive_users(conn: AsyncConnection, texts: set[str]) -> dict[str, str]:
    """The deactivated users these cells name by email (as export writes owners)."""
    if not texts:
        return {}
    rows = (await conn.exec_driver_sql(
        "SELECT id::text, email FROM dg_users WHERE NOT active AND email = ANY($1)",
        (sorted({t.lower() for t in texts}),))).all()
    by_email = {row.email: row.id for row in rows}
    return {text: by_email[text.lower()] for text in texts if text.lower() in by_email}


def _cut(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def describe_miss(snapshot: Snapshot, f: FieldDef, text: str, ids: set[Any]) -> str | None:
    """Why ``text`` does not name exactly one target, or None when it does.

    A long cell is cut short, so the reason's end (why no target was made) stays in it.
    """
    what = "user or group" if f.type_key == "owner" else (f.targets[0] if f.targets
                                                          else "record")
    if points_anywhere(f):
        target = aim(snapshot, f, text)
        if target is None:
            return (f"{_cut(text)!r} names no module: write the module and the record, as "
                    "'Account: Acme', or a record number, as 'ACC-1042'")
        what, text = target[0].name, target[1]
    text = _cut(text)
    if not ids:
        by = "email or name" if f.type_key == "owner" else "name or record number"
        return f"no {what} has the {by} {text!r}"
    if len(ids) > 1 and f.type_key == "owner":
        return f"{len(ids)} users or groups are named {text!r}; use the user's email"
    if len(ids) > 1:
        return f"{len(ids)} {what} records are named {text!r}; use the record number"
    return None
