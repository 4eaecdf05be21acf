"""SQLAlchemy table objects for module and link tables, built from a metadata snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import FieldDef, ModuleDef, RelationDef, Snapshot

# Columns every module table has, besides one column (or two) per field.
COMMON_COLUMNS = (
    "id",
    "record_number",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "owner_id",
    "deleted_at",
    "version",
)


def sequence_name(module: ModuleDef) -> str:
    return f"{module.table}_number_seq"


def common_columns(module: ModuleDef) -> list[sa.Column[Any]]:
    uuid = pg.UUID(as_uuid=False)
    now = sa.func.now()
    columns: list[sa.Column[Any]] = [
        sa.Column("id", uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    ]
    if module.record_prefix:
        number = sa.text(f"'{module.record_prefix}-' || nextval('{sequence_name(module)}')")
        columns.append(sa.Column("record_number", sa.String(64), nullable=False, unique=True,
                                 server_default=number))
    columns += [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("created_by", uuid, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_by", uuid, nullable=False),
        sa.Column("owner_id", uuid, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    ]
    return columns


def field_columns(f: FieldDef, tables: dict[str, str] | None = None) -> list[sa.Column[Any]]:
    """The columns of one field; a single-target reference gets its foreign key."""
    columns = f.type.columns(f)
    kind = f.type
    if isinstance(kind, ReferenceType) and not kind.is_polymorphic(f) and tables:
        target = tables.get(f.targets[0])
        if target:
            columns[0].append_foreign_key(
                sa.ForeignKey(f"{target}.id", ondelete="SET NULL")
            )
    return columns


@dataclass
class Tables:
    """The table of every module and the link table of every relation."""

    metadata: sa.MetaData
    modules: dict[str, sa.Table]
    links: dict[str, sa.Table]

    def of(self, module: str) -> sa.Table:
        return self.modules[module]


def link_table(relation: RelationDef, metadata: sa.MetaData, left: str, right: str) -> sa.Table:
    uuid = pg.UUID(as_uuid=False)
    return sa.Table(
        relation.table,
        metadata,
        sa.Column("left_id", uuid, sa.ForeignKey(f"{left}.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("right_id", uuid, sa.ForeignKey(f"{right}.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Index(f"{relation.table}_right", "right_id"),
    )


def build_tables(snapshot: Snapshot) -> Tables:
    metadata = sa.MetaData()
    names = {m.name: m.table for m in snapshot.modules.values()}
    modules: dict[str, sa.Table] = {}
    for module in snapshot.modules.values():
        columns = common_columns(module)
        for f in module.fields:
            if not f.builtin:
                columns += field_columns(f, names)
        modules[module.name] = sa.Table(module.table, metadata, *columns)
    links = {
        r.name: link_table(r, metadata, names[r.left], names[r.right])
        for r in snapshot.relations
        if r.left in names and r.right in names
    }
    return Tables(metadata, modules, links)
