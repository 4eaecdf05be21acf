"""Validated metadata changes: one code path for shipped modules and administrators.

Each function runs inside the caller's transaction: it checks the change,
writes the metadata rows, runs the DDL and bumps the metadata version, so the
whole change commits or rolls back as one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.db import ddl
from defalto_gql.errors import BadUserInput
from defalto_gql.metadata.builtin import COMMON_FIELDS
from defalto_gql.metadata.fieldtypes import FIELD_TYPES
from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import ANY_MODULE, FieldDef, ModuleDef
from defalto_gql.metadata.naming import (
    BUILTIN_FIELD_NAMES,
    CUSTOM_COLUMN_PREFIX,
    NAME_PATTERN,
    camel,
    module_clash,
    normalised,
    pascal,
    snake,
)

logger = logging.getLogger(__name__)

OPTION_KEYS = ("maxLength", "precision", "scale", "min", "max", "targets", "reverse",
               "dayFirst", "defaultCurrency")


async def bump_version(conn: AsyncConnection) -> int:
    """Raise the metadata version and tell every instance (delivered at commit)."""
    found = await conn.exec_driver_sql(
        "UPDATE dg_metadata_version SET version = version + 1, changed_at = now() "
        "WHERE id = 1 RETURNING version"
    )
    version = int(found.scalar_one())
    await conn.exec_driver_sql(f"NOTIFY defalto_metadata, '{version}'")
    return version


async def rows_of(conn: AsyncConnection, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Plain rows of a driver-level statement, as tuples."""
    return [tuple(row) for row in (await conn.exec_driver_sql(sql, args)).all()]


async def _one(conn: AsyncConnection, sql: str, *args: Any) -> Any:
    return (await conn.exec_driver_sql(sql, args)).mappings().first()


async def _module_row(conn: AsyncConnection, name: str) -> Any:
    row = await _one(
        conn, "SELECT * FROM dg_modules WHERE name = $1 AND deleted_at IS NULL", name
    )
    if row is None:
        raise BadUserInput(f"there is no module {name!r}", field="module")
    return row


def _module_def(row: Any) -> ModuleDef:
    return ModuleDef(
        id=row["id"], name=row["name"], plural=row["plural"], label=row["label"],
        plural_label=row["plural_label"], table=row["table_name"], fields=(),
        label_field=row["label_field"], record_prefix=row["record_prefix"],
    )


async def create_module(conn: AsyncConnection, spec: dict[str, Any], *, shipped: bool) -> int:
    """Create a module and its table; its fields follow through ``create_field``."""
    label = str(spec.get("label") or spec.get("name") or "").strip()
    name = spec.get("name") or pascal(label)
    if not label or not name or not NAME_PATTERN.match(name) or not name[0].isupper():
        raise BadUserInput(
            f"{name!r} is not a usable module name: start with a capital letter, then "
            "letters and digits only", field="name",
        )
    plural_label = spec.get("pluralLabel") or f"{label}s"
    plural = spec.get("plural") or pascal(plural_label)
    if not NAME_PATTERN.match(plural) or normalised(plural) == normalised(name):
        raise BadUserInput(f"{plural!r} is not a usable plural for {name!r}", field="plural")
    others = await rows_of(conn, "SELECT name, plural FROM dg_modules WHERE deleted_at IS NULL")
    clash = module_clash(name, plural, others)
    if clash:
        raise BadUserInput(f"module {name!r} clashes with {clash}", field="name")
    table = await _table_name(conn, spec.get("table") or
                              (f"m_{snake(name)}" if shipped else f"x_{snake(name)}"))
    prefix = spec.get("recordPrefix")
    if prefix is not None and not re.fullmatch(r"[A-Z][A-Z0-9]{0,9}", prefix):
        raise BadUserInput("a record prefix is 1 to 10 capital letters or digits",
                           field="recordPrefix")
    row = await _one(
        conn,
        "INSERT INTO dg_modules (name, plural, label, plural_label, description, table_name, "
        "record_prefix, label_field, shipped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "RETURNING *",
        name, plural, label, plural_label, spec.get("description"),
        table, prefix, spec.get("labelField") or "name", shipped,
    )
    for position, block in enumerate(spec.get("blocks") or []):
        await conn.exec_driver_sql(
            "INSERT INTO dg_blocks (module_id, name, label, position) VALUES ($1, $2, $3, $4)",
            (row["id"], block["name"], block.get("label", block["name"]), position),
        )
    await ddl.create_module_table(conn, _module_def(row))
    await bump_version(conn)
    # Shipped definitions install by the dozen at a first start: one summary line says so.
    logger.log(logging.DEBUG if shipped else logging.INFO, "module created",
               extra={"module_name": name})
    return int(row["id"])


async def _table_name(conn: AsyncConnection, base: str) -> str:
    """A table name no module ever had (deleted ones keep theirs until purged, and after)."""
    used = {t for (t,) in await conn.exec_driver_sql("SELECT table_name FROM dg_modules")}
    used |= {t for (t,) in await conn.exec_driver_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )}
    table, n = base[:50], 2
    while table in used:
        table, n = f"{base[:50]}_{n}", n + 1
    return table


async def _taken_names(conn: AsyncConnection, module_id: int) -> dict[str, str]:
    """Normalised names already used on a module, mapped to what uses them."""
    taken = {normalised(n): f"the built-in field {n!r}" for n in BUILTIN_FIELD_NAMES}
    rows = await conn.exec_driver_sql(
        "SELECT name, type FROM dg_fields WHERE module_id = $1 AND deleted_at IS NULL",
        (module_id,),
    )
    for name, type_key in [tuple(r) for r in rows]:
        taken[normalised(name)] = f"the field {name!r}"
        if type_key == "reference":
            for extra in (f"{name}Id", f"{name}Module"):
                taken[normalised(extra)] = f"the field {name!r} (as {extra!r})"
    reverse = await conn.exec_driver_sql(
        "SELECT f.options->>'reverse' FROM dg_fields f WHERE f.deleted_at IS NULL "
        "AND f.type = 'reference' AND f.options ? 'reverse' AND ("
        "f.options->'targets' ? '*' OR f.options->'targets' ? "
        "(SELECT name FROM dg_modules WHERE id = $1))",
        (module_id,),
    )
    for (name,) in reverse:
        taken[normalised(name)] = f"the related list {name!r}"
    relations = await conn.exec_driver_sql(
        "SELECT left_name, right_name, left_module_id FROM dg_relations "
        "WHERE deleted_at IS NULL AND $1 IN (left_module_id, right_module_id)",
        (module_id,),
    )
    for left_name, right_name, left_id in [tuple(r) for r in relations]:
        own = left_name if left_id == module_id else right_name
        taken[normalised(own)] = f"the related list {own!r}"
    return taken


def _check_name(name: str, taken: dict[str, str], field: str = "name") -> None:
    if not NAME_PATTERN.match(name) or not name[0].islower():
        raise BadUserInput(
            f"{name!r} is not a usable API name: start with a lower-case letter, "
            "then letters and digits only",
            field=field,
        )
    clash = taken.get(normalised(name))
    if clash:
        raise BadUserInput(f"{name!r} clashes with {clash}", field=field)


async def _column_name(
    conn: AsyncConnection, module: Any, name: str, type_key: str, shipped: bool
) -> str:
    base = snake(name)[:45]
    if type_key in ("reference", "owner") and not base.endswith("_id"):
        base = f"{base}_id"
    if not shipped:
        base = CUSTOM_COLUMN_PREFIX + base
    elif base.startswith(CUSTOM_COLUMN_PREFIX) or base in {c for *_, c in COMMON_FIELDS}:
        raise BadUserInput(f"shipped field {name!r} would take a reserved column", field="name")
    # Column names are never reused: deleted fields keep theirs until a purge,
    # and the metadata rows remember them after it.
    used = {c for (c,) in await conn.exec_driver_sql(
        "SELECT column_name FROM dg_fields WHERE module_id = $1", (module["id"],)
    )}
    used |= {c for (c,) in await conn.exec_driver_sql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1",
        (module["table_name"],),
    )}
    column, n = base, 2
    while any(c in used for c in _physical(column, type_key)):
        column, n = f"{base}_{n}", n + 1
    return column


def _physical(column: str, type_key: str) -> list[str]:
    probe = FieldDef(0, "", "x", "x", type_key, column, options={"targets": ["*"]})
    return probe.type.column_names(probe)


def _options(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: spec[k] for k in OPTION_KEYS if spec.get(k) is not None}


async def create_field(
    conn: AsyncConnection, module: str, spec: dict[str, Any], *, shipped: bool
) -> int:
    """Add a field to a module: metadata row, picklist values, column(s), version bump."""
    row = await _module_row(conn, module)
    type_key = spec.get("type", "")
    if type_key not in FIELD_TYPES or not FIELD_TYPES[type_key].writable:
        raise BadUserInput(f"{type_key!r} is not a field type one can add", field="type")
    label = str(spec.get("label") or spec.get("name") or "").strip()
    name = spec.get("name") or camel(label)
    if not label:
        raise BadUserInput("a field needs a label", field="label")
    taken = await _taken_names(conn, row["id"])
    _check_name(name, taken)

    options = _options(spec)
    target_table = await _check_targets(conn, type_key, options, module)
    values = list(spec.get("values", []))
    if type_key in ("picklist", "multipicklist"):
        _check_values(values)
    column = await _column_name(conn, row, name, type_key, shipped)

    block_id = None
    if spec.get("block"):
        found = await _one(conn, "SELECT id FROM dg_blocks WHERE module_id = $1 AND name = $2",
                           row["id"], spec["block"])
        if found is None:
            raise BadUserInput(f"module {module} has no block {spec['block']!r}", field="block")
        block_id = found["id"]
    position = spec.get("position")
    if position is None:
        position = (await _one(conn, "SELECT coalesce(max(position), 0) + 1 AS p FROM dg_fields "
                                     "WHERE module_id = $1", row["id"]))["p"]
    created = await _one(
        conn,
        "INSERT INTO dg_fields (module_id, name, label, type, column_name, required, is_unique, "
        "default_value, help_text, options, block_id, position, shipped) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb, $11, $12, $13) RETURNING id",
        row["id"], name, label, type_key, column, bool(spec.get("required")),
        bool(spec.get("unique")), json.dumps(spec.get("default")), spec.get("help"),
        json.dumps(options), block_id, position, shipped,
    )
    for index, value in enumerate(values):
        await conn.exec_driver_sql(
            "INSERT INTO dg_picklist_values (field_id, value, position) VALUES ($1, $2, $3)",
            (created["id"], value, index),
        )
    f = FieldDef(id=created["id"], module=module, name=name, label=label, type_key=type_key,
                 column=column, unique=bool(spec.get("unique")), options=options)
    if spec.get("default") is not None:
        # Check the default now, so a bad one fails before anything is queued.
        _default_columns(f, values, spec["default"])

    async def add_columns() -> None:
        await ddl.add_field_columns(conn, _module_def(row), f, target_table)
        if spec.get("default") is not None:
            await _backfill(conn, row["table_name"], f, values, spec["default"])

    await ddl.later(conn, add_columns)
    await bump_version(conn)
    logger.log(logging.DEBUG if shipped else logging.INFO, "field created",
               extra={"module_name": module, "field": name})
    return int(created["id"])


def _default_columns(f: FieldDef, values: list[str], default: Any) -> dict[str, Any]:
    f = dataclasses.replace(f, picklist=tuple(values))
    try:
        columns: dict[str, Any] = f.type.write(f, f.type.from_json(f, default))
    except (ValueError, TypeError, AttributeError) as exc:
        raise BadUserInput(f"default value: {exc}", field="default") from None
    return columns


async def _backfill(
    conn: AsyncConnection, table: str, f: FieldDef, values: list[str], default: Any
) -> None:
    """Give a default value to the records that already exist."""
    f = dataclasses.replace(f, picklist=tuple(values))
    columns = _default_columns(f, values, default)
    target = sa.table(table, *(sa.column(c) for c in columns))
    await conn.execute(target.update().values(
        {c: sa.bindparam(f"v_{c}", v, type_=f.type.columns(f)[i].type)
         for i, (c, v) in enumerate(columns.items())}
    ))


async def _check_targets(
    conn: AsyncConnection, type_key: str, options: dict[str, Any], module: str
) -> str | None:
    """Check a reference's targets and reverse name; the target table for a foreign key."""
    if type_key != "reference":
        return None
    targets = options.get("targets") or []
    if not targets:
        raise BadUserInput("a reference needs at least one target module", field="targets")
    tables = {}
    for target in targets:
        if target == ANY_MODULE:
            continue
        found = await _one(conn, "SELECT id, table_name FROM dg_modules WHERE name = $1 "
                                 "AND deleted_at IS NULL", target)
        if found is None:
            raise BadUserInput(f"there is no module {target!r} to point at", field="targets")
        tables[target] = found
        if options.get("reverse"):
            _check_name(options["reverse"], await _taken_names(conn, found["id"]), "reverse")
    polymorphic = ReferenceType().is_polymorphic(
        FieldDef(0, module, "x", "x", "reference", "x", options=options)
    )
    return None if polymorphic else str(tables[targets[0]]["table_name"])


def _check_values(values: list[Any]) -> None:
    if not values:
        raise BadUserInput("a picklist needs at least one value", field="values")
    for value in values:
        if not isinstance(value, str) or not value.strip() or len(value) > 255:
            raise BadUserInput(f"{value!r} is not a usable picklist value", field="values")
    if len(set(values)) != len(values):
        raise BadUserInput("a picklist value is listed twice", field="values")


async def create_relation(conn: AsyncConnection, spec: dict[str, Any], *, shipped: bool) -> int:
    """A many-to-many relation between two modules, with its link table."""
    left, right = await _module_row(conn, spec["left"]), await _module_row(conn, spec["right"])
    left_name, right_name = spec["leftName"], spec["rightName"]
    _check_name(left_name, await _taken_names(conn, left["id"]), "leftName")
    _check_name(right_name, await _taken_names(conn, right["id"]), "rightName")
    if left["id"] == right["id"] and normalised(left_name) == normalised(right_name):
        raise BadUserInput("the two sides of a relation need different names", field="rightName")
    name = spec.get("name") or camel(f"{left['name']} {left_name}")
    table = f"l_{snake(name)}"[:63] if shipped else f"xl_{snake(name)}"[:63]
    row = await _one(
        conn,
        "INSERT INTO dg_relations (name, label, left_module_id, right_module_id, left_name, "
        "right_name, table_name, shipped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        name, spec.get("label") or name, left["id"], right["id"], left_name, right_name, table,
        shipped,
    )
    await ddl.later(conn, lambda: ddl.create_link_table(conn, table, left["table_name"],
                                                        right["table_name"]))
    await bump_version(conn)
    logger.log(logging.DEBUG if shipped else logging.INFO, "relation created",
               extra={"relation": name})
    return int(row["id"])
