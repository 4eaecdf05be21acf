"""Reading the metadata snapshot from the system tables."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.metadata.builtin import builtin_fields
from defalto_gql.metadata.model import BlockDef, FieldDef, ModuleDef, RelationDef, Snapshot

MODULES_SQL = """
SELECT id, name, plural, label, plural_label, description, table_name, record_prefix,
       label_field, shipped
FROM dg_modules WHERE deleted_at IS NULL ORDER BY id
"""
FIELDS_SQL = """
SELECT f.id, f.module_id, f.name, f.label, f.type, f.column_name, f.required, f.is_unique,
       f.default_value, f.help_text, f.options, b.name AS block, f.position, f.shipped
FROM dg_fields f LEFT JOIN dg_blocks b ON b.id = f.block_id
WHERE f.deleted_at IS NULL ORDER BY f.module_id, f.position, f.id
"""
PICKLIST_SQL = "SELECT field_id, value FROM dg_picklist_values ORDER BY field_id, position, id"
BLOCKS_SQL = "SELECT module_id, name, label, position FROM dg_blocks ORDER BY module_id, position"
RELATIONS_SQL = """
SELECT r.id, r.name, r.label, l.name AS left, rt.name AS right, r.left_name, r.right_name,
       r.table_name AS table
FROM dg_relations r
JOIN dg_modules l ON l.id = r.left_module_id AND l.deleted_at IS NULL
JOIN dg_modules rt ON rt.id = r.right_module_id AND rt.deleted_at IS NULL
WHERE r.deleted_at IS NULL ORDER BY r.id
"""


async def _rows(conn: AsyncConnection, sql: str) -> list[Any]:
    return list((await conn.exec_driver_sql(sql)).mappings())


async def current_version(conn: AsyncConnection) -> int:
    found = await conn.exec_driver_sql("SELECT version FROM dg_metadata_version WHERE id = 1")
    return int(found.scalar_one())


async def load_snapshot(conn: AsyncConnection) -> Snapshot:
    """Read every live module, field, picklist value, block and relation at one version."""
    version = await current_version(conn)
    modules = await _rows(conn, MODULES_SQL)
    module_names = {m["id"]: m["name"] for m in modules}

    picklists: dict[int, list[str]] = defaultdict(list)
    for row in await _rows(conn, PICKLIST_SQL):
        picklists[row["field_id"]].append(row["value"])

    fields: dict[int, list[FieldDef]] = defaultdict(list)
    for row in await _rows(conn, FIELDS_SQL):
        if row["module_id"] in module_names:
            fields[row["module_id"]].append(_field(row, module_names, picklists))

    blocks: dict[int, list[BlockDef]] = defaultdict(list)
    for row in await _rows(conn, BLOCKS_SQL):
        blocks[row["module_id"]].append(BlockDef(row["name"], row["label"], row["position"]))

    found = {}
    for m in modules:
        common = builtin_fields(m["name"], bool(m["record_prefix"]))
        found[m["name"]] = ModuleDef(
            id=m["id"],
            name=m["name"],
            plural=m["plural"],
            label=m["label"],
            plural_label=m["plural_label"],
            table=m["table_name"],
            fields=tuple(common + fields[m["id"]]),
            label_field=m["label_field"],
            record_prefix=m["record_prefix"],
            description=m["description"],
            blocks=tuple(blocks[m["id"]]),
            shipped=m["shipped"],
        )
    relations = tuple(RelationDef(**dict(r)) for r in await _rows(conn, RELATIONS_SQL))
    return Snapshot(version=version, modules=found, relations=relations)


def _field(row: Any, modules: dict[int, str], picklists: dict[int, list[str]]) -> FieldDef:
    return FieldDef(
        id=row["id"],
        module=modules[row["module_id"]],
        name=row["name"],
        label=row["label"],
        type_key=row["type"],
        column=row["column_name"],
        required=row["required"],
        unique=row["is_unique"],
        default=row["default_value"],
        help_text=row["help_text"],
        options=dict(row["options"] or {}),
        picklist=tuple(picklists.get(row["id"], ())),
        block=row["block"],
        position=row["position"],
        shipped=row["shipped"],
    )

