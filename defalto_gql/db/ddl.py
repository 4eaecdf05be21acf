"""DDL for module tables, compiled by SQLAlchemy and run inside the caller's transaction.

PostgreSQL's DDL is transactional: a field's metadata row and its column
commit or roll back together, which is what makes metadata changes safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateColumn, CreateTable

from defalto_gql.db.tables import common_columns, field_columns, sequence_name
from defalto_gql.metadata.model import FieldDef, ModuleDef

DIALECT: Any = pg.dialect()  # type: ignore[no-untyped-call]
DEFERRED = "defalto_deferred_ddl"


def defer_ddl(conn: AsyncConnection) -> None:
    """From now on, ``later`` queues DDL on this connection instead of running it."""
    conn.info[DEFERRED] = []


async def run_deferred(conn: AsyncConnection) -> None:
    """Run the queued DDL, in order, in the same transaction."""
    for step in conn.info.pop(DEFERRED, []):
        await step()


def stop_deferring(conn: AsyncConnection) -> None:
    conn.info.pop(DEFERRED, None)


async def later(conn: AsyncConnection, step: Callable[[], Awaitable[None]]) -> None:
    """Run a DDL step now, or at the end of the change when DDL is being deferred.

    A metadata change proves the new schema builds before it commits; building
    takes a while, and an ALTER TABLE holds a lock that stops every reader of the
    table. Deferring the DDL to after the build keeps that lock short.
    """
    queue = conn.info.get(DEFERRED)
    if queue is None:
        await step()
    else:
        queue.append(step)


def quote(name: str) -> str:
    return str(DIALECT.identifier_preparer.quote(name))


async def create_module_table(conn: AsyncConnection, module: ModuleDef) -> None:
    """The table with the common columns; fields are added one by one afterwards."""
    if module.record_prefix:
        await conn.exec_driver_sql(f"CREATE SEQUENCE {quote(sequence_name(module))} START 1001")
    table = sa.Table(module.table, sa.MetaData(), *common_columns(module))
    await conn.execute(CreateTable(table))
    for column in ("created_at", "updated_at", "owner_id"):
        await conn.exec_driver_sql(
            f"CREATE INDEX {quote(f'{module.table}_{column}')} "
            f"ON {quote(module.table)} ({quote(column)})"
        )
    if module.record_prefix:
        await lookup_index(conn, module.table, "record_number")


async def add_field_columns(
    conn: AsyncConnection, module: ModuleDef, f: FieldDef, target_table: str | None
) -> None:
    """Add the column(s) of a field, with its foreign key and index where it needs one."""
    tables = {f.targets[0]: target_table} if target_table and f.targets else None
    for column in field_columns(f, tables):
        spec = CreateColumn(column).compile(dialect=DIALECT)
        await conn.exec_driver_sql(f"ALTER TABLE {quote(module.table)} ADD COLUMN {spec}")
        for fk in column.foreign_keys:
            await conn.exec_driver_sql(
                f"ALTER TABLE {quote(module.table)} ADD FOREIGN KEY ({quote(column.name)}) "
                f"REFERENCES {quote(fk.target_fullname.split('.')[0])} (id) ON DELETE SET NULL"
            )
    if f.type_key == "reference" or f.unique:
        await _index(conn, module.table, f.type.column_names(f), unique=f.unique)
    if looked_up(module, f):
        await lookup_index(conn, module.table, f.column)


def looked_up(module: ModuleDef, f: FieldDef) -> bool:
    """A text field found by its value ignoring case: emails, and the module's label
    (import matching, reference cells, owners)."""
    return f.type_key == "email" or (f.name == module.label_field and f.type_key == "text")


async def lookup_index(conn: AsyncConnection, table: str, column: str) -> None:
    """An index on ``lower(column)``, so lookups ignoring case do not read the whole table."""
    name = quote(f"{table}_{column}"[:57] + "_lower")
    await conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS {name} ON {quote(table)} (lower({quote(column)}))")


async def drop_lookup_index(conn: AsyncConnection, table: str, column: str) -> None:
    name = quote(f"{table}_{column}"[:57] + "_lower")
    await conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


async def ensure_lookup_indexes(conn: AsyncConnection, modules: list[ModuleDef]) -> None:
    """The lookup indexes of every module: databases made before they existed get them."""
    for module in modules:
        if module.record_prefix:
            await lookup_index(conn, module.table, "record_number")
        for f in module.fields:
            if not f.builtin and looked_up(module, f):
                await lookup_index(conn, module.table, f.column)


async def _index(conn: AsyncConnection, table: str, columns: list[str], unique: bool) -> None:
    suffix = "_unique" if unique else ""
    name = quote(f"{table}_{'_'.join(columns)}"[: 63 - len(suffix)] + suffix)
    kind = "UNIQUE INDEX" if unique else "INDEX"
    listed = ", ".join(quote(c) for c in columns)
    # Uniqueness holds among live records; a soft-deleted duplicate does not block.
    where = " WHERE deleted_at IS NULL" if unique else ""
    await conn.exec_driver_sql(f"CREATE {kind} {name} ON {quote(table)} ({listed}){where}")


async def create_link_table(conn: AsyncConnection, name: str, left: str, right: str) -> None:
    from defalto_gql.db.tables import link_table
    from defalto_gql.metadata.model import RelationDef

    metadata = sa.MetaData()
    for table in {left, right}:
        sa.Table(table, metadata, sa.Column("id", pg.UUID(as_uuid=False), primary_key=True))
    relation = RelationDef(0, name, "", "", "", "", name)
    link = link_table(relation, metadata, left, right)
    await conn.execute(CreateTable(link))
    for index in link.indexes:
        await conn.execute(sa.schema.CreateIndex(index))


def literal(value: Any) -> str:
    return str(sa.literal(value).compile(dialect=DIALECT, compile_kwargs={"literal_binds": True}))
