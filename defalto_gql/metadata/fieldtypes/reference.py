"""Field types that point at records or users: reference, owner; and autonumber."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.sql.elements import ColumnElement

from defalto_gql.metadata.fieldtypes.base import FieldType, compare
from defalto_gql.metadata.model import ANY_MODULE, FieldDef


def parse_id(value: Any) -> str:
    """A record id as the canonical UUID text; ValueError for anything else."""
    if not isinstance(value, str):
        raise ValueError("expected an id")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid id") from None


def uuid_type() -> sa.types.TypeEngine[Any]:
    return pg.UUID(as_uuid=False)


class IdType(FieldType):
    """The built-in ``id`` and other UUID columns."""

    key = "id"
    output_kind = filter_kind = "ID"
    writable = False

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return uuid_type()

    def validate(self, f: FieldDef, value: Any) -> Any:
        return parse_id(value)

    def filter_operand(self, f: FieldDef, value: Any) -> Any:
        return parse_id(value)

    def parse_text(self, f: FieldDef, text: str) -> Any:
        return parse_id(text.strip())


class OwnerType(IdType):
    """A user or group; ownership rules arrive with access control."""

    key = "owner"
    writable = True


class ReferenceType(IdType):
    """A many-to-one reference.

    To one module it is a UUID column with a foreign key. To several modules
    (``targets`` with more than one name, or ``*``) it is polymorphic: the id
    column plus ``<column>_module`` naming the target module.
    """

    key = "reference"
    writable = True

    def is_polymorphic(self, f: FieldDef) -> bool:
        return len(f.targets) != 1 or f.targets[0] == ANY_MODULE

    def module_column(self, f: FieldDef) -> str:
        return f"{f.column}_module"

    def columns(self, f: FieldDef) -> list[sa.Column[Any]]:
        if self.is_polymorphic(f):
            return [
                sa.Column(f.column, uuid_type(), nullable=True),
                sa.Column(self.module_column(f), sa.String(64), nullable=True),
            ]
        return [sa.Column(f.column, uuid_type(), nullable=True)]

    def column_names(self, f: FieldDef) -> list[str]:
        if self.is_polymorphic(f):
            return [f.column, self.module_column(f)]
        return [f.column]

    def write(self, f: FieldDef, value: Any) -> dict[str, Any]:
        if not self.is_polymorphic(f):
            return super().write(f, value)
        if value is None:
            return {f.column: None, self.module_column(f): None}
        module, ident = value.get("module"), value.get("id")
        allowed = f.targets
        if not isinstance(module, str) or (ANY_MODULE not in allowed and module not in allowed):
            raise ValueError(f"module {module!r} is not one this field may point at")
        return {f.column: parse_id(ident), self.module_column(f): module}

    def read(self, f: FieldDef, row: Any) -> Any:
        if self.is_polymorphic(f):
            ident = row[f.column]
            return None if ident is None else {"module": row[self.module_column(f)], "id": ident}
        return row[f.column]

    def filter_clause(
        self, f: FieldDef, table: sa.Table, op: str, operand: Any
    ) -> ColumnElement[bool]:
        if op == "module":
            return compare(table.c[self.module_column(f)], "eq", operand)
        return super().filter_clause(f, table, op, operand)


class AutonumberType(FieldType):
    """A human record number (``ACC-1042``) drawn from a per-module sequence."""

    key = "autonumber"
    writable = False
    operators = ("eq", "neq", "in", "notIn", "is", "like", "ilike", "startsWith", "contains")

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.String(64)
